"""The model file: one zip per fitted model that loads without running code.

A zip holds ``manifest.json`` (format, version, classifier name and labels, or a regressor's name
(:mod:`speech_emotion.train.regressors`), parameters, the fitted state as JSON and the SHA-256 of every
other member) and files in formats that load without
executing anything: scikit-learn objects as their parameters (JSON) and fitted arrays (``.npy``,
read with ``allow_pickle=False``) for an allowlist of classes (:func:`sklearn_dumps`), XGBoost
UBJSON, a torch ``state_dict`` loaded with ``weights_only=True``. Nothing carries a timestamp, so
writing the same model twice gives the same bytes. A damaged file raises :class:`ModelFileError`
naming the file and the problem.

Model files of earlier versions that held skops archives (``*.skops``) are refused with a message
(rerun the workflow to rebuild them): their model folders also lack the feature pipeline
(features.json) that prediction needs.
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


SKLEARN_CLASSES = {
    "sklearn.preprocessing._data.StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
    "sklearn.linear_model._logistic.LogisticRegression": ("sklearn.linear_model", "LogisticRegression"),
    "sklearn.svm._classes.SVC": ("sklearn.svm", "SVC"),
    "sklearn.linear_model._ridge.Ridge": ("sklearn.linear_model", "Ridge"),  # the regressors' (train/regressors)
    "sklearn.svm._classes.SVR": ("sklearn.svm", "SVR"),
}
"""The scikit-learn classes a model file may hold (module path of the class -> where to import it)."""


def _zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A zip of ``files`` (name -> bytes) in name order, with no timestamps: the same files give the
    same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def sklearn_dumps(obj: Any) -> bytes:
    """A fitted scikit-learn object of :data:`SKLEARN_CLASSES` as bytes: a zip of ``object.json``
    (class, ``get_params``, plain attributes) and one ``.npy`` per array attribute."""
    cls = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if cls not in SKLEARN_CLASSES:
        raise TypeError(f"cannot save a {cls}: model files hold only {sorted(SKLEARN_CLASSES)}")
    params = obj.get_params(deep=False)
    plain: dict[str, Any] = {}
    tuples: list[str] = []
    scalars: list[str] = []
    arrays: dict[str, bytes] = {}
    for name, value in sorted(vars(obj).items()):
        if name in params:
            continue
        if isinstance(value, (np.ndarray, np.generic)):
            if np.asarray(value).dtype == object:
                raise TypeError(f"cannot save {cls}.{name}: an object array")
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(value), allow_pickle=False)
            arrays[f"{name}.npy"] = buffer.getvalue()
            if isinstance(value, np.generic):
                scalars.append(name)
        elif value is None or isinstance(value, (bool, int, float, str)):
            plain[name] = value
        elif isinstance(value, tuple) and all(isinstance(v, (bool, int, float, str)) for v in value):
            plain[name] = list(value)
            tuples.append(name)
        else:
            raise TypeError(f"cannot save {cls}.{name} of type {type(value).__name__}")
    header = {"class": cls, "params": _jsonable(params), "attributes": plain, "tuples": tuples, "scalars": scalars}
    return _zip_bytes({"object.json": json.dumps(header, sort_keys=True).encode(), **arrays})


def sklearn_loads(data: bytes, where: str) -> Any:
    """Rebuild an object written by :func:`sklearn_dumps`; any class outside
    :data:`SKLEARN_CLASSES` is refused, arrays are read without pickle."""
    import importlib

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(contents.pop("object.json"))
    if header.get("class") not in SKLEARN_CLASSES:
        raise ModelFileError(f"{where}: refusing to load unexpected type {header.get('class')!r}")
    module, name = SKLEARN_CLASSES[header["class"]]
    obj = getattr(importlib.import_module(module), name)(**header["params"])
    for attribute, value in header["attributes"].items():
        setattr(obj, attribute, tuple(value) if attribute in header["tuples"] else value)
    for filename, raw in contents.items():
        value = np.load(io.BytesIO(raw), allow_pickle=False)
        attribute = filename.removesuffix(".npy")
        setattr(obj, attribute, value[()] if attribute in header["scalars"] else value)
    return obj


def sklearn_files(stem: str, obj: Any) -> dict[str, bytes]:
    """``{"<stem>.sklearn": bytes}``: a model file's entry for a scikit-learn object."""
    return {f"{stem}.sklearn": sklearn_dumps(obj)}


def load_sklearn(files: Mapping[str, bytes], stem: str) -> Any:
    """The scikit-learn object a model file keeps as ``<stem>.sklearn``."""
    if f"{stem}.sklearn" in files:
        return sklearn_loads(files[f"{stem}.sklearn"], f"{stem}.sklearn")
    if f"{stem}.skops" in files:
        raise ModelFileError(f"'{stem}.skops': a model file of an earlier version (skops); rerun the workflow to "
                             "rebuild it")
    raise ModelFileError(f"'{stem}.sklearn' is missing")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def model_bytes(model: Any, extra: Mapping[str, Any] | None = None) -> bytes:
    """The zip of a fitted classifier or regressor: manifest.json (name, params, labels, state, file hashes) +
    files. A regressor
    (:mod:`speech_emotion.train.regressors`) is named under ``regressor`` instead of ``classifier`` and has no
    labels."""
    state, files = model._save_state()
    params = {k: v for k, v in model.get_params(deep=False).items() if k != "n_jobs"}
    kind = getattr(model, "kind", "classifier")
    manifest = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        kind: model.name,
        "params": _jsonable(params),
        **({"classes": [str(c) for c in model.classes_]} if kind == "classifier" else {}),
        "state": _jsonable(state),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "extra": _jsonable(dict(extra or {})),
    }
    encoded = json.dumps(manifest, indent=2, sort_keys=True).encode()
    return _zip_bytes({"manifest.json": encoded, **{name: files[name] for name in sorted(files)}})


def save_model(model: Any, path: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Write ``model`` to ``path`` (a .zip) atomically; the manifest's ``extra.versions`` records the library
    versions it was made with (:func:`speech_emotion.io.versions.library_versions`)."""
    from ...io.files import write_atomic
    from ...io.versions import library_versions

    data = model_bytes(model, {"versions": library_versions(), **(extra or {})})
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The JSON manifest of a model zip (verified like :func:`load_model`)."""
    return open_model_file(path)[0]


def open_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The verified manifest and member files of a model zip (a missing file: :class:`ModelFileError`)."""
    return _open_zip(Path(path).read_bytes() if Path(path).is_file() else b"", str(path))


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
    """Rebuild a fitted classifier from :func:`model_bytes` output. A regressor's file is a
    :class:`ModelFileError` saying so: :func:`speech_emotion.train.regressors.modelfile.load_any_model` loads
    both (the classifiers' code never imports the regressors, so editing them reruns no classifier job)."""
    manifest, files = _open_zip(data, where)
    if "regressor" in manifest:
        raise ModelFileError(f"{where}: a regressor's model file ({manifest['regressor']}), not a classifier's: load it "
                             "with speech_emotion.train.regressors.modelfile.load_any_model")
    name = manifest["classifier"]
    if name not in REGISTRY:
        raise ModelFileError(f"{where}: unknown classifier '{name}'")
    model = classifier_class(name)(**manifest["params"])
    model.classes_ = np.asarray(manifest["classes"], dtype=object).astype(str)
    return restore(model, manifest, files, where)


def restore(model: Any, manifest: Mapping[str, Any], files: Mapping[str, bytes], where: str) -> Any:
    """``model`` (built from the manifest's name and params) with its fitted state loaded; a damaged file is a
    :class:`ModelFileError` naming ``where``."""
    try:
        model._load_state(manifest["state"], files)
    except ModelFileError as exc:
        raise ModelFileError(f"{where}: {exc}") from exc
    except Exception as exc:  # a damaged inner file: name it
        raise ModelFileError(f"{where}: cannot load the {model.name} model ({type(exc).__name__}: {exc})") from exc
    return model


def load_model(path: str | Path) -> Classifier:
    """Load a model zip written by :func:`save_model`; a damaged file raises :class:`ModelFileError`."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file does not exist")
    return model_from_bytes(path.read_bytes(), str(path))
