"""Regressors in the classifiers' model file (:mod:`speech_emotion.train.classifiers.modelfile`).

:func:`~speech_emotion.train.classifiers.save_model` writes a regressor as it writes a classifier; its manifest
names the ``regressor`` (no labels). The classifiers' loader refuses such a file, so that no classification
rule's code depends on the regressors (speech_emotion.rule_code); :func:`load_any_model` loads either kind
(predict, whose model folder may hold either), :func:`load_regressor` a regressor only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..classifiers.modelfile import ModelFileError, _open_zip, load_model, open_model_file, restore
from .registry import REGISTRY, regressor_class


def load_regressor(path: str | Path) -> Any:
    """The fitted regressor of a model zip; a classifier's file or a damaged one is a :class:`ModelFileError`."""
    if not Path(path).is_file():
        raise ModelFileError(f"{path}: model file does not exist")
    return regressor_from_bytes(Path(path).read_bytes(), str(path))


def regressor_from_bytes(data: bytes, where: str = "<model>") -> Any:
    """The fitted regressor of :func:`~speech_emotion.train.classifiers.modelfile.model_bytes` output (an
    ensemble's members are stored so, inside its file); ``where`` names it in errors."""
    manifest, files = _open_zip(data, where)
    name = manifest.get("regressor")
    if name is None:
        raise ModelFileError(f"{where}: a classifier's model file ({manifest.get('classifier')}), not a regressor's")
    if name not in REGISTRY:
        raise ModelFileError(f"{where}: unknown regressor '{name}'")
    return restore(regressor_class(name)(**manifest["params"]), manifest, files, where)


def load_any_model(path: str | Path) -> Any:
    """The fitted classifier or regressor of a model zip (:func:`load_model` or :func:`load_regressor`)."""
    if Path(path).is_file() and "regressor" in open_model_file(path)[0]:
        return load_regressor(path)
    return load_model(path)
