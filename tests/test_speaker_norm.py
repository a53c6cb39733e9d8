"""Per-speaker standardisation (features.speaker_norm): never fed by test-fold statistics, and applied
at predict time with the speaker of each file. The plan's decision, per fold on the training part, is
tested in test_plan.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, shared_path
from speech_emotion.train import classifiers as C
from speech_emotion.train.features import FeatureSpec, standardise_fold
from speech_emotion.train.speaker_norm import Stats, standardise
from speech_emotion.data.splits import build_fold, Variant
from synthetic import speaker_corpus


def normalise_fold(data, min_clips: int):
    """The fold standardised per speaker by the feature pipeline: (data, info, population statistics)."""
    spec = FeatureSpec.of([0], encoder="enc", speaker_norm=True, min_clips=min_clips)
    normalised, fitted, info = standardise_fold(data, spec)
    return normalised, info, fitted.population


def fold_data(frame: pd.DataFrame, X: np.ndarray, fold: int = 0):
    clean = Variant("clean", frame["clip_id"].to_numpy(), X)
    copy = Variant("aug1", frame["clip_id"].to_numpy(), X + 0.1)
    return build_fold(fold, frame[["clip_id", "fold"]], frame[["clip_id", "speaker", "label"]], clean, [copy])


def test_no_test_fold_statistics_reach_training(monkeypatch):
    """A spy on the statistics: those of training speakers and of the population come from clean
    training rows only; test speakers' from their own test rows; and whatever the test clips are,
    the training rows come out the same."""
    frame, X = speaker_corpus(every_emotion=True)
    data = fold_data(frame, X)
    train_rows = {r.tobytes() for r in data.X_train[data.train_variants == "clean"]}
    test_rows = {r.tobytes() for r in data.X_test}
    seen = []
    original = Stats.of.__func__

    def spy(cls, rows):
        seen.append({r.tobytes() for r in np.asarray(rows, dtype=np.float32)})
        return original(cls, rows)

    monkeypatch.setattr(Stats, "of", classmethod(spy))
    normalised, info, population = normalise_fold(data, min_clips=5)
    assert seen and all(rows <= train_rows or rows <= test_rows for rows in seen)
    assert seen[0] == train_rows, "the population: every clean training clip, nothing else"
    assert info["population_speakers_train"] == [] and info["population_speakers_test"] == []
    monkeypatch.undo()
    shifted = (X + np.where(frame["fold"].to_numpy()[:, None] == 0, 50.0, 0.0)).astype(np.float32)
    other = normalise_fold(fold_data(frame, shifted), 5)
    np.testing.assert_array_equal(other[0].X_train, normalised.X_train)
    np.testing.assert_array_equal(other[2].mean, population.mean)
    # copies use their source speaker's statistics (from the clean clips)
    speaker = data.groups_train[0]
    own = Stats.of(data.X_train[(data.groups_train == speaker) & (data.train_variants == "clean")])
    copy_rows = (data.groups_train == speaker) & (data.train_variants == "aug1")
    np.testing.assert_allclose(normalised.X_train[copy_rows], own.apply(data.X_train[copy_rows]), rtol=1e-5)


def test_a_speaker_with_few_clips_gets_the_population_statistics():
    X = np.array([[0.0], [2.0], [4.0], [10.0], [20.0]])
    population = Stats.of(X)
    out, fallback = standardise(X, ["a", "a", "a", "b", "b"], np.ones(5, bool), population, min_clips=3)
    assert fallback == ["b"]
    np.testing.assert_allclose(out[:3, 0], [-1.224745, 0.0, 1.224745], atol=1e-5)  # (x - 2) / sqrt(8/3)
    np.testing.assert_allclose(out[3:, 0], (np.array([10.0, 20.0]) - 7.2) / np.std([0, 2, 4, 10, 20]), rtol=1e-6)


# --- predict: the speaker of each file ------------------------------------------------------------------
RATE = 16000


@pytest.fixture(scope="module")
def normalised_model(tmp_path_factory) -> Path:
    """A final model folder with per-speaker standardisation: logistic regression on eGeMAPS of URDU
    clips, standardised per speaker (as rule final_model writes it: population statistics in model.zip)."""
    from speech_emotion.data.audio import load_audio
    from speech_emotion.embed.embeddings import embed_signals, make_encoder
    from speech_emotion.train.final_model import final_model_info

    files = sorted(shared_path("data", "urdu").glob("*/*.wav"))[::3]
    labels = np.array([p.parent.name for p in files])
    speakers = np.array([p.name.split("_")[0] for p in files])
    spec = {"kind": "opensmile", "feature_set": "eGeMAPSv02"}
    X = embed_signals(make_encoder(spec, None, "cpu", RATE), [load_audio(p, RATE) for p in files], 60.0)[:, 0]
    population = Stats.of(X)
    Xn, _ = standardise(X, speakers, np.ones(len(X), bool), population, 5)
    model = C.make_classifier("logreg", {"C": 1.0}).fit(Xn, labels, speakers)
    out = tmp_path_factory.mktemp("norm") / "results/models/egemaps/logreg"
    out.mkdir(parents=True)
    C.save_model(model, out / "model.zip")
    FeatureSpec.of([0], encoder="egemaps", speaker_norm=True, min_clips=5).fit_population(X).write(out / "features.json")
    record = {"classifier": "logreg", "layers": [0], "labels": sorted(set(labels)), "params": {}, "seed": 0,
              "speaker_norm": {"use": True, "min_clips": 5, "mode": "on"}}
    info = final_model_info(record, {"name": "egemaps", "spec": spec, "model_dir": None},
                            {"sample_rate": RATE, "max_seconds": 30.0, "batch_seconds": 60.0}, {})
    (out / "model.json").write_text(json.dumps(info))
    return out


def test_predict_needs_the_speakers_and_standardises_per_speaker(normalised_model, tmp_path):
    from speech_emotion import load_model

    model = load_model(normalised_model, device="cpu")
    clips = sorted(shared_path("data", "cremad-sample", "AudioWAV").glob("*.wav"))  # actors 1001, 1002: 6 each
    with pytest.raises(ValueError, match=r"speakers= .*--speaker-regex"):
        model.predict(clips)
    table = model.predict(clips, speakers={p.name: p.name.split("_")[0] for p in clips})
    assert list(table["speaker_norm"]) == ["speaker"] * len(clips)
    # by hand: each actor's eGeMAPS standardised with that actor's own 6 clips
    features = model.features([__import__("speech_emotion.data.audio", fromlist=["x"]).load_audio(p, RATE) for p in clips])
    speakers = np.array([p.name.split("_")[0] for p in clips])
    expected = np.empty_like(features)
    for speaker in set(speakers):
        rows = speakers == speaker
        expected[rows] = Stats.of(features[rows]).apply(features[rows])
    probs = model.classify(expected)
    got = table[[f"prob_{label}" for label in model.labels]].to_numpy(dtype=float)
    np.testing.assert_allclose(got, np.round(probs, 6), atol=1e-6)
    # one file of a third speaker: too few clips, the population's statistics, said per row
    mixed = model.predict(clips, speakers=[*speakers[:-1], "solo"])
    assert list(mixed["speaker_norm"]) == ["speaker"] * (len(clips) - 1) + ["population"]

    env = {"PYTHONPATH": str(REPO / "workflow"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(normalised_model)]
    refused = subprocess.run(cmd + [str(p) for p in clips], capture_output=True, text=True, env=env, timeout=300)
    assert refused.returncode == 2 and "--speaker-regex" in refused.stderr and refused.stdout == ""
    run = subprocess.run(cmd + ["--speaker-regex", r"^(\d+)_", str(clips[0]), str(clips[-1])], capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = pd.read_csv(__import__("io").StringIO(run.stdout), sep="\t", dtype=str)
    assert list(rows["speaker"]) == ["1001", "1002"] and list(rows["speaker_norm"]) == ["population"] * 2
    assert "fewer than 5 clips" in run.stderr


def test_an_enrolled_speaker_gets_the_same_label_whatever_else_is_in_the_call(normalised_model, tmp_path):
    """Speaker enrolment: statistics computed once from enrolment clips, kept in a file, reused; a file
    of that speaker is then standardised the same alone or beside other clips of the speaker."""
    from speech_emotion import load_model
    from speech_emotion.data.audio import load_audio

    clips = sorted(shared_path("data", "cremad-sample", "AudioWAV").glob("1001_*.wav"))  # one actor, 6 clips
    model = load_model(normalised_model, device="cpu")
    entry = model.enrol("1001", clips[:5])
    features = model.features([load_audio(p, RATE) for p in clips[:5]])
    np.testing.assert_allclose(entry["mean"], features.mean(axis=0), rtol=1e-6)
    assert entry["n_clips"] == 5 and entry["speaker"] == "1001"
    with pytest.raises(ValueError, match="at least 5"):
        model.enrol("1001", clips[:2])
    (tmp_path / "1001.json").write_text(json.dumps(entry))

    fresh = load_model(normalised_model, device="cpu")
    alone_before = fresh.predict([clips[5]], speakers=["1001"])
    assert alone_before["speaker_norm"].iloc[0] == "population" and alone_before["speaker_clips"].iloc[0] > 5
    assert fresh.add_enrolment(tmp_path / "1001.json") == "1001"
    alone = fresh.predict([clips[5]], speakers=["1001"])
    beside = fresh.predict(clips, speakers=["1001"] * len(clips))
    probs = [c for c in alone.columns if c.startswith("prob_")]
    np.testing.assert_allclose(alone[probs].to_numpy(float), beside[probs].to_numpy(float)[-1:], atol=1e-9)
    assert list(beside["speaker_norm"]) == ["enrolled"] * len(clips) and set(beside["speaker_clips"]) == {5}
    # the enrolment's statistics, by hand
    one = model.features([load_audio(clips[5], RATE)])
    expected = model.classify(Stats.of(features).apply(one))
    np.testing.assert_allclose(alone[probs].to_numpy(float), np.round(expected, 6), atol=1e-6)

    # a file made for other layers is refused with a message naming it
    bad = dict(entry, members=[{"encoder": "egemaps", "layers": [1]}])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="bad.json: enrolled for"):
        fresh.add_enrolment(tmp_path / "bad.json")

    # the command line: enrol, then predict one file with the enrolment
    env = {"PYTHONPATH": str(REPO / "workflow"), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-m", "speech_emotion.predict.cli"]
    enrolled = subprocess.run(base + ["enrol", "--model", str(normalised_model), "--speaker", "1001", "--out",
                                      str(tmp_path / "cli.json"), *map(str, clips[:5])],
                              capture_output=True, text=True, env=env, timeout=300)
    assert enrolled.returncode == 0, enrolled.stderr
    assert json.loads((tmp_path / "cli.json").read_text())["n_clips"] == 5
    run = subprocess.run(base + ["predict", "--model", str(normalised_model), "--enrolment", str(tmp_path / "cli.json"),
                                 "--speaker-regex", r"^(\d+)_", str(clips[5])],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    row = pd.read_csv(__import__("io").StringIO(run.stdout), sep="\t").iloc[0]
    assert row["speaker_norm"] == "enrolled" and row["speaker_clips"] == 5
    assert row["label"] == alone["label"].iloc[0]
