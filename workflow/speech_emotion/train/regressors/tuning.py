"""Nested tuning of a regressor: the classifiers' Optuna study (:func:`speech_emotion.train.tuning.run_study`:
TPE, one SQLite file per study, the estimator's ``from_search``) scored by the concordance correlation of the
out-of-fold predictions pooled over speaker-grouped inner folds of the training rows (:func:`.inner.pooled_ccc`,
the one score of every inner choice of the regressors). No trial is pruned: no regressor reports a score per
epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..classifiers.inner import out_of_fold
from ..tuning import run_study
from .inner import pooled_ccc, regression_inner_cv
from .registry import TUNABLE, make_regressor, regressor_class


def tune_regressor(
    regressor: str,
    base_params: Mapping[str, Any],
    space: Mapping[str, Mapping[str, Any]],
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    storage_path: str | Path,
    study_name: str,
    n_trials: int = 30,
    inner_folds: int = 3,
    seed: int = 0,
    n_jobs: int = 1,
    clean: np.ndarray | None = None,
    clips: np.ndarray | None = None,
) -> dict[str, Any]:
    """Tune ``regressor`` (settings ``base_params``, searched ones drawn from ``space``) on rows ``X``, ``y``.

    Every trial fits the regressor on each of ``inner_folds`` speaker-grouped (else clip-grouped) inner training
    parts and predicts the held-out part (clean rows only); the trial's value is the pooled CCC. The inner folds
    run in ``n_jobs`` processes (the value does not depend on it). Returns ``{"inner", "params" (best settings),
    "inner_ccc", "trials", "complete_trials", "pruned_trials"}``.
    """
    if regressor not in TUNABLE:
        raise ValueError(f"tune.regressors: '{regressor}' cannot be tuned (tunable: {', '.join(TUNABLE)}; "
                         "the ensemble's members are tuned in their own jobs)")
    if not space:
        raise ValueError(f"tune.regressor_spaces.{regressor}: no search space configured")
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.float64)
    splits = regression_inner_cv(len(y), groups, inner_folds, seed, clean, clips, purpose="tuning")

    def rows(values: np.ndarray | None, index: np.ndarray) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[index]

    def score(trial: Any, drawn: dict[str, Any]) -> float:
        params = {**dict(base_params), **drawn}

        def fit_predict(_: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
            model = make_regressor(regressor, params, seed=seed)
            return model.fit(X[tr], y[tr], rows(groups, tr), rows(clean, tr), rows(clips, tr)).predict(X[va])

        return pooled_ccc(out_of_fold(fit_predict, splits, len(y), 1, n_jobs), y)

    result = run_study(f"tuning regressor {regressor}", space, score, regressor_class(regressor).from_search,
                       storage_path, study_name, n_trials, seed, None, "pooled inner CCC")
    return {"inner": splits.record(), "params": result["params"], "inner_ccc": round(result["value"], 6),
            **{k: result[k] for k in ("trials", "complete_trials", "pruned_trials")}}
