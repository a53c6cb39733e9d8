"""Inner splits of a training part for regressors, and the one score of every inner choice.

As for the classifiers (:mod:`speech_emotion.train.classifiers.inner`): every inner choice splits the
training part of a fold, never its test fold; splits are speaker-grouped (``GroupKFold``, shuffled
with the seed: there are no classes to stratify), or, with fewer speakers than splits, clip-grouped
(a clip and its augmented copies one group; the fallback is logged), never by row. Held-out rows are
clean clips only. Choices are scored by the concordance correlation of the out-of-fold predictions
pooled over the inner folds (:func:`pooled_ccc`).
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GroupKFold

from ...evaluate.regression import concordance
from ..classifiers.inner import InnerSplits, _as_mask, _clip_groups, _log_fallback


def _grouped(n: int, groups: np.ndarray | None, n_splits: int, seed: int, clean: np.ndarray | None,
             clips: np.ndarray | None, purpose: str) -> tuple[list[tuple[np.ndarray, np.ndarray]], str, str | None]:
    scorable = _as_mask(n, clean)
    if groups is not None and len(np.unique(groups)) >= n_splits:
        keys, grouping, reason = np.asarray(groups), "speaker", None
    else:
        reason = (f"{len(np.unique(groups))} speakers for {n_splits} inner folds" if groups is not None
                  else "no speaker ids given")
        keys, grouping = _clip_groups(n, clips, scorable), "clip"
        if len(np.unique(keys)) < n_splits:
            raise ValueError(f"{purpose}: {len(np.unique(keys))} clips for {n_splits} inner folds")
        _log_fallback(purpose, reason)
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    splits = [(tr, va[scorable[va]]) for tr, va in splitter.split(np.zeros((n, 1)), groups=keys)]
    return splits, grouping, reason


def regression_inner_cv(n: int, groups: np.ndarray | None, n_splits: int, seed: int, clean: np.ndarray | None = None,
                        clips: np.ndarray | None = None, purpose: str = "inner CV") -> InnerSplits:
    """``n_splits`` speaker-grouped (else clip-grouped) folds of ``n`` training rows; held-out rows clean only."""
    splits, grouping, reason = _grouped(n, groups, n_splits, seed, clean, clips, purpose)
    return InnerSplits(splits, grouping, reason)


def regression_inner_split(n: int, groups: np.ndarray | None, fraction: float, seed: int,
                           clean: np.ndarray | None = None, clips: np.ndarray | None = None,
                           purpose: str = "inner split") -> InnerSplits:
    """One (train, validation) split holding out about ``fraction`` of the speakers (else clips): the
    first of ``round(1 / fraction)`` grouped folds that holds out a clean row."""
    n_splits = max(2, int(round(1.0 / fraction)))
    splits, grouping, reason = _grouped(n, groups, n_splits, seed, clean, clips, purpose)
    found = next(((tr, va) for tr, va in splits if len(va)), None)
    if found is None:
        raise ValueError(f"{purpose}: no inner split holds out a clean row")
    return InnerSplits([found], grouping, reason)


def pooled_ccc(held_out: np.ndarray, y: np.ndarray) -> float:
    """CCC of out-of-fold predictions pooled over the inner folds (rows never held out, NaN, left out)."""
    held_out = np.asarray(held_out, dtype=np.float64).ravel()
    seen = ~np.isnan(held_out)
    return concordance(np.asarray(y)[seen], held_out[seen])
