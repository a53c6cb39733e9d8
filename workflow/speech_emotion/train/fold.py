"""The train job: one (encoder, classifier, fold) fitted on the fold's training part, as its plan says.

Called by workflow/scripts/train.py; writes model.zip, record.json (what was used and chosen) and
predictions.tsv (the clean clips of the test fold). A fold that standardises per speaker scores its
test speakers with the statistics of their own test clips; it also labels each test clip alone, with
the training population's statistics (:func:`lone_clip_labels`), as predict does for a file
without a speaker.
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

from .classifiers import load_model, make_classifier
from .classifiers.base import align_proba
from .classifiers.inner import log_inner_grouping
from .features import FeatureSpec, Shards, planned_fold
from .fold_plan import Plan
from ..data.splits import FoldData, parse_fold

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a train job writes: the fitted model, the test fold's predictions, the training record."""

    model: Any
    predictions: pd.DataFrame
    record: dict[str, Any]
    features: FeatureSpec  # the feature pipeline, with the training population's statistics when it standardises


def effective_params(config: Mapping[str, Any], tuned: Mapping[str, Any] | None) -> dict[str, Any]:
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
    final: bool = False,
):
    """Fit ``classifier`` on the training part of ``data``; the ensemble reuses its members' models.
    Inner splits hold out and score clean rows only (augmented copies only train). ``final`` (fold
    "all": the final and the cross-corpus models): a classifier that early-stops on held-out rows
    refits on every row for the rounds/epochs it found (``refit``)."""
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
    if final and "refit" in make_classifier(classifier, {}).get_params(deep=False):
        params = {**params, "refit": True}  # early stopping's rows are given back (xgboost, mlp)
    model = make_classifier(classifier, params, seed=seed, n_jobs=threads)
    return model.fit(data.X_train, data.y_train, data.groups_train, clean, data.train_ids)


def _member_config(model) -> dict[str, Any]:
    # refit belongs to the member's own final fit, not to the ensemble's inner refits of it
    return {k: v for k, v in model.get_params(deep=False).items() if k not in ("n_jobs", "refit")}


def selected_settings(model) -> dict[str, Any]:
    """What a fit chose by itself (inner CV / early stopping / blend weights)."""
    out: dict[str, Any] = {}
    for attr in ("C_", "best_epoch_", "best_iteration_", "refit_rows_"):
        if getattr(model, attr, None) is not None:
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


def label_rows(model, X: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities of rows ``X`` per label of ``labels`` in that order, the most probable label of each
    row), as predict labels a file."""
    probs = model.predict_proba(X) if len(X) else np.zeros((0, len(model.classes_)))
    full = align_proba(model, probs, np.asarray(labels))
    return full, np.asarray(labels, dtype=object)[full.argmax(1)] if len(full) else np.array([], dtype=str)


def predictions_frame(model, clip_ids, fold, y_true, X, labels: Sequence[str]) -> pd.DataFrame:
    """predictions.tsv rows: clip_id, fold, label, prediction, prob_<label> per sorted label."""
    labels = sorted(labels)
    full, predicted = label_rows(model, X, labels)
    frame = pd.DataFrame({
        "clip_id": np.asarray(clip_ids, dtype=str),
        "fold": fold,
        "label": np.asarray(y_true, dtype=str),
        "prediction": predicted,
    })
    for j, label in enumerate(labels):
        frame[f"prob_{label}"] = np.round(full[:, j], 6)
    return frame


LONE_COLUMN = "lone_prediction"
"""The predictions.tsv column (after the contract's columns, only where the fold standardises per
speaker) of each test clip labelled alone."""


def lone_clip_labels(model, spec: FeatureSpec, X: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """The label of each raw (unstandardised) row labelled alone: standardised with the training
    population's statistics, as predict does for a file without a speaker."""
    if spec.population is None:
        raise ValueError("the feature pipeline holds no population statistics (it is a plan's, not a trained model's)")
    return label_rows(model, spec.population.apply(X), sorted(labels))[1]


def clean_rows(spec: FeatureSpec, clean_shards: Mapping[str, Sequence[str | Path]], clip_ids: Sequence[str]) -> np.ndarray:
    """The raw clean features of ``clip_ids``, in that order, read through ``spec`` (``clean_shards``:
    member encoder -> shard files)."""
    clean = spec.read_variant("clean", clean_shards)
    row_of = {clip: i for i, clip in enumerate(clean.clip_ids)}
    return clean.features[[row_of[str(c)] for c in clip_ids]]


def train_fold(
    encoder: str,
    classifier: str,
    fold: str | int,
    config: Mapping[str, Any],
    shards: Shards,
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    plan: Mapping[str, Any] | Plan,
    seed: int,
    threads: int = 1,
    member_models: Mapping[str, str | Path] | None = None,
    tuned: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train one (encoder, classifier, fold) job: fit on the training part as the fold's ``plan`` (its
    JSON, :class:`~speech_emotion.train.plan.Plan`) says, predict the test fold."""
    plan = plan if isinstance(plan, Plan) else Plan.from_json(plan)
    fold_index = parse_fold(fold)
    data, spec, applied = planned_fold(fold_index, shards, manifest, folds, plan.features)
    if applied:
        log.info("fold %s: features standardised per speaker; population statistics for %s", fold, applied)
    params = effective_params(config, tuned)
    if classifier != "ensemble":  # the ensemble's members keep what they were trained with
        params |= spec.classifier_params()
    log.info("%s/%s fold %s: %d training rows (%d clips), %d test clips, layers %s, %d features",
             encoder, classifier, fold, len(data.y_train), len(set(data.train_ids)), len(data.test_ids),
             plan.layers, data.X_train.shape[1])
    model = fit_classifier(classifier, params, data, seed, threads, member_models, final=fold_index is None)
    log_inner_grouping(f"{encoder}/{classifier} fold {fold}", getattr(model, "inner_grouping_", {}))
    labels = sorted(manifest["label"].astype(str).unique())
    predictions = predictions_frame(model, data.test_ids, fold_index if fold_index is not None else -1,
                                    data.y_test, data.X_test, labels)
    if spec.speaker_norm and len(predictions):
        # the planned rows are standardised already: the test clips' raw rows are read again
        raw = clean_rows(spec, shards["clean"], data.test_ids)
        predictions[LONE_COLUMN] = lone_clip_labels(model, spec, raw, labels)
    record = {
        "encoder": encoder,
        "classifier": classifier,
        "fold": str(fold),
        "seed": seed,
        # what the plan's pipeline holds, with its evidence (Plan.decision)
        "layers": plan.layers,
        "layer_choice": plan.layer_choice,
        "speaker_norm": plan.decision("speaker_norm") | applied,
        "copies": plan.decision("copies"),
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
    if LONE_COLUMN in predictions:
        alone = round(float(balanced_accuracy_score(predictions["label"], predictions[LONE_COLUMN])), 6)
        log.info("%s/%s fold %s: UA %.3f with each test speaker's own clips, %.3f with each clip alone",
                 encoder, classifier, fold, record["test_balanced_accuracy"], alone)
    return TrainResult(model=model, predictions=predictions, record=json.loads(json.dumps(record, default=_json_default)),
                       features=spec)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
