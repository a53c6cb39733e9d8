"""The package's shape: folders that mirror the rule files, no import circle, and each training rule's
``code`` list (speech_emotion.rule_code) covering everything its script imports.

The import graph is read statically (every ``import`` statement, those inside functions included)
from the source text, so these tests see what a job could run, not only what one import loads.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from speech_emotion.rule_code import RULE_CODE, rule_code, rule_files
from speech_emotion.train.classifiers.registry import CLASSIFIERS, REGISTRY
from speech_emotion.train.regressors.registry import REGISTRY as REGRESSOR_REGISTRY, REGRESSORS

PACKAGE = REPO / "workflow" / "speech_emotion"
SCRIPTS = REPO / "workflow" / "scripts"
RULE_SCRIPT = {"plan": "plan.py", "tune": "tune.py", "train": "train.py", "cross_plan": "cross_plan.py",
               "cross_train": "cross_train.py", "explain": "explain.py",
               "regress": "regress.py", "regress_plan": "regress_plan.py", "regress_tune": "regress_tune.py"}
CLASSIFIER_RULES = {"tune": CLASSIFIERS[:-1], "train": CLASSIFIERS, "cross_train": CLASSIFIERS, "explain": CLASSIFIERS}
REGRESSOR_RULES = {"regress": REGRESSORS, "regress_tune": REGRESSORS[:-1]}  # a job per regressor (the ensemble is not tuned)
REGRESS = {(rule, r) for rule, names in REGRESSOR_RULES.items() for r in names}  # a fit and its tuning run the same code


def _code(package: Path, rule: str, name: str | None) -> str:
    """Rule ``rule``'s code param for a job of classifier or regressor ``name`` (by the rule)."""
    return rule_code(package, rule, regressor=name) if rule in REGRESSOR_RULES else rule_code(package, rule, name)


# --- a static import graph of the package ------------------------------------------------------------
def module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str, package: Path) -> Path | None:
    """The file of dotted module ``name`` of the package, or None when it is none of its modules."""
    parts = name.split(".")
    if parts[0] != package.name:
        return None
    base = package.parent.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imports(path: Path, package: Path) -> set[Path]:
    """The package files that ``path`` imports anywhere in it (a package's lazy module-level
    ``__getattr__``, which runs only when that attribute is asked for, left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    if is_package:
        tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "__getattr__")]
    own = module_name(path, package) if path.is_relative_to(package) else None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = own.split(".") if is_package else own.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            if (target := module_file(".".join(parts[:i]), package)) is not None:
                found.add(target)
    # the packages that hold this module are being imported already when it runs: no dependency
    holders = {d / "__init__.py" for d in path.parents if d.is_relative_to(package)}
    return found - holders - {path}


def closure(starts: list[Path], package: Path) -> set[Path]:
    seen: set[Path] = set()
    todo = list(starts)
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo += imports(path, package)
    return seen


def circles(package: Path) -> list[list[str]]:
    """Every import circle among the package's modules (strongly connected components of more than one)."""
    files = sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)
    graph = {f: imports(f, package) for f in files}
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    found: list[list[str]] = []

    def visit(node: Path) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(p.relative_to(package).as_posix() for p in component))

    for f in files:
        if f not in index:
            visit(f)
    return found


# --- tests ---------------------------------------------------------------------------------------------
def test_the_package_folders_mirror_the_rule_files():
    stages = {p.stem for p in (REPO / "workflow" / "rules").glob("*.smk")} - {"common", "report"}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert stages <= folders, f"rule files without a package folder: {sorted(stages - folders)}"
    assert folders - stages == {"io", "predict"}, sorted(folders - stages)  # the two that are no workflow stage
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "config.py", "devices.py", "layout.py", "rule_code.py"], loose


def test_the_package_has_no_import_circle():
    assert circles(PACKAGE) == []


def test_the_circle_check_finds_a_circle(tmp_path):
    package = tmp_path / "speech_emotion"
    (package / "train").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "train" / "__init__.py").write_text("")
    (package / "train" / "a.py").write_text("from .b import x\n")
    (package / "train" / "b.py").write_text("def f():\n    from ..train import a  # a lazy import counts too\n")
    (package / "c.py").write_text("from .train.a import x\n")
    assert circles(package) == [["train/a.py", "train/b.py"]]


def test_the_public_api_is_importable_from_the_package():
    from speech_emotion import load_model
    from speech_emotion.predict.api import load_model as api_load_model

    assert load_model is api_load_model


# what a job imports pays once per job, but what the Snakefile imports pays in every snakemake call: each
# dry run, each start, and each cluster job (a SLURM job parses the Snakefile again)
HEAVY = ("sklearn", "scipy.stats", "torch", "transformers", "matplotlib", "xgboost", "umap", "librosa")


def test_planning_the_demo_imports_none_of_the_heavy_libraries(tmp_path):
    """The demo's DAG from nothing (snakemake -n, the Snakefile parsed and every input function called)
    imports no heavy library; scikit-learn alone, imported by the folds module at parse time, was about
    a third of every snakemake call's CPU time."""
    code = ("import sys\nfrom snakemake.cli import main\n"
            f"sys.argv = ['snakemake', '-s', {str(REPO / 'Snakefile')!r}, '--workflow-profile', "
            f"{str(REPO / 'profiles/demo')!r}, '-n', '--quiet']\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "[]", run.stdout[-2000:]


@pytest.mark.parametrize("rule", sorted(RULE_CODE))
def test_each_rule_code_list_covers_what_its_script_imports(rule):
    """A rule's ``code`` hashes every package file its script can run: its static imports, followed
    through the package, and the classifier modules the registry imports by name."""
    for name in REGRESSOR_RULES.get(rule) or CLASSIFIER_RULES.get(rule, (None,)):
        starts = [SCRIPTS / RULE_SCRIPT[rule]]
        if rule in REGRESSOR_RULES:  # the regressor's module, imported by name (make_regressor); the ensemble's members
            made = REGRESSORS if name == "ensemble" else [name]
            starts += [PACKAGE / "train" / "regressors" / f"{REGRESSOR_REGISTRY[r].module}.py" for r in made]
            files = rule_files(PACKAGE, rule, regressor=name)
        else:
            made = CLASSIFIERS if name == "ensemble" else [name] if name else ["logreg"] if "plan" in rule else []
            starts += [PACKAGE / "train" / "classifiers" / f"{REGISTRY[c].module}.py" for c in made]
            files = rule_files(PACKAGE, rule, name)
        needed = {p.relative_to(PACKAGE).as_posix() for p in closure(starts, PACKAGE) if p.is_relative_to(PACKAGE)}
        needed.discard("__init__.py")  # the package's version and lazy load_model: no training code
        missing = needed - set(files)
        assert not missing, f"RULE_CODE[{rule!r}] misses {sorted(missing)} (job of {name})"


def _copy(target: Path) -> Path:
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _codes(package: Path) -> dict[tuple[str, str | None], str]:
    return {(rule, c): _code(package, rule, c) for rule in RULE_CODE
            for c in REGRESSOR_RULES.get(rule) or CLASSIFIER_RULES.get(rule, (None,))}


def _append(path: Path, text: str = "\n# an edit\n") -> None:
    path.write_text(path.read_text() + text)


def _changed(base: dict, package: Path) -> set[tuple[str, str | None]]:
    return {key for key, value in _codes(package).items() if value != base[key]}


def test_rule_code_follows_the_edited_code(tmp_path):
    base = _codes(_copy(tmp_path / "a"))
    assert _codes(_copy(tmp_path / "b")) == base  # text only: a checkout moved elsewhere reruns nothing
    assert len({base[("train", c)] for c in CLASSIFIERS}) == len(CLASSIFIERS)

    package = _copy(tmp_path / "mlp")  # a classifier's module: its jobs and the ensemble's
    _append(package / "train/classifiers/mlp.py")
    assert _changed(base, package) == {(r, c) for r in ("tune", "train", "cross_train", "explain")
                                       for c in ("mlp", "ensemble") if c in CLASSIFIER_RULES[r]} | {
        (r, c) for r, c in REGRESS if c in ("mlp", "ensemble")}  # the MLP regressor is the classifier MLP's network
    assert len({base[("regress", r)] for r in REGRESSORS}) == len(REGRESSORS)

    package = _copy(tmp_path / "svr")  # a regressor's module: its jobs and the regression ensemble's
    _append(package / "train/regressors/svr.py")
    assert _changed(base, package) == {("regress", "svr"), ("regress", "ensemble"), ("regress_tune", "svr")}

    package = _copy(tmp_path / "logreg")  # the probe's module: the plans too
    _append(package / "train/classifiers/logreg.py")
    assert {("plan", None), ("cross_plan", None), ("train", "logreg"), ("train", "ensemble")} <= _changed(base, package)
    assert ("train", "svm") not in _changed(base, package)

    package = _copy(tmp_path / "shared")  # shared training code: every training rule
    _append(package / "train/classifiers/inner.py")
    assert _changed(base, package) == set(base)

    package = _copy(tmp_path / "metrics")  # evaluation code: the cross-corpus rules, which score, and regress
    _append(package / "evaluate/metrics.py")
    assert {rule for rule, _ in _changed(base, package)} == {"cross_plan", "cross_train", "regress", "regress_plan",
                                                              "regress_tune"}

    package = _copy(tmp_path / "regress_plan")  # the regression plan's own code: only its jobs
    _append(package / "regress/plan.py")
    assert _changed(base, package) == {("regress_plan", None)}

    package = _copy(tmp_path / "explain")  # explanation code: only the explain jobs
    _append(package / "explain/importance.py")
    assert {rule for rule, _ in _changed(base, package)} == {"explain"}

    package = _copy(tmp_path / "regressors")  # the regressors: no classification rule imports them
    for module in sorted((package / "train/regressors").glob("*.py")):
        _append(module)
    assert _changed(base, package) == REGRESS | {("regress_plan", None)}  # the plan's probe is the ridge

    package = _copy(tmp_path / "regress")  # the regress stage's own code: only its jobs
    _append(package / "regress/fold.py")
    assert _changed(base, package) == REGRESS

    package = _copy(tmp_path / "regress_tune")  # the tuning job's own code: only its jobs
    _append(package / "regress/tune.py")
    assert _changed(base, package) == {(rule, r) for rule, r in REGRESS if rule == "regress_tune"}

    package = _copy(tmp_path / "regress_report")  # its summary and figures: no fit reruns
    _append(package / "regress/summary.py")
    _append(package / "regress/plots.py")
    assert _changed(base, package) == set()

    package = _copy(tmp_path / "predict")  # prediction and plotting code: no training rule
    _append(package / "predict/api.py")
    _append(package / "predict/segments.py")
    assert _changed(base, package) == set()


def test_a_rule_code_list_naming_a_missing_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setitem(RULE_CODE, "plan", ("train", "train/probe.py"))
    with pytest.raises(FileNotFoundError, match=r"RULE_CODE\['plan'\] names train/probe.py"):
        rule_files(PACKAGE, "plan")
