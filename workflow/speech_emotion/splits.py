"""Leakage-free fold data: augmented copies only ever train, and only with their own clip.

The training part of fold k is every clean clip outside fold k plus the augmented copies of
exactly those clips; the test part is the clean clips of fold k and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Variant:
    """Embeddings of one audio variant ("clean", "aug1", ...): clip ids and features, same order."""

    name: str
    clip_ids: np.ndarray
    features: np.ndarray
    made_with: tuple[str, ...] = ()  # devices/dtypes the embeddings were computed with


@dataclass(frozen=True)
class FoldData:
    """Rows of one fold. ``train_ids`` repeats a clip id once per copy that trains."""

    train_ids: np.ndarray
    train_variants: np.ndarray
    X_train: np.ndarray
    y_train: np.ndarray
    groups_train: np.ndarray
    test_ids: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _rows(variant: Variant, wanted: set[str]) -> np.ndarray:
    return np.array([i for i, c in enumerate(variant.clip_ids) if c in wanted], dtype=np.int64)


def build_fold(
    fold: int | None,
    folds: pd.DataFrame,
    manifest: pd.DataFrame,
    clean: Variant,
    copies: Sequence[Variant] = (),
) -> FoldData:
    """Assemble fold ``fold`` (``None``: every clip trains, for the final model; no test rows).

    ``folds`` has columns clip_id, fold; ``manifest`` has clip_id, label, speaker. Clips in the
    manifest but missing from the clean embeddings raise ``KeyError`` (never silently dropped).
    """
    labels = manifest.set_index("clip_id")["label"].astype(str)
    speakers = manifest.set_index("clip_id")["speaker"].astype(str)
    fold_of = folds.set_index("clip_id")["fold"].astype(int)
    missing = sorted(set(fold_of.index) - set(clean.clip_ids))
    if missing:
        raise KeyError(f"{len(missing)} clips have no clean embedding, e.g. {missing[:3]}")
    test_set = set() if fold is None else set(fold_of.index[fold_of == int(fold)])
    if fold is not None and not test_set:
        # e.g. a fold given as text ("0" != 0) would otherwise train on every clip and test on none
        raise ValueError(f"fold {fold!r} has no clips (folds present: {sorted(set(fold_of))})")
    train_set = set(fold_of.index) - test_set

    parts_ids, parts_var, parts_x = [], [], []
    for variant in (clean, *copies):
        rows = _rows(variant, train_set)
        parts_ids.append(variant.clip_ids[rows])
        parts_var.append(np.full(len(rows), variant.name))
        parts_x.append(variant.features[rows])
    train_ids = np.concatenate(parts_ids)
    test_rows = _rows(clean, test_set)
    test_ids = clean.clip_ids[test_rows]
    return FoldData(
        train_ids=train_ids,
        train_variants=np.concatenate(parts_var),
        X_train=np.concatenate(parts_x),
        y_train=labels.loc[train_ids].to_numpy(),
        groups_train=speakers.loc[train_ids].to_numpy(),
        test_ids=test_ids,
        X_test=clean.features[test_rows],
        y_test=labels.loc[test_ids].to_numpy(),
    )
