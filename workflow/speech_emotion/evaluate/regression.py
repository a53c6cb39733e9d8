"""Regression metrics for continuous targets (arousal, valence, perceived intensity).

Scores of one set of predictions (:func:`regression_scores`): Lin's concordance correlation
coefficient ``ccc`` (population moments), Pearson's ``pearson``, ``mae`` and ``rmse``.
:func:`regression_metrics` gives them per fold, pooled over folds and as mean +- std over folds (the
population std, ddof=0, as the classification metrics), beside the chance level: each fold's
test clips predicted by that fold's TRAINING mean (:func:`training_means`).

Degenerate inputs never give a silent NaN:

- fewer than 2 values, arrays of different lengths, NaN or infinite values: ValueError;
- constant targets: ValueError for ``ccc`` and ``pearson`` (neither is defined); MAE and RMSE are;
- constant predictions (targets vary): ``ccc`` is 0 (its covariance term is 0 and the denominator is
  not), and ``pearson`` is reported as 0 too (strictly undefined; 0 says "no linear association"
  instead of NaN, so a collapsed model and the chance level score alike).

By construction the chance level scores ``ccc`` 0 and ``pearson`` 0 in every fold; pooled over folds it
need not be 0 (each fold is predicted by its own training mean; a fold whose clips are high has a
lower training mean, so the pooled chance CCC is usually slightly negative). It is computed, not
assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..data.splits import partition
from .metrics import _summary

REGRESSION_METRICS = ("ccc", "pearson", "mae", "rmse")
"""Metric names of continuous targets, everywhere (metrics.json, summary columns)."""

REGRESSION_NOTE = (
    "ccc: Lin's concordance correlation coefficient (population moments; 1 = perfect, 0 = chance); "
    "pearson: linear correlation; mae, rmse: in the target's units. chance: each fold's test clips "
    "predicted by that fold's training mean (ccc and pearson 0 in every fold; pooled they may differ from 0); "
    "std is the population standard deviation (ddof=0) of the per-fold values"
)


def _pair(y_true: Any, y_pred: Any, minimum: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as float64 vectors; ValueError for different lengths, too few or non-finite values."""
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if len(t) != len(p):
        raise ValueError(f"targets and predictions differ in length ({len(t)} vs {len(p)})")
    if len(t) < minimum:
        raise ValueError(f"{len(t)} value(s): at least {minimum} are needed")
    for name, values in (("targets", t), ("predictions", p)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"{name}: {int(bad.sum())} of {len(values)} values are NaN or infinite "
                             f"(first at position {int(np.flatnonzero(bad)[0])})")
    return t, p


def _moments(y_true: Any, y_pred: Any) -> tuple[float, float, float, float, float]:
    """(mean_t, mean_p, var_t, var_p, cov) with population moments; ValueError for constant targets."""
    t, p = _pair(y_true, y_pred)
    mt, mp = t.mean(), p.mean()
    var_t, var_p = float(((t - mt) ** 2).mean()), float(((p - mp) ** 2).mean())
    if var_t == 0.0:
        raise ValueError(f"the targets are constant ({t[0]!r} x {len(t)}): ccc and pearson are undefined")
    return float(mt), float(mp), var_t, var_p, float(((t - mt) * (p - mp)).mean())


def concordance(y_true: Any, y_pred: Any) -> float:
    """Lin's concordance correlation coefficient, ``2 cov / (var_t + var_p + (mean_t - mean_p)^2)``
    with population (ddof=0) moments. 0 for constant predictions; ValueError for constant targets."""
    mt, mp, var_t, var_p, cov = _moments(y_true, y_pred)
    return 2.0 * cov / (var_t + var_p + (mt - mp) ** 2)


def pearson(y_true: Any, y_pred: Any) -> float:
    """Pearson's r. 0 for constant predictions (documented convention); ValueError for constant targets."""
    _, _, var_t, var_p, cov = _moments(y_true, y_pred)
    if var_p == 0.0:
        return 0.0
    return float(np.clip(cov / np.sqrt(var_t * var_p), -1.0, 1.0))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error (at least one value)."""
    t, p = _pair(y_true, y_pred, minimum=1)
    return float(np.abs(t - p).mean())


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error (at least one value)."""
    t, p = _pair(y_true, y_pred, minimum=1)
    return float(np.sqrt(((t - p) ** 2).mean()))


def regression_scores(y_true: Any, y_pred: Any) -> dict[str, float]:
    """``ccc``, ``pearson``, ``mae``, ``rmse`` of one set of predictions (unrounded)."""
    return {"ccc": concordance(y_true, y_pred), "pearson": pearson(y_true, y_pred),
            "mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred)}


def training_means(targets: pd.Series, fold_of: pd.Series) -> dict[int, float]:
    """Each fold's chance prediction: the mean target of its training clips.

    ``targets``: clip_id -> value (clips without a value, NaN, are left out: they train nothing);
    ``fold_of``: clip_id -> fold (folds.tsv). The training part is the one of
    :func:`speech_emotion.data.splits.partition` (every clip outside the fold, or the train-only
    clips of a predefined split); only clean clips count, as the test clips are clean. ValueError for
    a fold whose training part has no value.
    """
    known = targets.dropna()
    fold_of = fold_of.astype(int)
    out = {}
    for fold in sorted(set(fold_of) - {-1}):
        train, _ = partition(fold_of, fold)
        values = known[known.index.isin(train)]
        if values.empty:
            raise ValueError(f"fold {fold}: no training clip has a target value")
        out[int(fold)] = float(values.mean())
    return out


def regression_metrics(
    predictions: pd.DataFrame,
    train_means: Mapping[int, float],
    target: str = "target",
    prediction: str = "prediction",
) -> dict[str, Any]:
    """Everything a regression metrics.json holds for one (encoder, regressor, target).

    ``predictions``: one row per test clip with ``fold``, the true value (column ``target``) and the
    prediction (column ``prediction``); ``train_means``: fold -> the fold's training mean
    (:func:`training_means`), the chance prediction. Per metric: ``per_fold``, ``mean``, ``std``
    (ddof=0) and ``pooled``; ``chance`` holds the same for the chance predictions and the means. A fold
    with fewer than 2 clips or constant targets raises a ValueError naming the fold.
    """
    frame = predictions.sort_values(["fold", "clip_id"] if "clip_id" in predictions else ["fold"], kind="stable")
    means = {int(k): float(v) for k, v in train_means.items()}
    missing = sorted(set(frame["fold"].astype(int)) - set(means))
    if missing:
        raise ValueError(f"no training mean for fold(s) {missing}")
    chance = frame["fold"].astype(int).map(means).to_numpy()
    per_fold: dict[str, dict[str, float]] = {}
    per_fold_chance: dict[str, dict[str, float]] = {}
    for fold, group in frame.groupby("fold", sort=True):
        try:
            per_fold[str(fold)] = regression_scores(group[target], group[prediction])
            per_fold_chance[str(fold)] = regression_scores(group[target], np.full(len(group), means[int(fold)]))
        except ValueError as exc:
            raise ValueError(f"fold {fold}: {exc}") from None
    pooled = regression_scores(frame[target], frame[prediction])
    pooled_chance = regression_scores(frame[target], chance)
    out: dict[str, Any] = {
        "n_clips": int(len(frame)),
        "n_folds": len(per_fold),
        "folds": {k: int((frame["fold"].astype(str) == k).sum()) for k in per_fold},
        "note": REGRESSION_NOTE,
    }
    for name in REGRESSION_METRICS:
        out[name] = _summary({k: v[name] for k, v in per_fold.items()}, pooled[name])
    out["chance"] = {
        "train_mean": {str(k): round(v, 6) for k, v in sorted(means.items())},
        **{name: _summary({k: v[name] for k, v in per_fold_chance.items()}, pooled_chance[name])
           for name in REGRESSION_METRICS},
    }
    return out
