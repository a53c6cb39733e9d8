"""The estimator base class every classifier derives from, and probability-column alignment.

Every estimator standardises its input with a scaler fitted inside ``fit`` (so only on the rows it
is given: the training part of a fold), weights classes by their frequency in those rows, keeps its
inner splits (``inner_splits_``) and how they were grouped (``inner_grouping_``, recorded in the
fold's record), and honours scikit-learn's contract (``fit``, ``predict``, ``predict_proba``,
``get_params``); ``classes_`` are the sorted labels and ``predict_proba`` columns follow them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import StandardScaler


class Recorded(Protocol):
    """What an inner choice keeps of its splits (:class:`speech_emotion.train.classifiers.inner.InnerSplits`)."""

    def record(self) -> dict[str, Any]: ...


S = TypeVar("S", bound=Recorded)


Rows = np.ndarray | None
"""Per-row arrays ``fit`` takes besides X and y: speakers (``groups``), ``clean``, ``clips``."""


@dataclass(eq=False, repr=False, kw_only=True)
class Classifier(ClassifierMixin, BaseEstimator):
    """Common parts: label encoding, the fold-local scaler, predict from probabilities.

    ``fit(X, y, groups=None, clean=None, clips=None)``: ``groups`` are the rows' speakers, ``clean``
    marks the rows an inner split may hold out and score (clean clips; the others are augmented
    copies, which only train), ``clips`` each row's clip id (shared by its copies).

    ``block_widths``: a fusion's member blocks, side by side (their column counts). When given, the
    scaler gives every block the same total variance (:func:`block_scale`), so that a member with
    6,373 columns does not outweigh one with 384 (the plan decides it, ``features.balance_fusion``).
    """

    name = "base"

    seed: int = 0
    n_jobs: int = 1
    block_widths: tuple[int, ...] | None = None

    def _prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float32)
        self.classes_, y_idx = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{self.name}: training data has a single class {self.classes_.tolist()}")
        self.scaler_ = StandardScaler().fit(X)
        if self.block_widths:
            self.scaler_.scale_ = self.scaler_.scale_ * block_scale(self.block_widths, X.shape[1])
        self.n_features_in_ = X.shape[1]
        return self._scale(X), y_idx

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return self.scaler_.transform(np.asarray(X, dtype=np.float32)).astype(np.float32)

    def _keep_inner(self, purpose: str, splits: S) -> S:
        """Remember the inner splits of one inner choice and how they were grouped (the fold's record)."""
        self.inner_splits_ = splits
        self.inner_grouping_ = {purpose: splits.record()}
        return splits

    @classmethod
    def from_search(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Settings from the values a tuning trial drew (``tune.spaces.<name>``); as drawn by default."""
        return dict(values)

    def chosen_params(self) -> dict[str, Any]:
        """Settings that fix what this fitted model chose by inner CV (e.g. logreg's C), so that a refit
        on part of the same rows need not search again; none by default."""
        return {}

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # persistence: JSON state + named binary files
    def _save_state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        raise NotImplementedError

    def _load_state(self, state: dict[str, Any], files: Mapping[str, bytes]) -> None:
        raise NotImplementedError


class ChoosesC:
    """A classifier whose regularisation ``C`` is fixed or chosen among ``Cs`` by inner CV (logreg, SVM):
    a tuning trial's drawn ``C`` fixes it, and a fitted model reports the ``C_`` it chose."""

    @classmethod
    def from_search(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """A drawn ``C`` is the fixed C of the trial (no inner choice among ``Cs``)."""
        params = dict(values)
        if "C" in params:
            params["C"] = float(params["C"])
        return params

    def chosen_params(self) -> dict[str, Any]:
        return {"C": float(self.C_)}


def block_scale(widths: Sequence[int], n_columns: int) -> np.ndarray:
    """Per-column factors on a standard scaler's scale that give each of the ``widths`` blocks (side
    by side) the same total variance, ``n_columns / len(widths)``: a column of a block of width w
    keeps variance ``n_columns / (len(widths) * w)``, so the columns still average unit variance."""
    widths = [int(w) for w in widths]
    if sum(widths) != n_columns or min(widths, default=0) < 1:
        raise ValueError(f"block widths {widths} do not add up to the {n_columns} feature columns")
    return np.concatenate([np.full(w, np.sqrt(len(widths) * w / n_columns)) for w in widths])


def align_proba(model: Classifier, probs: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """A model's probability columns (its ``classes_``) reordered to ``classes`` (zeros for a class
    the model never saw)."""
    out = np.zeros((len(probs), len(classes)))
    out[:, np.searchsorted(classes, model.classes_)] = probs
    return out
