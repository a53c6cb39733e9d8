"""A model folder: model.zip (the classifier), features.json (its feature pipeline,
:class:`speech_emotion.train.features.FeatureSpec`) and model.json (encoder, labels, settings, CV scores),
and how predict reads it back.

Every trained model gets such a folder: each CV fold (results/cv/{encoder}/{classifier}/fold-{k}/),
each cross-corpus model (results/cross/models/{train}/{encoder}/{classifier}/) and the final model
(results/models/{encoder}/{classifier}/, which adds MODEL_CARD.md and the CV scores).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .classifiers import ModelFileError, load_model
from .features import FEATURES_FILE, FeatureSpec
from ..io.versions import library_versions, warn_versions


def final_model_info(
    record: Mapping[str, Any], encoder: Mapping[str, Any], audio: Mapping[str, Any], cv: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """model.json of a model folder: everything predict needs besides model.zip and features.json.

    ``encoder``: ``{"name", "spec" (encoders.<name>), "model_dir" (the weights' folder, relative to
    the workflow's working directory, or None for openSMILE)}``; ``audio``: sample_rate, max_seconds,
    batch_seconds used for the embeddings; ``cv``: :func:`speech_emotion.evaluate.metrics.cv_summary` of the classifier's metrics.json.
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
