"""The library code each training rule's results depend on, hashed into the rule's ``code`` param.

Snakemake reruns a job when its script changes, but it does not see the package the script imports.
Rules plan, tune, train, cross_plan, cross_train, explain, regress, regress_tune and regress_plan therefore carry ``code``: the SHA-256 of the
source text of the package files listed for them in :data:`RULE_CODE`, so that an edit of that code
reruns them and an edit of anything else does not.

A folder in the list stands for every ``.py`` file under it, except the classifiers' and the
regressors' own modules (``train/classifiers/<name>.py``, ``train/regressors/<name>.py`` of each
registry entry): a job gets its own classifier's or regressor's module (the ensemble every member's,
since it trains or reads its members; the MLP regressor the classifier MLP's network too), and a file
named in the list is always in. The regressors (``train/regressors``) are left out of a folder that
contains them unless the list names them: no classification rule imports them, so an edit there
reruns no classifier. ``tests/test_package.py`` checks that each list covers everything the rule's script
imports, so a list that falls behind the code fails the suite instead of silently missing an edit.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .train.classifiers.registry import CLASSIFIERS, REGISTRY
from .train.regressors.registry import REGISTRY as REGRESSOR_REGISTRY

CLASSIFIER_DIR = "train/classifiers"
REGRESSOR_DIR = "train/regressors"

_TRAINING = ("devices.py", "data", "embed", "io", "train")
RULE_CODE: dict[str, tuple[str, ...]] = {
    "plan": (*_TRAINING, f"{CLASSIFIER_DIR}/logreg.py"),  # the layer probe is a logistic regression
    "tune": _TRAINING,
    "train": _TRAINING,
    "cross_plan": (*_TRAINING, "cross", "evaluate", f"{CLASSIFIER_DIR}/logreg.py"),
    "cross_train": (*_TRAINING, "cross", "evaluate", f"{CLASSIFIER_DIR}/logreg.py"),
    "explain": (*_TRAINING, "explain"),
    # a regressor per target: the regressors, their metrics (inner choices score CCC) and the stage's fold code
    # (not regress/'s summary and figures, which no fit depends on)
    "regress": (*_TRAINING, REGRESSOR_DIR, "regress/__init__.py", "regress/fold.py", "evaluate/__init__.py",
                "evaluate/regression.py", "evaluate/metrics.py", "evaluate/human.py"),
}
REGRESSOR_USES = {"mlp": (f"{CLASSIFIER_DIR}/mlp.py",)}
"""Modules a regressor runs beyond its own (the MLP regressor is the classifier MLP's network)."""
# a regression plan: the plan's machinery with a ridge probe (the ridge regressor and the inner splits, not the
# other regressors) scored by CCC
RULE_CODE["regress_plan"] = (*RULE_CODE["plan"], "regress/__init__.py", "regress/plan.py", "evaluate/__init__.py",
                             "evaluate/regression.py", "evaluate/metrics.py", "evaluate/human.py",
                             *(f"{REGRESSOR_DIR}/{name}.py" for name in ("__init__", "registry", "base", "inner", "ridge")))
"""Rule -> the package folders and files (relative to ``workflow/speech_emotion``) its results depend on."""
RULE_CODE["regress_tune"] = (*RULE_CODE["regress"], "regress/tune.py")  # a regressor's study: the regress job's rows and fits


def classifier_files(classifier: str | None) -> set[str]:
    """The classifier modules a job of ``classifier`` runs (None: none; the ensemble: all)."""
    if classifier is None:
        return set()
    names = CLASSIFIERS if classifier == "ensemble" else (classifier,)
    return {f"{CLASSIFIER_DIR}/{REGISTRY[name].module}.py" for name in names}


def regressor_files(regressor: str | None) -> set[str]:
    """The modules a job of ``regressor`` runs (None: none; the ensemble: every regressor's)."""
    if regressor is None:
        return set()
    names = tuple(REGRESSOR_REGISTRY) if regressor == "ensemble" else (regressor,)
    return {f"{REGRESSOR_DIR}/{REGRESSOR_REGISTRY[name].module}.py" for name in names} | {
        file for name in names for file in REGRESSOR_USES.get(name, ())}


def rule_files(package_dir: str | Path, rule: str, classifier: str | None = None,
               regressor: str | None = None) -> list[str]:
    """The files (relative to ``package_dir``, sorted) whose text makes rule ``rule``'s ``code`` param
    for a job of ``classifier`` or ``regressor`` (None: a rule of neither)."""
    package_dir = Path(package_dir)
    if rule not in RULE_CODE:
        raise KeyError(f"rule {rule!r} has no code list (known: {', '.join(RULE_CODE)})")
    own = {f"{CLASSIFIER_DIR}/{entry.module}.py" for entry in REGISTRY.values()} | {
        f"{REGRESSOR_DIR}/{entry.module}.py" for entry in REGRESSOR_REGISTRY.values()}
    wanted = classifier_files(classifier) | regressor_files(regressor)
    files: set[str] = set()
    for item in RULE_CODE[rule]:
        path = package_dir / item
        if path.is_dir():
            found = {p.relative_to(package_dir).as_posix() for p in path.rglob("*.py") if "__pycache__" not in p.parts}
            files |= {f for f in found if f not in own
                      and (not f.startswith(f"{REGRESSOR_DIR}/") or item.startswith(REGRESSOR_DIR))}
        elif path.is_file():
            files.add(item)
        else:
            raise FileNotFoundError(f"RULE_CODE[{rule!r}] names {item}, which is not in {package_dir}")
    return sorted(files | wanted)


def rule_code(package_dir: str | Path, rule: str, classifier: str | None = None, regressor: str | None = None) -> str:
    """SHA-256 of the source text of :func:`rule_files` (each file named by its path in the package, so
    a checkout moved elsewhere hashes the same)."""
    digest = hashlib.sha256()
    for name in rule_files(package_dir, rule, classifier, regressor):
        digest.update(f"\0{name}\0".encode() + (Path(package_dir) / name).read_bytes())
    return digest.hexdigest()
