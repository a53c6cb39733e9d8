"""The one list of regressors: names, where each lives, whether it trains on several threads.

The same shape as :mod:`speech_emotion.train.classifiers.registry` (its :class:`Entry`); settings come
from the config section ``regressors.<name>`` (config.yaml and the schema).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..classifiers.registry import Entry, configured

if TYPE_CHECKING:
    from .base import Regressor

REGISTRY: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry("ridge", "ridge", "RidgeRegressor", member=True, tunable=True),
        Entry("svr", "svr", "SVRRegressor", member=True, tunable=True),
        Entry("xgboost", "xgboost", "XGBoostRegressor", member=True, tunable=True, parallel=False),
        Entry("mlp", "mlp", "MLPRegressor", member=True, tunable=True, parallel=False),
        # the mean of its members' predictions; in a regress job it loads their models of the same fold
        Entry("ensemble", "ensemble", "EnsembleRegressor", member=False, tunable=False, parallel=False),
    )
}
REGRESSORS = tuple(REGISTRY)
MEMBERS = tuple(name for name, entry in REGISTRY.items() if entry.member)
TUNABLE = tuple(name for name, entry in REGISTRY.items() if entry.tunable)


def module_name(name: str) -> str:
    """The module of regressor ``name`` (dotted, absolute)."""
    return f"{__package__}.{REGISTRY[name].module}"


def regressor_class(name: str) -> type[Regressor]:
    """The estimator class of regressor ``name`` (its module is imported now)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown regressor '{name}' (known: {', '.join(REGRESSORS)})")
    return getattr(importlib.import_module(module_name(name)), REGISTRY[name].cls)


def make_regressor(name: str, params: Mapping[str, Any] | None = None, seed: int = 0, n_jobs: int = 1) -> Regressor:
    """Estimator ``name`` with config ``params`` (unknown keys raise a ValueError naming them)."""
    return configured(regressor_class(name), f"regressors.{name}", params, seed, n_jobs)
