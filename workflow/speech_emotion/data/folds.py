"""Cross-validation folds: speaker-disjoint and label-stratified by default.

Protocols (``cv.protocol``):

- ``speaker``: StratifiedGroupKFold into ``cv.folds`` folds, no speaker in two folds.
- ``stratified``: the plain stratified split of the original scripts: a speaker's clips land in both
  training and test folds, so the classifier can recognise the voice rather than the emotion and
  the scores overstate accuracy on new speakers.
- ``loso``: leave one speaker out, one fold per speaker (named after the speaker).
- ``predefined``: the folds the corpus gives (a column of the manifest or a clip_id,fold table).
  Values are fold names; the value ``train`` (any case) marks clips that only ever train (a
  train/test split, :data:`speech_emotion.data.splits.TRAIN_ONLY`).

folds.tsv holds clip_id, fold (an index: the ``fold-{k}`` of every path) and, for loso and
predefined, fold_name (the speaker or the corpus's own fold value).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .datasets import DatasetError
from .splits import TRAIN_ONLY, fold_names, partition

log = logging.getLogger(__name__)
PROTOCOLS = ("speaker", "stratified", "loso", "predefined")
FIXED_COUNT = ("speaker", "stratified")
"""Protocols whose number of folds is cv.folds (known before the corpus is read)."""
TRAIN_NAME = "train"
"""Predefined fold value (compared case-insensitively) of the clips that only ever train."""


class FoldError(DatasetError):
    """Folds cannot be made as configured; the message names the config key or file."""


def natural_key(text: str) -> list[Any]:
    """Sort key that orders embedded numbers by value: SF2 < SF10, fold_2 < fold_10 (ties: by the text)."""
    parts = [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", str(text)) if p]
    return [*parts, (2, 0, str(text))]


def make_folds(
    manifest: pd.DataFrame,
    protocol: str,
    folds: int,
    seed: int,
    assigned: pd.Series | None = None,
    source: str = "the fold values",
) -> pd.DataFrame:
    """clip_id -> fold, sorted by clip_id; the same inputs give the same folds.

    speaker/stratified: folds 0..folds-1. loso: one fold per speaker. predefined: ``assigned``
    (clip_id -> the corpus's fold value, from :func:`assigned_from_column` or
    :func:`assigned_from_table`; ``source`` names where it came from in messages).
    """
    if protocol not in PROTOCOLS:
        raise FoldError(f"cv.protocol: unknown protocol '{protocol}' (known: {', '.join(PROTOCOLS)})")
    table = manifest.sort_values("clip_id").reset_index(drop=True)
    if protocol == "loso":
        result = _loso(table)
    elif protocol == "predefined":
        if assigned is None:
            raise FoldError("cv.protocol: predefined needs the fold of every clip (cv.fold_column or cv.fold_table)")
        result = _predefined(table, assigned, source)
    else:
        result = _split(table, protocol, folds, seed)
    checked = table[["clip_id", "speaker", "label"]].merge(result, on="clip_id")  # the manifest may have a fold column
    for problem in coverage_problems(checked, report_test_gaps=protocol != "loso"):
        log.warning(problem)
    return result


def _split(table: pd.DataFrame, protocol: str, folds: int, seed: int) -> pd.DataFrame:
    # imported here, not at the top: the Snakefile imports this module at parse time, and scikit-learn's
    # import (about 1.5 s) would slow every snakemake call and every cluster job, which parse it too
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = table["label"].astype(str).to_numpy()
    speakers = table["speaker"].astype(str).to_numpy()
    if protocol == "speaker":
        n_speakers = len(set(speakers))
        if n_speakers < folds:
            if n_speakers < 2:  # cv.folds is at least 2: no speaker-disjoint split exists
                advice = ("speaker-disjoint folds need at least two speakers; set cv.protocol: stratified "
                          "(folds by label, the speaker on both sides, which overstates accuracy)")
            else:
                advice = (f"speaker-disjoint folds need at least one speaker per fold (lower cv.folds to "
                          f"{n_speakers} or less, or set cv.protocol: loso)")
            raise FoldError(f"cv.folds = {folds} but the corpus has only {n_speakers} speaker(s); {advice}")
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(len(table)), labels, groups=speakers)
    else:
        smallest = table["label"].value_counts()
        if smallest.min() < folds:
            raise FoldError(
                f"cv.folds = {folds} but label '{smallest.idxmin()}' has only {smallest.min()} clip(s)"
            )
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = splitter.split(np.zeros(len(table)), labels)
    fold = np.full(len(table), -1, dtype=np.int64)
    for k, (_, test) in enumerate(splits):
        fold[test] = k
    return pd.DataFrame({"clip_id": table["clip_id"].astype(str), "fold": fold})


def _loso(table: pd.DataFrame) -> pd.DataFrame:
    speakers = table["speaker"].astype(str)
    names = sorted(speakers.unique(), key=natural_key)
    if len(names) < 2:
        raise FoldError(
            f"cv.protocol: loso needs at least 2 speakers; the manifest has {len(names)} "
            f"({', '.join(names)}): nothing would be left to train on"
        )
    index = {name: k for k, name in enumerate(names)}
    return pd.DataFrame(
        {"clip_id": table["clip_id"].astype(str), "fold": speakers.map(index).astype(np.int64), "fold_name": speakers}
    )


def fold_index(names: Iterable[str], source: str = "the fold values") -> dict[str, int]:
    """Fold value -> index (train values -> TRAIN_ONLY), deterministic.

    Values that are all whole numbers keep their number (EmoBox's fold 1 is fold-1); otherwise the
    names are numbered 0, 1, ... in natural order (Ses01..Ses05 -> 0..4, fold2 before fold10).
    """
    names = sorted({str(n) for n in names}, key=natural_key)
    test = [n for n in names if n.lower() != TRAIN_NAME]
    index = {n: TRAIN_ONLY for n in names if n.lower() == TRAIN_NAME}
    if test and all(re.fullmatch(r"\d+", n) for n in test):
        seen: dict[int, str] = {}
        for name in test:
            if int(name) in seen:
                raise FoldError(f"{source}: fold values '{seen[int(name)]}' and '{name}' are the same number")
            seen[int(name)] = name
            index[name] = int(name)
    else:
        index.update({name: k for k, name in enumerate(test)})
    return index


def _predefined(table: pd.DataFrame, assigned: pd.Series, source: str) -> pd.DataFrame:
    assigned = assigned.astype(str).str.strip()
    missing = sorted(set(table["clip_id"]) - set(assigned.index))
    if missing:
        raise FoldError(f"{source}: no fold for {len(missing)} clip(s), e.g. {', '.join(missing[:3])}")
    names = assigned.loc[table["clip_id"]].to_numpy()
    index = fold_index(names, source)
    result = pd.DataFrame(
        {"clip_id": table["clip_id"].astype(str), "fold": [index[n] for n in names], "fold_name": names}
    )
    test_folds = sorted(set(result["fold"]) - {TRAIN_ONLY})
    if not test_folds:
        raise FoldError(
            f"{source}: every clip is in the '{TRAIN_NAME}' partition; a predefined split needs test clips "
            "(any other fold value)"
        )
    fold_of = result.set_index("clip_id")["fold"]
    for k in test_folds:
        train, _ = partition(fold_of, k)
        if not train:
            name = result.loc[result["fold"] == k, "fold_name"].iloc[0]
            raise FoldError(f"{source}: fold '{name}' holds every clip, so it has nothing to train on")
    return result


def _read_fold_column(values: pd.Series, source: str) -> pd.Series:
    """clip_id-indexed fold values as stripped strings; empty ones are an error naming ``source``."""
    text = values.fillna("").astype(str).str.strip()
    empty = sorted(text.index[text == ""])
    if empty:
        raise FoldError(
            f"{source}: the fold is empty for {len(empty)} of {len(text)} clip(s), e.g. {', '.join(empty[:3])}; "
            f"every clip needs a fold (or '{TRAIN_NAME}')"
        )
    return text


def assigned_from_column(manifest: pd.DataFrame, column: str, source: str) -> pd.Series:
    """clip_id -> fold value from a manifest column (a corpus CSV's extra column is kept in the manifest)."""
    if column not in manifest.columns:
        raise FoldError(
            f"{source}: no column '{column}' (cv.fold_column) for cv.protocol: predefined; "
            "add it to the corpus CSV or give a clip_id,fold table in cv.fold_table"
        )
    return _read_fold_column(manifest.set_index(manifest["clip_id"].astype(str))[column], source)


def assigned_from_table(
    path: str | Path, manifest: pd.DataFrame, rejected: Iterable[str] = (), source: str | None = None
) -> pd.Series:
    """clip_id -> fold value from a clip_id,fold table (CSV; tab-separated if the name ends in .tsv).

    Clips of the table that the manifest rule rejected are left out (they are in rejected.tsv);
    a clip id neither accepted nor rejected, a duplicate or a manifest clip without a row is an error.
    """
    source = source or str(path)
    try:
        table = pd.read_csv(path, sep="\t" if str(path).endswith(".tsv") else ",", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise FoldError(f"{source}: not a readable table ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    absent = [c for c in ("clip_id", "fold") if c not in table.columns]
    if absent:
        raise FoldError(f"{source}: missing column(s) {', '.join(absent)} (need clip_id,fold)")
    table["clip_id"] = table["clip_id"].str.strip()
    duplicated = sorted(table["clip_id"][table["clip_id"].duplicated()].unique())
    if duplicated:
        raise FoldError(f"{source}: clip id(s) listed twice, e.g. {', '.join(duplicated[:3])}")
    known = set(manifest["clip_id"].astype(str))
    unknown = sorted(set(table["clip_id"]) - known - set(rejected))
    if unknown:
        raise FoldError(
            f"{source}: {len(unknown)} clip id(s) not in the corpus, e.g. {', '.join(unknown[:3])} "
            "(ids are those of results/data/manifest.tsv, e.g. <label>/<stem> for dataset.kind folder)"
        )
    dropped = sorted(set(table["clip_id"]) & set(rejected))
    if dropped:
        log.info("%s: %d listed clip(s) were rejected (results/data/rejected.tsv), e.g. %s",
                 source, len(dropped), ", ".join(dropped[:3]))
    table = table[table["clip_id"].isin(known)]
    missing = sorted(known - set(table["clip_id"]))
    if missing:
        raise FoldError(f"{source}: no row for {len(missing)} clip(s) of the corpus, e.g. {', '.join(missing[:3])}")
    return _read_fold_column(table.set_index("clip_id")["fold"], source)


def _label(k: int, names: dict[int, str]) -> str:
    return f"fold {k}" if names.get(k, str(k)) == str(k) else f"fold {k} ({names[k]})"


def coverage_problems(table: pd.DataFrame, report_test_gaps: bool = True) -> list[str]:
    """Labels missing from a fold's training part (or, unless ``report_test_gaps`` is off, from its
    test part), as messages. ``table``: clip_id, label, speaker, fold (+ fold_name)."""
    names = fold_names(table)
    fold_of = table.set_index("clip_id")["fold"]
    label_of = table.set_index("clip_id")["label"].astype(str)
    trained = {k: set(label_of.loc[list(partition(fold_of, k)[0])]) for k in names}
    problems, gaps = [], 0
    for label, rows in table.groupby("label"):
        present = set(rows["fold"].astype(int))
        for k in names:
            if label not in trained[k]:
                if present == {k}:
                    problems.append(f"label '{label}': every clip is in {_label(k, names)}, so that fold trains without it")
                else:
                    problems.append(f"label '{label}': {_label(k, names)} trains without it (no training clip has it)")
            elif k not in present:
                gaps += 1
                if report_test_gaps:
                    problems.append(
                        f"label '{label}': no test clip in {_label(k, names)} (its clips come from "
                        f"{rows['speaker'].nunique()} speaker(s) for {len(names)} folds)"
                    )
    if gaps and not report_test_gaps:
        problems.append(
            f"{gaps} (fold, label) pair(s) have no test clip (expected when each fold is one speaker); "
            "per-fold UA averages over the labels a fold has"
        )
    return problems


def describe_folds(manifest: pd.DataFrame, folds: pd.DataFrame) -> list[str]:
    """One log line per fold (train-only partition first): clips, speakers, label counts."""
    table = manifest[["clip_id", "speaker", "label"]].merge(folds, on="clip_id")
    names = fold_names(folds)
    lines = []
    for k, part in table.groupby("fold"):
        counts = ", ".join(f"{label} {n}" for label, n in part["label"].value_counts().sort_index().items())
        what = f"{TRAIN_NAME} (only trains)" if k == TRAIN_ONLY else _label(int(k), names)
        lines.append(f"{what}: {len(part)} clips, {part['speaker'].nunique()} speakers; {counts}")
    return lines
