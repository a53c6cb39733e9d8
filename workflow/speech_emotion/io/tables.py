"""Reading the workflow's TSV tables (shard checks, manifest, rejected clips, folds) one way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def read_table(path: str | Path, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a data TSV (shard check, manifest, rejected, folds) with ids, paths, speakers, labels and
    reasons (and ``text_columns``) kept as strings (speaker 1001 stays '1001', an empty reason stays '')."""
    text = {"clip_id": str, "path": str, "speaker": str, "label": str, "reason": str, "fold_name": str}
    text.update({column: str for column in text_columns})
    numeric = {"duration_s": [""], "sample_rate": [""], "channels": [""]}
    return pd.read_csv(path, sep="\t", dtype=text, keep_default_na=False, na_values=numeric)
