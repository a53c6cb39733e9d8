"""The regress_tune job: a regressor's Optuna study nested in one training fold of one target.

The rows are those the fold's regress job trains on (:func:`speech_emotion.regress.fold.target_fold`: the
fold's clean training clips with a value of the target, in the plan's feature pipeline); the test fold is never
read. The study is :func:`speech_emotion.train.regressors.tuning.tune_regressor` (pooled inner CCC over
speaker-grouped inner folds). Called by workflow/scripts/regress_tune.py; writes study.sqlite3 and tuned.json
beside the fold's regress outputs, and the regress job of a tuned regressor puts tuned.json's ``params`` on
top of regressors.<name> (docs/regression.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.splits import parse_fold
from ..data.targets import Target
from ..train.features import Shards
from ..train.fold_plan import Plan
from ..train.regressors.tuning import tune_regressor
from .fold import target_fold

log = logging.getLogger(__name__)


def tune_fold(
    encoder: str,
    regressor: str,
    target: Target,
    fold: str | int,
    config: Mapping[str, Any],
    settings: Mapping[str, Any],
    shards: Shards,
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    plan: Mapping[str, Any] | Plan,
    storage_path: str | Path,
    seed: int,
    threads: int = 1,
) -> dict[str, Any]:
    """tuned.json of fold ``fold``: the study over ``settings`` (``space``, ``n_trials``, ``inner_folds``:
    tune.regressor_spaces.<name> and tune.*) with ``config`` (regressors.<name>) as the untuned settings."""
    plan = plan if isinstance(plan, Plan) else Plan.from_json(plan)
    data, spec, _, values, train, _ = target_fold(parse_fold(fold), shards, manifest, folds, plan, target)
    y = values.loc[data.train_ids[train]].to_numpy(dtype=float)
    log.info("tuning %s/%s %s fold %s on %d training clips with a value (%d speakers)", encoder, regressor,
             target.name, fold, len(y), len(set(data.groups_train[train])))
    result = tune_regressor(
        regressor, {**config, **spec.classifier_params()}, settings["space"], data.X_train[train], y,
        data.groups_train[train], storage_path, f"{target.name}-{encoder}-{regressor}-fold-{fold}",
        n_trials=settings["n_trials"], inner_folds=settings["inner_folds"], seed=seed, n_jobs=threads,
        clips=data.train_ids[train],
    )
    return {"target": target.name, "encoder": encoder, "regressor": regressor, "fold": str(fold),
            "n_train_clips": len(y), **result}
