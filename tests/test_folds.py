"""Cross-validation folds: speaker-disjoint and stratified, deterministic, with clear errors."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from speech_emotion.datasets import DatasetError
from speech_emotion.folds import FoldError, coverage_problems, make_folds


def corpus(speakers: int = 6, labels: str = "ABC", per_label: int = 2) -> pd.DataFrame:
    """Every speaker says every label ``per_label`` times: 6 speakers x 3 labels x 2 = 36 clips."""
    rows = [
        {"clip_id": f"s{s}_{label}{i}", "speaker": f"s{s}", "label": label}
        for s in range(speakers) for label in labels for i in range(per_label)
    ]
    return pd.DataFrame(rows)


def test_speaker_folds_are_disjoint_and_stratified():
    table = corpus()
    folds = make_folds(table, "speaker", 3, seed=42)
    assert folds.columns.tolist() == ["clip_id", "fold"]
    assert folds["clip_id"].tolist() == sorted(table["clip_id"])
    merged = table.merge(folds, on="clip_id")
    assert merged.groupby("speaker")["fold"].nunique().max() == 1
    # 6 balanced speakers into 3 folds: 2 speakers, 12 clips, 4 clips of each label per fold.
    assert merged.groupby("fold")["speaker"].nunique().tolist() == [2, 2, 2]
    counts = merged.groupby(["fold", "label"]).size().unstack()
    assert (counts == 4).all().all(), counts


def test_folds_are_deterministic_and_follow_the_seed():
    table = corpus(speakers=10)
    first = make_folds(table, "speaker", 5, seed=1)
    shuffled = make_folds(table.sample(frac=1, random_state=3), "speaker", 5, seed=1)
    pd.testing.assert_frame_equal(first, shuffled)
    speakers_by_fold = {
        seed: tuple(table.merge(make_folds(table, "speaker", 5, seed)).groupby("fold")["speaker"].agg(frozenset))
        for seed in range(5)
    }
    assert len(set(speakers_by_fold.values())) > 1, "the seed should change which speakers share a fold"


def test_too_few_speakers_is_a_clear_error():
    with pytest.raises(FoldError, match=r"cv.folds = 5 but the corpus has only 3 speaker\(s\)") as info:
        make_folds(corpus(speakers=3), "speaker", 5, seed=0)
    assert isinstance(info.value, DatasetError)


def test_stratified_protocol_lets_speakers_leak():
    table = corpus(speakers=2, per_label=6)  # 36 clips, 12 per label
    merged = table.merge(make_folds(table, "stratified", 3, seed=0), on="clip_id")
    assert (merged.groupby(["fold", "label"]).size() == 4).all()
    assert merged.groupby("speaker")["fold"].nunique().min() > 1, "each speaker is in several folds"
    with pytest.raises(FoldError, match=r"cv.folds = 3 but label 'B' has only 1 clip"):
        make_folds(corpus(speakers=1, labels="AB", per_label=2).iloc[:-1], "stratified", 3, seed=0)
    with pytest.raises(FoldError, match="cv.protocol: unknown protocol 'random'"):
        make_folds(table, "random", 3, seed=0)


def test_label_with_fewer_speakers_than_folds_is_reported(caplog):
    table = corpus(speakers=4, labels="AB")
    table = table[~((table["label"] == "B") & (table["speaker"] != "s0"))]  # only s0 says B
    with caplog.at_level(logging.WARNING, logger="speech_emotion.folds"):
        folds = make_folds(table, "speaker", 2, seed=0)
    merged = table.merge(folds, on="clip_id")
    b_fold = merged.loc[merged["label"] == "B", "fold"].iloc[0]
    assert f"label 'B': every clip is in fold {b_fold}, so that fold trains without it" in caplog.text
    assert f"label 'B': no test clip in fold {1 - b_fold}" in caplog.text
    assert coverage_problems(corpus(speakers=4).assign(fold=[i % 2 for i in range(24)]), 2) == []
