"""A model folder: model.zip (the classifier, or a regressor: :mod:`speech_emotion.regress.model`), features.json (its feature pipeline,
:class:`speech_emotion.train.features.FeatureSpec`) and model.json (encoder, labels, settings, CV scores),
and how predict reads it back.

Every trained model gets such a folder: each CV fold (results/cv/{encoder}/{classifier}/fold-{k}/),
each cross-corpus model (results/cross/models/{train}/{encoder}/{classifier}/) and the final model
(results/models/{encoder}/{classifier}/, which adds MODEL_CARD.md and the CV scores).

features.json is the one place a folder states what its plan decided: each member's layers and
weights, per-speaker standardisation and its minimum clips, copies, fusion balance. model.json
states none of them again; it holds what is no feature decision (classifier, encoder identity,
labels, params, audio, CV scores, versions) and, of the plan's evidence, only what the card cites:
``layer_choice``, how the layers were chosen (method probe | config | fusion, the ``features.layers``
spec, the probe's score, how many layers the encoder has; for a fusion the same per member under
``members``), never which. Every reader (the card, ``speech-emotion info``, predict, bundle, export)
takes the decisions from :attr:`FinalModel.features`. model.json files of older folders also carry
``layers`` and ``speaker_norm`` (:data:`STALE_KEYS`): they load, and those keys are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .classifiers import ModelFileError, load_model
from .features import FEATURES_FILE, FeatureSpec
from ..io.versions import library_versions, warn_versions


STALE_KEYS = ("layers", "speaker_norm")
"""model.json keys of older folders that copied features.json's decisions; ignored when read."""


def without_stale_keys(info: Mapping[str, Any]) -> dict[str, Any]:
    """model.json as read: an older folder's copies of features.json's decisions (:data:`STALE_KEYS`) left out."""
    return {k: v for k, v in info.items() if k not in STALE_KEYS}


def final_model_info(
    record: Mapping[str, Any], encoder: Mapping[str, Any], audio: Mapping[str, Any], cv: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """model.json of a model folder: everything predict needs besides model.zip and features.json, and
    none of features.json's decisions (module docstring); ``record``: the fold's record (train_fold).

    ``encoder``: ``{"name", "spec" (encoders.<name>), "model_dir" (the weights' folder, relative to
    the workflow's working directory, or None for openSMILE)}``; ``audio``: sample_rate, max_seconds,
    batch_seconds used for the embeddings; ``cv``: :func:`speech_emotion.evaluate.metrics.cv_summary` of the classifier's metrics.json.
    ``versions``: :func:`library_versions` of the job that trained the model (:func:`load_final_model` warns
    when they differ from the loading environment's).
    """
    return {
        "classifier": record["classifier"],
        "encoder": dict(encoder),
        "layer_choice": record.get("layer_choice"),
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
        """The classifier's labels; none for a regressor."""
        return list(self.info.get("labels") or [])

    @property
    def target(self) -> str | None:
        """A regressor's target name (model.json ``kind: regression``, speech_emotion.regress.model); None for a classifier."""
        return str(self.info["target"]["name"]) if self.info.get("kind") == "regression" else None

    @property
    def speaker_norm(self) -> bool:
        """Whether features are standardised per speaker (the model then needs each file's speaker)."""
        return self.features.speaker_norm


def load_final_model(path: str | Path, load: Callable[[Path], Any] = load_model) -> FinalModel:
    """Read a model folder (model.json, verified model.zip, features.json); warns once per library whose
    version differs from the one the model was made with (:func:`warn_versions`). ``load`` reads model.zip: a
    classifier's by default; :func:`speech_emotion.train.regressors.modelfile.load_any_model` (predict) also a
    regressor's."""
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
        model = load(path / info.get("model_file", "model.zip"))
    except ModelFileError as exc:
        if differences:
            raise ModelFileError(f"{exc} (the model was made with {differences})") from exc
        raise
    return FinalModel(path=path, info=without_stale_keys(info), model=model, features=features)
