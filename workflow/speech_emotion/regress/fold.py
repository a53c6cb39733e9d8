"""The regress job: one (encoder, regressor, target, fold) fitted on the fold's training clips that
have a value of the target, with the feature pipeline of the fold's plan.

The plan is the fold's regression plan (rule regress_plan, :mod:`speech_emotion.regress.plan`): its
layers, per-speaker standardisation and fusion balance, decided by a ridge probe's pooled inner CCC on
the target, are used as they are. It never uses copies: a regressor trains on clean clips only,
because an augmented copy's gain, pitch or tempo changes can move the very cues a continuous target
rates (loudness and rate for arousal), so the clip's value is not the copy's. Called by
workflow/scripts/regress.py; writes predictions.tsv (the test fold's clean clips that have a value),
record.json and the model folder (model.zip, features.json, model.json: :mod:`speech_emotion.regress.model`).
Fold ``all`` trains on every clean clip with a value and predicts none: the final regressor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import COPIES, KIND
from ..data.splits import parse_fold
from ..data.targets import Target, target_rows
from ..evaluate.regression import regression_scores
from ..train.classifiers.inner import log_inner_grouping
from ..train.features import FeatureSpec, Shards, planned_fold
from ..train.final_model import final_model_info
from ..train.fold_plan import Plan
from ..train.regressors import MEMBERS as REGRESSOR_MEMBERS, make_regressor
from ..train.regressors.base import Regressor

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("clip_id", "fold", "speaker", "target", "prediction", "train_mean")
"""predictions.tsv of a regress job: the test clip, its fold and speaker, its value, the prediction and
the fold's training mean (the chance prediction)."""


@dataclass
class RegressResult:
    """What a regress job writes: the fitted regressor, the test fold's predictions, the record and the feature
    pipeline (features.json, with the training population's statistics when it standardises per speaker)."""

    model: Any
    predictions: pd.DataFrame
    record: dict[str, Any]
    features: FeatureSpec


def regress_fold(
    encoder: str,
    regressor: str,
    target: Target,
    fold: str | int,
    config: Mapping[str, Any],
    shards: Shards,
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    plan: Mapping[str, Any] | Plan,
    seed: int,
    threads: int = 1,
    tuned: Mapping[str, Any] | None = None,
    member_models: Mapping[str, Any] | None = None,
) -> RegressResult:
    """Fit ``regressor`` (settings ``config``: regressors.<name>) on fold ``fold``'s training clips with a
    value of ``target`` and predict its test clips with one. Only the clean shards of ``shards`` are read.
    The per-speaker statistics are the classification fold's (every clean clip of a speaker, with a value
    or not), so a clip without a value still informs its speaker's standardisation. ``tuned``: the fold's
    tuned.json (rule regress_tune), its ``params`` on top of ``config``; ``member_models``: the ensemble's
    members' model files of the same fold (member -> model.zip; None: the ensemble fits its members itself)."""
    plan = plan if isinstance(plan, Plan) else Plan.from_json(plan)
    fold_index = parse_fold(fold)  # None: fold "all", every clip trains (the final regressor)
    data, spec, applied, values, train, test = target_fold(fold_index, shards, manifest, folds, plan, target)
    y_train = values.loc[data.train_ids[train]].to_numpy(dtype=float)
    log.info("%s/%s %s fold %s: %d of %d training clips and %d of %d test clips have a value; layers %s, %d features",
             encoder, regressor, target.name, fold, int(train.sum()), len(train), int(test.sum()), len(test),
             plan.layers, data.X_train.shape[1])
    params, members = {**config, **((tuned or {}).get("params") or {}), **spec.classifier_params()}, None
    if regressor == "ensemble" and member_models is not None:  # its members' models of this fold (rule regress)
        params, members = load_member_models(params, member_models)
    model = make_regressor(regressor, params, seed=seed, n_jobs=threads)
    model.fit(data.X_train[train], y_train, data.groups_train[train], None, data.train_ids[train],
              **({"fitted_members": members} if members is not None else {}))
    log_inner_grouping(f"{encoder}/{regressor} {target.name} fold {fold}", getattr(model, "inner_grouping_", {}))
    train_mean = float(y_train.mean())
    test_ids = data.test_ids[test]
    predicted = model.predict(data.X_test[test]) if test.any() else np.zeros(0)
    predictions = pd.DataFrame({
        "clip_id": test_ids.astype(str),
        "fold": fold_index if fold_index is not None else "all",
        "speaker": data.groups_test[test].astype(str),
        "target": values.loc[test_ids].to_numpy(dtype=float),
        "prediction": np.round(predicted, 6),
        "train_mean": round(train_mean, 6),
    }, columns=list(PREDICTION_COLUMNS))
    record: dict[str, Any] = {
        "encoder": encoder,
        "regressor": regressor,
        "target": target.name,
        "column": target.column,
        "description": target.description,
        "range": list(target.range) if target.range is not None else None,
        "fold": str(fold),
        "seed": int(seed),
        "layers": plan.layers,
        "layer_choice": plan.layer_choice,
        "plan": plan_kind(plan),
        "speaker_norm": plan.decision("speaker_norm") | applied,
        "copies": COPIES | {"plan": plan.decision("copies")},
        "config": dict(config),
        "params": {k: _plain(v) for k, v in model.get_params(deep=False).items() if k != "n_jobs"},
        "tuned": dict(tuned) if tuned else None,  # tuned.json: the tuned settings and their pooled inner CCC
        "selected": {k: _plain(v) for k, v in model.chosen_params().items()}
        | ({"inner_ccc": model.cv_scores_} if getattr(model, "cv_scores_", None) else {}),
        "train_mean": round(train_mean, 6),
        "n_train_clips": int(train.sum()),
        "n_test_clips": int(test.sum()),
        "n_without_value": {"train": int((~train).sum()), "test": int((~test).sum())},
        "n_features": int(data.X_train.shape[1]),
        "train_speakers": sorted({str(s) for s in data.groups_train[train]}),
        "test_speakers": sorted({str(s) for s in data.groups_test[test]}),
    }
    if len(predictions) >= 2 and predictions["target"].nunique() > 1:
        record["test_scores"] = {k: round(v, 6) for k, v in regression_scores(predictions["target"],
                                                                               predictions["prediction"]).items()}
        log.info("%s/%s %s fold %s: CCC %.3f on %d test clips", encoder, regressor, target.name, fold,
                 record["test_scores"]["ccc"], len(predictions))
    return RegressResult(model=model, predictions=predictions, record=record, features=spec)


def target_fold(fold_index: int | None, shards: Shards, manifest: pd.DataFrame, folds: pd.DataFrame, plan: Plan,
                target: Target) -> tuple[Any, FeatureSpec, dict[str, Any], pd.Series, np.ndarray, np.ndarray]:
    """The fold's clean rows in the plan's feature pipeline (copies off), the target's values and which
    training and test rows have one: what the regress and regress_tune jobs of a fold read (``fold_index``
    None: fold ``all``)."""
    spec = replace(plan.features, copies=False)
    data, spec, applied = planned_fold(fold_index, {"clean": shards["clean"]}, manifest, folds, spec)
    values = target_rows(manifest, target)
    return data, spec, applied, values, np.isin(data.train_ids, values.index), np.isin(data.test_ids, values.index)


def plan_kind(plan: Plan) -> dict[str, Any]:
    """Which plan the features follow: the fold's regression plan (its probe and metric; the evidence
    of each decision is in the plan file) or, for a plan without a probe record, a classification plan."""
    probe = plan.evidence.get("probe")
    if not probe:
        return {"kind": "classification", "metric": "balanced accuracy"}
    return {"kind": "regression", "rule": "regress_plan", "metric": "ccc", "probe": dict(probe)}


def load_member_models(params: Mapping[str, Any], paths: Mapping[str, str | Path]) -> tuple[dict[str, Any], dict[str, Regressor]]:
    """The ensemble's settings with ``member_params`` (each member's settings, as its model file says: its
    regressors.<member> with its tuned values on top) and the members loaded from ``paths`` (member -> its
    model.zip of the same fold), for ``fit(..., fitted_members=...)``."""
    from ..train.regressors.modelfile import load_regressor

    names = list(params.get("members") or REGRESSOR_MEMBERS)
    missing = [name for name in names if name not in paths]
    if missing:
        raise ValueError(f"ensemble: no trained model given for member(s) {missing}")
    members = {name: load_regressor(paths[name]) for name in names}
    settings = {name: {k: v for k, v in member.get_params(deep=False).items() if k != "n_jobs"}
                for name, member in members.items()}
    return {**params, "members": names, "member_params": settings}, members


def regression_model_info(record: Mapping[str, Any], encoder: Mapping[str, Any], audio: Mapping[str, Any]) -> dict[str, Any]:
    """model.json of a regressor's folder from its fold's record (:func:`speech_emotion.regress.fold.regress_fold`):
    as a classifier's (:func:`speech_emotion.train.final_model.final_model_info`) with ``kind``, ``regressor``
    and ``target`` (name, column, description, range, training mean) in place of the classifier and labels,
    and ``plan`` (:func:`plan_kind`: the regression plan, scored by CCC)."""
    shared = final_model_info(record | {"classifier": record["regressor"], "labels": []}, encoder, audio)
    return {"kind": KIND, "regressor": record["regressor"],
            "target": {"name": record["target"], "column": record.get("column"), "description": record.get("description"),
                       "range": record.get("range"), "train_mean": record.get("train_mean")},
            "plan": record.get("plan"),
            **{k: v for k, v in shared.items() if k not in ("classifier", "labels")}}


def _plain(value: Any) -> Any:
    """A setting as JSON can hold it (numpy scalars and tuples made plain)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value
