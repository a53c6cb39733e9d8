"""Atomic writes: an output appears under its final name only once it is complete.

A job killed mid-write leaves a ``.tmp-*`` file behind, never a truncated output under the final
name, so no later step can read half a file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it into place.

    ``suffix`` keeps the temporary file's extension for writers that check it (e.g. numpy
    appends ``.npz`` when it is missing).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".tmp-{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` (all or nothing: an
    existing folder is moved aside first and removed only once the new one is in place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{path.name}.", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".old-{path.name}.", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> None:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON (sorted keys, stable floats, trailing newline) atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    """A JSON file's content (the workflow's JSON outputs are UTF-8)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_tsv_atomic(path: str | Path, frame: "Any") -> None:
    """Write a pandas DataFrame as TSV (no index) atomically."""
    write_atomic(path, lambda tmp: frame.to_csv(tmp, sep="\t", index=False, lineterminator="\n"))


CHECKED_SUFFIXES = (".npz", ".zip")


def zip_problem(path: str | Path) -> str | None:
    """Why a zip-based cache file (``.npz``, ``model.zip``) is unreadable, or ``None`` when it opens.

    Reads only the central directory at the end of the file: cheap, and it catches a truncated
    or overwritten file. Member CRCs are checked when the file is actually loaded.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            if not archive.namelist():
                return "empty archive"
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        return f"not a complete archive ({exc})"
    return None


def find_corrupt(roots: list[str | Path]) -> list[tuple[Path, str]]:
    """Every cached ``.npz``/``.zip`` under ``roots`` that does not open, with the reason."""
    found = []
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix in CHECKED_SUFFIXES and path.is_file() and not path.name.startswith(".tmp-"):
                problem = zip_problem(path)
                if problem:
                    found.append((path, problem))
    return found


def rebuild_hint(path: str | Path) -> str:
    """What to do about a damaged cached file: the one command that rebuilds it and what reads it
    (said alike by the start-up check and by a job that finds the damage)."""
    return (f"rebuild it and what reads it with `snakemake --forcerun {path}` (and your usual options; add -n to "
            "see the jobs first)")


def corrupt_message(path: str | Path, problem: str) -> str:
    """The start-up warning for a cached archive that does not open, with the command that rebuilds it."""
    hint = rebuild_hint(path)
    return (f"Corrupt cached file {path}: {problem}. {hint[0].upper()}{hint[1:]}. Until then a job reading it "
            "stops with this file's name.")
