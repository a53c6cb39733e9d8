"""Inner splits of a training part, and the one score of every inner choice.

Every inner choice (logreg's C, the layer probe, the copies decision, SVM calibration, early
stopping, ensemble weights, tuning) splits the training part of a fold, never the test fold:
speaker-grouped splits, or, where speaker groups cannot give every inner training part every class,
clip-grouped splits (a clip and its augmented copies one group), never ungrouped rows. Held-out rows
are clean clips only (``clean``): copies only train. Choices are scored by the balanced accuracy of
out-of-fold predictions pooled over the inner folds (:func:`pooled_balanced_accuracy`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedGroupKFold

from .base import align_proba

if TYPE_CHECKING:
    from .base import Classifier

log = logging.getLogger(__name__)


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


def _as_mask(n: int, clean: np.ndarray | None) -> np.ndarray:
    """``clean`` as a boolean row mask (every row clean when None)."""
    return np.ones(n, dtype=bool) if clean is None else np.asarray(clean, dtype=bool)


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
    clean: np.ndarray | None = None,
    clips: np.ndarray | None = None,
    purpose: str = "inner CV",
) -> InnerSplits:
    """Speaker-grouped stratified ``n_splits``-fold splits of the rows given (a training part).

    Held-out rows are only those of ``clean`` (the clean clips; a held-out clip's copies are on
    neither side). When speaker groups cannot give every inner training part every class (a class
    from fewer speakers than splits, or fewer speakers than splits), the splits group rows by clip
    instead (``clips``: each row's clip id, shared by its copies), never by row, and the fallback is
    logged with its reason (``purpose`` names the inner choice in the log).
    """
    y = np.asarray(y)
    scorable = _as_mask(len(y), clean)
    n_classes = len(np.unique(y))
    if groups is not None:
        groups = np.asarray(groups)
        if len(np.unique(groups)) >= n_splits:
            splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            splits = list(splitter.split(np.zeros(len(y)), y, groups))
            if all(len(np.unique(y[tr])) == n_classes for tr, _ in splits):
                return InnerSplits([(tr, va[scorable[va]]) for tr, va in splits], "speaker")
        reason = _missing_class_reason(y, groups, n_splits)
    else:
        reason = "no speaker ids given"
    splits = _fallback_splits(y, _clip_groups(len(y), clips, scorable), scorable, n_splits, seed)
    _log_fallback(purpose, reason)
    return InnerSplits([(tr, va[scorable[va]]) for tr, va in splits], "clip", reason)


def inner_split(
    y: np.ndarray,
    groups: np.ndarray | None,
    fraction: float,
    seed: int,
    clean: np.ndarray | None = None,
    clips: np.ndarray | None = None,
    purpose: str = "inner split",
) -> InnerSplits:
    """One (train, validation) split holding out about ``fraction`` of the clips, validation rows only
    from ``clean``: the first speaker-grouped split whose training part has every class, else
    the first clip-grouped one (logged, as in :func:`inner_cv`)."""
    y = np.asarray(y)
    scorable = _as_mask(len(y), clean)
    n_classes = len(np.unique(y))
    n_splits = max(2, int(round(1.0 / fraction)))

    def first_valid(splits) -> tuple[np.ndarray, np.ndarray] | None:
        for tr, va in splits:
            if len(np.unique(y[tr])) == n_classes and scorable[va].any():
                return tr, va[scorable[va]]
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
    found = first_valid(_fallback_splits(y, _clip_groups(len(y), clips, scorable), scorable, n_splits, seed))
    if found is None:
        raise ValueError(f"{purpose}: no clip-grouped split keeps every class in training ({reason})")
    _log_fallback(purpose, reason)
    return InnerSplits([found], "clip", reason)


def log_inner_grouping(where: str, inner: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Warn in the job's log (``where``: the fold) for each inner choice whose splits fell back from
    speaker to clip groups (``inner``: purpose -> :meth:`InnerSplits.record`)."""
    for purpose, record in inner.items():
        if record and record["grouping"] != "speaker":
            log.warning("%s: %s splits grouped by %s, not by speaker: %s", where, purpose, record["grouping"],
                        record["reason"])


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
    make: Callable[[], "Classifier"],
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    n_jobs: int = 1,
    clean: np.ndarray | None = None,
    clips: np.ndarray | None = None,
    fit_extra: Callable[[int], Mapping[str, Any]] | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities: per (train, held-out) split, a fresh ``make()`` model fitted on
    the train rows predicts the held-out rows. Columns follow ``np.unique(y)``; rows that no split
    holds out stay NaN (the k-fold splits of :func:`inner_cv` hold out every scored row once).
    ``groups``, ``clean`` and ``clips`` are handed on to each model's own inner splits;
    ``fit_extra(k)`` gives more keyword arguments for the fit of split ``k`` (e.g. a callback)."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    classes = np.unique(y)

    def rows(values: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[index]

    def one(k: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
        extra = fit_extra(k) if fit_extra is not None else {}
        model = make().fit(X[tr], y[tr], rows(groups, tr), rows(clean, tr), clips=rows(clips, tr), **extra)
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
