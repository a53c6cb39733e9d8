"""The model file: one zip per fitted model that loads without running code.

A zip holds ``manifest.json`` (format, version, classifier name, parameters, labels, the fitted
state as JSON and the SHA-256 of every other member) and files in formats that load without
executing anything: skops for scikit-learn objects (only trusted types), XGBoost UBJSON, a torch
``state_dict`` loaded with ``weights_only=True``. The zip's own entries carry no timestamps, but
skops archives record their write time, so two writes of the same model differ in bytes (not in
what they load). A damaged file raises :class:`ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .registry import REGISTRY, classifier_class

if TYPE_CHECKING:
    from .base import Classifier

MODEL_FORMAT = "speech-emotion-model"
MODEL_VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be loaded; the message names the file and the problem."""


def skops_dumps(obj: Any) -> bytes:
    """A scikit-learn object as skops bytes."""
    import skops.io as sio

    return sio.dumps(obj)


def skops_loads(data: bytes, where: str) -> Any:
    """Load skops bytes, refusing any type skops does not trust by default."""
    import skops.io as sio

    untrusted = sorted(set(sio.get_untrusted_types(data=data)))
    if untrusted:
        raise ModelFileError(f"{where}: refusing to load unexpected types {untrusted}")
    return sio.loads(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def model_bytes(model: Classifier, extra: Mapping[str, Any] | None = None) -> bytes:
    """The zip of a fitted model: manifest.json (name, params, labels, state, file hashes) + files."""
    state, files = model._save_state()
    params = {k: v for k, v in model.get_params(deep=False).items() if k != "n_jobs"}
    manifest = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "classifier": model.name,
        "params": _jsonable(params),
        "classes": [str(c) for c in model.classes_],
        "state": _jsonable(state),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "extra": _jsonable(dict(extra or {})),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in ["manifest.json", *sorted(files)]:
            data = json.dumps(manifest, indent=2, sort_keys=True).encode() if name == "manifest.json" else files[name]
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # no timestamps in the zip's own entries
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def save_model(model: Classifier, path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``model`` to ``path`` (a .zip) atomically."""
    from ..cache import write_atomic

    data = model_bytes(model, extra)
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The JSON manifest of a model zip (verified like :func:`load_model`)."""
    return _open_zip(Path(path).read_bytes() if Path(path).is_file() else b"", str(path))[0]


def _open_zip(data: bytes, where: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not data:
        raise ModelFileError(f"{where}: model file is missing or empty")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ModelFileError(f"{where}: corrupt model file (bad CRC in '{bad}')")
            contents = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{where}: corrupt model file, not a readable zip ({exc})") from exc
    if "manifest.json" not in contents:
        raise ModelFileError(f"{where}: not a speech-emotion model (no manifest.json)")
    try:
        manifest = json.loads(contents.pop("manifest.json"))
    except ValueError as exc:
        raise ModelFileError(f"{where}: corrupt manifest.json ({exc})") from exc
    if manifest.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{where}: not a speech-emotion model (format {manifest.get('format')!r})")
    if manifest.get("version") != MODEL_VERSION:
        raise ModelFileError(f"{where}: model format version {manifest.get('version')} is not supported")
    for name, digest in manifest.get("files", {}).items():
        if name not in contents:
            raise ModelFileError(f"{where}: corrupt model file ('{name}' is missing)")
        if hashlib.sha256(contents[name]).hexdigest() != digest:
            raise ModelFileError(f"{where}: corrupt model file ('{name}' does not match its checksum)")
    return manifest, contents


def model_from_bytes(data: bytes, where: str = "<model>") -> Classifier:
    """Rebuild a fitted model from :func:`model_bytes` output."""
    manifest, files = _open_zip(data, where)
    name = manifest["classifier"]
    if name not in REGISTRY:
        raise ModelFileError(f"{where}: unknown classifier '{name}'")
    model = classifier_class(name)(**manifest["params"])
    model.classes_ = np.asarray(manifest["classes"], dtype=object).astype(str)
    try:
        model._load_state(manifest["state"], files)
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from exc
    except Exception as exc:  # a damaged inner file: name it
        raise ModelFileError(f"{where}: cannot load the {name} model ({type(exc).__name__}: {exc})") from exc
    return model


def load_model(path: str | Path) -> Classifier:
    """Load a model zip written by :func:`save_model`; a damaged file raises :class:`ModelFileError`."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file does not exist")
    return model_from_bytes(path.read_bytes(), str(path))
