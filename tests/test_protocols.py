"""cv.protocol loso and predefined: leakage rules on real URDU speakers, and whole runs through the DAG.

The DAG runs use a reduced configuration (eGeMAPS, logistic regression with a fixed C, no augmented
copies, a subset of URDU's real clips listed in a manifest CSV), so each takes a minute or two.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake, shared_path

from speech_emotion.train.classifiers.inner import inner_cv
from speech_emotion.data.datasets import list_corpus
from speech_emotion.io.tables import read_table
from speech_emotion.data.folds import make_folds
from speech_emotion.data.splits import TRAIN_ONLY, Variant, build_fold

URDU_REGEX = r"^(S[MF]\d+)_"


def urdu_corpus() -> pd.DataFrame:
    """URDU's clip table (ids, speakers, labels) from its file names; no audio is opened."""
    root = shared_path("data", "urdu")
    return list_corpus({"kind": "folder", "root": str(root), "speaker_regex": URDU_REGEX}, Path.cwd())


def variants(ids: list[str], seed: int = 0) -> tuple[Variant, list[Variant]]:
    """Clean features for every clip and two augmented copies, in shuffled orders (as the augment stage
    makes copies of every clip, not knowing the folds)."""
    rng = np.random.default_rng(seed)
    clean = Variant("clean", np.array(ids), rng.standard_normal((len(ids), 1, 4)))
    copies = []
    for name in ("aug1", "aug2"):
        order = rng.permutation(len(ids))
        copies.append(Variant(name, np.array(ids)[order], rng.standard_normal((len(ids), 1, 4))))
    return clean, copies


@pytest.mark.shared
def test_loso_folds_on_urdu_keep_the_held_out_speaker_and_its_copies_out_of_training():
    corpus = urdu_corpus()
    folds = make_folds(corpus, "loso", 5, seed=42)
    speakers = sorted(corpus["speaker"].unique())
    assert folds["fold"].nunique() == len(speakers) == folds["fold_name"].nunique()
    clean, copies = variants(corpus["clip_id"].tolist())
    speaker_of = corpus.set_index("clip_id")["speaker"]
    grouped = 0
    for k, name in folds.drop_duplicates("fold")[["fold", "fold_name"]].itertuples(index=False):
        held_out = set(corpus.loc[corpus["speaker"] == name, "clip_id"])
        data = build_fold(k, folds, corpus, clean, copies)
        assert set(data.test_ids) == held_out and len(data.test_ids) == len(held_out)
        assert not held_out & set(data.train_ids), f"fold {k} ({name}): a clip or a copy of the held-out speaker trains"
        assert name not in set(data.groups_train)
        assert len(data.train_ids) == 3 * (len(corpus) - len(held_out))  # clean + 2 copies of every other clip
        # inner splits come from these training rows only: held out by speaker, scored on clean clips only
        clean_rows = data.train_variants == "clean"
        for train_rows, val_rows in inner_cv(data.y_train, data.groups_train, 5, 42, clean_rows):
            assert clean_rows[val_rows].all()
            if not set(data.groups_train[train_rows]) & set(data.groups_train[val_rows]):
                grouped += 1
        assert set(speaker_of.loc[data.train_ids]) == set(speakers) - {name}
    # every fold's inner splits are speaker-grouped (no fallback to plain stratified splits)
    assert grouped == 5 * len(speakers)


@pytest.mark.shared
def test_predefined_split_on_urdu_tests_only_the_test_partition():
    corpus = urdu_corpus()
    test_speakers = {"SM2", "SM7", "SM25", "SM20"}
    values = corpus["speaker"].map(lambda s: "test" if s in test_speakers else "train").set_axis(corpus["clip_id"])
    folds = make_folds(corpus, "predefined", 5, 42, values)
    assert sorted(set(folds["fold"])) == [TRAIN_ONLY, 0]
    clean, copies = variants(corpus["clip_id"].tolist(), seed=1)
    data = build_fold(0, folds, corpus, clean, copies)
    tested = set(corpus.loc[corpus["speaker"].isin(test_speakers), "clip_id"])
    assert set(data.test_ids) == tested
    assert not tested & set(data.train_ids) and not test_speakers & set(data.groups_train)
    assert len(data.train_ids) == 3 * (len(corpus) - len(tested))
    with pytest.raises(ValueError, match="fold -1 holds the clips that only train"):
        build_fold(TRAIN_ONLY, folds, corpus, clean, copies)
    everything = build_fold(None, folds, corpus, clean, copies)  # fold "all": the final model
    assert len(everything.test_ids) == 0 and len(everything.train_ids) == 3 * len(corpus)


# --- whole runs ----------------------------------------------------------------------------------
CONFIG = """\
dataset: {dataset}
cv: {cv}
audio: {{max_rejected_fraction: 0.1}}
augment: {{copies: 0}}
embed: {{shards: 2}}
features: {{layers: last}}
classifiers: {{logreg: {{C: 1.0}}}}
run: {{encoders: [egemaps], classifiers: [logreg]}}
seed: 42
"""
METRICS = "results/cv/egemaps/logreg/metrics.json"
FINAL = "results/models/egemaps/logreg/model.json"


def pick(corpus: pd.DataFrame, wanted: dict[str, list[str]], per_label: int) -> pd.DataFrame:
    """The first ``per_label`` clips of each (speaker, label) in ``wanted``."""
    rows = corpus[corpus.apply(lambda r: r["label"] in wanted.get(r["speaker"], []), axis=1)]
    return rows.groupby(["speaker", "label"], sort=False).head(per_label).reset_index(drop=True)


def write_manifest(path: Path, clips: pd.DataFrame, extra: dict[str, list[str]] | None = None) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        columns = ["path", "label", "speaker", *(extra or {})]
        writer.writerow(columns)
        for i, row in enumerate(clips.itertuples()):
            writer.writerow([row.path, row.label, row.speaker, *[v[i] for v in (extra or {}).values()]])


def run(workdir: Path, dataset: str, cv: str, *targets: str) -> subprocess.CompletedProcess:
    (workdir / "config.yaml").write_text(CONFIG.format(dataset=dataset, cv=cv))
    return run_snakemake(workdir, *targets, "--cores", "2", "--configfile", str(workdir / "config.yaml"), timeout=1200)


def ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]


def predictions(workdir: Path, fold: int) -> pd.DataFrame:
    return pd.read_csv(workdir / f"results/cv/egemaps/logreg/fold-{fold}/predictions.tsv", sep="\t", dtype={"clip_id": str})


def plan(workdir: Path, fold: int | str) -> dict:
    return json.loads((workdir / f"results/cv/egemaps/plans/fold-{fold}.json").read_text())


def mean_recall(frame: pd.DataFrame) -> float:
    """UA by hand: the mean recall over the labels in the truth."""
    return float(np.mean([(g["prediction"] == label).mean() for label, g in frame.groupby("label")]))


@pytest.mark.slow
@pytest.mark.shared
def test_loso_run_on_urdu(tmp_path):
    """Five real speakers, one fold each; a sixth speaker whose clips are all rejected gets no fold."""
    clips = pick(urdu_corpus(), {"SM1": ["Angry"], "SM2": ["Angry"], "SM5": ["Happy", "Neutral"],
                                 "SM6": ["Happy", "Sad"], "SM24": ["Sad"]}, per_label=6)
    for i in range(2):  # not audio: rule check_clips rejects them, and speaker SF99 vanishes
        (tmp_path / f"broken{i}.wav").write_bytes(b"not a wav file")
    broken = pd.DataFrame({"path": [str(tmp_path / f"broken{i}.wav") for i in range(2)], "label": "Sad",
                           "speaker": "SF99"})
    write_manifest(tmp_path / "clips.csv", pd.concat([clips, broken], ignore_index=True))
    ok(run(tmp_path, "{kind: manifest, manifest: clips.csv}", "{protocol: loso}", METRICS, FINAL,
           "results/cv/egemaps/layer_probe.tsv", "results/plots/egemaps/fold_scores.png"))

    assert set(read_table(tmp_path / "results/data/rejected.tsv")["clip_id"]) == {"broken0", "broken1"}
    manifest = read_table(tmp_path / "results/data/manifest.tsv")
    folds = read_table(tmp_path / "results/data/folds.tsv").merge(manifest[["clip_id", "speaker"]], on="clip_id")
    names = {0: "SM1", 1: "SM2", 2: "SM5", 3: "SM6", 4: "SM24"}  # natural order of the speakers
    assert (folds["fold_name"] == folds["speaker"]).all() and folds["fold"].map(names).eq(folds["speaker"]).all()
    cv_dirs = sorted(p.name for p in (tmp_path / "results/cv/egemaps/logreg").glob("fold-*"))
    assert cv_dirs == ["fold-0", "fold-1", "fold-2", "fold-3", "fold-4", "fold-all"]
    metrics = json.loads((tmp_path / METRICS).read_text())
    assert metrics["protocol"] == "loso" and metrics["n_folds"] == 5 and metrics["n_clips"] == len(clips)
    assert metrics["fold_names"] == {str(k): v for k, v in names.items()}
    assert metrics["speaker_overlap"]["n_speakers"] == 0
    for k, speaker in names.items():
        fold = predictions(tmp_path, k)
        held_out = set(manifest.loc[manifest["speaker"] == speaker, "clip_id"])
        assert set(fold["clip_id"]) == held_out and (fold["fold"] == k).all()
        assert plan(tmp_path, k)["n_train_clips"] == len(manifest) - len(held_out)
        row = metrics["per_fold"][str(k)]
        assert row["name"] == speaker and row["speakers"] == [speaker] and row["n_clips"] == len(held_out)
        assert row["labels"] == sorted(set(fold["label"]))
        assert metrics["balanced_accuracy"]["per_fold"][str(k)] == pytest.approx(mean_recall(fold), abs=1e-6)
        assert metrics["per_speaker"]["accuracy"][speaker] == pytest.approx(row["accuracy"], abs=1e-6)
    assert plan(tmp_path, "all")["n_train_clips"] == len(manifest)  # the final model: every clip
    probe = pd.read_csv(tmp_path / "results/cv/egemaps/layer_probe.tsv", sep="\t", dtype={"fold": str})
    assert sorted(probe["fold"]) == ["0", "1", "2", "3", "4"]
    log = (tmp_path / "results/logs/folds.log").read_text()
    assert "fold 4 (SM24): 6 clips, 1 speakers; Sad 6" in log


@pytest.mark.slow
@pytest.mark.shared
def test_predefined_train_test_split_run_on_urdu(tmp_path):
    """A `fold` column with train/test; speaker SM2 is on both sides: allowed, warned about and recorded."""
    train = pick(urdu_corpus(), {"SM1": ["Angry"], "SM5": ["Happy", "Neutral"], "SM6": ["Happy", "Sad"],
                                 "SM24": ["Sad"]}, per_label=5)
    test = pick(urdu_corpus(), {"SM7": ["Happy"], "SM25": ["Sad"], "SM20": ["Neutral"]}, per_label=5)
    sm2 = pick(urdu_corpus(), {"SM2": ["Angry"]}, per_label=8)
    clips = pd.concat([train, sm2, test], ignore_index=True)
    split = ["train"] * (len(train) + 4) + ["test"] * (4 + len(test))  # SM2: 4 clips train, 4 are tested
    write_manifest(tmp_path / "clips.csv", clips, {"fold": split})
    ok(run(tmp_path, "{kind: manifest, manifest: clips.csv}", "{protocol: predefined}", METRICS, FINAL))

    folds = read_table(tmp_path / "results/data/folds.tsv")
    manifest = read_table(tmp_path / "results/data/manifest.tsv", text_columns=["fold"])
    assert set(zip(folds["fold"], folds["fold_name"])) == {(TRAIN_ONLY, "train"), (0, "test")}
    tested = set(manifest.loc[manifest["fold"] == "test", "clip_id"])
    assert set(folds.loc[folds["fold"] == 0, "clip_id"]) == tested and len(tested) == 19
    cv_dirs = sorted(p.name for p in (tmp_path / "results/cv/egemaps/logreg").glob("fold-*"))
    assert cv_dirs == ["fold-0", "fold-all"]
    assert set(predictions(tmp_path, 0)["clip_id"]) == tested  # only test clips are predicted
    assert plan(tmp_path, 0)["n_train_clips"] == len(clips) - len(tested)
    assert plan(tmp_path, "all")["n_train_clips"] == len(clips)  # the final model: train + test
    metrics = json.loads((tmp_path / METRICS).read_text())
    assert metrics["n_clips"] == 19 and metrics["n_folds"] == 1 and metrics["fold_names"] == {"0": "test"}
    overlap = metrics["speaker_overlap"]
    assert (overlap["n_speakers"], overlap["n_clips"]) == (1, 4)
    assert overlap["speakers"] == {"SM2": {"folds": ["test"], "test_clips": 4}}
    log = (tmp_path / "results/logs/folds.log").read_text()
    assert re.search(r"WARNING .*1 speaker\(s\) are on both sides of a fold \(4 test clips.*SM2 in test", log), log
    assert f"train (only trains): {len(train) + 4} clips" in log
    assert json.loads((tmp_path / FINAL).read_text())["labels"] == ["Angry", "Happy", "Neutral", "Sad"]


@pytest.mark.slow
@pytest.mark.shared
def test_predefined_named_folds_from_a_fold_table_on_an_urdu_folder(tmp_path):
    """dataset.kind folder + cv.fold_table with IEMOCAP-style session names; a gap in the table stops the run."""
    corpus = urdu_corpus()
    sessions = {"SM1": "Ses01", "SM5": "Ses01", "SM24": "Ses01", "SM2": "Ses02", "SM7": "Ses02", "SM25": "Ses02",
                "SM3": "Ses03", "SM6": "Ses03", "SM20": "Ses03"}
    clips = pick(corpus, {s: ["Angry", "Happy", "Neutral", "Sad"] for s in sessions}, per_label=4)
    for row in clips.itertuples():  # a folder corpus of real URDU clips: <label>/<file>
        (tmp_path / "data" / row.label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / row.label / Path(row.path).name).symlink_to(row.path)
    ids = [f"{row.label}/{Path(row.path).stem}" for row in clips.itertuples()]
    table = pd.DataFrame({"clip_id": ids, "fold": clips["speaker"].map(sessions)})
    table.iloc[1:].to_csv(tmp_path / "sessions.csv", index=False)
    dataset = f"{{kind: folder, root: data, speaker_regex: '{URDU_REGEX}'}}"
    cv = "{protocol: predefined, fold_table: sessions.csv}"
    failed = run(tmp_path, dataset, cv, METRICS)
    assert failed.returncode != 0
    assert f"folds: cv.fold_table 'sessions.csv': no row for 1 clip(s) of the corpus, e.g. {ids[0]}" in failed.stderr

    table.to_csv(tmp_path / "sessions.csv", index=False)
    ok(run(tmp_path, dataset, cv, METRICS))
    folds = read_table(tmp_path / "results/data/folds.tsv")
    assert folds.set_index("clip_id").loc[ids, "fold_name"].tolist() == table["fold"].tolist()
    assert dict(zip(folds["fold_name"], folds["fold"])) == {"Ses01": 0, "Ses02": 1, "Ses03": 2}
    metrics = json.loads((tmp_path / METRICS).read_text())
    assert metrics["fold_names"] == {"0": "Ses01", "1": "Ses02", "2": "Ses03"}
    assert metrics["per_fold"]["1"]["speakers"] == ["SM2", "SM25", "SM7"]
    assert metrics["n_clips"] == len(ids) and metrics["speaker_overlap"]["n_speakers"] == 0


@pytest.mark.slow
@pytest.mark.shared
def test_predefined_fold_column_with_an_empty_value_stops_the_run(tmp_path):
    clips = pick(urdu_corpus(), {"SM1": ["Angry"], "SM5": ["Happy"]}, per_label=3)
    write_manifest(tmp_path / "clips.csv", clips, {"fold": ["1", "1", "", "2", "2", "2"]})
    result = run(tmp_path, "{kind: manifest, manifest: clips.csv}", "{protocol: predefined}", "results/data/folds.tsv")
    assert result.returncode != 0
    assert ("folds: dataset.manifest 'clips.csv' (column 'fold', cv.fold_column): the fold is empty for 1 of 6 "
            "clip(s)") in result.stderr
    assert not (tmp_path / "results/data/folds.tsv").exists()


def card_for(protocol: str, n_folds: int, overlap: int | None) -> str:
    """MODEL_CARD.md of a small openSMILE model whose CV metrics.json records ``protocol``."""
    from speech_emotion.evaluate.model_card import model_card
    from speech_emotion.train.features import FeatureSpec

    labels = ["Angry", "Happy", "Neutral", "Sad"]
    info = {"encoder": {"name": "egemaps", "spec": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}},
            "classifier": "logreg", "labels": labels, "params": {"C": 1.0}, "n_train_clips": 8,
            "n_features": 88, "seed": 0, "audio": {"sample_rate": 16000, "max_seconds": 30}}
    score = {"mean": 0.5, "std": 0.1, "pooled": 0.5}
    metrics = {"protocol": protocol, "n_folds": n_folds, "n_clips": 8, "balanced_accuracy": score, "accuracy": score,
               "chance": {"balanced_accuracy": 0.25, "balanced_accuracy_model": 0.25, "balanced_accuracy_mean": 0.9,
                          "accuracy": 0.25}}
    if overlap is not None:
        metrics["speaker_overlap"] = {"n_speakers": overlap, "n_clips": 2 * overlap, "speakers": {}}
    manifest = pd.DataFrame({"label": labels * 2, "speaker": [f"S{i}" for i in range(8)]})
    return model_card(info, FeatureSpec.of([0], "egemaps"), metrics, manifest, {"kind": "folder"})


INDEPENDENT_CLAIMS = ("no speaker in both", "no speaker on both sides", "speaker-independent folds")
SHARED_CLAIMS = ("speakers were shared", "occur on both sides", "occur in both")


@pytest.mark.parametrize("protocol, n_folds, overlap, independent", [
    ("speaker", 5, 0, True), ("loso", 29, 0, True), ("loso", 29, None, True), ("predefined", 3, 0, True),
    ("predefined", 1, 2, False), ("predefined", 1, None, None), ("stratified", 5, None, False),
])
def test_model_card_protocol_text_never_contradicts_itself(protocol, n_folds, overlap, independent):
    """The LOSO card used to say "leave-one-speaker-out ... no speaker in both" and, under Limitations,
    "speakers were shared between training and test folds" (only `speaker` counted as independent); a
    predefined split without overlap likewise. Now both sentences come from protocol_text."""
    card = card_for(protocol, n_folds, overlap)
    says_independent = any(claim in card for claim in INDEPENDENT_CLAIMS)
    says_shared = any(claim in card for claim in SHARED_CLAIMS)
    assert not (says_independent and says_shared), card
    from speech_emotion.evaluate.model_card import limitation_line, protocol_text

    how, limitation = protocol_text(protocol, n_folds, overlap)
    assert f"Protocol: {how};" in card and limitation_line(protocol, n_folds, overlap) in card
    if independent is None:  # not recorded: neither claim
        assert not says_independent and not says_shared and "not known" in limitation
    else:
        assert (limitation is None) == independent and says_independent == independent and says_shared != independent
    if protocol == "loso":
        assert "**leave-one-speaker-out** cross-validation (29 folds, one per speaker)" in card
