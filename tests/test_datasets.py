"""Corpus listing, clip checks, manifest building, and real manifest + folds runs with Snakemake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import run_snakemake, shared_path

from speech_emotion.data.audio import load_audio
from speech_emotion.io.tables import read_table
from speech_emotion.data.datasets import (
    DatasetError,
    build_manifest,
    check_shard,
    list_corpus,
    parse_cremad_name,
)

RATE = 16000


def tone(seconds: float = 0.5, rate: int = RATE, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


# --- CREMA-D names ---------------------------------------------------------------------------------
def test_parse_cremad_name():
    assert parse_cremad_name("1001_DFA_ANG_XX") == {
        "actor": "1001", "sentence": "DFA", "emotion": "ANG", "intensity": "XX"
    }
    assert parse_cremad_name("1091_IEO_SAD_HI.wav")["intensity"] == "HI"


@pytest.mark.parametrize("name", ["1001_DFA_ANG", "1001-DFA-ANG-XX", "abcd_DFA_ANG_XX", "1001_DFA_XYZ_XX",
                                  "1001_DFA_ANG_QQ", "1001_DFA_ANG_XX_extra"])
def test_parse_cremad_name_rejects_bad_names(name):
    with pytest.raises(DatasetError, match=name.split(".")[0]):
        parse_cremad_name(name)


@pytest.mark.shared
def test_every_official_cremad_name_parses():
    names = pd.read_csv(shared_path("data", "cremad-meta", "SentenceFilenames.csv"))["Filename"]
    parsed = pd.DataFrame([parse_cremad_name(n) for n in names])
    assert len(parsed) == 7442 and parsed["actor"].nunique() == 91
    assert sorted(parsed["emotion"].unique()) == ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]


def test_list_cremad_relative_paths_and_bad_name(tmp_path):
    audio = tmp_path / "corpus" / "AudioWAV"
    audio.mkdir(parents=True)
    for name in ("1002_DFA_SAD_XX", "1001_IEO_HAP_LO"):
        sf.write(audio / f"{name}.wav", tone(), RATE)
    frame = list_corpus({"kind": "cremad", "source": "corpus"}, tmp_path)  # root of a CREMA-D checkout
    assert frame["clip_id"].tolist() == ["1001_IEO_HAP_LO", "1002_DFA_SAD_XX"]
    assert frame["path"].tolist() == ["corpus/AudioWAV/1001_IEO_HAP_LO.wav", "corpus/AudioWAV/1002_DFA_SAD_XX.wav"]
    assert frame[["speaker", "label", "sentence", "intensity"]].values.tolist() == [
        ["1001", "HAP", "IEO", "LO"], ["1002", "SAD", "DFA", "XX"]
    ]
    (audio / "notes_about.wav").write_bytes(b"x")
    with pytest.raises(DatasetError, match="notes_about.wav: not a CREMA-D clip name"):
        list_corpus({"kind": "cremad", "source": "corpus/AudioWAV"}, tmp_path)


# --- folder corpora --------------------------------------------------------------------------------
def test_list_folder(tmp_path):
    for label, names in {"Angry": ["SM1_F1_A01", "SF2_F3_A02"], "Sad": ["SM1_F2_S01"]}.items():
        (tmp_path / "db" / label).mkdir(parents=True)
        for name in names:
            sf.write(tmp_path / "db" / label / f"{name}.wav", tone(), RATE)
    dataset = {"kind": "folder", "root": "db", "speaker_regex": r"^(S[MF]\d+)_"}
    frame = list_corpus(dataset, tmp_path)
    assert frame.values.tolist() == [
        ["Angry/SF2_F3_A02", "db/Angry/SF2_F3_A02.wav", "SF2", "Angry"],
        ["Angry/SM1_F1_A01", "db/Angry/SM1_F1_A01.wav", "SM1", "Angry"],
        ["Sad/SM1_F2_S01", "db/Sad/SM1_F2_S01.wav", "SM1", "Sad"],
    ]
    sf.write(tmp_path / "db" / "Sad" / "speaker7.wav", tone(), RATE)
    with pytest.raises(DatasetError, match=r"db/Sad/speaker7.wav: dataset.speaker_regex"):
        list_corpus(dataset, tmp_path)


# --- manifest CSV corpora --------------------------------------------------------------------------
def write_manifest_corpus(tmp_path: Path, rows: list[str]) -> dict:
    (tmp_path / "corpus" / "wav").mkdir(parents=True, exist_ok=True)
    for i in range(5):
        sf.write(tmp_path / "corpus" / "wav" / f"c{i}.wav", tone(seed=i), RATE)
    (tmp_path / "corpus" / "list.csv").write_text("\n".join(["path,label,speaker,session", *rows]) + "\n")
    return {"kind": "manifest", "manifest": "corpus/list.csv"}


GOOD_ROWS = ["wav/c0.wav,happy,s1,a", "wav/c1.wav,sad,s1,b", "wav/c2.wav,happy,s2,a", "wav/c3.wav,sad,s2,b"]


def test_list_manifest_resolves_against_csv_folder_and_keeps_extras(tmp_path):
    frame = list_corpus(write_manifest_corpus(tmp_path, GOOD_ROWS), tmp_path)
    assert frame.columns.tolist() == ["clip_id", "path", "speaker", "label", "session"]
    assert frame.iloc[0].tolist() == ["wav/c0", "corpus/wav/c0.wav", "s1", "happy", "a"]


@pytest.mark.parametrize(
    "row, line, problem",
    [
        ("wav/missing.wav,sad,s2,b", 6, "audio file 'wav/missing.wav' does not exist"),
        ("wav/c4.wav,,s2,b", 6, "empty label"),
        ("wav/c4.wav,sad,s9,b", 6, "speaker 's9' has only this one clip"),
        ("wav/c1.wav,sad,s2,b", 6, "duplicate clip id 'wav/c1' \\(first on line 3\\)"),
    ],
)
def test_manifest_errors_name_the_row(tmp_path, row, line, problem):
    dataset = write_manifest_corpus(tmp_path, [*GOOD_ROWS, row])
    with pytest.raises(DatasetError, match=f"corpus/list.csv, line {line}: {problem}"):
        list_corpus(dataset, tmp_path)


def test_manifest_missing_column(tmp_path):
    dataset = write_manifest_corpus(tmp_path, GOOD_ROWS)
    (tmp_path / "corpus" / "list.csv").write_text("file,label,speaker\nwav/c0.wav,a,s1\n")
    with pytest.raises(DatasetError, match="missing column.*path"):
        list_corpus(dataset, tmp_path)


# --- broken audio ----------------------------------------------------------------------------------
BROKEN = {
    "empty": "empty file",
    "truncated_header": "not audio|unreadable audio|truncated|no audio samples",
    "truncated_data": "truncated file",
    "text": "not audio",
    "silent": "silent",
    "short": "too short",
    "nan": "NaN",
}


def make_broken_folder(root: Path) -> None:
    """<root>/{good,bad}/...: 4 good clips (one stereo 44.1 kHz) and one of each broken kind."""
    good, bad = root / "good", root / "bad"
    good.mkdir(parents=True)
    bad.mkdir(parents=True)
    for i in range(3):
        sf.write(good / f"s{i % 2}_ok{i}.wav", tone(0.6, seed=i), RATE, subtype="PCM_16")
    sf.write(good / "s1_stereo.wav", np.stack([tone(0.5, 44100), tone(0.5, 44100, seed=9)], axis=1), 44100)
    whole = (good / "s0_ok0.wav").read_bytes()
    (bad / "s0_empty.wav").write_bytes(b"")
    (bad / "s0_truncated_header.wav").write_bytes(whole[:30])
    (bad / "s1_truncated_data.wav").write_bytes(whole[: len(whole) // 2])
    (bad / "s1_text.wav").write_text("this is a text file, not audio\n" * 20)
    sf.write(bad / "s0_silent.wav", np.zeros(RATE, dtype=np.float32), RATE)
    sf.write(bad / "s1_short.wav", tone(0.05), RATE)
    nan = tone(0.6)
    nan[100] = np.nan
    sf.write(bad / "s0_nan.wav", nan, RATE, subtype="FLOAT")


def test_broken_clips_are_rejected_with_their_reason(tmp_path):
    make_broken_folder(tmp_path / "db")
    dataset = {"kind": "folder", "root": "db", "speaker_regex": r"^(s\d)_"}
    corpus = list_corpus(dataset, tmp_path)
    assert len(corpus) == 11
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        shards = [check_shard(corpus.iloc[:5], 0.3), check_shard(corpus.iloc[5:][["clip_id", "path"]].values, 0.3)]
        manifest, rejected = build_manifest(corpus, shards, dataset, max_rejected_fraction=0.7)
    assert manifest["clip_id"].tolist() == ["good/s0_ok0", "good/s0_ok2", "good/s1_ok1", "good/s1_stereo"]
    assert manifest.columns.tolist() == [
        "clip_id", "path", "speaker", "label", "duration_s", "sample_rate", "channels"
    ]
    stereo = manifest.set_index("clip_id").loc["good/s1_stereo"]
    assert (stereo["sample_rate"], stereo["channels"], stereo["duration_s"]) == (44100, 2, 0.5)
    assert rejected.columns.tolist() == ["clip_id", "path", "reason"]
    reasons = dict(zip(rejected["clip_id"].str.split("_", n=1).str[1], rejected["reason"]))
    assert set(reasons) == set(BROKEN)
    for kind, pattern in BROKEN.items():
        assert pd.Series([reasons[kind]]).str.contains(pattern).all(), (kind, reasons[kind])
    assert rejected["path"].str.startswith("db/bad/").all()

    signal = load_audio(tmp_path / "db" / "good" / "s1_stereo.wav", RATE)
    assert signal.ndim == 1 and signal.dtype == np.float32 and len(signal) == RATE // 2


def test_too_many_rejected_fails_with_count_and_key(tmp_path):
    make_broken_folder(tmp_path / "db")
    dataset = {"kind": "folder", "root": str(tmp_path / "db"), "speaker_regex": r"^(s\d)_"}
    corpus = list_corpus(dataset, tmp_path)
    with pytest.raises(DatasetError, match=r"7 of 11 clips rejected.*audio.max_rejected_fraction = 0.5"):
        build_manifest(corpus, [check_shard(corpus, 0.3)], dataset, max_rejected_fraction=0.5)
    with pytest.raises(DatasetError, match="1 clip\\(s\\) have no check result"):
        build_manifest(corpus, [check_shard(corpus.iloc[1:], 0.3)], dataset, max_rejected_fraction=1.0)


def test_check_shard_roundtrip_keeps_types(tmp_path):
    make_broken_folder(tmp_path / "db")
    corpus = list_corpus({"kind": "folder", "root": str(tmp_path / "db"), "speaker_regex": r"^(s\d)_"}, tmp_path)
    table = check_shard(corpus, 0.3)
    table.to_csv(tmp_path / "shard.tsv", sep="\t", index=False)
    back = read_table(tmp_path / "shard.tsv")
    assert back["reason"].eq("").sum() == 4 and back["duration_s"].isna().sum() == 7
    assert back[back["reason"] == ""]["sample_rate"].tolist() == table[table["reason"] == ""]["sample_rate"].tolist()


def test_cremad_demographics_join(tmp_path):
    audio = tmp_path / "AudioWAV"
    audio.mkdir()
    for name in ("1001_DFA_ANG_XX", "1002_DFA_NEU_XX"):
        sf.write(audio / f"{name}.wav", tone(), RATE)
    (tmp_path / "demo.csv").write_text(
        '"ActorID","Age","Sex","Race","Ethnicity"\n1001,51,"Male","Caucasian","Not Hispanic"\n'
        '1002,21,"Female","Asian","Not Hispanic"\n'
    )
    dataset = {"kind": "cremad", "source": str(audio), "demographics": str(tmp_path / "demo.csv")}
    corpus = list_corpus(dataset, tmp_path)
    manifest, rejected = build_manifest(corpus, [check_shard(corpus, 0.3)], dataset, 0.0)
    assert rejected.empty
    assert manifest[["speaker", "age", "sex", "race"]].values.tolist() == [
        ["1001", 51, "Male", "Caucasian"], ["1002", 21, "Female", "Asian"]
    ]
    (tmp_path / "demo.csv").write_text('"ActorID","Age","Sex","Race","Ethnicity"\n1001,51,"Male","C","N"\n')
    with pytest.raises(DatasetError, match="no row for actor.*1002"):
        build_manifest(corpus, [check_shard(corpus, 0.3)], dataset, 0.0)


# --- real runs with Snakemake on ../shared ---------------------------------------------------------
def run_with(workdir: Path, config: str, *targets: str) -> None:
    """Run the workflow up to ``targets`` (default folds.tsv) with this config.yaml; it writes nothing
    outside results/."""
    (workdir / "config.yaml").write_text(config)
    result = run_snakemake(workdir, *(targets or ("results/data/folds.tsv",)), "--cores", "2", "--configfile", str(workdir / "config.yaml"), timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outside = [p for p in workdir.iterdir() if p.name not in {"results", ".snakemake", "config.yaml", "data"}]
    assert not outside, f"outputs outside results/: {outside}"


def _summary_level(perception: Path, clip: str) -> str:
    """VoiceLevel of one untied clip, read from the CSV's text by hand."""
    for line in perception.read_text().splitlines():
        fields = [f.strip('"') for f in line.split(",")]
        if fields[1] == clip:
            assert ":" not in fields[3], fields
            return fields[3]
    raise AssertionError(f"{clip} not in {perception}")


def folds_table(workdir: Path) -> pd.DataFrame:
    manifest = read_table(workdir / "results" / "data" / "manifest.tsv")
    folds = read_table(workdir / "results" / "data" / "folds.tsv")
    assert sorted(folds["clip_id"]) == sorted(manifest["clip_id"])
    return manifest.merge(folds, on="clip_id")


@pytest.mark.slow
@pytest.mark.shared
def test_snakemake_urdu_folder_dataset(tmp_path):
    urdu = shared_path("data", "urdu")
    (tmp_path / "data").symlink_to(urdu)  # a relative dataset.root: outputs hold relative paths
    run_with(
        tmp_path,
        "dataset: {kind: folder, root: data, speaker_regex: '^(S[MF]\\d+)_'}\n"
        "cv: {protocol: speaker, folds: 5}\nembed: {shards: 4}\nseed: 42\n",
    )
    table = folds_table(tmp_path)
    assert len(table) == 400 and read_table(tmp_path / "results/data/rejected.tsv").empty
    assert not table["path"].str.startswith("/").any()
    assert sorted(table["fold"].unique()) == [0, 1, 2, 3, 4]
    assert table.groupby("speaker")["fold"].nunique().max() == 1, "a speaker is in two folds"
    for fold in range(5):
        assert set(table[table["fold"] != fold]["label"]) == set(table["label"]), f"fold {fold} trains without a label"
    # Every label with at least 5 speakers is in every fold. Angry has only 4 speakers (SM1-SM4), so
    # with speaker-disjoint folds it cannot be in all 5; the folds log says which folds lack it.
    speakers = table.groupby("label")["speaker"].nunique()
    for label in speakers[speakers >= 5].index:
        assert table[table["label"] == label]["fold"].nunique() == 5, label
    assert speakers["Angry"] == 4
    assert "label 'Angry': no test clip in fold" in (tmp_path / "results/logs/folds.log").read_text()


@pytest.mark.slow
@pytest.mark.shared
def test_snakemake_cremad_sample_local_source(tmp_path):
    audio = shared_path("data", "cremad-sample", "AudioWAV")
    demographics = shared_path("data", "cremad-meta", "VideoDemographics.csv")
    perception = shared_path("data", "cremad-meta", "summaryTable.csv")
    run_with(
        tmp_path,
        f"dataset: {{kind: cremad, source: '{audio}', demographics: '{demographics}', perception: '{perception}',\n"
        "  targets: {intensity: {column: VoiceLevel, table: perception, range: [0, 100]}}}\n"
        "cv: {protocol: speaker, folds: 2}\nembed: {shards: 2}\n",
        "results/data/folds.tsv", "results/data/targets/intensity.tsv",
    )
    table = folds_table(tmp_path)
    assert len(table) == 12
    # the declared target: summaryTable.csv's VoiceLevel of each clip, as a number, in a table of its
    # own (the manifest, which the classifiers' jobs read, does not change when a target is declared)
    assert "VoiceLevel" not in table.columns
    levels = read_table(tmp_path / "results/data/targets/intensity.tsv").set_index("clip_id")["VoiceLevel"]
    assert sorted(levels.index) == sorted(table["clip_id"])
    assert levels.dtype == float and levels.notna().all()
    assert levels["1001_DFA_ANG_XX"] == pytest.approx(float(_summary_level(perception, "1001_DFA_ANG_XX")))
    assert set(table.columns) >= {"sentence", "intensity", "age", "sex", "race", "ethnicity", "duration_s"}
    assert table.groupby("speaker")["fold"].nunique().max() == 1
    assert table.groupby("fold")["label"].nunique().tolist() == [6, 6]
    assert table.set_index("speaker")["sex"].to_dict() == {"1001": "Male", "1002": "Female"}
