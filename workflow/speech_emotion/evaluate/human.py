"""The CREMA-D human baseline: listeners' audio-only majority vote against the acted label.

CREMA-D's ``summaryTable.csv`` holds, per clip, the majority label of raters who heard only the
audio (``VoiceVote``); a model is compared with it on the same clips (``human_baseline`` in
metrics.json).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

class PerceptionError(ValueError):
    """A perception table that is not CREMA-D's summaryTable.csv; the message names the file."""


# CREMA-D perception votes use one letter per emotion; ties are joined with ':' ("N:S").
CREMAD_VOTE_CODES = {"A": "ANG", "D": "DIS", "F": "FEA", "H": "HAP", "N": "NEU", "S": "SAD"}


def round_metric(value: float) -> float | None:
    """Round for stable JSON; NaN (undefined) becomes None."""
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def vote_to_label(vote: Any, codes: Mapping[str, str] = CREMAD_VOTE_CODES) -> str | None:
    """A single majority vote as a corpus label ('A' -> 'ANG', 'Anger' -> 'ANG'); ties -> None."""
    if not isinstance(vote, str) or not vote.strip() or ":" in vote:
        return None
    vote = vote.strip()
    if vote.upper() in codes.values():
        return vote.upper()
    return codes.get(vote[0].upper())


def untie_level(level: Any) -> Any:
    """A perception level of a tied vote as one number's text: ``VoiceLevel`` holds one mean intensity
    per tied emotion (``"37.2:58.6"`` for the vote ``"A:N"``); tied emotions have equal numbers of
    raters, so the mean of the parts is the mean intensity of the raters behind the vote. Anything
    else is returned as it is (a part that is not a number too: the caller reports it)."""
    if not isinstance(level, str) or ":" not in level:
        return level
    try:
        return repr(float(np.mean([float(part) for part in level.split(":")])))
    except ValueError:
        return level


def read_perception(path: str | Path, columns: Sequence[str] = ()) -> pd.DataFrame:
    """CREMA-D summaryTable.csv -> clip_id, vote (raw VoiceVote), human (label or None for ties), and
    the raw text of each of ``columns`` (e.g. ``VoiceLevel``, the mean perceived intensity; a
    continuous target of :mod:`speech_emotion.data.targets`)."""
    table = pd.read_csv(path, dtype=str)
    for column in ("FileName", "VoiceVote", *columns):
        if column not in table.columns:
            raise PerceptionError(f"{path}: no column '{column}' (expected CREMA-D summaryTable.csv)")
    clip = table["FileName"].str.strip().str.replace(r"\.(wav|flv|mp4)$", "", regex=True)
    return pd.DataFrame(
        {"clip_id": clip, "vote": table["VoiceVote"], "human": [vote_to_label(v) for v in table["VoiceVote"]],
         **{column: table[column] for column in columns if column not in ("vote", "human")}}
    ).drop_duplicates("clip_id")


def human_baseline(frame: pd.DataFrame, perception: pd.DataFrame, labels: Sequence[str]) -> dict[str, Any]:
    """Listeners' audio-only majority vote vs the acted label, beside the model, on the same clips.

    A tied vote (e.g. ``N:S``) has no single majority label and counts as a miss, which gives the
    41.6 % agreement on the full corpus that the CREMA-D tables imply.
    """
    keyed = frame.copy()
    ids = set(perception["clip_id"])
    if not keyed["clip_id"].isin(ids).any() and "path" in keyed.columns:
        keyed["clip_id"] = keyed["path"].map(lambda p: Path(str(p)).stem)
    joined = keyed.merge(perception, on="clip_id", how="inner")
    if joined.empty:
        return {"available": False, "reason": "no predicted clip appears in the perception table"}
    human_ok = joined["human"] == joined["label"]
    model_ok = joined["prediction"] == joined["label"]
    per_class = {}
    for label in labels:
        rows = joined["label"] == label
        if rows.any():
            per_class[label] = {
                "n": int(rows.sum()),
                "human": round_metric(human_ok[rows].mean()),
                "model": round_metric(model_ok[rows].mean()),
            }
    human_ua = np.mean([v["human"] for v in per_class.values()])
    model_ua = np.mean([v["model"] for v in per_class.values()])
    return {
        "available": True,
        "source": "summaryTable.csv VoiceVote (audio-only majority vote; ties count as misses)",
        "n_clips": int(len(joined)),
        "n_tied_votes": int(joined["human"].isna().sum()),
        "human": {"accuracy": round_metric(human_ok.mean()), "balanced_accuracy": round_metric(human_ua)},
        "model": {"accuracy": round_metric(model_ok.mean()), "balanced_accuracy": round_metric(model_ua)},
        "per_class": per_class,
    }
