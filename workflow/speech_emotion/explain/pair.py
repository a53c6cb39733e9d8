"""The explain job: every CV fold of one (encoder, classifier) explained on its own test clips.

Per fold: the fold's model folder (model.zip, features.json) and predictions.tsv, the clean embedding
shards, manifest, folds and clip levels. The fold's test features are rebuilt as the train job built
them and checked against predictions.tsv (:func:`~.importance.check_parity`); then the permutation
importance of every column group (:mod:`.importance`) and the nuisance probes (:mod:`.nuisance`).
The results of all folds are summarised with their 95 % intervals over folds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import importance as imp
from . import nuisance as nui
from .groups import check_cover, column_groups
from ..train.classifiers import load_model
from ..train.features import FeatureSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoldFiles:
    """One CV fold's model folder files."""

    fold: str
    model: str | Path
    features: str | Path
    predictions: str | Path


@dataclass
class FoldResult:
    """What one fold gives: shuffled predictions (labels unread), their scores, the nuisance probes."""

    fold: str
    clip_ids: np.ndarray
    probs: np.ndarray
    base: np.ndarray
    shuffled: np.ndarray
    drops: pd.DataFrame
    probes: pd.DataFrame


def explain_fold(files: FoldFiles, shards: Mapping[str, Any], manifest: pd.DataFrame, folds: pd.DataFrame,
                 levels: pd.DataFrame, encoders: Mapping[str, Mapping], repeats: int, seed: int,
                 max_features: int = 200, labels: Sequence[str] | None = None) -> FoldResult:
    """One fold (module docstring). ``levels``: clip levels indexed by clip_id; ``encoders``: the
    member encoders' config entries; ``labels``: every label of the run (default: the manifest's)."""
    labels = sorted(labels if labels is not None else manifest["label"].astype(str).unique())
    spec = FeatureSpec.read(files.features)
    model = load_model(files.model)
    clip_ids, X, y, speakers = imp.test_rows(files.fold, shards, manifest, folds, spec)
    where = f"fold {files.fold} ({files.predictions})"
    if len(clip_ids) == 0:
        raise ValueError(f"{where}: no test clips")
    proba = imp.model_proba(model, labels)
    probs = proba(X)
    imp.check_parity(clip_ids, probs, labels, imp.read_predictions(files.predictions), where)
    groups = column_groups(spec, spec.widths(shards["clean"]), encoders, max_features)
    check_cover(groups, X.shape[1])
    orders = imp.permutations(len(X), repeats, seed)
    base, shuffled = imp.shuffled_predictions(proba, X, groups, orders)
    missing = sorted(set(clip_ids) - set(levels.index))
    if missing:
        raise ValueError(f"{where}: no clip levels of {len(missing)} test clips (e.g. {missing[0]})")
    targets = nui.nuisance_targets(levels.loc[clip_ids, "duration_s"].to_numpy(),
                                   levels.loc[clip_ids, "rms_dbfs"].to_numpy(), speakers)
    probes = nui.probe_outputs(probs, targets, seed)
    # scoring: the only place the test labels are read
    drops = imp.score_drops(base, shuffled, y, labels, groups).assign(fold=files.fold)
    reference = nui.label_reference(y, labels, targets, seed)
    ua = float(drops.loc[drops["class"] == imp.ALL, "base"].iloc[0])
    probes = probes.assign(labels_ua=probes["nuisance"].map(reference), model_ua=ua, fold=files.fold)
    log.info("fold %s: %d test clips, %d groups x %d shuffles, UA %.3f; probes %s", files.fold, len(X), len(groups),
             repeats, ua, dict(zip(probes["nuisance"], probes["probe_ua"].round(3))))
    return FoldResult(files.fold, clip_ids, probs, base, shuffled, drops, probes)


def summarise_nuisance(per_fold: pd.DataFrame, folds: Sequence[str]) -> pd.DataFrame:
    """One row per nuisance: the probe's UA, the label reference, chance and the model's UA, each
    with its mean over folds (probe and model UA with a 95 % interval)."""
    rows = []
    for name in nui.NUISANCES:
        part = per_fold[per_fold["nuisance"] == name]
        row: dict[str, Any] = {"nuisance": name}
        for column in ("probe_ua", "labels_ua", "chance", "model_ua"):
            mean, sd, low, high = imp.interval(part[column].to_numpy(float))
            row[column] = mean
            if column in ("probe_ua", "model_ua"):
                row[f"{column}_ci_low"], row[f"{column}_ci_high"] = low, high
        valid = part[~part["probe_ua"].isna()]
        row["n_folds"] = int(len(valid))
        row["folds"] = ",".join(str(f) for f in valid["fold"])
        row["per_fold"] = ",".join(f"{v:.4f}" for v in valid["probe_ua"])
        rows.append(row)
    return pd.DataFrame(rows)


def explain_pair(fold_files: Sequence[FoldFiles], shards: Mapping[str, Any], manifest: pd.DataFrame,
                 folds: pd.DataFrame, levels: pd.DataFrame, encoders: Mapping[str, Mapping], repeats: int,
                 seed: int, max_features: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(importance table, nuisance table) of one (encoder, classifier) over its CV folds."""
    results = [explain_fold(f, shards, manifest, folds, levels, encoders, repeats, seed, max_features)
               for f in fold_files]
    names = [r.fold for r in results]
    importance = imp.summarise(pd.concat([r.drops for r in results], ignore_index=True), names)
    nuisance = summarise_nuisance(pd.concat([r.probes for r in results], ignore_index=True), names)
    return importance, nuisance
