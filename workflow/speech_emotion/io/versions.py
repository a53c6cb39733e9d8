"""The library versions a model records (model.json "versions") and the warning when they differ
from the loading environment's."""

from __future__ import annotations

import logging
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("speech_emotion.model")

VERSIONED = ("numpy", "scikit-learn", "xgboost", "torch", "transformers")
"""The libraries whose versions a model records besides Python and speech-emotion (those installed)."""


def library_versions() -> dict[str, str]:
    """The versions a model is made with: Python, speech-emotion and :data:`VERSIONED` (the installed ones).

    Read from the installed packages' metadata (``importlib.metadata``): nothing is imported, so a
    job that does not use torch does not pay for importing it.
    """
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    out = {"python": platform.python_version(), "speech-emotion": __version__}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


_warned: set[str] = set()


def version_differences(recorded: Mapping[str, Any] | None, current: Mapping[str, str] | None = None) -> dict[str, tuple[str, str | None]]:
    """package -> (version the model was made with, version here; None: not installed) for each recorded
    package whose version differs (Python: major.minor only)."""
    current = library_versions() if current is None else current
    out = {}
    for name, made in (recorded or {}).items():
        here = current.get(name)
        if name == "python":
            same = here is not None and str(made).split(".")[:2] == here.split(".")[:2]
        else:
            same = str(made) == here
        if not same:
            out[name] = (str(made), here)
    return out


def warn_versions(path: str | Path, recorded: Mapping[str, Any] | None) -> str | None:
    """Warn (logging, one message naming every such package; each package once per process) when libraries
    differ from the versions the model at ``path`` was made with; returns the differences as text (None: none).
    A model without recorded versions (older files) is silent."""
    differences = version_differences(recorded)
    if not differences:
        return None
    text = ", ".join(f"{name} {made} (here {here or 'not installed'})" for name, (made, here) in differences.items())
    new = [name for name in differences if name not in _warned]
    if new:
        _warned.update(new)
        log.warning("%s was made with other library versions: %s. It may fail to load or predict differently; "
                    "install those versions to be sure (model.json \"versions\")", path, text)
    return text
