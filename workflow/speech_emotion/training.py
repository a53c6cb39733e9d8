"""Per-fold training, the layer probe, the final model, and their output tables.

Called by the thin scripts of workflow/rules/train.smk; plain functions on arrays and paths.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

from .classifiers import load_model, make_classifier, read_manifest, save_model
from .layers import choose_augmented, choose_layers, select
from .splits import FoldData, Variant, build_fold

log = logging.getLogger(__name__)


# --- embeddings -----------------------------------------------------------------------------------


def read_variant(name: str, shard_paths: Sequence[str | Path], layers: Sequence[int] | None = None) -> Variant:
    """A variant's verified embedding shards (:func:`speech_emotion.embeddings.load_variant`).

    With ``layers`` only those layers are read and they are concatenated: features
    (clips, len(layers) * dim) float32; without, features stay (clips, layers, dim).
    """
    from .embeddings import load_variant

    variant = load_variant(list(shard_paths), name=name, layers=layers)
    if layers is None:
        return variant
    return Variant(name=variant.name, clip_ids=variant.clip_ids, features=select(variant.features, range(len(layers))),
                   made_with=variant.made_with)


def n_layers_of(shard_paths: Sequence[str | Path]) -> int:
    """Number of layers stored in a variant's shards."""
    for path in shard_paths:
        with np.load(path, allow_pickle=False) as data:
            if len(data["clip_ids"]):
                return int(data["embeddings"].shape[1])
    raise ValueError("no non-empty embedding shard")


def load_fold(
    fold: int | None,
    variant_paths: Mapping[str, Sequence[str | Path]],
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    layers: Sequence[int] | None,
) -> FoldData:
    """Fold data from embedding shards: ``variant_paths`` maps "clean", "aug1", ... to shard files.

    Copies only enter the training part (see :func:`speech_emotion.splits.build_fold`).
    """
    from .embeddings import warn_mixed_devices

    clean = read_variant("clean", variant_paths["clean"], layers)
    copies = [read_variant(name, paths, layers) for name, paths in variant_paths.items() if name != "clean"]
    warn_mixed_devices({kind for v in (clean, *copies) for kind in v.made_with}, "clean and augmented variants")
    return build_fold(fold, folds, manifest, clean, copies)


def variant_paths(paths: Sequence[str | Path]) -> dict[str, list[str]]:
    """Group embedding shard paths (results/embeddings/{encoder}/{variant}/shard-*.npz) by variant."""
    out: dict[str, list[str]] = {}
    for path in paths:
        out.setdefault(Path(path).parent.name, []).append(str(path))
    if "clean" not in out:
        raise ValueError("no clean embedding shards among the inputs")
    return out


def parse_fold(fold: str | int) -> int | None:
    """Fold wildcard -> index, or None for "all" (every clip trains: the final model)."""
    return None if str(fold) == "all" else int(fold)


# --- layer probe ----------------------------------------------------------------------------------


def run_layer_probe(
    fold: str | int,
    paths: Mapping[str, Sequence[str | Path]],
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    features: Mapping[str, Any],
    seed: int,
    augment_use: str = "auto",
) -> dict[str, Any]:
    """The layer choice of one fold (from its clean training clips only) and, under ``result["augment"]``,
    whether its augmented copies train (:func:`speech_emotion.layers.choose_augmented`).

    ``paths`` maps "clean", "aug1", ... to embedding shards (copies are read on the chosen layers only).
    """
    fold_index = parse_fold(fold)
    data = load_fold(fold_index, {"clean": paths["clean"]}, manifest, folds, layers=None)
    probe = {
        "inner_folds": int(features.get("probe_inner_folds", 5)),
        "seed": seed,
        "C": float(features.get("probe_C", 1.0)),
        "max_iter": int(features.get("probe_max_iter", 500)),
    }
    result = choose_layers(features.get("layers", "auto"), data.X_train, data.y_train, data.groups_train,
                           max_layers=int(features.get("probe_max_layers", 3)), **probe)
    with_copies = load_fold(fold_index, paths, manifest, folds, result["layers"])
    result["augment"] = choose_augmented(augment_use, with_copies.X_train, with_copies.y_train,
                                         with_copies.groups_train, with_copies.train_variants == "clean",
                                         with_copies.train_ids, **probe)
    result["fold"] = str(fold)
    result["n_train_clips"] = int(len(data.train_ids))
    log_inner_grouping(f"fold {fold}", {"layer probe": result["inner"], "copies decision": result["augment"]["inner"]})
    return result


def log_inner_grouping(where: str, inner: Mapping[str, Mapping[str, Any] | None]) -> None:
    """Warn in the job's log for each inner choice whose splits fell back from speaker to clip groups."""
    for purpose, record in inner.items():
        if record and record["grouping"] != "speaker":
            log.warning("%s: %s splits grouped by %s, not by speaker: %s", where, purpose, record["grouping"],
                        record["reason"])


def trained_variants(paths: Mapping[str, Sequence[str | Path]], layer_choice: Mapping[str, Any]) -> dict[str, list[str]]:
    """The variants that train in a fold: all of ``paths``, or clean only when the fold's probe
    (``layer_choice["augment"]["use"]``) kept the copies out."""
    if layer_choice.get("augment", {}).get("use", True):
        return {name: list(p) for name, p in paths.items()}
    return {"clean": list(paths["clean"])}


def probe_table(choices: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """layer_probe.tsv: fold, layer, score (balanced accuracy; empty unless probed), chosen (0/1)."""
    rows = []
    for choice in choices:
        scores = choice.get("layer_scores") or [None] * choice["n_layers"]
        for layer in range(choice["n_layers"]):
            rows.append({
                "fold": str(choice["fold"]),
                "layer": layer,
                "score": scores[layer],
                "chosen": int(layer in choice["layers"]),
            })
    return pd.DataFrame(rows, columns=["fold", "layer", "score", "chosen"])


# --- training -------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    model: Any
    predictions: pd.DataFrame
    params: dict[str, Any]


def effective_params(classifier: str, config: Mapping[str, Any], tuned: Mapping[str, Any] | None) -> dict[str, Any]:
    """The classifier's config with tuned values (if any) on top."""
    params = dict(config)
    params.update(tuned or {})
    return params


def fit_classifier(
    classifier: str,
    params: Mapping[str, Any],
    data: FoldData,
    seed: int,
    threads: int = 1,
    member_models: Mapping[str, str | Path] | None = None,
):
    """Fit ``classifier`` on the training part of ``data``; the ensemble reuses its members' models.
    Inner splits hold out and score clean rows only (augmented copies only train)."""
    clean = data.train_variants == "clean"
    if classifier == "ensemble":
        members = {name: load_model(path) for name, path in (member_models or {}).items()}
        member_names = list(params.get("members") or members)
        missing = [m for m in member_names if m not in members]
        if missing:
            raise ValueError(f"ensemble: no trained model given for member(s) {missing}")
        model = make_classifier(
            "ensemble",
            {
                **{k: v for k, v in params.items() if k != "member_params"},
                "members": member_names,
                "member_params": {m: _member_config(members[m]) for m in member_names},
            },
            seed=seed,
            n_jobs=threads,
        )
        return model.fit(data.X_train, data.y_train, data.groups_train, clean, data.train_ids, fitted_members=members)
    model = make_classifier(classifier, params, seed=seed, n_jobs=threads)
    return model.fit(data.X_train, data.y_train, data.groups_train, clean, data.train_ids)


def _member_config(model) -> dict[str, Any]:
    return {k: v for k, v in model.get_params(deep=False).items() if k not in ("n_jobs",)}


def selected_settings(model) -> dict[str, Any]:
    """What a fit chose by itself (inner CV / early stopping / blend weights)."""
    out: dict[str, Any] = {}
    for attr in ("C_", "best_epoch_", "best_iteration_"):
        if hasattr(model, attr):
            out[attr.rstrip("_")] = getattr(model, attr)
    if hasattr(model, "cv_scores_") and model.cv_scores_:
        out["C_scores"] = model.cv_scores_
    if hasattr(model, "weights_"):
        out["weights"] = {name: float(w) for name, w in zip(model.members, model.weights_)}
    if getattr(model, "inner_scores_", None):
        out["inner_balanced_accuracy"] = model.inner_scores_
    if getattr(model, "inner_grouping_", None):
        out["inner_grouping"] = model.inner_grouping_
    return out


def predictions_frame(model, clip_ids, fold, y_true, X, labels: Sequence[str]) -> pd.DataFrame:
    """predictions.tsv rows: clip_id, fold, label, prediction, prob_<label> per sorted label."""
    labels = sorted(labels)
    probs = model.predict_proba(X) if len(X) else np.zeros((0, len(model.classes_)))
    full = np.zeros((len(probs), len(labels)))
    cols = [labels.index(str(c)) for c in model.classes_]
    full[:, cols] = probs
    frame = pd.DataFrame({
        "clip_id": np.asarray(clip_ids, dtype=str),
        "fold": fold,
        "label": np.asarray(y_true, dtype=str),
        "prediction": np.asarray(labels, dtype=object)[full.argmax(1)] if len(full) else np.array([], dtype=str),
    })
    for j, label in enumerate(labels):
        frame[f"prob_{label}"] = np.round(full[:, j], 6)
    return frame


def train_fold(
    encoder: str,
    classifier: str,
    fold: str | int,
    config: Mapping[str, Any],
    variant_paths: Mapping[str, Sequence[str | Path]],
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    layer_choice: Mapping[str, Any],
    seed: int,
    threads: int = 1,
    member_models: Mapping[str, str | Path] | None = None,
    tuned: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train one (encoder, classifier, fold) job: fit on the training part, predict the test fold."""
    layers = list(layer_choice["layers"])
    fold_index = parse_fold(fold)
    data = load_fold(fold_index, trained_variants(variant_paths, layer_choice), manifest, folds, layers)
    params = effective_params(classifier, config, tuned)
    log.info("%s/%s fold %s: %d training rows (%d clips), %d test clips, layers %s, %d features",
             encoder, classifier, fold, len(data.y_train), len(set(data.train_ids)), len(data.test_ids),
             layers, data.X_train.shape[1])
    model = fit_classifier(classifier, params, data, seed, threads, member_models)
    log_inner_grouping(f"{encoder}/{classifier} fold {fold}", getattr(model, "inner_grouping_", {}))
    labels = sorted(manifest["label"].astype(str).unique())
    predictions = predictions_frame(model, data.test_ids, fold_index if fold_index is not None else -1,
                                    data.y_test, data.X_test, labels)
    record = {
        "encoder": encoder,
        "classifier": classifier,
        "fold": str(fold),
        "seed": seed,
        "layers": layers,
        "layer_choice": {k: layer_choice.get(k) for k in ("method", "spec", "score", "n_layers")},
        "augment": layer_choice.get("augment"),
        "config": dict(config),
        "tuned": dict(tuned) if tuned else None,
        "params": {k: v for k, v in model.get_params(deep=False).items() if k not in ("n_jobs", "member_params")},
        "selected": selected_settings(model),
        "labels": labels,
        "n_train_rows": int(len(data.y_train)),
        "n_train_clips": int(len(set(data.train_ids))),
        "n_test_clips": int(len(data.test_ids)),
        "n_features": int(data.X_train.shape[1]),
    }
    if len(predictions):
        record["test_balanced_accuracy"] = round(float(balanced_accuracy_score(predictions["label"], predictions["prediction"])), 6)
    return TrainResult(model=model, predictions=predictions, params=json.loads(json.dumps(record, default=_json_default)))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --- final model -------------------------------------------------------------------


def final_model_info(
    params: Mapping[str, Any], encoder: Mapping[str, Any], audio: Mapping[str, Any], cv: Mapping[str, Any]
) -> dict[str, Any]:
    """model.json of a final model folder: everything predict needs besides model.zip.

    ``encoder``: ``{"name", "spec" (encoders.<name>), "model_dir" (the weights' folder, relative to
    the workflow's working directory, or None for openSMILE)}``; ``audio``: sample_rate, max_seconds,
    batch_seconds used for the embeddings; ``cv``: :func:`speech_emotion.metrics.cv_summary` of the classifier's metrics.json.
    """
    return {
        "classifier": params["classifier"],
        "encoder": dict(encoder),
        "layers": list(params["layers"]),
        "layer_choice": params.get("layer_choice"),
        "labels": list(params["labels"]),
        "params": params.get("params"),
        "selected": params.get("selected"),
        "tuned": params.get("tuned"),
        "audio": dict(audio),
        "cv": dict(cv),
        "n_train_clips": params.get("n_train_clips"),
        "n_features": params.get("n_features"),
        "seed": params.get("seed"),
        "model_file": "model.zip",
    }


@dataclass
class FinalModel:
    """A loaded final model folder."""

    path: Path
    info: dict[str, Any]
    model: Any

    @property
    def labels(self) -> list[str]:
        return list(self.info["labels"])

    @property
    def layers(self) -> list[int]:
        return list(self.info["layers"])


def load_final_model(path: str | Path) -> FinalModel:
    """Read results/models/{encoder}/{classifier}/ (model.json + verified model.zip)."""
    from .classifiers import ModelFileError

    path = Path(path)
    info_path = path / "model.json"
    if not info_path.is_file():
        raise ModelFileError(f"{info_path}: missing (is {path} a final model folder made by rule final_model?)")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelFileError(f"{info_path}: corrupt JSON ({exc})") from exc
    model_path = path / info.get("model_file", "model.zip")
    read_manifest(model_path)
    return FinalModel(path=path, info=info, model=load_model(model_path))
