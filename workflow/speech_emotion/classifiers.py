"""Classifiers on pooled embeddings, all honouring scikit-learn's estimator contract.

Every estimator standardises its input with a scaler fitted inside ``fit`` (so only on the rows it
is given: the training part of a fold), weights classes by their frequency in those rows, and
takes ``groups`` (speakers) for any inner split it needs (C selection, calibration, early stopping,
ensemble weights), so no inner validation row shares a speaker with an inner training row and the
test fold is never seen. ``score_mask`` marks the rows an inner split may hold out and score (the
clean clips); the other rows (augmented copies) only ever train, as in the outer folds. ``clips``
gives each row's clip id (shared by its copies): where speaker groups cannot be used, inner splits
group by clip, so a clip and its copies are never on both sides (:func:`inner_cv`). Each fitted
estimator keeps its inner splits (``inner_splits_``) and how they were grouped
(``inner_grouping_``). ``classes_`` are the sorted labels; ``predict_proba`` columns follow them.

Models are saved as one zip per model (:func:`save_model` / :func:`load_model`) holding a JSON
manifest and files in formats that load without running code: skops for scikit-learn objects,
XGBoost UBJSON, a torch ``state_dict`` loaded with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from .devices import resolve_device, single_torch_thread

CLASSIFIERS = ("logreg", "svm", "xgboost", "mlp", "ensemble")
MEMBER_CLASSIFIERS = ("logreg", "svm", "xgboost", "mlp")
MODEL_FORMAT = "speech-emotion-model"
MODEL_VERSION = 1

log = logging.getLogger(__name__)


class ModelFileError(ValueError):
    """A model file that cannot be loaded; the message names the file and the problem."""


# --- inner splits ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InnerSplits:
    """Inner (train, held-out) index pairs of a training part, and how they were grouped.

    ``grouping`` is ``"speaker"`` (no speaker on both sides) or ``"clip"`` (the fallback when
    speaker groups cannot give every inner training part every class: a clip and its augmented
    copies are one group, so they are still never on both sides); ``reason`` says why the fallback
    was taken (None for speaker grouping). Held-out rows are clean rows only.
    """

    splits: list[tuple[np.ndarray, np.ndarray]]
    grouping: str
    reason: str | None = None

    def __iter__(self):
        return iter(self.splits)

    def __len__(self) -> int:
        return len(self.splits)

    def record(self) -> dict[str, Any]:
        """What a fold's record keeps: the grouping and, for the fallback, why."""
        return {"grouping": self.grouping, "reason": self.reason}


def _clean_mask(n: int, score_mask: np.ndarray | None) -> np.ndarray:
    return np.ones(n, dtype=bool) if score_mask is None else np.asarray(score_mask, dtype=bool)


def _clip_groups(n: int, clips: np.ndarray | None, clean: np.ndarray) -> np.ndarray:
    """Group of each row for the clip fallback: its clip id (a copy shares its clip's id)."""
    if clips is not None:
        return np.asarray(clips)
    if not clean.all():
        raise ValueError("inner CV over augmented copies needs the clip id of every row (clips=), so that a "
                         "clip and its copies stay on one side of every inner split")
    return np.arange(n)


def _missing_class_reason(y: np.ndarray, groups: np.ndarray, n_splits: int) -> str:
    speakers = {label: len(np.unique(groups[y == label])) for label in np.unique(y)}
    if len(np.unique(groups)) < n_splits:
        return f"{len(np.unique(groups))} speakers for {n_splits} inner folds"
    fewest = min(speakers, key=lambda label: (speakers[label], str(label)))
    return (f"a speaker-grouped {n_splits}-fold split leaves an inner training part without a class "
            f"(class {fewest} comes from {speakers[fewest]} speaker(s))")


def _fallback_splits(
    y: np.ndarray, clips: np.ndarray, clean: np.ndarray, n_splits: int, seed: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Clip-grouped stratified splits (a clip and its copies on one side); fewer splits when a class
    has fewer clean clips than ``n_splits``."""
    per_class = min(len(np.unique(clips[(y == label) & clean])) or len(np.unique(clips[y == label]))
                    for label in np.unique(y))
    n = max(2, min(n_splits, per_class))
    splitter = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, clips))


def _log_fallback(purpose: str, reason: str) -> None:
    log.warning("%s: inner splits grouped by clip, not by speaker: %s", purpose, reason)


def inner_cv(
    y: np.ndarray,
    groups: np.ndarray | None,
    n_splits: int,
    seed: int,
    score_mask: np.ndarray | None = None,
    clips: np.ndarray | None = None,
    purpose: str = "inner CV",
) -> InnerSplits:
    """Speaker-grouped stratified ``n_splits``-fold splits of the rows given (a training part).

    Held-out rows are only those of ``score_mask`` (the clean clips; a held-out clip's copies are on
    neither side). When speaker groups cannot give every inner training part every class (a class
    from fewer speakers than splits, or fewer speakers than splits), the splits group rows by clip
    instead (``clips``: each row's clip id, shared by its copies), never by row, and the fallback is
    logged with its reason (``purpose`` names the inner choice in the log).
    """
    y = np.asarray(y)
    clean = _clean_mask(len(y), score_mask)
    n_classes = len(np.unique(y))
    if groups is not None:
        groups = np.asarray(groups)
        if len(np.unique(groups)) >= n_splits:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            splits = list(splitter.split(np.zeros(len(y)), y, groups))
            if all(len(np.unique(y[tr])) == n_classes for tr, _ in splits):
                return InnerSplits([(tr, va[clean[va]]) for tr, va in splits], "speaker")
        reason = _missing_class_reason(y, groups, n_splits)
    else:
        reason = "no speaker ids given"
    splits = _fallback_splits(y, _clip_groups(len(y), clips, clean), clean, n_splits, seed)
    _log_fallback(purpose, reason)
    return InnerSplits([(tr, va[clean[va]]) for tr, va in splits], "clip", reason)


def inner_split(
    y: np.ndarray,
    groups: np.ndarray | None,
    fraction: float,
    seed: int,
    score_mask: np.ndarray | None = None,
    clips: np.ndarray | None = None,
    purpose: str = "inner split",
) -> InnerSplits:
    """One (train, validation) split holding out about ``fraction`` of the clips, validation rows only
    from ``score_mask``: the first speaker-grouped split whose training part has every class, else
    the first clip-grouped one (logged, as in :func:`inner_cv`)."""
    y = np.asarray(y)
    clean = _clean_mask(len(y), score_mask)
    n_classes = len(np.unique(y))
    n_splits = max(2, int(round(1.0 / fraction)))

    def first_valid(splits) -> tuple[np.ndarray, np.ndarray] | None:
        for tr, va in splits:
            if len(np.unique(y[tr])) == n_classes and clean[va].any():
                return tr, va[clean[va]]
        return None

    if groups is not None:
        groups = np.asarray(groups)
        if len(np.unique(groups)) >= n_splits:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            found = first_valid(splitter.split(np.zeros(len(y)), y, groups))
            if found is not None:
                return InnerSplits([found], "speaker")
        reason = _missing_class_reason(y, groups, n_splits)
    else:
        reason = "no speaker ids given"
    found = first_valid(_fallback_splits(y, _clip_groups(len(y), clips, clean), clean, n_splits, seed))
    if found is None:
        raise ValueError(f"{purpose}: no clip-grouped split keeps every class in training ({reason})")
    _log_fallback(purpose, reason)
    return InnerSplits([found], "clip", reason)


def out_of_fold(
    fit_predict: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    n_columns: int,
    n_jobs: int = 1,
) -> np.ndarray:
    """Out-of-fold values: ``fit_predict(k, train, held_out)`` gives the held-out rows' values of split
    ``k``; rows that no split holds out stay NaN. Splits run in parallel with ``n_jobs`` (processes:
    the result does not depend on it)."""
    splits = list(splits)
    if n_jobs == 1 or len(splits) < 2:
        results = [fit_predict(k, tr, va) for k, (tr, va) in enumerate(splits)]
    else:
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=n_jobs)(delayed(fit_predict)(k, tr, va) for k, (tr, va) in enumerate(splits))
    out = np.full((n_rows, n_columns), np.nan)
    for (_, va), values in zip(splits, results):
        out[va] = np.asarray(values).reshape(len(va), n_columns)
    return out


def cross_val_proba(
    make: Callable[[], "_Base"],
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    n_jobs: int = 1,
    score_mask: np.ndarray | None = None,
    clips: np.ndarray | None = None,
    fit_extra: Callable[[int], Mapping[str, Any]] | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities: per (train, held-out) split, a fresh ``make()`` model fitted on
    the train rows predicts the held-out rows. Columns follow ``np.unique(y)``; rows that no split
    holds out stay NaN (the k-fold splits of :func:`inner_cv` hold out every scored row once).
    ``groups``, ``score_mask`` and ``clips`` are handed on to each model's own inner splits;
    ``fit_extra(k)`` gives more keyword arguments for the fit of split ``k`` (e.g. a callback)."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    classes = np.unique(y)

    def rows(values: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[index]

    def one(k: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
        extra = fit_extra(k) if fit_extra is not None else {}
        model = make().fit(X[tr], y[tr], rows(groups, tr), rows(score_mask, tr), clips=rows(clips, tr), **extra)
        return align_proba(model, model.predict_proba(X[va]), classes)

    return out_of_fold(one, splits, len(y), len(classes), n_jobs)


def pooled_balanced_accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    """Balanced accuracy of out-of-fold predictions pooled over all inner folds (rows with NaN
    probabilities left out). The one score of every inner choice (C, layers, copies, ensemble
    weights, tuning): unlike a mean of per-inner-fold scores it does not jump when a class is
    missing from one speaker-grouped inner fold."""
    y = np.asarray(y)
    classes = np.unique(y)
    seen = ~np.isnan(probs).any(axis=1)
    return float(balanced_accuracy_score(y[seen], classes[np.argmax(probs[seen], axis=1)]))


# --- base -----------------------------------------------------------------------------------------


class _Base(ClassifierMixin, BaseEstimator):
    """Common parts: label encoding, the fold-local scaler, predict from probabilities."""

    name = "base"

    def _prepare(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=np.float32)
        self.classes_, y_idx = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{self.name}: training data has a single class {self.classes_.tolist()}")
        self.scaler_ = StandardScaler().fit(X)
        self.n_features_in_ = X.shape[1]
        return self._scale(X), y_idx

    def _scale(self, X: np.ndarray) -> np.ndarray:
        return self.scaler_.transform(np.asarray(X, dtype=np.float32)).astype(np.float32)

    def _keep_inner(self, purpose: str, splits: "InnerSplits") -> "InnerSplits":
        """Remember the inner splits of one inner choice and how they were grouped (the fold's record)."""
        self.inner_splits_ = splits
        self.inner_grouping_ = {purpose: splits.record()}
        return splits

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # persistence: JSON state + named binary files
    def _save_state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        raise NotImplementedError

    def _load_state(self, state: dict[str, Any], files: Mapping[str, bytes]) -> None:
        raise NotImplementedError


def _skops_dumps(obj: Any) -> bytes:
    import skops.io as sio

    return sio.dumps(obj)


# Types beyond skops' default trust list that our files legitimately contain.
_SKOPS_ALLOWED = {
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
}


def _skops_loads(data: bytes, where: str) -> Any:
    import skops.io as sio

    untrusted = set(sio.get_untrusted_types(data=data))
    unexpected = sorted(untrusted - _SKOPS_ALLOWED)
    if unexpected:
        raise ModelFileError(f"{where}: refusing to load unexpected types {unexpected}")
    return sio.loads(data, trusted=sorted(untrusted))


# --- logistic regression --------------------------------------------------------------------------


class LogRegClassifier(_Base):
    """Multinomial logistic regression, class-balanced; C picked by the balanced accuracy of its
    pooled out-of-fold predictions under speaker-grouped inner CV of the training rows."""

    name = "logreg"

    def __init__(
        self,
        Cs: Sequence[float] = (0.001, 0.01, 0.1, 1.0, 10.0),
        C: float | None = None,
        max_iter: int = 2000,
        inner_folds: int = 5,
        seed: int = 0,
        n_jobs: int = 1,
    ):
        self.Cs = Cs
        self.C = C
        self.max_iter = max_iter
        self.inner_folds = inner_folds
        self.seed = seed
        self.n_jobs = n_jobs

    def _model(self, C: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, class_weight="balanced", max_iter=self.max_iter, random_state=self.seed)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        score_mask: np.ndarray | None = None,
        clips: np.ndarray | None = None,
    ) -> "LogRegClassifier":
        X = np.asarray(X, dtype=np.float32)
        Xs, yi = self._prepare(X, y)
        self.cv_scores_: dict[str, float] = {}
        self.inner_grouping_ = {}
        if self.C is not None:
            self.C_ = float(self.C)
        elif len(self.Cs) == 1:
            self.C_ = float(self.Cs[0])
        else:
            splits = self._keep_inner(
                "C", inner_cv(yi, groups, self.inner_folds, self.seed, score_mask, clips, purpose="logreg C choice"))
            per_c = {}
            for C in self.Cs:
                probs = cross_val_proba(
                    lambda C=C: LogRegClassifier(C=float(C), max_iter=self.max_iter, seed=self.seed),
                    X, yi, groups, splits, self.n_jobs, score_mask, clips,
                )
                per_c[float(C)] = pooled_balanced_accuracy(probs, yi)
            self.cv_scores_ = {repr(C): s for C, s in per_c.items()}
            # best score; ties go to the smaller C (stronger regularisation)
            self.C_ = min(per_c, key=lambda C: (-round(per_c[C], 10), C))
        self.model_ = self._model(self.C_).fit(Xs, yi)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self._scale(X))

    def _save_state(self):
        return {"C_": self.C_, "cv_scores_": self.cv_scores_}, {
            "scaler.skops": _skops_dumps(self.scaler_),
            "logreg.skops": _skops_dumps(self.model_),
        }

    def _load_state(self, state, files):
        self.C_, self.cv_scores_ = state["C_"], state.get("cv_scores_", {})
        self.scaler_ = _skops_loads(files["scaler.skops"], "scaler.skops")
        self.model_ = _skops_loads(files["logreg.skops"], "logreg.skops")


# --- SVM ------------------------------------------------------------------------------------------


class SVMClassifier(_Base):
    """Class-balanced SVC with Platt-scaled probabilities.

    The Platt sigmoids (one per class, on the SVC's one-vs-rest decision values) are fitted on
    out-of-fold decision values of the clean training rows over ``calibration_folds`` inner folds
    (speaker-grouped, else clip-grouped): augmented copies train the inner SVCs but are never
    calibration points. The SVC that predicts is then fitted on every training row.
    """

    name = "svm"

    def __init__(
        self,
        C: float = 10.0,
        gamma: str | float = "scale",
        kernel: str = "rbf",
        calibration_folds: int = 3,
        seed: int = 0,
        n_jobs: int = 1,
    ):
        self.C = C
        self.gamma = gamma
        self.kernel = kernel
        self.calibration_folds = calibration_folds
        self.seed = seed
        self.n_jobs = n_jobs

    def _svc(self):
        from sklearn.svm import SVC

        return SVC(C=self.C, gamma=self.gamma, kernel=self.kernel, class_weight="balanced", random_state=self.seed)

    def _decision(self, svc, Xs: np.ndarray) -> np.ndarray:
        """(rows, classes) one-vs-rest decision values; (rows, 1) for two classes."""
        return np.asarray(svc.decision_function(Xs), dtype=np.float64).reshape(len(Xs), -1)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        score_mask: np.ndarray | None = None,
        clips: np.ndarray | None = None,
    ) -> "SVMClassifier":
        Xs, yi = self._prepare(X, y)
        splits = self._keep_inner("calibration", inner_cv(
            yi, groups, self.calibration_folds, self.seed, score_mask, clips, purpose="svm calibration"))
        columns = 1 if len(self.classes_) == 2 else len(self.classes_)

        def decision(_: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
            return self._decision(self._svc().fit(Xs[tr], yi[tr]), Xs[va])

        held_out = out_of_fold(decision, splits, len(yi), columns, self.n_jobs)
        rows = ~np.isnan(held_out).any(axis=1)
        self.n_calibration_rows_ = int(rows.sum())
        targets = yi[rows][:, None] == (np.arange(columns) + (1 if columns == 1 else 0))[None, :]
        self.calibration_ = [platt_fit(held_out[rows, k], targets[:, k]) for k in range(columns)]
        self.model_ = self._svc().fit(Xs, yi)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        decision = self._decision(self.model_, self._scale(X))
        probs = np.column_stack([platt_apply(decision[:, k], a, b) for k, (a, b) in enumerate(self.calibration_)])
        if len(self.classes_) == 2:
            return np.column_stack([1.0 - probs[:, 0], probs[:, 0]])
        total = probs.sum(axis=1, keepdims=True)
        uniform = np.full_like(probs, 1.0 / probs.shape[1])
        return np.divide(probs, total, out=uniform, where=total > 0)

    def _save_state(self):
        state = {"calibration_": [[float(a), float(b)] for a, b in self.calibration_],
                 "n_calibration_rows_": self.n_calibration_rows_}
        return state, {"scaler.skops": _skops_dumps(self.scaler_), "svm.skops": _skops_dumps(self.model_)}

    def _load_state(self, state, files):
        self.calibration_ = [tuple(pair) for pair in state["calibration_"]]
        self.n_calibration_rows_ = state.get("n_calibration_rows_")
        self.scaler_ = _skops_loads(files["scaler.skops"], "scaler.skops")
        self.model_ = _skops_loads(files["svm.skops"], "svm.skops")


def platt_fit(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid ``P(positive | f) = 1 / (1 + exp(a f + b))`` fitted by maximum likelihood on
    Platt's smoothed targets (as scikit-learn's sigmoid calibration does)."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    f = np.asarray(decision, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = float(positive.sum()), float((~positive).sum())
    target = np.where(positive, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss_and_grad(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = -(ab[0] * f + ab[1])  # log-odds of the positive class
        loss = -np.sum(target * log_expit(z) + (1.0 - target) * log_expit(-z))
        dz = expit(z) - target
        return float(loss), np.array([-np.sum(dz * f), -np.sum(dz)])

    start = np.array([0.0, np.log((n_neg + 1.0) / (n_pos + 1.0))])
    a, b = minimize(loss_and_grad, start, jac=True, method="L-BFGS-B").x
    return float(a), float(b)


def platt_apply(decision: np.ndarray, a: float, b: float) -> np.ndarray:
    """Calibrated probability of the positive class from decision values."""
    from scipy.special import expit

    return expit(-(a * np.asarray(decision, dtype=np.float64) + b))


# --- XGBoost --------------------------------------------------------------------------------------


class XGBoostClassifier(_Base):
    """Gradient-boosted trees (hist), balanced sample weights, early stopping on a speaker-held-out split.

    Trains on one thread whatever ``n_jobs`` says: with more threads XGBoost adds its histogram
    sums in another order and the probabilities move in the sixth digit (results would depend on
    ``--cores``); parallelism comes from jobs running side by side.
    """

    name = "xgboost"

    def __init__(
        self,
        n_estimators: int = 200,
        max_depth: int = 6,
        learning_rate: float = 0.1,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        early_stopping_rounds: int = 20,
        validation_fraction: float = 0.15,
        seed: int = 0,
        n_jobs: int = 1,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        score_mask: np.ndarray | None = None,
        clips: np.ndarray | None = None,
    ) -> "XGBoostClassifier":
        import xgboost as xgb

        Xs, yi = self._prepare(X, y)
        (tr, va), = self._keep_inner("early_stopping", inner_split(
            yi, groups, self.validation_fraction, self.seed, score_mask, clips, purpose="xgboost early stopping"))
        self.validation_rows_ = va
        weights = compute_sample_weight("balanced", yi[tr])
        val_weights = compute_sample_weight(
            dict(zip(np.unique(yi[tr]), compute_class_weight("balanced", classes=np.unique(yi[tr]), y=yi[tr]))), yi[va]
        )
        self.model_ = xgb.XGBClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            tree_method="hist",
            early_stopping_rounds=self.early_stopping_rounds,
            eval_metric="mlogloss" if len(self.classes_) > 2 else "logloss",
            random_state=self.seed,
            n_jobs=1,  # histogram sums over more threads differ in the last digits: one thread, same numbers
        )
        self.model_.fit(Xs[tr], yi[tr], sample_weight=weights, eval_set=[(Xs[va], yi[va])],
                        sample_weight_eval_set=[val_weights], verbose=False)
        self.best_iteration_ = int(self.model_.best_iteration)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self._scale(X))

    def _save_state(self):
        raw = self.model_.get_booster().save_raw(raw_format="ubj")
        return {"best_iteration_": self.best_iteration_}, {
            "scaler.skops": _skops_dumps(self.scaler_),
            "xgboost.ubj": bytes(raw),
        }

    def _load_state(self, state, files):
        import xgboost as xgb

        self.scaler_ = _skops_loads(files["scaler.skops"], "scaler.skops")
        self.best_iteration_ = state["best_iteration_"]
        self.model_ = xgb.XGBClassifier()
        self.model_.load_model(bytearray(files["xgboost.ubj"]))


# --- MLP (PyTorch) --------------------------------------------------------------------------------


def _build_mlp(n_in: int, hidden: Sequence[int], n_out: int, dropout: float):
    import torch.nn as nn

    layers: list[nn.Module] = []
    width = n_in
    for units in hidden:
        layers += [nn.Linear(width, int(units)), nn.BatchNorm1d(int(units)), nn.ReLU(), nn.Dropout(dropout)]
        width = int(units)
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class MLPClassifier(_Base):
    """Feed-forward net (Linear-BatchNorm-ReLU-Dropout blocks), class-weighted cross-entropy, AdamW.

    Early stopping (``patience`` epochs without a lower validation loss) watches a speaker-grouped
    split of the rows given to ``fit`` (the training fold); the weights of the best epoch are kept.
    ``epoch_callback(epoch, balanced_accuracy)`` sees each epoch's validation score (for pruning).
    """

    name = "mlp"

    def __init__(
        self,
        hidden: Sequence[int] = (512, 256, 128),
        dropout: float = 0.3,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 32,
        max_epochs: int = 200,
        patience: int = 15,
        validation_fraction: float = 0.15,
        device: str = "auto",
        seed: int = 0,
        n_jobs: int = 1,
    ):
        self.hidden = hidden
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.device = device
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        score_mask: np.ndarray | None = None,
        clips: np.ndarray | None = None,
        epoch_callback: Callable[[int, float], None] | None = None,
    ) -> "MLPClassifier":
        Xs, yi = self._prepare(X, y)
        (tr, va), = self._keep_inner("early_stopping", inner_split(
            yi, groups, self.validation_fraction, self.seed, score_mask, clips, purpose="mlp early stopping"))
        self.validation_rows_ = va
        with single_torch_thread():
            self._train(Xs, yi, tr, va, epoch_callback)
        return self

    def _train(
        self, Xs: np.ndarray, yi: np.ndarray, tr: np.ndarray, va: np.ndarray,
        epoch_callback: Callable[[int, float], None] | None,
    ) -> None:
        import torch

        device = resolve_device(self.device, "classifiers.mlp.device")
        torch.manual_seed(self.seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        n_classes = len(self.classes_)
        net = _build_mlp(Xs.shape[1], self.hidden, n_classes, self.dropout).to(device)
        present = np.unique(yi[tr])
        class_weight = np.ones(n_classes, dtype=np.float32)
        class_weight[present] = compute_class_weight("balanced", classes=present, y=yi[tr])
        weight = torch.tensor(class_weight, device=device)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        X_tr = torch.from_numpy(Xs[tr]).to(device)
        y_tr = torch.from_numpy(yi[tr].astype(np.int64)).to(device)
        X_va = torch.from_numpy(Xs[va]).to(device)
        y_va = torch.from_numpy(yi[va].astype(np.int64)).to(device)
        gen = torch.Generator().manual_seed(self.seed)
        best_loss, best_state, best_epoch, waited = np.inf, None, 0, 0
        self.history_: list[dict[str, float]] = []
        for epoch in range(int(self.max_epochs)):
            net.train()
            order = torch.randperm(len(tr), generator=gen).to(device)
            for start in range(0, len(tr), int(self.batch_size)):
                idx = order[start : start + int(self.batch_size)]
                if len(idx) < 2:  # batch norm needs two rows
                    continue
                opt.zero_grad()
                loss = loss_fn(net(X_tr[idx]), y_tr[idx])
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                logits = net(X_va)
                val_loss = float(loss_fn(logits, y_va))
                val_score = balanced_accuracy_score(yi[va], logits.argmax(1).cpu().numpy())
            self.history_.append({"epoch": epoch, "val_loss": val_loss, "val_balanced_accuracy": float(val_score)})
            if epoch_callback is not None:
                epoch_callback(epoch, float(val_score))
            if val_loss < best_loss - 1e-6:
                best_loss, best_epoch, waited = val_loss, epoch, 0
                best_state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
                if waited >= self.patience:
                    break
        net.load_state_dict(best_state)
        self.best_epoch_ = best_epoch
        self.net_ = net.cpu().eval()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        import torch

        with single_torch_thread(), torch.no_grad():
            logits = self.net_(torch.from_numpy(self._scale(X)))
            return torch.softmax(logits, dim=1).numpy().astype(np.float64)

    def _save_state(self):
        import torch

        buffer = io.BytesIO()
        torch.save(self.net_.state_dict(), buffer)
        return {"best_epoch_": self.best_epoch_, "n_features_in_": int(self.n_features_in_)}, {
            "scaler.skops": _skops_dumps(self.scaler_),
            "mlp.pt": buffer.getvalue(),
        }

    def _load_state(self, state, files):
        import torch

        self.scaler_ = _skops_loads(files["scaler.skops"], "scaler.skops")
        self.best_epoch_ = state["best_epoch_"]
        self.n_features_in_ = state["n_features_in_"]
        net = _build_mlp(self.n_features_in_, self.hidden, len(self.classes_), self.dropout)
        net.load_state_dict(torch.load(io.BytesIO(files["mlp.pt"]), map_location="cpu", weights_only=True))
        self.net_ = net.eval()


# --- ensemble -------------------------------------------------------------------------------------


def _balanced_nll(probs: np.ndarray, y: np.ndarray) -> float:
    weights = compute_sample_weight("balanced", y)
    return float(-np.sum(weights * np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))) / weights.sum())


def fit_weights(member_probs: Sequence[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 for averaging members' probabilities on held-out rows.

    The weights minimise the class-balanced log loss of the blend (softmax-parametrised, L-BFGS
    from equal weights). Log loss uses every probability, so it is far less noisy on a small inner
    split than picking weights by balanced accuracy (which tends to pick one member at random).
    """
    from scipy.optimize import minimize

    stack = np.stack(member_probs)  # (members, rows, classes)
    m = len(stack)

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max())
        return e / e.sum()

    def loss(z: np.ndarray) -> float:
        return _balanced_nll(np.tensordot(softmax(z), stack, axes=1), y)

    result = minimize(loss, np.zeros(m), method="L-BFGS-B")
    best = softmax(result.x) if loss(result.x) <= loss(np.zeros(m)) else np.full(m, 1.0 / m)
    best = np.round(best, 6)
    return best / best.sum()


class EnsembleClassifier(_Base):
    """Average of member classifiers' probabilities: equal weights (``weights="equal"``, soft
    voting) or fitted ones (``weights="fitted"``).

    Fitted weights are fitted on out-of-fold probabilities of the members over ``inner_folds``
    speaker-grouped inner folds of the training rows (every clean training row is held out once, so
    the weights rest on all of them, not on one small split). When that blend scores a lower pooled
    inner balanced accuracy than the best single member, the ensemble becomes that member
    (weight 1): on held-out inner data it is never worse than its best member.
    """

    name = "ensemble"

    def __init__(
        self,
        members: Sequence[str] = MEMBER_CLASSIFIERS,
        member_params: Mapping[str, Mapping[str, Any]] | None = None,
        weights: str = "equal",
        inner_folds: int = 3,
        seed: int = 0,
        n_jobs: int = 1,
    ):
        self.members = members
        self.member_params = member_params
        self.weights = weights
        self.inner_folds = inner_folds
        self.seed = seed
        self.n_jobs = n_jobs

    def _member(self, name: str) -> _Base:
        params = dict((self.member_params or {}).get(name, {}))
        return make_classifier(name, params, seed=self.seed, n_jobs=self.n_jobs)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        groups: np.ndarray | None = None,
        score_mask: np.ndarray | None = None,
        clips: np.ndarray | None = None,
        fitted_members: Mapping[str, _Base] | None = None,
    ) -> "EnsembleClassifier":
        """Fit weights; ``fitted_members`` (already trained on these same rows) skip the final refit."""
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        self.inner_grouping_ = {}
        if self.weights == "equal":
            self.weights_ = np.full(len(self.members), 1.0 / len(self.members))
            self.inner_scores_: dict[str, float] = {}
        elif self.weights == "fitted":
            self._fit_weights(X, y, groups, score_mask, clips)
        else:
            raise ValueError(f"classifiers.ensemble.weights: '{self.weights}' is unknown (equal|fitted)")
        self.members_: dict[str, _Base] = {}
        for name in self.members:
            if fitted_members is not None and name in fitted_members:
                member = fitted_members[name]
                if list(member.classes_) != list(self.classes_):
                    raise ValueError(f"ensemble member {name} was trained on labels {list(member.classes_)}")
            else:
                member = self._member(name).fit(X, y, groups, score_mask, clips=clips)
            self.members_[name] = member
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_weights(
        self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, score_mask: np.ndarray | None,
        clips: np.ndarray | None,
    ) -> None:
        """``weights_`` and ``inner_scores_`` from the members' out-of-fold probabilities."""
        yi = np.searchsorted(self.classes_, y)
        splits = self._keep_inner("weights", inner_cv(
            yi, groups, self.inner_folds, self.seed, score_mask, clips, purpose="ensemble weights"))
        held_out = [
            cross_val_proba(lambda name=name: self._member(name), X, y, groups, splits,
                            score_mask=score_mask, clips=clips)
            for name in self.members
        ]
        scored = ~np.isnan(held_out[0]).any(axis=1)
        held_out = [p[scored] for p in held_out]
        scores = {name: pooled_balanced_accuracy(p, yi[scored]) for name, p in zip(self.members, held_out)}
        weights = fit_weights(held_out, yi[scored])
        scores["blend"] = pooled_balanced_accuracy(np.tensordot(weights, np.stack(held_out), axes=1), yi[scored])
        best = max(self.members, key=lambda name: scores[name])
        if scores["blend"] < scores[best]:
            weights = np.array([float(name == best) for name in self.members])
        self.weights_ = weights
        self.inner_scores_ = {name: round(float(v), 6) for name, v in scores.items()}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        total = 0.0
        for w, name in zip(self.weights_, self.members):
            member = self.members_[name]
            total = total + w * align_proba(member, member.predict_proba(X), self.classes_)
        return total / np.sum(total, axis=1, keepdims=True)

    def _save_state(self):
        files: dict[str, bytes] = {}
        for name, member in self.members_.items():
            files[f"members/{name}.zip"] = model_bytes(member)
        return {"weights_": [float(w) for w in self.weights_], "inner_scores_": self.inner_scores_}, files

    def _load_state(self, state, files):
        self.weights_ = np.asarray(state["weights_"], dtype=np.float64)
        self.inner_scores_ = state.get("inner_scores_", {})
        self.members_ = {name: model_from_bytes(files[f"members/{name}.zip"], f"members/{name}.zip") for name in self.members}


def align_proba(model: _Base, probs: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """A model's probability columns (its ``classes_``) reordered to ``classes`` (zeros for a class
    the model never saw)."""
    out = np.zeros((len(probs), len(classes)))
    out[:, np.searchsorted(classes, model.classes_)] = probs
    return out


# --- factory --------------------------------------------------------------------------------------

_TYPES: dict[str, type[_Base]] = {
    "logreg": LogRegClassifier,
    "svm": SVMClassifier,
    "xgboost": XGBoostClassifier,
    "mlp": MLPClassifier,
    "ensemble": EnsembleClassifier,
}


def make_classifier(name: str, params: Mapping[str, Any] | None = None, seed: int = 0, n_jobs: int = 1) -> _Base:
    """Estimator ``name`` with config ``params`` (unknown keys raise a ValueError naming them)."""
    if name not in _TYPES:
        raise ValueError(f"unknown classifier '{name}' (known: {', '.join(CLASSIFIERS)})")
    cls = _TYPES[name]
    params = dict(params or {})
    known = set(cls().get_params())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"classifiers.{name}: unknown setting(s) {unknown} (known: {sorted(known - {'seed', 'n_jobs'})})")
    for key in ("hidden", "Cs", "members"):
        if key in params and params[key] is not None:
            params[key] = list(params[key])
    params.setdefault("seed", seed)
    params["n_jobs"] = n_jobs
    return cls(**params)


# --- persistence ----------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def model_bytes(model: _Base, extra: Mapping[str, Any] | None = None) -> bytes:
    """The zip of a fitted model: manifest.json (name, params, labels, state, file hashes) + files."""
    state, files = model._save_state()
    params = {k: v for k, v in model.get_params(deep=False).items() if k != "n_jobs"}
    manifest = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "classifier": model.name,
        "params": _jsonable(params),
        "classes": [str(c) for c in model.classes_],
        "state": _jsonable(state),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "extra": _jsonable(dict(extra or {})),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ["manifest.json", *sorted(files)]:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode() if name == "manifest.json" else files[name]
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # no timestamps: same model, same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def save_model(model: _Base, path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``model`` to ``path`` (a .zip) atomically."""
    from .cache import write_atomic

    data = model_bytes(model, extra)
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The JSON manifest of a model zip (verified like :func:`load_model`)."""
    return _open_zip(Path(path).read_bytes() if Path(path).is_file() else b"", str(path))[0]


def _open_zip(data: bytes, where: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not data:
        raise ModelFileError(f"{where}: model file is missing or empty")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ModelFileError(f"{where}: corrupt model file (bad CRC in '{bad}')")
            contents = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{where}: corrupt model file, not a readable zip ({exc})") from exc
    if "manifest.json" not in contents:
        raise ModelFileError(f"{where}: not a speech-emotion model (no manifest.json)")
    try:
        manifest = json.loads(contents.pop("manifest.json"))
    except ValueError as exc:
        raise ModelFileError(f"{where}: corrupt manifest.json ({exc})") from exc
    if manifest.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{where}: not a speech-emotion model (format {manifest.get('format')!r})")
    if manifest.get("version") != MODEL_VERSION:
        raise ModelFileError(f"{where}: model format version {manifest.get('version')} is not supported")
    for name, digest in manifest.get("files", {}).items():
        if name not in contents:
            raise ModelFileError(f"{where}: corrupt model file ('{name}' is missing)")
        if hashlib.sha256(contents[name]).hexdigest() != digest:
            raise ModelFileError(f"{where}: corrupt model file ('{name}' does not match its checksum)")
    return manifest, contents


def model_from_bytes(data: bytes, where: str = "<model>") -> _Base:
    """Rebuild a fitted model from :func:`model_bytes` output."""
    manifest, files = _open_zip(data, where)
    name = manifest["classifier"]
    if name not in _TYPES:
        raise ModelFileError(f"{where}: unknown classifier '{name}'")
    model = _TYPES[name](**manifest["params"])
    model.classes_ = np.asarray(manifest["classes"], dtype=object).astype(str)
    try:
        model._load_state(manifest["state"], files)
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from exc
    except Exception as exc:  # a damaged inner file: name it
        raise ModelFileError(f"{where}: cannot load the {name} model ({type(exc).__name__}: {exc})") from exc
    return model


def load_model(path: str | Path) -> _Base:
    """Load a model zip written by :func:`save_model`; a damaged file raises :class:`ModelFileError`."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file does not exist")
    return model_from_bytes(path.read_bytes(), str(path))
