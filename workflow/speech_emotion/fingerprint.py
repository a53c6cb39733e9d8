"""Code fingerprints for Snakemake params: a job reruns when the code deciding its result changes.

Snakemake's code trigger sees a rule's script, not the library the script imports, and every
classifier shares ``workflow/scripts/train.py``. A rule's ``code`` param is therefore the SHA-256 of
the source TEXT (never a path: moving the checkout changes nothing) of its script, of every module
of this package the script imports (transitively, statically: ``import`` statements), and of the
modules given as extra (a classifier's own module, :func:`speech_emotion.classifiers.registry.module_name`),
with what they import.

Estimator modules are imported by the classifier registry only when a classifier is made
(``importlib``), so they are not in the shared part: an edit of ``classifiers/mlp.py`` changes only the
MLP's fingerprint, an edit of ``classifiers/inner.py`` or ``training.py`` every classifier's.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "speech_emotion"


def _module_file(package_dir: Path, module: str) -> Path | None:
    """The file of a dotted module of the package (``speech_emotion.x.y``), or None when it is not one."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_dir.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_of(path: Path, package_dir: Path) -> str:
    """Dotted name of a package file (``speech_emotion/classifiers/__init__.py`` -> ``speech_emotion.classifiers``)."""
    parts = list(path.relative_to(package_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def _parents(module: str) -> list[str]:
    """The packages an import of ``module`` runs first (``a.b.c`` -> ``a``, ``a.b``)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported_modules(text: str, module: str | None, is_package: bool = False) -> set[str]:
    """Dotted names of the package's modules that a source text imports (anywhere in it).

    ``module`` is the text's own dotted name (None for a script outside the package), needed to
    resolve relative imports; ``from x import y`` counts ``x.y`` too when ``y`` is a module.
    A package's module-level ``__getattr__`` (PEP 562 lazy attributes, e.g. ``load_model``) is left
    out: it runs only when code asks for that attribute, and importing a submodule never does.
    """
    tree = ast.parse(text)
    if is_package:
        tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name == "__getattr__")]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                if module is None:
                    continue
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def code_files(scripts: Iterable[str | Path], modules: Iterable[str], package_dir: str | Path) -> list[Path]:
    """The scripts plus every package file they and ``modules`` import, transitively (sorted, unique)."""
    package_dir = Path(package_dir)
    files: set[Path] = set()
    todo: list[tuple[Path, str | None]] = [(Path(s), None) for s in scripts]
    todo += [(path, name) for name in modules if (path := _module_file(package_dir, name)) is not None]
    for name in modules:
        todo += [(path, parent) for parent in _parents(name) if (path := _module_file(package_dir, parent))]
    while todo:
        path, module = todo.pop()
        if path in files:
            continue
        files.add(path)
        names = imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        for name in sorted(names | {p for n in names for p in _parents(n)}):
            target = _module_file(package_dir, name)
            if target is not None and target not in files:
                todo.append((target, _module_of(target, package_dir)))
    return sorted(files)


def code_fingerprint(scripts: Iterable[str | Path], modules: Iterable[str], package_dir: str | Path) -> str:
    """SHA-256 of the source text of :func:`code_files` (each file named by its path inside the
    package, or by its name for a script)."""
    package_dir = Path(package_dir)
    digest = hashlib.sha256()
    for path in code_files(scripts, modules, package_dir):
        name = str(path.relative_to(package_dir)) if path.is_relative_to(package_dir) else path.name
        digest.update(f"\0{name}\0".encode() + path.read_bytes())
    return digest.hexdigest()
