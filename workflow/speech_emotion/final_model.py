"""A model folder: model.zip (the classifier), features.json (its feature pipeline,
:class:`speech_emotion.features.FeatureSpec`) and model.json (encoder, labels, settings, CV scores),
and how predict reads it back.

Every trained model gets such a folder: each CV fold (results/cv/{encoder}/{classifier}/fold-{k}/),
each cross-corpus model (results/cross/models/{train}/{encoder}/{classifier}/) and the final model
(results/models/{encoder}/{classifier}/, which adds MODEL_CARD.md and the CV scores).
"""

from __future__ import annotations

import json
import logging
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .classifiers import ModelFileError, load_model
from .features import FEATURES_FILE, FeatureSpec

log = logging.getLogger("speech_emotion.model")

VERSIONED = ("numpy", "scikit-learn", "xgboost", "torch", "transformers")
"""The libraries whose versions a model records besides Python and speech-emotion (those installed)."""


def library_versions() -> dict[str, str]:
    """The versions a model is made with: Python, speech-emotion and :data:`VERSIONED` (the installed ones).

    Read from the installed packages' metadata (``importlib.metadata``): nothing is imported, so a
    job that does not use torch does not pay for importing it.
    """
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

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


def final_model_info(
    record: Mapping[str, Any], encoder: Mapping[str, Any], audio: Mapping[str, Any], cv: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """model.json of a model folder: everything predict needs besides model.zip and features.json.

    ``encoder``: ``{"name", "spec" (encoders.<name>), "model_dir" (the weights' folder, relative to
    the workflow's working directory, or None for openSMILE)}``; ``audio``: sample_rate, max_seconds,
    batch_seconds used for the embeddings; ``cv``: :func:`speech_emotion.metrics.cv_summary` of the classifier's metrics.json.
    ``versions``: :func:`library_versions` of the job that trained the model (:func:`load_final_model` warns
    when they differ from the loading environment's).
    """
    return {
        "classifier": record["classifier"],
        "encoder": dict(encoder),
        "layers": record["layers"],
        "layer_choice": record.get("layer_choice"),
        "speaker_norm": record.get("speaker_norm"),
        "labels": list(record["labels"]),
        "params": record.get("params"),
        "selected": record.get("selected"),
        "tuned": record.get("tuned"),
        "audio": dict(audio),
        "cv": dict(cv) if cv is not None else None,
        "n_train_clips": record.get("n_train_clips"),
        "n_features": record.get("n_features"),
        "seed": record.get("seed"),
        "model_file": "model.zip",
        "features_file": FEATURES_FILE,
        "versions": library_versions(),
    }


@dataclass
class FinalModel:
    """A loaded model folder."""

    path: Path
    info: dict[str, Any]
    model: Any
    features: FeatureSpec

    @property
    def labels(self) -> list[str]:
        return list(self.info["labels"])

    @property
    def speaker_norm(self) -> bool:
        """Whether features are standardised per speaker (the model then needs each file's speaker)."""
        return self.features.speaker_norm


def load_final_model(path: str | Path) -> FinalModel:
    """Read a model folder (model.json, verified model.zip, features.json); warns once per library whose
    version differs from the one the model was made with (:func:`warn_versions`)."""
    path = Path(path)
    info_path = path / "model.json"
    if not info_path.is_file():
        raise ModelFileError(f"{info_path}: missing (is {path} a model folder made by the workflow?)")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelFileError(f"{info_path}: corrupt JSON ({exc})") from exc
    features_path = path / info.get("features_file", FEATURES_FILE)
    if not features_path.is_file():
        raise ModelFileError(f"{features_path}: missing; the model folder was made by an older version of the "
                             "workflow (rerun it to rebuild the model)")
    try:
        features = FeatureSpec.read(features_path)
    except ValueError as exc:
        raise ModelFileError(str(exc)) from exc
    differences = warn_versions(path, info.get("versions"))
    try:
        model = load_model(path / info.get("model_file", "model.zip"))
    except ModelFileError as exc:
        if differences:
            raise ModelFileError(f"{exc} (the model was made with {differences})") from exc
        raise
    return FinalModel(path=path, info=info, model=model, features=features)
