"""Conda environments (envs/*.yaml) agree with pyproject.toml and every working rule names one.

With `--software-deployment-method conda` (clusters), each job runs in the env its rule names, so:
- every package an env pins must have the same lower bound as pyproject.toml (one source of truth);
- every rule that runs a script or shell command must name an existing env under envs/;
- the env must provide every third-party package its script imports (through speech_emotion);
- heavy rules carry threads and resources (mem_mb, runtime; gpu for embed) that profiles override.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
ENVS = sorted((REPO / "envs").glob("*.yaml"))

# conda-forge package name -> PyPI distribution name (where they differ)
CONDA_TO_PYPI = {
    "pytorch": "torch",
    "pysoundfile": "soundfile",
    "matplotlib-base": "matplotlib",
    "py-xgboost": "xgboost",
    "soxr-python": "soxr",
}
# runner-side packages: Snakemake itself never runs inside a job env
NOT_IN_ENVS = {"snakemake", "snakemake-executor-plugin-slurm"}
# declared but imported by no code: Snakemake loads it as the executor of profiles/slurm
LOADED_NOT_IMPORTED = {"snakemake-executor-plugin-slurm"}
IMPORT_RE = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.M)
# rules whose work is heavy enough to need explicit threads/resources on a cluster
HEAVY_RULES = {"augment", "embed", "plan", "tune", "train"}
RULE_RE = re.compile(r"^(?:rule|checkpoint|localrule)\s+(\w+)\s*:", re.M)
DIRECTIVE_RE = re.compile(r"^    (\w+):(.*)$")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def pyproject_requirements() -> dict[str, Requirement]:
    reqs = [Requirement(line) for line in pyproject()["project"]["dependencies"]]
    return {canonicalize_name(req.name): req for req in reqs}


def parse_env(path: Path) -> dict[str, SpecifierSet]:
    """{pypi name: version specifier} of every conda and pip package in an env file."""
    env = yaml.safe_load(path.read_text())
    specs: dict[str, SpecifierSet] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for line in dep.get("pip", []):
                req = Requirement(line)
                specs[canonicalize_name(req.name)] = req.specifier
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", dep.strip())
        assert match, f"{path.name}: cannot parse dependency {dep!r}"
        name, spec = match.groups()
        name = CONDA_TO_PYPI.get(name, name)
        specs[canonicalize_name(name)] = SpecifierSet(spec.replace(" ", ""))
    return specs


def parse_rules() -> dict[str, dict]:
    """{rule name: {directive: raw text, 'file': Path}} from workflow/rules/*.smk.

    A light parser for the team's rule style (4-space directives, 8-space values); enough to
    read conda/script/threads/resources without building a DAG.
    """
    rules: dict[str, dict] = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        starts = list(RULE_RE.finditer(text))
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            block = text[match.end() : end].splitlines()
            directives: dict[str, str] = {}
            current = None
            for line in block:
                if line and not line.startswith(" ") and not line.startswith("#"):
                    break  # back at top level: the rule ended
                hit = DIRECTIVE_RE.match(line)
                if hit:
                    current = hit.group(1)
                    directives[current] = hit.group(2).strip()
                elif current and line.strip():
                    directives[current] += "\n" + line.strip()
            directives["file"] = smk
            directives["kind"] = match.group(0).split()[0]
            rules[match.group(1)] = directives
    return rules


def string_value(raw: str) -> str | None:
    match = re.search(r"[\"']([^\"']+)[\"']", raw)
    return match.group(1) if match else None


def import_time_nodes(tree: ast.AST):
    """Statements executed when a module is imported (not those inside function bodies)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield node
        yield from import_time_nodes(node)


@lru_cache(maxsize=None)
def third_party_imports(path: Path) -> frozenset[str]:
    """Top-level modules a file imports, following speech_emotion imports transitively."""
    package = REPO / "workflow" / "speech_emotion"
    seen: set[Path] = set()
    found: set[str] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen or not current.exists():
            continue
        seen.add(current)
        tree = ast.parse(current.read_text())
        # the script: every import; package modules: imports run at import time (a lazy import
        # inside a function is needed only by callers of that function, e.g. encoders)
        nodes = ast.walk(tree) if current == path else import_time_nodes(tree)
        for node in nodes:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative import inside the package
                    names = [f"speech_emotion.{node.module}" if node.module else "speech_emotion"]
                    if not node.module:
                        names += [f"speech_emotion.{a.name}" for a in node.names]
                else:
                    names = [node.module]
                    if node.module == "speech_emotion":
                        names += [f"speech_emotion.{a.name}" for a in node.names]
            for name in names:
                if name.startswith("speech_emotion"):
                    parts = name.split(".")[1:]
                    if parts:
                        todo.append(package.joinpath(*parts).with_suffix(".py"))
                elif name.split(".")[0] not in sys.stdlib_module_names:
                    found.add(name.split(".")[0])
    return frozenset(found - {"snakemake"})


@lru_cache(maxsize=None)
def provided(dist: str) -> frozenset[str]:
    """A distribution and everything it requires (installed metadata), canonical names."""
    result: set[str] = set()
    todo = [canonicalize_name(dist)]
    while todo:
        name = todo.pop()
        if name in result:
            continue
        result.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return frozenset(result)


def imported_modules(paths) -> set[str]:
    """Top-level third-party modules imported anywhere in ``paths`` (.py parsed; .smk import lines)."""
    found: set[str] = set()
    for path in paths:
        if path.suffix == ".smk" or path.name == "Snakefile":
            names = IMPORT_RE.findall(path.read_text())
        else:
            names = []
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names += [alias.name.split(".")[0] for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names.append(node.module.split(".")[0])
        found |= {n for n in names if n not in sys.stdlib_module_names}
    # top-level modules next to a scanned file outside a package, e.g. the tests' own helpers
    local = {sibling.stem for path in paths if not (path.parent / "__init__.py").exists()
             for sibling in path.parent.glob("*.py")}
    return found - local - {"speech_emotion", "__future__"}


def distributions(modules: set[str]) -> set[str]:
    """Canonical distribution names installing ``modules`` (a module no installed one provides keeps its name)."""
    dists = metadata.packages_distributions()
    return {canonicalize_name(d) for module in modules for d in dists.get(module, [module])}


def extra_requirements(name: str) -> set[str]:
    """Canonical names of an optional extra of pyproject.toml (e.g. ``onnx``)."""
    return {canonicalize_name(Requirement(line).name) for line in pyproject()["project"]["optional-dependencies"][name]}


OPTIONAL_EXTRAS = ("onnx",)
"""Extras that workflow/ code imports lazily (speech-emotion export needs the onnx extra)."""


def test_dependencies_are_exactly_what_the_code_imports():
    code = [p for p in (REPO / "workflow").rglob("*") if p.suffix in (".py", ".smk")] + [REPO / "Snakefile"]
    imported = distributions(imported_modules(code))
    optional = set().union(*(extra_requirements(name) for name in OPTIONAL_EXTRAS))
    declared = set(pyproject_requirements())
    missing = imported - declared - optional
    assert not missing, f"imported by workflow/ but not in pyproject dependencies or extras: {sorted(missing)}"
    unused_optional = optional - imported - {"onnxscript"}  # torch.onnx's exporter loads it, no code imports it
    assert not unused_optional, f"optional extras that no code in workflow/ imports: {sorted(unused_optional)}"
    unused = declared - imported - LOADED_NOT_IMPORTED
    assert not unused, f"pyproject dependencies that no code in workflow/ imports: {sorted(unused)}"


def test_test_imports_are_declared():
    tests = sorted((REPO / "tests").glob("*.py"))
    extra = {canonicalize_name(Requirement(line).name) for line in pyproject()["project"]["optional-dependencies"]["test"]}
    missing = distributions(imported_modules(tests)) - set(pyproject_requirements()) - extra
    assert not missing, f"tests import packages in neither the dependencies nor the test extra: {sorted(missing)}"


def test_env_files_exist_with_conda_forge():
    names = {path.stem for path in ENVS}
    assert {"data", "torch", "ml"} <= names, f"missing env files, found {sorted(names)}"
    for path in ENVS:
        env = yaml.safe_load(path.read_text())
        assert "conda-forge" in env["channels"], f"{path.name}: conda-forge channel missing"


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_env_pins_agree_with_pyproject(path):
    reqs = pyproject_requirements()
    python = SpecifierSet(pyproject()["project"]["requires-python"])
    for name, spec in parse_env(path).items():
        if name == "pip":
            continue
        if name == "python":
            assert spec == python, f"{path.name}: python {spec} but pyproject requires-python {python}"
            continue
        assert name in reqs, f"{path.name}: {name} is not a dependency in pyproject.toml; add it there"
        assert spec == reqs[name].specifier, (
            f"{path.name}: {name}{spec} disagrees with pyproject.toml {reqs[name]}"
        )


def test_every_runtime_dependency_is_in_some_env():
    in_envs = set().union(*(parse_env(path) for path in ENVS))
    missing = set(pyproject_requirements()) - in_envs - NOT_IN_ENVS
    assert not missing, f"pyproject dependencies in no envs/*.yaml: {sorted(missing)}"


def test_working_rules_name_an_existing_env():
    rules = parse_rules()
    assert {"manifest", "folds"} <= set(rules), "rule parser found no data rules"
    for name, rule in rules.items():
        if not ({"script", "shell", "notebook", "wrapper"} & set(rule)):
            continue  # rule all and other aggregation-only rules
        assert "conda" in rule, f"rule {name} ({rule['file'].name}) runs code but names no conda env"
        env = string_value(rule["conda"])
        assert env, f"rule {name}: conda: must be a path string, got {rule['conda']!r}"
        env_path = (rule["file"].parent / env).resolve()
        assert env_path.parent == REPO / "envs" and env_path.exists(), (
            f"rule {name}: conda env {env} is not a file under envs/"
        )


def test_scripts_imports_are_provided_by_their_env():
    """A job in its conda env must be able to import what its script (and the package) imports."""
    dists = metadata.packages_distributions()
    checked = 0
    for name, rule in parse_rules().items():
        if "script" not in rule or "conda" not in rule:
            continue
        script = (rule["file"].parent / string_value(rule["script"])).resolve()
        env_path = (rule["file"].parent / string_value(rule["conda"])).resolve()
        declared = set(parse_env(env_path)) - {"python", "pip"}
        available = set().union(*(provided(dist) for dist in declared))
        for module in sorted(third_party_imports(script)):
            candidates = {canonicalize_name(d) for d in dists.get(module, [module])}
            assert candidates & available, (
                f"rule {name}: {script.name} imports {module} (via speech_emotion) but "
                f"{env_path.name} provides none of {sorted(candidates)}"
            )
        checked += 1
    assert checked, "no rule with script and conda env found"


def test_heavy_rules_carry_threads_and_resources():
    rules = parse_rules()
    for name in sorted(HEAVY_RULES & set(rules)):
        rule = rules[name]
        assert "threads" in rule, f"rule {name} has no threads:"
        assert "resources" in rule, f"rule {name} has no resources:"
        for key in ("mem_mb", "runtime"):
            assert re.search(rf"\b{key}\s*=", rule["resources"]), f"rule {name}: resources lack {key}"
    if "embed" in rules:
        assert re.search(r"\bgpu\s*=", rules["embed"]["resources"]), "rule embed: resources lack gpu"


def test_parser_sees_conda_of_a_known_rule():
    """Guard the light .smk parser: it must read the folds rule's env as the data env."""
    folds = parse_rules()["folds"]
    assert string_value(folds["conda"]) == "../../envs/data.yaml"
    assert string_value(folds["script"]).endswith("folds.py")
