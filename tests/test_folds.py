"""Cross-validation folds: speaker-disjoint, stratified, leave-one-speaker-out and predefined;
deterministic, with clear errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from speech_emotion.data.datasets import DatasetError
from speech_emotion.data.folds import (
    FoldError,
    assigned_from_column,
    assigned_from_table,
    coverage_problems,
    fold_index,
    make_folds,
)
from speech_emotion.data.splits import TRAIN_ONLY, fold_list, fold_names, partition, speaker_overlap


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
    with caplog.at_level(logging.WARNING, logger="speech_emotion.data.folds"):
        folds = make_folds(table, "speaker", 2, seed=0)
    merged = table.merge(folds, on="clip_id")
    b_fold = merged.loc[merged["label"] == "B", "fold"].iloc[0]
    assert f"label 'B': every clip is in fold {b_fold}, so that fold trains without it" in caplog.text
    assert f"label 'B': no test clip in fold {1 - b_fold}" in caplog.text
    assert coverage_problems(corpus(speakers=4).assign(fold=[i % 2 for i in range(24)])) == []


# --- loso and predefined --------------------------------------------------------------------------

def test_loso_makes_one_fold_per_speaker_named_after_it():
    table = corpus(speakers=12)
    folds = make_folds(table, "loso", 5, seed=0)  # cv.folds is ignored
    assert folds.columns.tolist() == ["clip_id", "fold", "fold_name"]
    merged = table.merge(folds, on="clip_id")
    assert (merged["fold_name"] == merged["speaker"]).all()
    assert merged.groupby("fold")["speaker"].nunique().max() == 1
    # natural order: s2 before s10
    assert fold_names(folds) == {k: f"s{k}" for k in range(12)}
    assert fold_list(folds) == list(range(12))
    pd.testing.assert_frame_equal(folds, make_folds(table.sample(frac=1, random_state=1), "loso", 3, seed=9))
    assert speaker_overlap(merged)["n_speakers"] == 0


def test_loso_with_one_speaker_is_a_clear_error():
    with pytest.raises(FoldError, match=r"cv.protocol: loso needs at least 2 speakers; the manifest has 1 \(s0\)"):
        make_folds(corpus(speakers=1), "loso", 5, seed=0)


def test_loso_reports_a_label_only_one_speaker_has(caplog):
    table = corpus(speakers=3, labels="AB")
    table = table[~((table["label"] == "B") & (table["speaker"] != "s1"))]  # only s1 says B
    with caplog.at_level(logging.WARNING, logger="speech_emotion.data.folds"):
        make_folds(table, "loso", 0, seed=0)
    assert "label 'B': every clip is in fold 1 (s1), so that fold trains without it" in caplog.text
    # test folds without a label are expected under loso: one summary line, not one per (fold, label)
    assert "no test clip in fold" not in caplog.text
    assert "2 (fold, label) pair(s) have no test clip" in caplog.text


def test_fold_names_map_to_indices_deterministically():
    assert fold_index(["Ses03", "Ses01", "Ses02"]) == {"Ses01": 0, "Ses02": 1, "Ses03": 2}
    assert fold_index(["fold10", "fold2", "fold1"]) == {"fold1": 0, "fold2": 1, "fold10": 2}
    assert fold_index(["1", "2", "5", "3", "4"]) == {str(k): k for k in range(1, 6)}  # numbers keep their value
    assert fold_index(["train", "test"]) == {"train": TRAIN_ONLY, "test": 0}
    assert fold_index(["Train", "Test1", "Test2", "Development"]) == {
        "Train": TRAIN_ONLY, "Development": 0, "Test1": 1, "Test2": 2}
    with pytest.raises(FoldError, match="fold values '01' and '1' are the same number"):
        fold_index(["1", "01", "2"], "folds.csv")


def test_predefined_folds_from_a_manifest_column():
    table = corpus(speakers=5)
    table["fold"] = ["Ses0" + str(int(s[1:]) % 3 + 1) for s in table["speaker"]]  # Ses01..Ses03 by speaker
    folds = make_folds(table, "predefined", 5, 0, assigned_from_column(table, "fold", "clips.csv"), "clips.csv")
    merged = table.drop(columns="fold").merge(folds, on="clip_id")
    assert fold_names(folds) == {0: "Ses01", 1: "Ses02", 2: "Ses03"}
    assert (merged["fold"] == merged["speaker"].str[1:].astype(int) % 3).all()
    assert speaker_overlap(merged)["n_speakers"] == 0


def test_predefined_train_test_split():
    table = corpus(speakers=4)
    values = pd.Series(["test" if s in ("s0", "s1") else "train" for s in table["speaker"]], index=table["clip_id"])
    folds = make_folds(table, "predefined", 5, 0, values)
    assert fold_list(folds) == [0] and fold_names(folds) == {0: "test"}
    fold_of = folds.set_index("clip_id")["fold"]
    assert set(folds.loc[folds["fold_name"] == "train", "fold"]) == {TRAIN_ONLY}
    train, test = partition(fold_of, 0)
    assert train == set(table.loc[table["speaker"].isin(["s2", "s3"]), "clip_id"])
    assert test == set(table.loc[table["speaker"].isin(["s0", "s1"]), "clip_id"])
    assert partition(fold_of, None) == (set(table["clip_id"]), set())  # fold "all": every clip trains


def test_a_train_partition_is_the_only_training_part_of_every_test_fold():
    """MSP-Podcast style: Train, Test1, Test2; the Test2 clips never train the model tested on Test1."""
    table = corpus(speakers=6)
    names = {"s0": "Test1", "s1": "Test1", "s2": "Test2", "s3": "Train", "s4": "Train", "s5": "Train"}
    folds = make_folds(table, "predefined", 5, 0, table["speaker"].map(names).set_axis(table["clip_id"]))
    fold_of = folds.set_index("clip_id")["fold"]
    trainers = set(table.loc[table["speaker"].isin(["s3", "s4", "s5"]), "clip_id"])
    assert fold_names(folds) == {0: "Test1", 1: "Test2"}
    for k in (0, 1):
        assert partition(fold_of, k)[0] == trainers
    # without a train partition, the other folds train (k-fold cross-validation)
    kfold = folds.assign(fold=folds["fold"].replace(TRAIN_ONLY, 2)).set_index("clip_id")["fold"]
    assert partition(kfold, 0)[0] == set(table["clip_id"]) - set(kfold.index[kfold == 0])


def test_speaker_on_both_sides_of_a_predefined_split_is_counted(caplog):
    table = corpus(speakers=3)  # 12 clips per speaker
    speakers = table["speaker"].to_numpy()
    values = pd.Series(np.where(speakers == "s0", "test", "train"), index=table["clip_id"])
    values.iloc[np.flatnonzero(speakers == "s1")[:5]] = "test"  # 5 of s1's clips are tested, 7 train
    folds = make_folds(table, "predefined", 5, 0, values)
    overlap = speaker_overlap(table.merge(folds, on="clip_id"))
    assert overlap == {"n_speakers": 1, "n_clips": 5, "speakers": {"s1": {"folds": ["test"], "test_clips": 5}}}
    stratified = table.merge(make_folds(table, "stratified", 3, seed=0), on="clip_id")
    assert speaker_overlap(stratified)["n_speakers"] == 3


def test_predefined_errors_name_the_source(tmp_path):
    table = corpus(speakers=3)
    with pytest.raises(FoldError, match=r"clips.csv: no column 'split' \(cv.fold_column\)"):
        assigned_from_column(table, "split", "clips.csv")
    blank = table.assign(fold=["1"] * (len(table) - 2) + ["", " "])
    with pytest.raises(FoldError, match=r"clips.csv: the fold is empty for 2 of 18 clip\(s\), e.g. s2_C0, s2_C1"):
        assigned_from_column(blank, "fold", "clips.csv")
    everything_trains = pd.Series("train", index=table["clip_id"])
    with pytest.raises(FoldError, match=r"clips.csv: every clip is in the 'train' partition"):
        make_folds(table, "predefined", 5, 0, everything_trains, "clips.csv")
    one_fold = pd.Series("Ses01", index=table["clip_id"])
    with pytest.raises(FoldError, match="clips.csv: fold 'Ses01' holds every clip, so it has nothing to train on"):
        make_folds(table, "predefined", 5, 0, one_fold, "clips.csv")
    with pytest.raises(FoldError, match=r"cv.protocol: predefined needs the fold of every clip"):
        make_folds(table, "predefined", 5, 0)

    def write(rows: list[str]) -> Path:
        path = tmp_path / "folds.csv"
        path.write_text("clip_id,fold\n" + "\n".join(rows) + "\n")
        return path

    rows = [f"{c},{int(c[1]) + 1}" for c in table["clip_id"]]
    assigned = assigned_from_table(write(rows + ["s9_A0,1"]), table, rejected=["s9_A0"])  # a rejected clip: left out
    assert sorted(assigned.index) == sorted(table["clip_id"]) and set(assigned) == {"1", "2", "3"}
    with pytest.raises(FoldError, match=r"folds.csv: no row for 1 clip\(s\) of the corpus, e.g. s0_A0"):
        assigned_from_table(write(rows[1:]), table)
    with pytest.raises(FoldError, match=r"folds.csv: 1 clip id\(s\) not in the corpus, e.g. typo"):
        assigned_from_table(write(rows + ["typo,1"]), table)
    with pytest.raises(FoldError, match=r"folds.csv: clip id\(s\) listed twice, e.g. s0_A0"):
        assigned_from_table(write(rows + [rows[0]]), table)
    with pytest.raises(FoldError, match=r"folds.csv: the fold is empty for 1 of 18"):
        assigned_from_table(write([rows[0].split(",")[0] + ","] + rows[1:]), table)
    (tmp_path / "bad.csv").write_text("clip,split\na,1\n")
    with pytest.raises(FoldError, match=r"bad.csv: missing column\(s\) clip_id, fold"):
        assigned_from_table(tmp_path / "bad.csv", table)
