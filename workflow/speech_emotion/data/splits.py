"""Leakage-free fold data: augmented copies only ever train, and only with their own clip.

The training part of fold k is every clean clip outside fold k plus the augmented copies of
exactly those clips; the test part is the clean clips of fold k and nothing else.

A predefined train/test split marks its training partition with fold :data:`TRAIN_ONLY` in
folds.tsv: those clips are never tested, and when there are any, they are the whole training part of
every fold (a second test partition, e.g. MSP-Podcast's Test2, never trains the model tested on Test1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

TRAIN_ONLY = -1
"""fold value (folds.tsv) of a clip that only ever trains: the `train` partition of a predefined split."""


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
    groups_test: np.ndarray  # speaker of each test clip (per-speaker normalisation; labels unused)


def partition(fold_of: pd.Series, fold: int | None) -> tuple[set[str], set[str]]:
    """(training clip ids, test clip ids) of ``fold`` (``None``: every clip trains, no test clips).

    ``fold_of`` maps clip_id -> fold index. The training part is every clip outside ``fold``, or,
    when the table has :data:`TRAIN_ONLY` clips (a predefined train/test split), exactly those.
    """
    fold_of = fold_of.astype(int)
    if fold is None:
        return set(fold_of.index), set()
    test = set(fold_of.index[fold_of == int(fold)])
    train_only = fold_of == TRAIN_ONLY
    train = set(fold_of.index[train_only]) if train_only.any() else set(fold_of.index) - test
    return train, test


def fold_list(folds: pd.DataFrame) -> list[int]:
    """The test folds of folds.tsv (its `fold-{k}` jobs), sorted; train-only clips have none."""
    return sorted(int(k) for k in set(folds["fold"].astype(int)) - {TRAIN_ONLY})


def fold_names(folds: pd.DataFrame) -> dict[int, str]:
    """Test fold index -> name (the speaker for loso, the corpus's value for predefined, else the index)."""
    if "fold_name" not in folds.columns:
        return {k: str(k) for k in fold_list(folds)}
    pairs = folds[folds["fold"].astype(int) != TRAIN_ONLY].drop_duplicates("fold")
    return {int(k): str(n) for k, n in sorted(zip(pairs["fold"].astype(int), pairs["fold_name"]))}


def speaker_overlap(table: pd.DataFrame) -> dict[str, Any]:
    """Speakers whose clips are tested in a fold whose training part also holds their voice.

    ``table``: clip_id, speaker, fold (+ fold_name). Returns n_speakers, n_clips (test clips whose
    speaker also trains in their fold) and, per speaker, the folds and test clip count.
    """
    names = fold_names(table)
    fold_of = table.set_index("clip_id")["fold"]
    speaker_of = table.set_index("clip_id")["speaker"].astype(str)
    speakers: dict[str, dict[str, Any]] = {}
    for k in names:
        train, test = partition(fold_of, k)
        tested = speaker_of.loc[list(test)].value_counts()
        for speaker in set(speaker_of.loc[list(train)]) & set(tested.index):
            entry = speakers.setdefault(speaker, {"folds": [], "test_clips": 0})
            entry["folds"].append(names[k])
            entry["test_clips"] += int(tested[speaker])
    ordered = {s: speakers[s] for s in sorted(speakers)}
    return {
        "n_speakers": len(ordered),
        "n_clips": int(sum(e["test_clips"] for e in ordered.values())),
        "speakers": ordered,
    }


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

    Which clips train and which are tested is :func:`partition`'s rule.

    ``folds`` has columns clip_id, fold; ``manifest`` has clip_id, label, speaker. Clips in the
    manifest but missing from the clean embeddings raise ``KeyError`` (never silently dropped).
    """
    labels = manifest.set_index("clip_id")["label"].astype(str)
    speakers = manifest.set_index("clip_id")["speaker"].astype(str)
    fold_of = folds.set_index("clip_id")["fold"].astype(int)
    missing = sorted(set(fold_of.index) - set(clean.clip_ids))
    if missing:
        raise KeyError(f"{len(missing)} clips have no clean embedding, e.g. {missing[:3]}")
    if fold is not None and int(fold) == TRAIN_ONLY:
        raise ValueError(f"fold {TRAIN_ONLY} holds the clips that only train (a predefined `train` partition)")
    train_set, test_set = partition(fold_of, None if fold is None else int(fold))
    if fold is not None and not test_set:
        # e.g. a fold given as text ("0" != 0) would otherwise train on every clip and test on none
        raise ValueError(f"fold {fold!r} has no clips (folds present: {sorted(set(fold_of))})")

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
        groups_test=speakers.loc[test_ids].to_numpy(),
    )


def parse_fold(fold: str | int) -> int | None:
    """Fold wildcard -> index, or None for "all" (every clip trains: the final model)."""
    return None if str(fold) == "all" else int(fold)
