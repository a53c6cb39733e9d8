"""Code fingerprints for Snakemake params: a classifier's jobs rerun when ITS code changes.

Snakemake's code trigger does not look into the library a script imports, and every classifier
shares ``workflow/scripts/train.py``. :func:`classifier_code` hashes the source TEXT (never a
path, so moving the checkout or the working directory changes nothing) of

- the script and every ``speech_emotion`` module it imports, transitively (shared code), where
  ``classifiers.py`` is counted without the top-level definitions that belong to one classifier
  (:data:`OWN_DEFINITIONS`), plus
- that classifier's own definitions.

So an edit of ``MLPClassifier`` changes only the MLP's fingerprint, an edit of ``training.py`` or
of a shared helper in ``classifiers.py`` changes every classifier's. A helper listed as one
classifier's own but used anywhere else counts as shared (never too few reruns).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE = "speech_emotion"
CLASSIFIERS_MODULE = "classifiers"

# Top-level names in classifiers.py that belong to one classifier only.
OWN_DEFINITIONS: dict[str, tuple[str, ...]] = {
    "logreg": ("LogRegClassifier",),
    "svm": ("SVMClassifier", "platt_fit", "platt_apply"),
    "xgboost": ("XGBoostClassifier",),
    "mlp": ("MLPClassifier", "_build_mlp"),
    "ensemble": ("EnsembleClassifier", "fit_weights", "_balanced_nll"),
}


def _imported_modules(tree: ast.AST) -> set[str]:
    """Names of the package's modules a module imports (anywhere in it, relative or absolute)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".")[0] == PACKAGE:
                base = node.module.split(".", 1)[1] if "." in node.module else None
            elif node.level == 1:
                base = node.module
            else:
                continue
            if base:
                found.add(base)
            else:  # from . import x / from speech_emotion import x
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name.split(".", 1)[1])
    return found


def _module_file(package_dir: Path, name: str) -> Path | None:
    path = package_dir / f"{name.replace('.', '/')}.py"
    return path if path.is_file() else None


def _definitions(tree: ast.Module) -> dict[str, ast.AST]:
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _names_used(nodes: list[ast.AST]) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


def split_classifier_source(text: str) -> tuple[str, dict[str, str]]:
    """classifiers.py -> (shared text, {classifier: its own definitions' text})."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    definitions = _definitions(tree)
    owner = {name: clf for clf, names in OWN_DEFINITIONS.items() for name in names if name in definitions}
    # A helper used outside its owner's definitions is shared; so is a classifier's class when
    # another classifier's code uses it (the registry in make_classifier may name every class).
    main = {names[0] for names in OWN_DEFINITIONS.values()}
    changed = True
    while changed:
        changed = False
        for name, clf in list(owner.items()):
            if name in main:
                users = [definitions[n] for n, c in owner.items() if c != clf]
            else:
                users = [node for node in tree.body if owner.get(getattr(node, "name", None)) != clf]
            if name in _names_used(users):
                del owner[name]
                changed = True
    spans: dict[str, list[tuple[int, int]]] = {}
    for name, clf in owner.items():
        node = definitions[name]
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        spans.setdefault(clf, []).append((start, node.end_lineno))
    taken = {i for ranges in spans.values() for a, b in ranges for i in range(a, b)}
    shared = "".join(line for i, line in enumerate(lines) if i not in taken)
    own = {clf: "".join("".join(lines[a:b]) for a, b in sorted(ranges)) for clf, ranges in spans.items()}
    return shared, own


def classifier_code(classifier: str, script: str | Path, package_dir: str | Path) -> str:
    """SHA-256 of the code that decides a classifier's results (see the module docstring)."""
    package_dir = Path(package_dir)
    digest = hashlib.sha256()
    script_text = Path(script).read_text(encoding="utf-8")
    digest.update(b"script\0" + script_text.encode("utf-8"))
    own_text = ""
    seen: set[str] = set()
    todo = sorted(_imported_modules(ast.parse(script_text)))
    while todo:
        name = todo.pop(0)
        path = _module_file(package_dir, name)
        if name in seen or path is None:
            continue
        seen.add(name)
        text = path.read_text(encoding="utf-8")
        todo.extend(sorted(_imported_modules(ast.parse(text)) - seen))
        if name == CLASSIFIERS_MODULE:
            text, own = split_classifier_source(text)
            own_text = own.get(classifier, "")
        digest.update(f"\0module {name}\0".encode() + text.encode("utf-8"))
    digest.update(f"\0own {classifier}\0".encode() + own_text.encode("utf-8"))
    return digest.hexdigest()
