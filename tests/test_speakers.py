"""Issue 32: labels a user can trust outside cross-validation. Speakers are assigned as the user
meant (or refused), files without a speaker are never pooled, enrolments cannot be misapplied,
exit codes and one-line errors as documented, long files are not read whole.

The model is eGeMAPS + logistic regression standardised per speaker (``egemaps_norm_model``, fast,
trained on tones); a few tests use the 12 real CREMA-D clips of ../shared."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import REPO
from test_predict import bad_files, egemaps_norm_model, tone  # noqa: F401  (a fixture, imported to be used here)
from speech_emotion.predict.cli import main
from speech_emotion.train.features import FeatureSpec


def write_tones(folder: Path, names_freqs: list[tuple[str, float]], seconds: float = 0.8) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (name, freq) in enumerate(names_freqs):
        out.append(folder / name)
        sf.write(out[-1], tone(freq, seconds, seed=100 + i), 16000)
    return out


@pytest.fixture
def two_speakers(tmp_path) -> list[Path]:
    """Speaker a and speaker b, four files each (the model's min_clips is 3)."""
    return write_tones(tmp_path / "clips", [(f"{s}_{i}.wav", f) for s in "ab"
                                            for i, f in enumerate([220, 880, 220, 880])])


def run_cli(capsys, *argv: str) -> tuple[int, pd.DataFrame, str]:
    code = main(["predict", *argv])
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out), sep="\t", dtype=str, keep_default_na=False) if captured.out else None
    return code, table, captured.err


def probs(table: pd.DataFrame) -> np.ndarray:
    return table[[c for c in table.columns if c.startswith("prob_")]].to_numpy(dtype=float)


# --- 1. files without a speaker get the population's statistics, never a pool of their own --------------


def test_files_without_a_speaker_are_never_pooled(egemaps_norm_model, two_speakers, capsys):
    """Before: speaker b's four files without a speaker were standardised together as speaker "nan"
    (speaker_norm speaker, speaker_clips 4), exit 0, nothing said. Now each gets the population's
    statistics, exactly as when labelled alone, and the assignment is said and warned about."""
    from speech_emotion import load_model

    model = load_model(egemaps_norm_model, device="cpu")
    a_files, b_files = two_speakers[:4], two_speakers[4:]
    mapped = model.predict(two_speakers, speakers={p.name: "a" for p in a_files})
    assert mapped["speaker_norm"].tolist() == ["speaker"] * 4 + ["population"] * 4
    population = model.final.features.population_clips
    assert mapped["speaker_clips"].tolist() == [4] * 4 + [population] * 4
    alone = pd.concat([model.predict([p], speakers=[None]) for p in b_files], ignore_index=True)
    np.testing.assert_allclose(probs(mapped)[4:], probs(alone), atol=1e-9)

    table = two_speakers[0].parent / "speakers.csv"
    table.write_text("file,speaker\n" + "".join(f"{p.name},a\n" for p in a_files))
    code, out, err = run_cli(capsys, "--model", str(egemaps_norm_model), "--speakers", str(table), *map(str, two_speakers))
    assert code == 0
    assert out["speaker_norm"].tolist() == ["speaker"] * 4 + ["population"] * 4
    assert out["speaker"].tolist() == ["a"] * 4 + [""] * 4
    assert f"--speakers {table} assigns a speaker to 4 of 8 file(s)" in err
    assert err.splitlines()[-1] == ("speech-emotion predict: 1 speaker(s): a (4 files, own statistics); 4 file(s) "
                                    "without a speaker; 4 file(s) on the training population's statistics")


def test_the_standardisation_treats_every_missing_speaker_alike():
    """None, NaN, pandas' NA and "" are no speaker: the population's statistics, not a speaker "nan"."""
    X = np.array([[0.0], [2.0], [4.0], [10.0], [20.0], [30.0], [1.0], [5.0], [9.0]], dtype=np.float32)
    spec = FeatureSpec.of([0], encoder="e", speaker_norm=True, min_clips=3).fit_population(X)
    out, whose, clips = spec.standardise(X, ["a", "a", "a", np.nan, np.nan, np.nan, None, pd.NA, ""])
    assert whose == ["speaker"] * 3 + ["population"] * 6 and clips == [3] * 3 + [9] * 6
    np.testing.assert_allclose(out[3:, 0], (X[3:, 0] - X[:, 0].mean()) / X[:, 0].std(), rtol=1e-6)


# --- 2. a regex or table that assigns no file is refused ------------------------------------------------


def test_a_speaker_option_that_assigns_no_file_is_refused(egemaps_norm_model, two_speakers, capsys):
    """Before: exit 0, every file on the population's statistics, one vague line. Now exit 2 naming the option."""
    code, out, err = run_cli(capsys, "--model", str(egemaps_norm_model), "--speaker-regex", r"^(S\w+)_",
                             *map(str, two_speakers))
    assert code == 2 and out is None
    assert "--speaker-regex '^(S\\w+)_' assigns a speaker to none of the 8 file(s)" in err
    table = two_speakers[0].parent / "other.csv"
    table.write_text("file,speaker\nsomething_else.wav,a\n")
    code, out, err = run_cli(capsys, "--model", str(egemaps_norm_model), "--speakers", str(table), *map(str, two_speakers))
    assert code == 2 and f"--speakers {table} assigns a speaker to none" in err


# --- 3. folder speakers that are label names are refused ----------------------------------------------


def test_folder_speakers_that_are_the_labels_are_refused(egemaps_norm_model, tmp_path, capsys):
    """<root>/<label>/*.wav (the README's corpus layout): before, each label's files were standardised
    together (the label leaked into the features), exit 0. Now refused with the reason."""
    files = write_tones(tmp_path / "corpus" / "low", [("x1.wav", 220), ("x2.wav", 230), ("x3.wav", 240)])
    files += write_tones(tmp_path / "corpus" / "high", [("y1.wav", 880), ("y2.wav", 870), ("y3.wav", 860)])
    code, out, err = run_cli(capsys, "--model", str(egemaps_norm_model), "--speaker-from-folder", str(tmp_path / "corpus"))
    assert code == 2 and out is None
    assert "--speaker-from-folder: the folders high, low are names of the model's labels" in err
    # folders that are speakers: accepted, and the line names them
    write_tones(tmp_path / "people" / "ann", [(f"{i}.wav", f) for i, f in enumerate([220, 880, 220])])
    write_tones(tmp_path / "people" / "bob", [(f"{i}.wav", f) for i, f in enumerate([880, 220, 880])])
    code, out, err = run_cli(capsys, "--model", str(egemaps_norm_model), "--speaker-from-folder", str(tmp_path / "people"))
    assert code == 0 and out["speaker"].tolist() == ["ann"] * 3 + ["bob"] * 3
    assert err.splitlines()[-1].startswith("speech-emotion predict: 2 speaker(s): ann (3 files, own statistics), "
                                           "bob (3 files, own statistics)")


def test_a_flat_folder_is_one_speaker_and_is_warned_about(egemaps_norm_model, two_speakers, capsys):
    """A flat folder of several speakers' files would pool them into one speaker: warned about."""
    code, out, err = run_cli(capsys, "--model", str(egemaps_norm_model), "--speaker-from-folder", *map(str, two_speakers))
    assert code == 0 and set(out["speaker"]) == {"clips"}
    assert "warning: --speaker-from-folder puts all 8 files in one folder, clips" in err


# --- 4. enrolment -------------------------------------------------------------------------------------


def test_enrolment_cannot_be_misapplied(egemaps_norm_model, two_speakers, tmp_path, capsys):
    """One --enrolment and no speaker option: every file is that speaker (said). An unused enrolment is a
    warning. The file records the encoder's identity, the pipeline and its clip count; a file with
    fewer clips than the model needs, for another encoder, or without that record is refused."""
    from speech_emotion import load_model

    model_dir = egemaps_norm_model
    enrolment = tmp_path / "a.json"
    assert main(["enrol", "--model", str(model_dir), "--speaker", "a", "--out", str(enrolment),
                 *map(str, two_speakers[:4])]) == 0
    capsys.readouterr()
    data = json.loads(enrolment.read_text())
    info = json.loads((model_dir / "model.json").read_text())
    assert data["encoders"] == {"egemaps": info["encoder"]["identity"]} and data["encoders"]["egemaps"]["feature_set"]
    assert data["n_clips"] == 4 and data["min_clips"] == 3 and data["members"] == [{"encoder": "egemaps", "layers": [0]}]

    code, out, err = run_cli(capsys, "--model", str(model_dir), "--enrolment", str(enrolment), str(two_speakers[0]))
    assert code == 0, err
    assert out["speaker"].tolist() == ["a"] and out["speaker_norm"].tolist() == ["enrolled"]
    assert "every file is speaker a (the one --enrolment given, and no speaker option)" in err
    code, out, err = run_cli(capsys, "--model", str(model_dir), "--enrolment", str(enrolment), "--speaker-regex",
                             r"^(\w)_", *map(str, two_speakers[4:]))
    assert code == 0 and "warning: --enrolment of speaker a is unused" in err

    model = load_model(model_dir, device="cpu")
    for change, reason in [({"n_clips": 2}, "statistics of 2 clip(s), but this model needs at least 3"),
                           ({"encoders": {"egemaps": {"feature_set": "ComParE_2016", "opensmile": "2.5.0"}}},
                            "enrolled with encoder egemaps = {'feature_set': 'ComParE_2016'"),
                           ({"encoders": None}, "does not record which encoder")]:
        bad = {k: v for k, v in (data | change).items() if v is not None}
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            model.add_enrolment(tmp_path / "bad.json")
        code, _, err = run_cli(capsys, "--model", str(model_dir), "--enrolment", str(tmp_path / "bad.json"),
                               str(two_speakers[0]))
        assert code == 2 and reason.split(",")[0] in err and "Traceback" not in err


def test_two_clips_are_too_few_for_a_speaker():
    """speaker_norm_min_clips has a minimum of 3 (with 2, every feature of a 2-clip speaker is +-1), and
    an enrolment needs 3 clips even where an older model says 2."""
    from speech_emotion.config import schema_defaults, schema_errors

    X = np.array([[1.0, 5.0], [3.0, 2.0]], dtype=np.float32)
    spec = FeatureSpec.of([0], encoder="e", speaker_norm=True, min_clips=2).fit_population(X)
    assert np.abs(spec.standardise(X, ["a", "a"])[0]).tolist() == [[1.0, 1.0], [1.0, 1.0]]  # why: +-1 whatever the clips
    config = schema_defaults()
    assert not schema_errors(config)
    config["features"]["speaker_norm_min_clips"] = 2
    assert any("speaker_norm_min_clips" in line for line in schema_errors(config)), schema_errors(config)
    with pytest.raises(ValueError, match="needs at least 3"):
        spec.enrol("a", X)


# --- 5. exit codes and one-line messages ----------------------------------------------------------------


def test_exit_codes_as_documented(egemaps_norm_model, two_speakers, tmp_path, capsys):
    """0 all labelled, 1 some failed, 2 nothing labelled or a wrong option. Before: only bad files and a
    missing folder exited 1, a missing folder was a "missing file" row, an empty folder was skipped
    silently, and every window too short exited 1."""
    model = ["--model", str(egemaps_norm_model), "--no-speakers"]
    bad = bad_files(tmp_path / "bad")
    code, out, err = run_cli(capsys, *model, str(bad["silence.wav"]), str(bad["tiny.wav"]))
    assert code == 2 and (out["label"] == "").all() and "nothing labelled (2 file(s) failed)" in err
    code, out, err = run_cli(capsys, *model, str(tmp_path / "no-such-folder"))
    assert code == 2 and out is None and f"{tmp_path / 'no-such-folder'}: no such file or folder" in err
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli(capsys, *model, str(tmp_path / "empty"), str(two_speakers[0]))
    assert code == 1 and len(out) == 1 and out["label"].iloc[0] != ""
    assert f"{tmp_path / 'empty'}: the folder holds no audio files" in err
    code, out, err = run_cli(capsys, *model, "--segment", "fixed", "--window", "0.2", "--hop", "0.2", str(two_speakers[0]))
    assert code == 2 and (out["label"] == "").all()
    code, out, err = run_cli(capsys, *model, str(two_speakers[0]), str(tmp_path / "gone.wav"))
    assert code == 1 and out["error"].tolist()[1].startswith("missing")


def test_wrong_weights_folder_and_missing_gpu_are_one_line(tmp_path):
    """Before: Python tracebacks (the GPU one spoke of embed.device and "this job")."""
    from speech_emotion.embed.encoders import init_model

    init_model(REPO / "resources/tiny-wavlm/config.json", tmp_path / "enc", seed=0)
    folder = tmp_path / "results/models/tiny-wavlm/logreg"
    folder.mkdir(parents=True)
    spec = FeatureSpec.of([0], encoder="tiny-wavlm")
    spec.write(folder / "features.json")
    from speech_emotion.train import classifiers as C
    from speech_emotion.train.final_model import final_model_info

    X = np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32)
    C.save_model(C.make_classifier("logreg", {"Cs": [1.0]}).fit(X, np.array(["high", "low"] * 4), None), folder / "model.zip")
    info = final_model_info({"classifier": "logreg", "layers": [0], "labels": ["high", "low"], "params": {}, "seed": 0},
                            {"name": "tiny-wavlm", "spec": {"kind": "hf", "model": "tiny-wavlm"}, "model_dir": str(tmp_path / "enc")},
                            {"sample_rate": 16000, "min_seconds": 0.3, "max_seconds": 30.0, "batch_seconds": 10.0})
    (folder / "model.json").write_text(json.dumps(info))
    clip = write_tones(tmp_path, [("c.wav", 220)])[0]
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    shutil.copy(tmp_path / "enc" / "config.json", config_only)
    env = dict(os.environ, PYTHONPATH=str(REPO / "workflow"), HF_HUB_OFFLINE="1", CUDA_VISIBLE_DEVICES="")
    base = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(folder)]
    for extra, words in [(["--encoder-dir", str(config_only)], f"encoder tiny-wavlm: no usable weights in {config_only}"),
                         (["--device", "cuda"], "device cuda (--device cuda) was asked for, but no CUDA device is visible")]:
        run = subprocess.run(base + extra + [str(clip)], capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 2 and run.stdout == "", run.stderr
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert words in run.stderr and "embed.device" not in run.stderr and "this job" not in run.stderr


# --- 6. the Python API checks its speakers -----------------------------------------------------------------


def test_the_api_checks_its_speakers_and_the_readme_signal_example_runs(egemaps_norm_model, two_speakers):
    from speech_emotion import load_model

    model = load_model(egemaps_norm_model, device="cpu")
    with pytest.raises(ValueError, match=r"1 key\(s\) name no input file, e.g. \['0'\]"):
        model.predict(two_speakers, speakers={0: "a"})
    with pytest.raises(ValueError, match=r"key\(s\) \[5\] are not indices of the 1 signal"):
        model.predict_signals([tone(220)], sr=16000, speakers={5: "a"})
    with pytest.raises(ValueError, match="not a string"):
        model.predict(two_speakers[:1], speakers="a")
    # README ("Label new recordings"), as written
    signal, sr = sf.read(two_speakers[0], dtype="float32")
    table = model.predict_signals([signal], sr=sr, speakers=[None])  # no speaker: the population's statistics
    assert table["speaker_norm"].tolist() == ["population"] and table["label"].iloc[0] in model.labels
    by_index = model.predict_signals([signal, signal, signal], sr=sr, speakers={0: "x", 1: "x", 2: "x"})
    assert by_index["speaker_norm"].tolist() == ["speaker"] * 3


# --- 7. long files are not read whole --------------------------------------------------------------------


def test_a_long_file_without_segments_is_refused_before_it_is_read(egemaps_norm_model, tmp_path, capsys, monkeypatch):
    """Before: a 30-minute file was read whole and labelled. Now an error row sends the user to
    --segment; the file is never decoded (only its header is read)."""
    import speech_emotion.predict.segments as segments

    long = tmp_path / "long.wav"
    with sf.SoundFile(long, "w", samplerate=16000, channels=1, subtype="PCM_16") as handle:
        for i in range(30):  # 30 minutes, written a minute at a time
            handle.write(np.tile(tone(220 + 10 * i, 1.0, seed=i), 60))
    short = write_tones(tmp_path, [("short.wav", 220)])[0]
    decoded: list[str] = []
    real_open = segments.open_clip
    monkeypatch.setattr(segments, "open_clip", lambda path, *a, **k: decoded.append(str(path)) or real_open(path, *a, **k))
    code, out, err = run_cli(capsys, "--model", str(egemaps_norm_model), "--no-speakers", str(long), str(short))
    assert code == 1 and out["label"].tolist()[1] != "" and out["label"].tolist()[0] == ""
    assert out["error"].iloc[0].startswith("1800.0 s long, over the 60 s labelled as one clip: label it in segments")
    assert str(long) not in decoded and str(short) in decoded


@pytest.mark.slow
def test_the_readme_python_example_runs_as_written_on_the_demo_models(demo_run, monkeypatch):
    """README "Label new recordings": its Python block, run as written in the demo's folder (before: its
    predict_signals line raised on every demo model, all of which standardise per speaker)."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.S)
    block = next(b for b in blocks if "predict_signals" in b)
    monkeypatch.chdir(demo_run)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert scope["table"]["label"].iloc[0] in scope["model"].labels
    assert scope["probs"]["speaker_norm"].tolist() == ["population"]
