"""The one list of classifiers: names, where each lives, what it may be used for.

Everything that names classifiers reads this registry (or a test checks it against it): the config
checks, tuning, the ensemble's members, model files, the code fingerprints of the rules and the
config schema's enums. Estimator modules are imported only when a classifier is made, so a job
loads only the code it runs (and the code fingerprint of a classifier's jobs covers only its own
module besides the shared code).

Adding a classifier: write ``speech_emotion/train/classifiers/<name>.py`` with a :class:`~.base.Classifier`
subclass, add one :class:`Entry` below and a ``classifiers.<name>`` block to config.yaml and the
schema (docs/contributing.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Classifier


@dataclass(frozen=True)
class Entry:
    """One classifier: its config name, module and class, and what it may be used for."""

    name: str
    module: str  # speech_emotion.train.classifiers.<module>
    cls: str
    member: bool  # may be a member of the ensemble
    tunable: bool  # may be named in tune.classifiers
    parallel: bool = True  # uses more than one thread (train.threads); False: one, so its jobs ask for one


REGISTRY: dict[str, Entry] = {
    entry.name: entry
    for entry in (
        Entry("logreg", "logreg", "LogRegClassifier", member=True, tunable=True),
        Entry("svm", "svm", "SVMClassifier", member=True, tunable=True),
        Entry("xgboost", "xgboost", "XGBoostClassifier", member=True, tunable=True, parallel=False),
        Entry("mlp", "mlp", "MLPClassifier", member=True, tunable=True, parallel=False),
        Entry("ensemble", "ensemble", "EnsembleClassifier", member=False, tunable=False),
    )
}
CLASSIFIERS = tuple(REGISTRY)
MEMBERS = tuple(name for name, entry in REGISTRY.items() if entry.member)
TUNABLE = tuple(name for name, entry in REGISTRY.items() if entry.tunable)


def module_name(name: str) -> str:
    """The module of classifier ``name`` (dotted, absolute)."""
    return f"{__package__}.{REGISTRY[name].module}"


def job_threads(name: str, threads: int) -> int:
    """Threads a train job of classifier ``name`` asks for: ``threads`` (train.threads), or 1 for a
    classifier that trains on one thread whatever it is given (XGBoost, the MLP), so that the
    scheduler runs another job on the other cores instead of keeping them idle."""
    return int(threads) if REGISTRY[name].parallel else 1


def classifier_class(name: str) -> type[Classifier]:
    """The estimator class of classifier ``name`` (its module is imported now)."""
    if name not in REGISTRY:
        raise ValueError(f"unknown classifier '{name}' (known: {', '.join(CLASSIFIERS)})")
    return getattr(importlib.import_module(module_name(name)), REGISTRY[name].cls)


def make_classifier(name: str, params: Mapping[str, Any] | None = None, seed: int = 0, n_jobs: int = 1) -> Classifier:
    """Estimator ``name`` with config ``params`` (unknown keys raise a ValueError naming them)."""
    return configured(classifier_class(name), f"classifiers.{name}", params, seed, n_jobs)


def configured(cls: type, where: str, params: Mapping[str, Any] | None, seed: int, n_jobs: int) -> Any:
    """``cls`` made with config ``params`` (``where``: their config key, named when a key is unknown),
    the run's ``seed`` unless the params set one, and ``n_jobs``; lists for tuples (as in the config)."""
    params = dict(params or {})
    known = set(cls().get_params())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown} (known: {sorted(known - {'seed', 'n_jobs'})})")
    for key, value in params.items():
        if isinstance(value, tuple):
            params[key] = list(value)
    params.setdefault("seed", seed)
    params["n_jobs"] = n_jobs
    return cls(**params)
