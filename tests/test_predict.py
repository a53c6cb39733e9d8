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
from speech_emotion.train import classifiers as C
from speech_emotion.predict.api import expand_inputs
from speech_emotion.predict.cli import main
from speech_emotion.train.features import FeatureSpec
from speech_emotion.train.final_model import final_model_info
from speech_emotion.embed.identity import encoder_identity, opensmile_version

LABELS = ["high", "low"]


def tone(freq: float, seconds: float = 0.8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory) -> Path:
    """A real final model folder: random-weight tiny WavLM (shipped config) + logreg on its embeddings."""
    from speech_emotion.embed.embeddings import embed_signals, make_encoder
    from speech_emotion.embed.encoders import init_model
    from speech_emotion.train.layers import select

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
    FeatureSpec.of(layers, encoder="tiny-wavlm").write(out / "features.json")
    params = {"classifier": "logreg", "layers": layers, "labels": LABELS, "params": {}, "seed": 0}
    record = {"name": "tiny-wavlm", "spec": spec, "model_dir": "resources/models/tiny-wavlm"}  # relative, as the rule writes it
    info = final_model_info(
        params,
        record | {"identity": encoder_identity(spec, encoder_dir)},  # as workflow/scripts/train.py writes it
        {"sample_rate": 16000, "min_seconds": 0.3, "max_seconds": 30.0, "batch_seconds": 10.0},
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
    cmd = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(demo_model), str(clip)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0].split("\t")[:2] == ["file", "label"]
    cells = lines[1].split("\t")
    assert cells[0].endswith("1001_DFA_ANG_XX.wav") and cells[1] in LABELS


@pytest.mark.slow
def test_demo_workflow_models_label_a_real_clip(demo_run, tmp_path, capsys, monkeypatch):
    """Every final model of the demo run labels a real CREMA-D clip through the command line's code (in this
    process; the README's commands run as written in a shell in test_model_card)."""
    from speech_emotion.predict.cli import main

    models = sorted((demo_run / "results/models").glob("*/*/model.json"))
    assert len(models) == 10, models
    clip = shared_path("data", "cremad-sample", "AudioWAV", "1001_DFA_ANG_XX.wav")
    monkeypatch.chdir(tmp_path)
    normalised = 0

    def predict(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["predict", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    for info in models:
        code, stdout, stderr = predict("--model", str(info.parent), str(clip))
        norm = FeatureSpec.read(info.parent / "features.json").speaker_norm
        if norm:  # a model standardising per speaker refuses files without a speaker, saying what to pass
            normalised += 1
            assert code == 2 and "--speaker-regex" in stderr, f"{info.parent}: {stderr}"
            code, stdout, stderr = predict("--model", str(info.parent), "--speaker-regex", r"^(\d{4})_", str(clip))
            assert "population" in stderr, stderr  # one clip of speaker 1001: population statistics
        assert code == 0, f"{info.parent}: {stderr}"
        labels = json.loads(info.read_text())["labels"]
        # model.json records what each encoder is (issue 26 item 2), beside the folder it was loaded from
        record = json.loads(info.read_text())["encoder"]
        for member in record.get("members") or [record]:
            identity = member["identity"]
            expected = ({"feature_set": "eGeMAPSv02", "opensmile": opensmile_version()} if member["spec"]["kind"] == "opensmile"
                        else {"model": "random-init:tiny-wavlm", "revision": "seed-0", "hub": False})
            assert identity == expected, member
        header, row = (line.split("\t") for line in stdout.strip().splitlines()[:2])
        assert row[header.index("label")] in labels
        if norm:  # the speaker column and whose statistics the row got
            assert row[header.index("speaker")] == "1001" and row[header.index("speaker_norm")] == "population"
    print(f"{normalised} of {len(models)} demo models standardise per speaker")


# --- clean output, version, Python API ------------------------------------------------------------------


def test_stdout_is_clean_data_and_stderr_quiet(demo_model, tmp_path):
    """In a subprocess (stderr not a terminal): stdout holds the table only, rows for both files, and
    stderr carries no library warning or weight-loading progress bar (the tiny WavLM triggers both:
    a PyTorch attention deprecation warning and transformers' "Loading weights" bar)."""
    clip = shared_path("data", "cremad-sample", "AudioWAV", "1001_DFA_ANG_XX.wav")
    other = tmp_path / "tone.wav"
    sf.write(other, tone(880, seed=9), 16000)
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1", PYTHONWARNINGS="default")
    cmd = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(demo_model), str(clip), str(other)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "file\tlabel\tprob_high\tprob_low\terror"
    assert [line.split("\t")[0] for line in lines[1:]] == [str(clip), str(other)]
    assert all(len(line.split("\t")) == 5 for line in lines)
    # stderr: only the line saying where the encoder's weights came from
    assert run.stderr.splitlines() == [f"speech-emotion predict: encoder tiny-wavlm (random-init:tiny-wavlm@seed-0): "
                                       f"the folder the model records, {demo_model.parents[3] / 'resources/models/tiny-wavlm'}"]
    # --verbose lets other library messages through to stderr; stdout stays the same table
    verbose = subprocess.run(cmd[:4] + ["--verbose"] + cmd[4:], capture_output=True, text=True, env=env,
                             timeout=300, cwd=tmp_path)
    assert verbose.returncode == 0 and verbose.stdout == run.stdout


def test_progress_bar_only_on_a_terminal(demo_model, tmp_path):
    """With stderr on a terminal (a pseudo-terminal here) a progress bar appears there; stdout is still
    the clean table (see the test above for stderr that is not a terminal)."""
    import pty

    paths = []
    for i, freq in enumerate([220, 880, 220]):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], tone(freq, seed=90 + i), 16000)
    import threading

    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 0x0 terminal shows no bar
    received: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the terminal closed with the process
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(demo_model), *map(str, paths)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, text=True, env=env, cwd=tmp_path)
    os.close(slave)
    out, _ = proc.communicate(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    terminal = b"".join(received)
    assert proc.returncode == 0
    assert [line.split("\t")[1] for line in out.splitlines()[1:]] == ["low", "high", "low"]
    assert b"0/3 [" in terminal and b"file/s]" in terminal, terminal


def test_version():
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"))
    run = subprocess.run([sys.executable, "-m", "speech_emotion.predict.cli", "--version"], capture_output=True, text=True, env=env)
    from speech_emotion import __version__

    assert run.returncode == 0 and run.stdout.strip() == f"speech-emotion {__version__}"


def test_package_import_stays_cheap():
    code = "import sys, speech_emotion; speech_emotion.load_model; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_an_opensmile_model_predicts_without_importing_transformers(demo_run, tmp_path):
    """The command line and the API on the demo's eGeMAPS model: a label for the clip, and neither
    transformers nor torch imported (about a CPU second each that only Hugging Face encoders need);
    the tiny WavLM model's command line does import transformers (its warnings are silenced)."""
    clip = demo_run / "results/demo/AudioWAV/1001_DFA_ANG_XX.wav"
    code = ("import sys\nfrom speech_emotion.predict.cli import main\nfrom speech_emotion import load_model\n"
            "model = sys.argv[1]\n"
            "assert main(['predict', '--model', model, '--device', 'cpu', '--speaker-regex', '^(\\d+)_', sys.argv[2]]) == 0\n"
            "load_model(model, device='cpu')\n"
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules), file=sys.stderr)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1")
    for encoder, imported in (("egemaps", "[]"), ("tiny-wavlm", "['torch', 'transformers']")):
        run = subprocess.run([sys.executable, "-c", code, str(demo_run / f"results/models/{encoder}/logreg"), str(clip)],
                             capture_output=True, text=True, env=env, cwd=demo_run, timeout=300)
        assert run.returncode == 0, run.stderr
        assert run.stdout.splitlines()[1].split("\t")[0] == str(clip), run.stdout
        assert run.stderr.splitlines()[-1] == imported, (encoder, run.stderr)


def test_python_api_predict_and_signals(demo_model, tmp_path):
    from speech_emotion import load_model
    from speech_emotion.data.audio import resample

    model = load_model(demo_model, device="cpu")
    assert model.labels == LABELS
    low, high = tmp_path / "low.wav", tmp_path / "high.wav"
    sf.write(low, tone(220, seed=60), 16000)
    sf.write(high, tone(880, seed=61), 16000)
    table = model.predict([low, high, tmp_path / "missing.wav"])
    assert list(table.columns) == ["file", "label", "prob_high", "prob_low", "error"]
    assert table["label"].tolist()[:2] == ["low", "high"] and table["file"].tolist()[0] == str(low)
    assert table["error"].tolist() == [None, None, "missing file"] or table["error"].isna().tolist() == [True, True, False]
    assert table["error"].iloc[2] == "missing file" and pd.isna(table["label"].iloc[2])
    # the CLI prints the same numbers
    assert main(["predict", "--model", str(demo_model), "--device", "cpu", str(low), str(high)]) == 0
    # speakers: accepted (list or mapping), a speaker column, no effect on the probabilities yet
    named = model.predict([low, high], speakers={str(low): "s1", "high.wav": "s2"})
    assert list(named.columns) == ["file", "speaker", "label", "prob_high", "prob_low", "error"]
    assert named["speaker"].tolist() == ["s1", "s2"]
    np.testing.assert_allclose(named[["prob_high", "prob_low"]], table[["prob_high", "prob_low"]].iloc[:2])
    with pytest.raises(ValueError, match="2 files"):
        model.predict([low, high], speakers=["only one"])
    # signals in memory, at another rate: resampled to the model's 16 kHz
    signals = [resample(tone(220, seed=60), 16000, 8000), resample(tone(880, seed=61), 16000, 8000),
               np.zeros((2, 100), dtype=np.float32)]
    mem = model.predict_signals(signals, sr=8000)
    assert list(mem.columns) == ["signal", "label", "prob_high", "prob_low", "error"]
    assert mem["signal"].tolist() == [0, 1, 2] and mem["label"].tolist()[:2] == ["low", "high"]
    assert "1-D" in mem["error"].iloc[2]


def test_iter_predict_yields_rows_before_the_later_files_exist(demo_model, tmp_path):
    """Rows come as they are done: the first file's row is out before the second file is written."""
    from speech_emotion import load_model

    model = load_model(demo_model, device="cpu")
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    sf.write(first, tone(220, seed=70), 16000)
    stream = model.iter_predict([first, second], batch_size=1)
    chunk = next(stream)
    assert chunk["file"].tolist() == [str(first)] and chunk["label"].tolist() == ["low"]
    sf.write(second, tone(880, seed=71), 16000)
    chunk = next(stream)
    assert chunk["file"].tolist() == [str(second)] and chunk["label"].tolist() == ["high"]


def test_segment_options_on_the_command_line(demo_model, tmp_path, capsys):
    path = tmp_path / "two.wav"
    sf.write(path, np.concatenate([tone(220, 2.0, seed=80), tone(880, 2.0, seed=81)]), 16000)
    assert main(["predict", "--model", str(demo_model), "--segment", "fixed", "--window", "1", "--hop", "1",
                 "--format", "json", str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["start"], r["end"]) for r in rows] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 4.0)]
    assert [r["label"] for r in rows] == ["low", "low", "high", "high"]
    assert main(["predict", "--model", str(demo_model), "--summary", str(tmp_path / "s.tsv"), str(path)]) == 2
    assert "--segment" in capsys.readouterr().err
    assert main(["predict", "--model", str(demo_model), "--segment", "fixed", "--hop", "0", str(path)]) == 2


@pytest.mark.slow
def test_demo_model_cards_and_python_api(demo_run, tmp_path, monkeypatch):
    """Every final model of the demo has a MODEL_CARD.md with the corpus counts of the manifest and the
    CV metrics of its metrics.json; the Python API loads a demo model (from another folder) and
    labels a real clip as the CLI does."""
    from speech_emotion import load_model

    manifest = pd.read_csv(demo_run / "results/data/manifest.tsv", sep="\t", dtype={"speaker": str})
    cards = sorted((demo_run / "results/models").glob("*/*/MODEL_CARD.md"))
    assert len(cards) == 10, cards
    for path in cards:
        encoder, classifier = path.parent.parent.name, path.parent.name
        card = path.read_text(encoding="utf-8")
        metrics = json.loads((demo_run / f"results/cv/{encoder}/{classifier}/metrics.json").read_text())
        assert card.startswith("---\n") and f"\n# Speech emotion model: {encoder} + {classifier}\n" in card
        for label, group in manifest.groupby("label"):
            assert f"| {label} | {len(group)} | {group['speaker'].nunique()} |" in card, (path, label)
        assert f"| **all** | {len(manifest)} | {manifest['speaker'].nunique()} |" in card
        ua = metrics["balanced_accuracy"]
        assert f"| UA (balanced accuracy) | {ua['mean']:.3f} ± {ua['std']:.3f} | {ua['pooled']:.3f} |" in card
        for label, values in metrics["per_class"].items():
            assert f"| {label} | {values['recall']:.3f} | {values['precision']:.3f} |" in card
        for label, row in zip(metrics["confusion"]["labels"], metrics["confusion"]["counts"]):
            assert "| " + " | ".join(map(str, [label, *row])) + " |" in card
        assert "3-fold **speaker-independent**" in card and "**synthetic**" in card
        assert "### Human baseline" in card and "no listener perception votes" in card
        assert f'load_model("results/models/{encoder}/{classifier}")' in card
    clip = shared_path("data", "cremad-sample", "AudioWAV", "1001_DFA_ANG_XX.wav")
    folder = demo_run / "results/models/tiny-wavlm/ensemble"
    monkeypatch.chdir(tmp_path)  # the encoder folder is found relative to the workflow folder
    model = load_model(folder, device="cpu")
    # a model standardising per speaker needs the speaker of each file (demo default speaker_norm: auto)
    normalised = model.needs_speakers
    table = model.predict([clip], speakers=["1001"] if normalised else None)
    labels = sorted(manifest["label"].unique())
    probs = [f"prob_{l}" for l in labels]
    assert model.labels == labels
    if normalised:
        assert list(table.columns) == ["file", "speaker", "label", *probs, "speaker_norm", "speaker_clips", "error"]
        assert table["speaker_norm"].iloc[0] == "population"  # one clip of speaker 1001
    else:
        assert list(table.columns) == ["file", "label", *probs, "error"]
    assert table[probs].sum(axis=1).iloc[0] == pytest.approx(1.0, abs=1e-5)
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1")
    speaker_args = ["--speaker-regex", r"^(\d{4})_"] if normalised else []
    run = subprocess.run([sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(folder), *speaker_args,
                          str(clip)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # stderr: where the encoder's weights came from (+ the population note of a speaker-normalised model)
    assert all(line.startswith("speech-emotion predict: ") for line in run.stderr.splitlines()), run.stderr
    assert "encoder tiny-wavlm (random-init:tiny-wavlm@seed-" in run.stderr and "the folder the model records" in run.stderr
    assert normalised or len(run.stderr.splitlines()) == 1, run.stderr
    header, cells = (line.split("\t") for line in run.stdout.splitlines()[:2])
    assert header == list(table.columns)
    assert cells[header.index("label")] == table["label"].iloc[0]
    assert [float(cells[header.index(p)]) for p in probs] == pytest.approx(table[probs].iloc[0].tolist(), abs=1e-6)


# --- checked input: the workflow's clip check, one function (issue 26 item 1) --------------------------------


def bad_files(folder: Path) -> dict[str, Path]:
    """Files the workflow's check_clips rejects, each for its own reason."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / name for name in ("silence.wav", "tiny.wav", "notaudio.mp3", "nan.wav")}
    sf.write(files["silence.wav"], np.zeros(5 * 16000, dtype=np.float32), 16000)  # 5 s of digital silence
    sf.write(files["tiny.wav"], tone(440, 0.05, seed=5), 16000)  # 0.05 s
    files["notaudio.mp3"].write_text("a text file renamed .mp3, not audio\n" * 20)
    nan = tone(440, 1.0, seed=6)
    nan[100] = np.nan
    sf.write(files["nan.wav"], nan, 16000, subtype="FLOAT")
    return files


REASONS = {
    "silence.wav": "silent (all samples are zero)",
    "tiny.wav": "too short (0.050 s < audio.min_seconds = 0.3 s)",
    "notaudio.mp3": "not audio (format not recognised)",
    "nan.wav": "contains NaN or infinite samples",
}


def test_predict_checks_input_as_the_workflow_does(demo_model, tmp_path):
    """Silence, a 0.05 s clip, a text file named .mp3 and a NaN clip get their check_clips reason in the
    error column and no label; good files beside them (one stereo at 44.1 kHz: converted) get labels;
    the decoder's notes stay off stderr unless --verbose."""
    from speech_emotion.data.audio import resample
    from speech_emotion.data.datasets import check_shard

    bad = bad_files(tmp_path / "bad")
    low, high = tmp_path / "low.wav", tmp_path / "high.wav"
    sf.write(low, tone(220, seed=40), 16000)
    stereo = resample(tone(880, seed=41), 16000, 44100)
    sf.write(high, np.stack([stereo, stereo], axis=1), 44100)
    files = [low, *bad.values(), high]
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(demo_model), *map(str, files)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    table = pd.read_csv(pd.io.common.StringIO(run.stdout), sep="\t", keep_default_na=False)
    assert table["file"].tolist() == [str(f) for f in files]
    rows = table.set_index(table["file"].map(lambda f: Path(f).name))
    for name, reason in REASONS.items():
        assert rows.loc[name, "error"] == reason and rows.loc[name, "label"] == "", rows.loc[name]
        assert f"{name}: {reason}" in run.stderr
    assert rows.loc["low.wav", "label"] == "low" and rows.loc["high.wav", "label"] == "high"
    assert rows.loc["low.wav", "error"] == "" and rows.loc["high.wav", "error"] == ""
    assert "MPEG" not in run.stderr and "resync" not in run.stderr, run.stderr
    verbose = subprocess.run(cmd[:4] + ["--verbose"] + cmd[4:], capture_output=True, text=True, env=env, timeout=300,
                             cwd=tmp_path)
    assert verbose.stdout == run.stdout and "Illegal Audio-MPEG-Header" in verbose.stderr
    # one checker: the workflow's clip check gives the same reasons for the same files
    checked = check_shard([(p.name, str(p)) for p in files], 0.3).set_index("clip_id")
    assert {name: checked.loc[name, "reason"] for name in REASONS} == REASONS
    assert checked.loc["low.wav", "reason"] == "" and checked.loc["high.wav", "reason"] == ""


def test_signals_and_segments_are_checked_too(demo_model):
    """predict_signals: a silent and a too-short signal get error rows, the good one its label; segments:
    a silent window of a recording gets an error row with its span, the windows around it labels."""
    from speech_emotion import load_model

    model = load_model(demo_model, device="cpu")
    mem = model.predict_signals([np.zeros(16000, np.float32), tone(220, 0.1, seed=1), tone(880, seed=2)], sr=16000)
    assert mem["error"].tolist()[:2] == ["silent (all samples are zero)", "too short (0.100 s < audio.min_seconds = 0.3 s)"]
    assert mem["label"].isna().tolist() == [True, True, False] and mem["label"].iloc[2] == "high"
    signal = np.concatenate([tone(220, 2.0, seed=3), np.zeros(32000, np.float32), tone(880, 2.0, seed=4)])
    seg = model.predict_signals([signal], sr=16000, segment="fixed", window=2.0, hop=2.0)
    assert list(zip(seg["start"], seg["end"])) == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert seg["label"].tolist()[0] == "low" and seg["label"].tolist()[2] == "high" and pd.isna(seg["label"].iloc[1])
    assert seg["error"].iloc[1] == "segment silent (all samples are zero)" and seg["error"].isna().tolist() == [True, False, True]


@pytest.fixture(scope="module")
def egemaps_norm_model(tmp_path_factory) -> Path:
    """eGeMAPS + logreg with per-speaker standardisation (the issue's model kind), trained on tones."""
    from speech_emotion.embed.embeddings import embed_signals, make_encoder

    spec = {"kind": "opensmile", "feature_set": "eGeMAPSv02"}
    signals = [tone(f, seed=i) for i, f in enumerate([220] * 12 + [880] * 12)]
    y = np.array(["low"] * 12 + ["high"] * 12)
    speakers = [f"s{i % 4}" for i in range(len(y))]
    X = embed_signals(make_encoder(spec, None, "cpu", 16000), signals, 60.0)[:, 0]
    pipeline = FeatureSpec.of([0], encoder="egemaps", speaker_norm=True, min_clips=3).fit_population(X)
    Xn = pipeline.standardise(X, speakers)[0]
    model = C.make_classifier("logreg", {"Cs": [1.0]}).fit(Xn, y, np.array(speakers))
    out = tmp_path_factory.mktemp("norm") / "results/models/egemaps/logreg"
    out.mkdir(parents=True)
    C.save_model(model, out / "model.zip")
    pipeline.write(out / "features.json")
    record = {"classifier": "logreg", "layers": [0], "labels": LABELS, "params": {}, "seed": 0,
              "speaker_norm": {"use": True, "min_clips": 3, "mode": "on"}}
    info = final_model_info(record, {"name": "egemaps", "spec": spec, "model_dir": None,
                                     "identity": encoder_identity(spec, None)},
                            {"sample_rate": 16000, "min_seconds": 0.3, "max_seconds": 30.0, "batch_seconds": 60.0})
    (out / "model.json").write_text(json.dumps(info))
    return out


def test_bad_files_never_sink_a_speaker_normalised_call(egemaps_norm_model, tmp_path, capsys):
    """The issue's batch: silence, a 0.05 s clip and a text .mp3 with --speaker-regex gave a traceback
    (NaN features into the classifier) and no row. Now three rows with reasons; good files beside them
    get the labels they get without the bad ones (error rows stay out of the speaker statistics)."""
    bad = bad_files(tmp_path / "bad")
    trio = [bad["silence.wav"], bad["tiny.wav"], bad["notaudio.mp3"]]
    regex = ["--speaker-regex", r"^(\w+?)\."]
    assert main(["predict", "--model", str(egemaps_norm_model), *regex, *map(str, trio)]) == 2  # nothing labelled
    out = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), sep="\t", keep_default_na=False)
    assert out["error"].tolist() == [REASONS[p.name] for p in trio] and (out["label"] == "").all()

    good = []
    for i, freq in enumerate([220, 880, 220, 880]):  # speaker "a": four files, statistics of its own
        good.append(tmp_path / f"a_{i}.wav")
        sf.write(good[-1], tone(freq, seed=30 + i), 16000)
    for path in trio:  # the bad files as speaker "a" too
        (tmp_path / f"a_{path.name}").write_bytes(path.read_bytes())
    regex = ["--speaker-regex", r"^(\w+?)_"]
    assert main(["predict", "--model", str(egemaps_norm_model), *regex, *map(str, good)]) == 0
    alone = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), sep="\t", dtype=str, keep_default_na=False)
    mixed_files = [good[0], *(tmp_path / f"a_{p.name}" for p in trio), *good[1:]]
    assert main(["predict", "--model", str(egemaps_norm_model), *regex, *map(str, mixed_files)]) == 1
    mixed = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out), sep="\t", dtype=str, keep_default_na=False)
    assert mixed["error"].tolist()[1:4] == [REASONS[p.name] for p in trio]
    labelled = mixed[mixed["error"] == ""].reset_index(drop=True)
    assert labelled["file"].tolist() == alone["file"].tolist()
    pd.testing.assert_frame_equal(labelled, alone)
    assert alone["speaker_norm"].tolist() == ["speaker"] * 4 and alone["speaker_clips"].tolist() == ["4"] * 4
    assert alone["label"].tolist() == ["low", "high", "low", "high"]


def test_non_finite_features_give_an_error_row(egemaps_norm_model, tmp_path):
    """A clip that passes the checks but whose features are not finite gets an error row and stays out of
    its speaker's statistics; the call goes on."""
    from speech_emotion import load_model
    from speech_emotion.predict.api import NOT_FINITE

    model = load_model(egemaps_norm_model, device="cpu")
    files = []
    for i, freq in enumerate([220, 880, 220, 880, 440]):
        files.append(tmp_path / f"a_{i}.wav")
        sf.write(files[-1], tone(freq, 1.0 if i == 4 else 0.8, seed=20 + i), 16000)
    real = model.features

    def features(signals):  # the 1.0 s clip's features are NaN (the others' 0.8 s)
        out = real(signals)
        out[np.array([len(s) for s in signals]) == 16000] = np.nan
        return out

    expected = model.predict(files[:4], speakers=["a"] * 4)
    model.features = features
    table = model.predict(files, speakers=["a"] * 5)
    assert table["error"].tolist()[4] == NOT_FINITE and pd.isna(table["label"].iloc[4])
    pd.testing.assert_frame_equal(table.iloc[:4].drop(columns="error"), expected.drop(columns="error"))
    assert table["error"].iloc[:4].isna().all() and expected["error"].isna().all()


# --- portable models: encoder identity, where the weights are found, bundling (issue 26 item 2) -------------


def test_model_json_records_what_the_encoder_is(tmp_path):
    """with_identity (the train jobs write it into model.json): repo id + revision from a downloaded
    folder's source.json, random weights flagged as on no hub, openSMILE's feature set + version, a
    fusion's members each."""
    from importlib.metadata import version

    from speech_emotion.embed.identity import with_identity

    hub = tmp_path / "resources/models/wavlm"
    hub.mkdir(parents=True)
    (hub / "source.json").write_text(json.dumps({"model": "microsoft/wavlm-large", "revision": "a" * 40}))
    init = tmp_path / "resources/models/tiny"
    init.mkdir(parents=True)
    (init / "source.json").write_text(json.dumps({"model": "random-init:tiny-wavlm", "revision": "seed-0"}))
    hf = {"name": "wavlm", "spec": {"kind": "hf", "model": "microsoft/wavlm-large"}, "model_dir": str(hub)}
    tiny = {"name": "tiny", "spec": {"kind": "hf", "model": "tiny", "init_config": "x/config.json"}, "model_dir": str(init)}
    smile = {"name": "egemaps", "spec": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}, "model_dir": None}
    fusion = {"name": "both", "spec": {"kind": "fusion", "members": ["wavlm", "egemaps"]}, "model_dir": None,
              "members": [hf, smile]}
    assert with_identity(hf)["identity"] == {"model": "microsoft/wavlm-large", "revision": "a" * 40, "hub": True}
    assert with_identity(tiny)["identity"] == {"model": "random-init:tiny-wavlm", "revision": "seed-0", "hub": False}
    assert with_identity(smile)["identity"] == {"feature_set": "eGeMAPSv02", "opensmile": version("opensmile")}
    both = with_identity(fusion)
    assert both["identity"] is None and [m["identity"]["model" if "model" in m["identity"] else "feature_set"]
                                         for m in both["members"]] == ["microsoft/wavlm-large", "eGeMAPSv02"]
    assert with_identity(hf)["model_dir"] == str(hub)  # the folder stays recorded beside it


def _run_predict(model: Path, files: list[Path], cwd: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1", **env_extra)
    cmd = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(model), *map(str, files)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=cwd)


def test_weights_found_in_the_hugging_face_cache(demo_model, tmp_path):
    """A model folder copied where its recorded folder is not: the encoder comes from the local Hugging
    Face cache by its recorded identity (repo id + revision), and predict says so; with the cache
    empty and HF_HUB_OFFLINE=1 it stops (exit 2) saying where it looked and why it did not download."""
    import shutil

    commit = "0123456789abcdef0123456789abcdef01234567"
    cache = tmp_path / "hub"
    snapshot = cache / "models--test-org--tiny-wavlm" / "snapshots" / commit
    shutil.copytree(demo_model.parents[3] / "resources/models/tiny-wavlm", snapshot)
    (snapshot / "source.json").unlink()
    (cache / "models--test-org--tiny-wavlm" / "refs").mkdir()
    (cache / "models--test-org--tiny-wavlm" / "refs" / "main").write_text(commit)
    moved = tmp_path / "elsewhere" / "logreg"
    shutil.copytree(demo_model, moved)
    info = json.loads((moved / "model.json").read_text())
    info["encoder"]["identity"] = {"model": "test-org/tiny-wavlm", "revision": commit, "hub": True}
    (moved / "model.json").write_text(json.dumps(info))
    clip = tmp_path / "low.wav"
    sf.write(clip, tone(220, seed=7), 16000)
    here = _run_predict(demo_model, [clip], tmp_path)
    run = _run_predict(moved, [clip], tmp_path, HF_HUB_CACHE=str(cache))
    assert run.returncode == 0, run.stderr
    assert run.stdout == here.stdout
    assert f"encoder tiny-wavlm (test-org/tiny-wavlm@{commit}): the local Hugging Face cache, {snapshot}" in run.stderr
    missing = _run_predict(moved, [clip], tmp_path, HF_HUB_CACHE=str(tmp_path / "empty-cache"))
    assert missing.returncode == 2 and missing.stdout == ""
    assert "not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in missing.stderr, missing.stderr
    assert "bundled copy" in missing.stderr and "--encoder-dir" in missing.stderr


def test_bundled_model_folder_predicts_anywhere(demo_model, tmp_path, capsys):
    """speech-emotion bundle copies the encoder into the model folder; the folder copied to another
    directory (no resources/ beside it) predicts there, run from yet another folder, with no option,
    and gives the table it gives in place; so does the archive, unpacked elsewhere."""
    import shutil
    import zipfile

    clips = [tmp_path / "low.wav", tmp_path / "high.wav"]
    sf.write(clips[0], tone(220, seed=8), 16000)
    sf.write(clips[1], tone(880, seed=9), 16000)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    in_place = _run_predict(demo_model, clips, elsewhere)
    assert in_place.returncode == 0, in_place.stderr

    workflow = tmp_path / "workflow"  # a copy of the workflow folder that made the model: bundled where it was made
    shutil.copytree(demo_model.parents[3] / "resources", workflow / "resources")
    work = workflow / "results/models/tiny-wavlm/logreg"
    shutil.copytree(demo_model, work)
    archive = tmp_path / "tiny-wavlm-logreg.zip"
    assert main(["bundle", "--model", str(work), "--archive", str(archive)]) == 0
    err = capsys.readouterr().err
    assert "encoder tiny-wavlm" in err and str(work / "encoder" / "tiny-wavlm") in err and str(archive) in err
    assert {"model.zip", "features.json", "model.json", "encoder"} <= {p.name for p in work.iterdir()}
    assert (work / "encoder/tiny-wavlm/config.json").is_file() and (work / "encoder/tiny-wavlm/source.json").is_file()
    assert main(["bundle", "--model", str(work)]) == 0 and "already bundled" in capsys.readouterr().err

    copied = tmp_path / "colleague" / "my-model"
    shutil.copytree(work, copied)
    run = _run_predict(copied, clips, elsewhere)
    assert run.returncode == 0, run.stderr
    assert run.stdout == in_place.stdout
    assert run.stderr.splitlines() == [f"speech-emotion predict: encoder tiny-wavlm (random-init:tiny-wavlm@seed-0): "
                                       f"the copy bundled in the model folder, {copied / 'encoder/tiny-wavlm'}"]

    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(archive) as handle:
        names = handle.namelist()
        handle.extractall(unpacked)
    assert {"logreg/model.zip", "logreg/features.json", "logreg/model.json", "logreg/encoder/tiny-wavlm/config.json"} <= set(names)
    run = _run_predict(unpacked / "logreg", clips, elsewhere)
    assert run.returncode == 0 and run.stdout == in_place.stdout, run.stderr
