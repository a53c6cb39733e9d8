"""Permutation importance of column groups, measured on a CV fold's own test clips.

For one fold, the fold's trained model (loaded, never refitted) labels its test clips, whose features
are built exactly as the train job built them (:func:`test_rows`). Then, for each column group and
each of ``repeats`` shuffles, the group's columns are permuted across the test clips together (one
permutation per repeat, the same for every group, seeded) and the model labels the clips again. The
importance of a group is the drop in balanced accuracy (UA) from the unshuffled clips, averaged over
the repeats; per class it is the drop in that class's recall (UA is the mean of the recalls, so the
per-class drops average to the UA drop over the classes of the fold).

Two steps keep the labels apart: :func:`shuffled_predictions` computes every prediction from the
features alone; :func:`score_drops` compares them with the labels. Over folds, :func:`summarise`
gives the mean, the standard deviation and a 95 % t-interval (a fold is one sample; repeats only
make each fold's number steadier).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .groups import Group
from ..data.splits import parse_fold
from ..train.features import FeatureSpec, load_fold
from ..train.classifiers.base import align_proba

ALL = "all"
"""The ``class`` value of a row about all classes (UA); other rows name one class (its recall)."""

CHUNK_VALUES = 8_000_000
"""At most this many feature values go to the model in one call (memory bound of the shuffles)."""


def test_rows(fold: str | int, shards: Mapping[str, Any], manifest: pd.DataFrame, folds: pd.DataFrame,
              spec: FeatureSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A fold's test clips as its model read them: (clip ids, classifier input, labels, speakers).

    ``spec`` is the fold model's ``features.json`` (members, layers, and, when it standardises per
    speaker, the training population's statistics); test speakers get the statistics of their own
    test clips, as the train job gave them (:func:`speech_emotion.train.features.standardise_fold`).
    Only the clean shards are read: the test part holds no augmented copy."""
    data = load_fold(parse_fold(fold), {"clean": shards["clean"]}, manifest, folds, spec)
    X = data.X_test
    if spec.speaker_norm:
        X = spec.standardise(X, data.groups_test)[0]
    return (np.asarray(data.test_ids, dtype=str), np.asarray(X, dtype=np.float32), np.asarray(data.y_test, dtype=str),
            np.asarray(data.groups_test, dtype=str))


def model_proba(model, labels: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
    """The model's probabilities with one column per sorted label (as predictions.tsv has them)."""
    classes = np.asarray(sorted(labels))

    def proba(X: np.ndarray) -> np.ndarray:
        return align_proba(model, model.predict_proba(X), classes)

    return proba


def permutations(n: int, repeats: int, seed: int) -> np.ndarray:
    """(repeats, n) row orders, the same for every group of a fold (seeded)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n) for _ in range(repeats)]) if n else np.zeros((repeats, 0), int)


def shuffled_predictions(proba: Callable[[np.ndarray], np.ndarray], X: np.ndarray, groups: Sequence[Group],
                         orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(base, shuffled): the predicted class index of each clip, unshuffled (n,) and with each group's
    columns permuted by each order (groups, repeats, n). Reads no label."""
    X = np.asarray(X, dtype=np.float32)
    n, d = X.shape
    base = proba(X).argmax(1)
    repeats = len(orders)
    out = np.zeros((len(groups), repeats, n), dtype=np.int64)
    tasks = [(g, r) for g in range(len(groups)) for r in range(repeats)]
    per_call = max(1, CHUNK_VALUES // max(1, n * d))
    for start in range(0, len(tasks), per_call):
        batch = tasks[start:start + per_call]
        stacked = np.repeat(X[None], len(batch), axis=0)
        for i, (g, r) in enumerate(batch):
            cols = np.asarray(groups[g].columns, dtype=int)
            stacked[i][:, cols] = X[orders[r]][:, cols]
        predicted = proba(stacked.reshape(len(batch) * n, d)).argmax(1).reshape(len(batch), n)
        for i, (g, r) in enumerate(batch):
            out[g, r] = predicted[i]
    return base, out


def recalls(predicted: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Recall of each class (last axis; NaN for a class without clips) of predictions (..., n)."""
    hits = predicted == y
    out = np.full(predicted.shape[:-1] + (n_classes,), np.nan)
    for c in range(n_classes):
        rows = y == c
        if rows.any():
            out[..., c] = hits[..., rows].mean(-1)
    return out


def score_drops(base: np.ndarray, shuffled: np.ndarray, y: np.ndarray, labels: Sequence[str],
                groups: Sequence[Group]) -> pd.DataFrame:
    """Per group: the drop in UA (class ``all``) and in each present class's recall, mean and std
    over the repeats, with the fold's unshuffled score (``base``)."""
    labels = sorted(labels)
    y_index = np.searchsorted(labels, np.asarray(y, dtype=str))
    base_recall = recalls(base, y_index, len(labels))
    shuffled_recall = recalls(shuffled, y_index, len(labels))  # (groups, repeats, classes)
    present = ~np.isnan(base_recall)
    base_ua = float(base_recall[present].mean())
    ua = shuffled_recall[..., present].mean(-1)  # (groups, repeats)
    rows = []
    for g, group in enumerate(groups):
        drop = base_ua - ua[g]
        rows.append({"level": group.level, "group": group.name, "class": ALL, "n_columns": len(group.columns),
                     "base": base_ua, "drop": float(drop.mean()), "drop_std": float(drop.std())})
        for c in np.flatnonzero(present):
            drop = base_recall[c] - shuffled_recall[g, :, c]
            rows.append({"level": group.level, "group": group.name, "class": labels[c], "n_columns": len(group.columns),
                         "base": float(base_recall[c]), "drop": float(drop.mean()), "drop_std": float(drop.std())})
    return pd.DataFrame(rows)


def interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, std (ddof 1), low, high) of a t-interval over ``values`` (folds); NaN bounds for fewer than two."""
    from scipy import stats

    v = np.asarray([x for x in values if not np.isnan(x)], dtype=float)
    if len(v) == 0:
        return (np.nan,) * 4
    mean = float(v.mean())
    if len(v) < 2:
        return mean, np.nan, np.nan, np.nan
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(v) - 1)) * sd / np.sqrt(len(v))
    return mean, sd, mean - half, mean + half


def summarise(per_fold: pd.DataFrame, folds: Sequence[str], value: str = "drop",
              keys: Sequence[str] = ("level", "group", "class")) -> pd.DataFrame:
    """Rows of ``per_fold`` (one per fold and ``keys``) -> one row per ``keys``: mean, std, ci_low,
    ci_high over folds, n_folds and the per-fold values (``per_fold``, in the order of ``folds``;
    empty where the fold has no such row, e.g. a class missing from its test clips).

    A group of layers a fold's plan did not choose is missing from that fold: it counts 0 there (the
    model did not read it), so a layer chosen in one fold of five is not credited five times."""
    folds = [str(f) for f in folds]
    table = per_fold.assign(fold=per_fold["fold"].astype(str))
    classes_in = {f: set(part["class"]) for f, part in table.groupby("fold")}
    rows = []
    for key, part in table.groupby(list(keys), sort=False):
        by_fold = dict(zip(part["fold"], part[value]))
        if part["level"].iloc[0] in ("layer", "member"):
            cls = part["class"].iloc[0]
            by_fold = {f: by_fold.get(f, 0.0) for f in folds if cls in classes_in.get(f, ())}
        values = [by_fold[f] for f in folds if f in by_fold]
        mean, sd, low, high = interval(values)
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update({"n_columns": int(part["n_columns"].max()) if "n_columns" in part else None,
                    "importance": mean, "std": sd, "ci_low": low, "ci_high": high, "n_folds": len(values),
                    "folds": ",".join(f for f in folds if f in by_fold),
                    "per_fold": ",".join(f"{by_fold[f]:.4f}" for f in folds if f in by_fold)})
        rows.append(row)
    return pd.DataFrame(rows)


def read_predictions(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"clip_id": str, "label": str, "prediction": str})


def check_parity(clip_ids: np.ndarray, probs: np.ndarray, labels: Sequence[str], predictions: pd.DataFrame,
                 where: str, tolerance: float = 1e-4) -> None:
    """The recomputed probabilities equal the fold's predictions.tsv (same clips, labels, numbers):
    otherwise the explanation would be of another model than the one the CV scored."""
    labels = sorted(labels)
    table = predictions.set_index("clip_id")
    if set(table.index) != set(clip_ids):
        raise ValueError(f"{where}: the test clips rebuilt from folds.tsv differ from predictions.tsv "
                         f"({len(set(clip_ids) ^ set(table.index))} clips differ)")
    stored = table.loc[list(clip_ids), [f"prob_{label}" for label in labels]].to_numpy(float)
    gap = float(np.abs(stored - probs).max()) if len(probs) else 0.0
    if gap > tolerance:
        raise ValueError(f"{where}: the model's probabilities on the rebuilt test features differ from "
                         f"predictions.tsv by up to {gap:.2g}: the features or the model are not the ones the "
                         f"train job used (rerun the fold's train job)")
