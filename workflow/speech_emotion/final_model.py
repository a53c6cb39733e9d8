"""A final model folder (results/models/{encoder}/{classifier}/): what rule final_model writes beside
model.zip (model.json) and how predict reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classifiers import ModelFileError, load_model, read_manifest


def final_model_info(
    record: Mapping[str, Any], encoder: Mapping[str, Any], audio: Mapping[str, Any], cv: Mapping[str, Any]
) -> dict[str, Any]:
    """model.json of a final model folder: everything predict needs besides model.zip.

    ``encoder``: ``{"name", "spec" (encoders.<name>), "model_dir" (the weights' folder, relative to
    the workflow's working directory, or None for openSMILE)}``; ``audio``: sample_rate, max_seconds,
    batch_seconds used for the embeddings; ``cv``: :func:`speech_emotion.metrics.cv_summary` of the classifier's metrics.json.
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
        "cv": dict(cv),
        "n_train_clips": record.get("n_train_clips"),
        "n_features": record.get("n_features"),
        "seed": record.get("seed"),
        "model_file": "model.zip",
    }


@dataclass
class FinalModel:
    """A loaded final model folder."""

    path: Path
    info: dict[str, Any]
    model: Any
    extra: dict[str, Any] = field(default_factory=dict)  # model.zip's extra (speaker_norm_population)

    @property
    def labels(self) -> list[str]:
        return list(self.info["labels"])

    @property
    def layers(self) -> list[int] | dict[str, list[int]]:
        """The encoder layers the classifier reads (for a fusion: per member encoder)."""
        return self.info["layers"]

    @property
    def speaker_norm(self) -> dict[str, Any] | None:
        """How features are standardised per speaker (``use``, ``min_clips``), or None when they are not."""
        norm = self.info.get("speaker_norm") or {}
        return norm if norm.get("use") else None


def load_final_model(path: str | Path) -> FinalModel:
    """Read results/models/{encoder}/{classifier}/ (model.json + verified model.zip)."""
    path = Path(path)
    info_path = path / "model.json"
    if not info_path.is_file():
        raise ModelFileError(f"{info_path}: missing (is {path} a final model folder made by rule final_model?)")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelFileError(f"{info_path}: corrupt JSON ({exc})") from exc
    model_path = path / info.get("model_file", "model.zip")
    manifest = read_manifest(model_path)
    return FinalModel(path=path, info=info, model=load_model(model_path), extra=manifest.get("extra") or {})
