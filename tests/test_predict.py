"""`speech-emotion predict`: a final model folder + its encoder label audio files, per-file errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import REPO, shared_path
from speech_emotion import classifiers as C
from speech_emotion.cli import expand_inputs, main
from speech_emotion.training import final_model_info

LABELS = ["high", "low"]


def tone(freq: float, seconds: float = 0.8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory) -> Path:
    """A real final model folder: random-weight tiny WavLM (shipped config) + logreg on its embeddings."""
    from speech_emotion.embeddings import embed_signals, make_encoder
    from speech_emotion.encoders import init_model
    from speech_emotion.layers import select

    root = tmp_path_factory.mktemp("predict")
    encoder_dir = root / "resources/models/tiny-wavlm"
    init_model(REPO / "resources/tiny-wavlm/config.json", encoder_dir, seed=0)
    spec = {"kind": "hf", "model": "tiny-wavlm"}
    encoder = make_encoder(spec, encoder_dir, "cpu", 16000)
    signals = [tone(f, seed=i) for i, f in enumerate([220] * 12 + [880] * 12)]
    y = np.array(["low"] * 12 + ["high"] * 12)
    layers = [encoder.n_layers - 1]
    X = select(embed_signals(encoder, signals, batch_seconds=10.0), layers)
    groups = np.array([f"s{i % 4}" for i in range(len(y))])
    model = C.make_classifier("logreg", {"Cs": [1.0]}).fit(X, y, groups)
    out = root / "results/models/tiny-wavlm/logreg"
    out.mkdir(parents=True)
    C.save_model(model, out / "model.zip")
    params = {"classifier": "logreg", "layers": layers, "labels": LABELS, "params": {}, "seed": 0}
    info = final_model_info(
        params,
        {"name": "tiny-wavlm", "spec": spec, "model_dir": "resources/models/tiny-wavlm"},  # relative, as the rule writes it
        {"sample_rate": 16000, "max_seconds": 30.0, "batch_seconds": 10.0},
        {"balanced_accuracy": {"mean": 1.0}},
    )
    (out / "model.json").write_text(json.dumps(info))
    return out


def test_predict_files_and_folder_with_a_broken_file(demo_model, tmp_path, capsys):
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "a_low.wav", tone(220, seed=50), 16000)
    sf.write(audio / "b_high.wav", tone(880, seed=51), 16000)
    (audio / "c_broken.wav").write_bytes(b"RIFF\x00\x00not really audio")
    sub = audio / "sub"
    sub.mkdir()
    sf.write(sub / "d_high.flac", tone(880, seed=52), 16000)
    assert [p.name for p in expand_inputs([str(audio)])] == ["a_low.wav", "b_high.wav", "c_broken.wav", "d_high.flac"]

    code = main(["predict", "--model", str(demo_model), "--device", "cpu", str(audio)])
    out, err = capsys.readouterr()
    assert code == 1, "a failed file must give exit code 1"
    table = pd.read_csv(pd.io.common.StringIO(out), sep="\t", keep_default_na=False)
    assert list(table.columns) == ["file", "label", "prob_high", "prob_low", "error"]
    assert len(table) == 4
    rows = table.set_index(table["file"].map(lambda f: Path(f).name))
    assert rows.loc["c_broken.wav", "error"] and rows.loc["c_broken.wav", "label"] == ""
    assert "c_broken.wav" in err
    for name, label in [("a_low.wav", "low"), ("b_high.wav", "high"), ("d_high.flac", "high")]:
        assert rows.loc[name, "label"] == label, rows
        assert float(rows.loc[name, "prob_high"]) + float(rows.loc[name, "prob_low"]) == pytest.approx(1.0, abs=1e-5)


def test_predict_json_and_all_good_exit_code(demo_model, tmp_path, capsys):
    path = tmp_path / "x.wav"
    sf.write(path, tone(880, seed=3), 16000)
    assert main(["predict", "--model", str(demo_model), "--format", "json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result[0]["label"] == "high" and set(result[0]["probabilities"]) == set(LABELS)


def test_corrupt_model_gives_a_clear_error(demo_model, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken-model"
    shutil.copytree(demo_model, broken)
    (broken / "model.zip").write_bytes((broken / "model.zip").read_bytes()[:100])
    path = tmp_path / "x.wav"
    sf.write(path, tone(220), 16000)
    assert main(["predict", "--model", str(broken), str(path)]) == 2
    assert "model.zip" in capsys.readouterr().err


def test_console_script_labels_a_real_cremad_clip(demo_model):
    """The installed entry point (or python -m) on a real CREMA-D clip from ../shared."""
    clip = shared_path("data", "cremad-sample", "AudioWAV", "1001_DFA_ANG_XX.wav")
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "speech_emotion.cli", "predict", "--model", str(demo_model), str(clip)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0].split("\t")[:2] == ["file", "label"]
    cells = lines[1].split("\t")
    assert cells[0].endswith("1001_DFA_ANG_XX.wav") and cells[1] in LABELS


@pytest.mark.slow
def test_demo_workflow_models_label_a_real_clip(demo_run, tmp_path):
    """Every final model of the demo run labels a real CREMA-D clip."""
    models = sorted((demo_run / "results/models").glob("*/*/model.json"))
    assert len(models) == 10, models
    clip = shared_path("data", "cremad-sample", "AudioWAV", "1001_DFA_ANG_XX.wav")
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1")
    for info in models:
        cmd = [sys.executable, "-m", "speech_emotion.cli", "predict", "--model", str(info.parent), str(clip)]
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
        assert run.returncode == 0, f"{info.parent}: {run.stderr}"
        labels = json.loads(info.read_text())["labels"]
        assert run.stdout.strip().splitlines()[1].split("\t")[1] in labels
