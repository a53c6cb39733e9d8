"""Nested hyper-parameter tuning: Optuna TPE inside one training fold, speaker-grouped inner CV.

The objective is the balanced accuracy of out-of-fold predictions pooled over ``inner_folds``
speaker-grouped splits of the training rows (clip-grouped where speakers cannot be used; scored on
clean clips only: augmented copies train but never score), the one score of every inner choice
(:func:`speech_emotion.train.classifiers.inner.pooled_balanced_accuracy`). Each study is
stored in its own SQLite file (``optuna-dashboard sqlite:///.../study.sqlite3`` opens it). The MLP
reports its per-epoch validation score, so a MedianPruner stops hopeless trials early.

The study itself (:func:`run_study`: sampler, SQLite file, best trial) takes its score as a function, so
the regressors' tuning (:mod:`speech_emotion.train.regressors.tuning`, pooled inner CCC) runs the same study.

Search spaces (config ``tune.spaces.<classifier>``) map a parameter to ``{choices: [...]}`` or
``{low, high, log?, step?}`` (integers when low and high are integers); a classifier may map the
drawn values to its settings (``from_search``: the MLP's ``n_layers`` and ``units`` become ``hidden``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .classifiers import TUNABLE, classifier_class, make_classifier
from .classifiers.inner import cross_val_proba, inner_cv, pooled_balanced_accuracy

log = logging.getLogger(__name__)


def suggest(trial, space: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Draw one value per parameter of ``space`` from an Optuna trial."""
    values: dict[str, Any] = {}
    for name, spec in space.items():
        if "choices" in spec:
            values[name] = trial.suggest_categorical(name, list(spec["choices"]))
        elif isinstance(spec.get("low"), int) and isinstance(spec.get("high"), int) and not spec.get("float"):
            values[name] = trial.suggest_int(name, spec["low"], spec["high"], log=bool(spec.get("log", False)),
                                             step=int(spec.get("step", 1)))
        else:
            values[name] = trial.suggest_float(name, float(spec["low"]), float(spec["high"]),
                                               log=bool(spec.get("log", False)))
    return values


def to_params(classifier: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Trial values -> the classifier's settings (its ``from_search``)."""
    return classifier_class(classifier).from_search(values)


def run_study(
    what: str,
    space: Mapping[str, Mapping[str, Any]],
    score: Callable[[Any, dict[str, Any]], float],
    params_of: Callable[[Mapping[str, Any]], dict[str, Any]],
    storage_path: str | Path,
    study_name: str,
    n_trials: int = 30,
    seed: int = 0,
    pruner: Any = None,
    score_name: str = "score",
) -> dict[str, Any]:
    """The study shared by every tuned estimator: a TPE sampler seeded with ``seed``, ``pruner`` (an Optuna
    pruner; None: none), ``n_trials`` trials in a fresh SQLite file (an existing one is replaced, so a rerun
    gives the same study). Each trial draws values from ``space`` (:func:`suggest`), turns them into settings
    (``params_of``: the estimator's ``from_search``) and is scored by ``score(trial, settings)`` (higher is
    better; it may raise ``optuna.TrialPruned``). Returns ``{"params": the best trial's settings, "value",
    "trials", "complete_trials", "pruned_trials"}``; ``what`` and ``score_name`` name the study in messages."""
    import optuna

    storage_path = Path(storage_path)
    storage_path.parent.mkdir(parents=True, exist_ok=True)
    if storage_path.exists():
        storage_path.unlink()
    study = optuna.create_study(
        study_name=study_name,
        storage=f"sqlite:///{storage_path.resolve()}",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner if pruner is not None else optuna.pruners.NopPruner(),
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(lambda trial: score(trial, params_of(suggest(trial, space))), n_trials=int(n_trials))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise RuntimeError(f"{what}: every trial was pruned or failed")
    best = study.best_trial
    log.info("%s: best %s %.4f with %s", what, score_name, best.value, best.params)
    return {
        "params": params_of(best.params),
        "value": float(best.value),
        "trials": len(study.trials),
        "complete_trials": len(complete),
        "pruned_trials": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
    }


def tune(
    classifier: str,
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
    pruner: Mapping[str, Any] | None = None,
    clips: np.ndarray | None = None,
) -> dict[str, Any]:
    """Run the study; return ``{"params": best classifier params, "value": best score, "trials": n}``.

    ``clean`` marks rows that may be scored (clean clips); all rows of an inner training
    split train; ``clips`` (each row's clip id) keeps a clip and its copies on one side where the
    splits cannot group by speaker. An existing study file is replaced, so a rerun gives the same study.
    The regressors' study (scored by CCC) is :func:`speech_emotion.train.regressors.tuning.tune_regressor`.
    """
    import optuna

    if classifier not in TUNABLE:
        raise ValueError(f"tune.classifiers: '{classifier}' cannot be tuned (tunable: {', '.join(TUNABLE)})")
    if not space:
        raise ValueError(f"tune.spaces.{classifier}: no search space configured")
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    mask = np.ones(len(y), dtype=bool) if clean is None else np.asarray(clean, dtype=bool)
    pruner_cfg = dict(pruner or {})
    median = optuna.pruners.MedianPruner(
        n_startup_trials=int(pruner_cfg.get("n_startup_trials", 5)),
        n_warmup_steps=int(pruner_cfg.get("n_warmup_steps", 10)),
    ) if classifier == "mlp" else None
    splits = inner_cv(y, groups, inner_folds, seed, mask, clips, purpose="tuning")

    def score(trial, drawn: dict[str, Any]) -> float:
        params = {**dict(base_params), **drawn}

        def pruning(k: int) -> dict[str, Any]:
            """The MLP reports each epoch's validation score of inner split k to the pruner."""
            if classifier != "mlp":
                return {}
            offset = k * int(params.get("max_epochs", 200))

            def report(epoch: int, score: float) -> None:
                trial.report(score, offset + epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

            return {"epoch_callback": report}

        probs = cross_val_proba(lambda: make_classifier(classifier, params, seed=seed, n_jobs=n_jobs), X, y, groups,
                                splits, clean=mask, clips=clips, fit_extra=pruning)
        if np.isnan(probs).any(axis=1).all():
            raise ValueError("tuning: no inner validation fold has a clean clip to score")
        return pooled_balanced_accuracy(probs, y)

    result = run_study(f"tuning {classifier}", space, score, lambda values: to_params(classifier, values),
                       storage_path, study_name, n_trials, seed, median, "inner-CV balanced accuracy")
    return {"inner": splits.record(), **result}
