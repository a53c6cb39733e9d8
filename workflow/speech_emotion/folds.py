"""Cross-validation folds: speaker-disjoint and label-stratified by default.

``protocol="stratified"`` is the plain stratified split of the original scripts: a speaker's
clips land in both training and test folds, so the classifier can recognise the voice rather than
the emotion and the scores overstate accuracy on new speakers.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .datasets import DatasetError

log = logging.getLogger(__name__)
PROTOCOLS = ("speaker", "stratified")


class FoldError(DatasetError):
    """Folds cannot be made as configured; the message names the config key."""


def make_folds(manifest: pd.DataFrame, protocol: str, folds: int, seed: int) -> pd.DataFrame:
    """clip_id -> fold (0..folds-1), sorted by clip_id; the same inputs give the same folds."""
    if protocol not in PROTOCOLS:
        raise FoldError(f"cv.protocol: unknown protocol '{protocol}' (known: {', '.join(PROTOCOLS)})")
    table = manifest.sort_values("clip_id").reset_index(drop=True)
    labels = table["label"].astype(str).to_numpy()
    speakers = table["speaker"].astype(str).to_numpy()
    if protocol == "speaker":
        n_speakers = len(set(speakers))
        if n_speakers < folds:
            raise FoldError(
                f"cv.folds = {folds} but the corpus has only {n_speakers} speaker(s); speaker-disjoint "
                f"folds need at least one speaker per fold (lower cv.folds to {n_speakers} or less)"
            )
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
    result = pd.DataFrame({"clip_id": table["clip_id"].astype(str), "fold": fold})
    for problem in coverage_problems(table.assign(fold=fold), folds):
        log.warning(problem)
    return result


def coverage_problems(table: pd.DataFrame, folds: int) -> list[str]:
    """Labels missing from a fold's test part (or, worse, its training part), as messages."""
    problems = []
    for label, rows in table.groupby("label"):
        present = set(rows["fold"])
        for k in range(folds):
            if k in present and present == {k}:
                problems.append(f"label '{label}': every clip is in fold {k}, so that fold trains without it")
            elif k not in present:
                problems.append(
                    f"label '{label}': no test clip in fold {k} (its clips come from "
                    f"{rows['speaker'].nunique()} speaker(s) for {folds} folds)"
                )
    return problems
