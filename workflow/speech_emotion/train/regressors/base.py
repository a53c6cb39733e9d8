"""The estimator base class every regressor derives from.

Like the classifiers (:class:`speech_emotion.train.classifiers.base.Classifier`): features are
standardised by a scaler fitted inside ``fit`` (only on the rows given: the training part of a fold;
a fusion's blocks balanced by ``block_widths``; at prediction each standardised feature is clipped to
the range the training rows spanned, so that no prediction rests on a value beyond them: an
eGeMAPS ``stddevNorm`` of a clip whose mean is near zero lay 20,000 training standard deviations out
and made ridge predict -147 for a target in (-1, 1)), inner splits are kept (``inner_splits_``,
``inner_grouping_``), and scikit-learn's contract holds (``fit``, ``predict``, ``get_params``). The
target is standardised too (``y_mean_``, ``y_scale_`` of the training rows): every estimator learns
a unit-variance target, so settings such as SVR's ``epsilon`` or the MLP's learning rate do not
depend on the target's units, and ``predict`` returns values in those units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.preprocessing import StandardScaler

from ..classifiers.base import Classifier, block_scale


@dataclass(eq=False, repr=False, kw_only=True)
class Regressor(RegressorMixin, BaseEstimator):
    """Common parts: target checks and standardisation, the fold-local scaler, predict in target units.

    ``fit(X, y, groups=None, clean=None, clips=None)``: ``groups`` the rows' speakers, ``clean`` the
    rows an inner split may hold out (clean clips), ``clips`` each row's clip id (shared by its copies).
    """

    name = "base"
    kind = "regressor"  # the model file names it so (speech_emotion.train.classifiers.modelfile)

    seed: int = 0
    n_jobs: int = 1
    block_widths: tuple[int, ...] | None = None

    _scale = Classifier._scale  # the classifiers' fold-local feature scaling
    _keep_inner = Classifier._keep_inner

    def _prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardised features and target of the training rows (scaler and target moments kept)."""
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(y) != len(X):
            raise ValueError(f"{self.name}: {len(X)} feature rows but {len(y)} target values")
        bad = ~np.isfinite(y)
        if bad.any():
            raise ValueError(f"{self.name}: {int(bad.sum())} training target(s) are NaN or infinite "
                             "(clips without a value must be left out of the target's rows)")
        if len(y) < 2 or y.std() == 0.0:
            raise ValueError(f"{self.name}: the training target is constant or has fewer than 2 values")
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std())
        self.scaler_ = StandardScaler().fit(X)
        if self.block_widths:
            self.scaler_.scale_ = self.scaler_.scale_ * block_scale(self.block_widths, X.shape[1])
        self.n_features_in_ = X.shape[1]
        self.inner_grouping_: dict[str, Any] = {}
        Xs = self._scale(X)
        self.low_, self.high_ = Xs.min(axis=0), Xs.max(axis=0)
        return Xs, (y - self.y_mean_) / self.y_scale_

    def _unscale(self, standard: np.ndarray) -> np.ndarray:
        return np.asarray(standard, dtype=np.float64).ravel() * self.y_scale_ + self.y_mean_

    def _predict_standard(self, Xs: np.ndarray) -> np.ndarray:
        """Predictions on the standardised target scale for standardised features."""
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted values in the target's units (features clipped to the training rows' range)."""
        Xs = self._scale(X)
        if getattr(self, "low_", None) is not None:  # a model file from before the clipping has none
            Xs = np.clip(Xs, self.low_, self.high_)
        return self._unscale(self._predict_standard(Xs))

    @classmethod
    def from_search(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Settings from the values a tuning trial drew; as drawn by default."""
        return dict(values)

    def chosen_params(self) -> dict[str, Any]:
        """Settings that fix what this fitted model chose by inner CV; none by default."""
        return {}

    # persistence (the classifiers' model file, speech_emotion.train.classifiers.modelfile): JSON state + files
    def _save_state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The target's moments, the scaler and :meth:`_model_files` (the estimator's own)."""
        from ..classifiers.modelfile import sklearn_files

        state, files = self._model_files()
        bounds = {"low_": [float(v) for v in self.low_], "high_": [float(v) for v in self.high_]}
        return ({"y_mean_": self.y_mean_, "y_scale_": self.y_scale_, "n_features_in_": int(self.n_features_in_)} | bounds | state,
                {**sklearn_files("scaler", self.scaler_), **files})

    def _load_state(self, state: dict[str, Any], files: Mapping[str, bytes]) -> None:
        from ..classifiers.modelfile import load_sklearn

        self.y_mean_, self.y_scale_ = float(state["y_mean_"]), float(state["y_scale_"])
        self.n_features_in_ = int(state["n_features_in_"])
        self.low_, self.high_ = ((np.asarray(state["low_"], dtype=np.float32), np.asarray(state["high_"], dtype=np.float32))
                                 if "low_" in state else (None, None))
        self.scaler_ = load_sklearn(files, "scaler")
        self._load_model_files(state, files)

    def _model_files(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The fitted estimator as JSON state and named files (scikit-learn objects: ``model.sklearn``)."""
        from ..classifiers.modelfile import sklearn_files

        return {}, sklearn_files("model", self.model_)

    def _load_model_files(self, state: dict[str, Any], files: Mapping[str, bytes]) -> None:
        from ..classifiers.modelfile import load_sklearn

        self.model_ = load_sklearn(files, "model")
