"""Long recordings: segments (VAD / fixed windows), time shares, streaming reads, and a real recording
of URDU clips of known emotions separated by pauses, labelled by a model trained in the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import REPO, shared_path
from speech_emotion.train import classifiers as C
from speech_emotion.data.audio import iter_blocks, load_audio, read_span
from speech_emotion.predict.segments import (
    FileSource,
    SegmentSettings,
    fixed_windows,
    load_vad,
    owned_spans,
    plan_segments,
    speech_probabilities,
    speech_regions,
    tidy_segments,
    time_shares,
)
from speech_emotion.predict.vad import speech_timestamps

RATE = 16000


# --- pure functions, hand-computed ---------------------------------------------------------------------


def test_fixed_windows_cover_the_tail():
    assert fixed_windows(10.0, 3.0, 1.5) == [(0, 3), (1.5, 4.5), (3, 6), (4.5, 7.5), (6, 9), (7, 10)]
    # a tail of 0.5 s (<= half a hop) moves the last window instead of adding a near-duplicate
    assert fixed_windows(9.5, 3.0, 1.5) == [(0, 3), (1.5, 4.5), (3, 6), (4.5, 7.5), (6.5, 9.5)]
    assert fixed_windows(9.0, 3.0, 1.5) == [(0, 3), (1.5, 4.5), (3, 6), (4.5, 7.5), (6, 9)]
    assert fixed_windows(2.0, 3.0, 1.5) == [(0, 2.0)]
    assert fixed_windows(6.0, 2.0, 2.0) == [(0, 2), (2, 4), (4, 6)]


def test_tidy_segments_split_long_and_widen_short():
    got = tidy_segments([(2.0, 15.0), (0.2, 0.6), (15.1, 15.5)], seconds=16.0, min_seconds=1.0, max_seconds=6.0)
    assert got == [(0.0, 1.0), (2.0, 6.333333), (6.333333, 10.666667), (10.666667, 15.0), (15.0, 16.0)]
    # hemmed in by neighbours: widened only up to them
    got = tidy_segments([(1.0, 1.4), (1.5, 1.9), (2.0, 2.4)], seconds=10.0, min_seconds=1.0, max_seconds=6.0)
    assert got == [(0.5, 1.5), (1.5, 2.0), (2.0, 3.0)]


def test_time_shares_split_overlaps_at_their_middle():
    assert owned_spans([0, 1.5, 3], [3, 4.5, 6]) == [(0, 2.25), (2.25, 3.75), (3.75, 6)]
    assert owned_spans([0, 6.5], [6, 7.5]) == [(0, 6), (6.5, 7.5)]  # disjoint segments keep their extent
    table = pd.DataFrame({
        "file": ["a", "a", "a", "b", "b", "c"],
        "start": [0, 1.5, 3, 0, 6.5, np.nan],
        "end": [3, 4.5, 6, 6, 7.5, np.nan],
        "label": ["X", "X", "Y", "Y", "X", None],
        "error": [None, None, None, None, None, "missing file"],
    })
    shares = time_shares(table, ["X", "Y"]).set_index("file")
    assert shares.loc["a", "seconds"] == 6.0 and shares.loc["a", "segments"] == 3
    assert shares.loc["a", "share_X"] == pytest.approx(3.75 / 6) and shares.loc["a", "share_Y"] == pytest.approx(2.25 / 6)
    assert shares.loc["b", "share_X"] == pytest.approx(1 / 7) and shares.loc["b", "share_Y"] == pytest.approx(6 / 7)
    assert shares.loc["c", "segments"] == 0 and shares.loc["c", "error"] == "missing file"
    assert np.isnan(shares.loc["c", "share_X"])


def test_bad_segment_settings_are_refused():
    with pytest.raises(ValueError, match="mode"):
        SegmentSettings(mode="words")
    with pytest.raises(ValueError, match="hop"):
        SegmentSettings(mode="fixed", hop=0)
    with pytest.raises(ValueError, match="min_seconds"):
        SegmentSettings(min_seconds=8, max_seconds=6)


# --- a real recording: URDU clips of known emotions with pauses -----------------------------------------

URDU_HELD_OUT = {"Angry": "SM2", "Sad": "SM24", "Neutral": "SM20"}  # speakers kept out of training
PAUSES = [1.0, 1.5, 2.0, 1.2, 1.8, 1.0, 1.5]  # before each clip, and after the last


@pytest.fixture(scope="module")
def urdu_model(tmp_path_factory) -> Path:
    """A final model folder made as rule final_model makes one: logistic regression on eGeMAPS of the
    URDU clips of every speaker except the three held out (speaker-independent test clips)."""
    from speech_emotion.embed.embeddings import embed_signals, make_encoder
    from speech_emotion.train.final_model import final_model_info

    root = shared_path("data", "urdu")
    files = sorted(p for p in root.glob("*/*.wav") if p.name.split("_")[0] not in URDU_HELD_OUT.values())
    labels = np.array([p.parent.name for p in files])
    speakers = np.array([p.name.split("_")[0] for p in files])
    spec = {"kind": "opensmile", "feature_set": "eGeMAPSv02"}
    encoder = make_encoder(spec, None, "cpu", RATE)
    X = embed_signals(encoder, [load_audio(p, RATE) for p in files], batch_seconds=60.0)[:, 0]
    model = C.make_classifier("logreg", {"C": 1.0}).fit(X, labels, speakers)
    out = tmp_path_factory.mktemp("urdu") / "results/models/egemaps/logreg"
    out.mkdir(parents=True)
    C.save_model(model, out / "model.zip")
    params = {"classifier": "logreg", "layers": [0], "labels": sorted(set(labels)), "params": {}, "seed": 0}
    info = final_model_info(params, {"name": "egemaps", "spec": spec, "model_dir": None},
                            {"sample_rate": RATE, "max_seconds": 30.0, "batch_seconds": 60.0}, {})
    (out / "model.json").write_text(json.dumps(info))
    from speech_emotion.train.features import FeatureSpec

    FeatureSpec.of([0], encoder="egemaps").write(out / "features.json")
    return out


@pytest.fixture(scope="module")
def model(urdu_model):
    from speech_emotion import load_model

    return load_model(urdu_model, device="cpu")


@pytest.fixture(scope="module")
def recording(model, tmp_path_factory) -> tuple[Path, list[tuple[float, float, str]]]:
    """Angry, Sad, Neutral, Angry, Sad, Neutral held-out clips (each labelled correctly, p >= 0.9, when
    embedded whole) separated by 1-2 s pauses of faint noise; returns the WAV and (start, end, label)."""
    root = shared_path("data", "urdu")
    chosen: dict[str, list[str]] = {}
    for label, speaker in URDU_HELD_OUT.items():
        whole = model.predict(sorted(root.glob(f"{label}/{speaker}_*.wav")))
        good = whole[(whole["label"] == label) & (whole[f"prob_{label}"] >= 0.9)]
        assert len(good) >= 2, f"the model labels too few held-out {label} clips well:\n{whole}"
        chosen[label] = good["file"].tolist()[:2]
    order = [(chosen[label][k], label) for k in range(2) for label in ("Angry", "Sad", "Neutral")]
    rng = np.random.default_rng(0)
    parts, layout, t = [], [], 0.0
    for (path, label), pause in zip(order, PAUSES):
        parts.append(0.001 * rng.standard_normal(int(pause * RATE)).astype(np.float32))
        t += pause
        clip = load_audio(path, RATE)
        parts.append(clip)
        layout.append((t, t + len(clip) / RATE, label))
        t += len(clip) / RATE
    parts.append(0.001 * rng.standard_normal(int(PAUSES[-1] * RATE)).astype(np.float32))
    out = tmp_path_factory.mktemp("recording") / "conversation.wav"
    sf.write(out, np.concatenate(parts), RATE, subtype="PCM_16")
    return out, layout


SLACK = SegmentSettings().speech_pad + 0.2  # the VAD's padding + a few 32 ms frames of onset/offset lag


def check_vad_segments(table: pd.DataFrame, layout: list[tuple[float, float, str]], offset: float = 0.0) -> None:
    """One segment per clip, inside the clip give or take the VAD's padding and lag (the pauses are
    1-2 s; a clip's own leading or trailing silence is not speech), with the clip's label."""
    assert len(table) == len(layout), table
    for row, (start, end, label) in zip(table.itertuples(), layout):
        start, end = start + offset, end + offset
        assert start - SLACK <= row.start and row.end <= end + SLACK, (row, start, end)
        overlap = min(row.end, end) - max(row.start, start)
        assert overlap >= SegmentSettings().min_seconds, (row, start, end)
        assert row.label == label, (row, label)


def test_vad_segments_match_the_known_layout(model, recording):
    path, layout = recording
    table = model.predict([path], segment="vad")
    assert list(table.columns) == ["file", "start", "end", "label", *[f"prob_{l}" for l in model.labels], "error"]
    assert table["error"].isna().all()
    check_vad_segments(table, layout)
    shares = model.summary(table).iloc[0]
    lengths = (table["end"] - table["start"]).to_numpy()
    assert shares["seconds"] == pytest.approx(lengths.sum(), abs=1e-3)
    for label in ("Angry", "Sad", "Neutral"):
        assert shares[f"share_{label}"] == pytest.approx(lengths[table["label"] == label].sum() / lengths.sum(), abs=1e-5)
    assert shares["share_Happy"] == 0.0


def test_fixed_windows_on_the_recording(model, recording):
    path, _ = recording
    seconds = sf.info(str(path)).duration
    table = model.predict([path], segment="fixed", window=2.0, hop=1.0)
    assert list(zip(table["start"], table["end"])) == [(round(s, 3), round(e, 3)) for s, e in fixed_windows(seconds, 2.0, 1.0)]
    probs = table[[f"prob_{l}" for l in model.labels]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    shares = model.summary(table).iloc[0]
    assert shares["seconds"] == pytest.approx(seconds, abs=2e-3)
    assert sum(shares[f"share_{l}"] for l in model.labels) == pytest.approx(1.0)


def test_signals_in_memory_give_the_same_segments(model, recording):
    path, layout = recording
    signal, rate = sf.read(str(path), dtype="float32")
    from_file = model.predict([path], segment="vad")
    in_memory = model.predict_signals([signal], sr=rate, segment="vad")
    assert list(in_memory.columns)[0] == "signal" and (in_memory["signal"] == 0).all()
    pd.testing.assert_frame_equal(from_file.drop(columns="file"), in_memory.drop(columns="signal"), atol=1e-4)
    # 44.1 kHz stereo: resampled to 16 kHz, the same segments and labels
    import librosa

    stereo = np.stack([librosa.resample(signal, orig_sr=rate, target_sr=44100)] * 2, axis=1)
    hi = path.with_name("conversation-44k.wav")
    sf.write(hi, stereo, 44100, subtype="FLOAT")
    check_vad_segments(model.predict([hi], segment="vad"), layout)


def test_streamed_vad_equals_silero_on_the_whole_signal(recording):
    from silero_vad import get_speech_timestamps

    path, _ = recording
    signal = load_audio(path, RATE)
    settings = SegmentSettings()
    torchscript = load_vad("torchscript")
    theirs = get_speech_timestamps(signal, torchscript.model, threshold=settings.threshold, min_speech_duration_ms=250,
                                   max_speech_duration_s=settings.max_seconds, min_silence_duration_ms=500,
                                   speech_pad_ms=100)
    for vad in (torchscript, load_vad("onnx")):
        # blocks of an odd length: frames straddle block edges
        probs = speech_probabilities((signal[i : i + 7777] for i in range(0, len(signal), 7777)), vad)
        assert len(probs) == -(-len(signal) // 512)
        ours = speech_regions(probs, len(signal) / RATE, settings)
        assert ours == [(r["start"] / RATE, r["end"] / RATE) for r in theirs], vad


def test_block_reads_equal_the_whole_file(recording, tmp_path):
    path, _ = recording
    signal = load_audio(path, RATE)
    assert np.array_equal(np.concatenate(list(iter_blocks(path, RATE, 0.37))), signal)
    assert np.array_equal(read_span(path, 2.5, 4.0, RATE), signal[40000:64000])
    # another rate, stereo: one resampling stream gives the whole file resampled at once
    hi = tmp_path / "x.wav"
    sf.write(hi, np.stack([signal, signal], axis=1), RATE, subtype="FLOAT")
    whole = load_audio(hi, 22050)
    streamed = np.concatenate(list(iter_blocks(hi, 22050, 0.37)))
    assert abs(len(streamed) - len(whole)) <= 1  # the one-shot call may round the length up
    n = min(len(streamed), len(whole))
    assert np.abs(streamed[:n] - whole[:n]).max() < 1e-4


def test_long_recording_streams_in_bounded_memory(model, recording, tmp_path):
    """4 and 12 minutes (10 and 30 repeats of the recording): the peak of Python-tracked memory (numpy
    arrays included) does not grow with the length and stays far below the decoded file; rows come
    in several blocks; every repeat is segmented and labelled as the layout."""
    path, layout = recording
    one = sf.read(str(path), dtype="int16")[0]
    seconds = len(one) / RATE
    peaks = {}
    for repeats in (10, 30):
        long_path = tmp_path / f"long-{repeats}.wav"
        with sf.SoundFile(long_path, "w", RATE, 1, subtype="PCM_16") as out:
            for _ in range(repeats):
                out.write(one)
        tracemalloc.start()
        try:
            chunks = list(model.iter_predict([long_path], segment="vad"))
            peaks[repeats] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        table = pd.concat(chunks, ignore_index=True)
        for k in range(repeats):
            rows = table[(table["start"] >= k * seconds - 0.2) & (table["start"] < (k + 1) * seconds - 0.2)]
            check_vad_segments(rows, layout, offset=k * seconds)
    assert len(chunks) > 1, "rows must come in several blocks, not all at the end"
    decoded = 30 * len(one) * 4  # bytes of the 12-minute file as float32
    assert peaks[30] < 1.2 * peaks[10], peaks
    assert peaks[30] < decoded / 3, f"peak {peaks[30] / 1e6:.1f} MB vs {decoded / 1e6:.1f} MB decoded"


def test_cli_segments_summary_and_plot(urdu_model, recording, tmp_path, capsys):
    from speech_emotion.predict.cli import main

    path, layout = recording
    summary, plots = tmp_path / "shares.tsv", tmp_path / "plots"
    code = main(["predict", "--model", str(urdu_model), "--segment", "vad", "--summary", str(summary),
                 "--plot", str(plots), str(path), str(tmp_path / "missing.wav")])
    out, err = capsys.readouterr()
    assert code == 1 and "missing.wav: missing file" in err
    table = pd.read_csv(pd.io.common.StringIO(out), sep="\t")
    assert list(table.columns[:4]) == ["file", "start", "end", "label"]
    check_vad_segments(table[table["file"] == str(path)], layout)
    assert table[table["file"].str.endswith("missing.wav")]["error"].tolist() == ["missing file"]
    shares = pd.read_csv(summary, sep="\t").set_index("file")
    assert shares.loc[str(path), "segments"] == 6
    assert shares.loc[str(path), [f"share_{l}" for l in ("Angry", "Happy", "Neutral", "Sad")]].sum() == pytest.approx(1.0, abs=1e-5)
    assert [p.name for p in plots.iterdir()] == ["conversation.png"]
    assert (plots / "conversation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- Silero VAD without torch: its ONNX model run by ONNX Runtime ----------------------------------------

BLOCK_TORCH = """import sys


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None


sys.meta_path.insert(0, Blocker())
"""


@pytest.fixture(scope="module")
def speech_files(tmp_path_factory) -> list[Path]:
    """The 12 real CREMA-D clips, and one recording of them all joined by pauses of 0.3-2 s of faint
    noise (pauses shorter than the 0.5 s that ends a segment too, so that regions merge and get cut)."""
    clips = sorted(shared_path("data", "cremad-sample", "AudioWAV").glob("*.wav"))
    rng = np.random.default_rng(1)
    parts = []
    for clip in clips:
        parts.append(0.001 * rng.standard_normal(int(rng.uniform(0.3, 2.0) * RATE)).astype(np.float32))
        parts.append(load_audio(clip, RATE))
    parts.append(0.001 * rng.standard_normal(RATE).astype(np.float32))
    out = tmp_path_factory.mktemp("joined") / "joined.wav"
    sf.write(out, np.concatenate(parts), RATE, subtype="PCM_16")
    return [*clips, out]


def silero_regions(probs: np.ndarray, seconds: float, settings: SegmentSettings) -> list[tuple[float, float]]:
    """Silero's own ``get_speech_timestamps_from_probs`` (its package imports torch) with the arguments
    :func:`speech_regions` gives the port."""
    from silero_vad import get_speech_timestamps_from_probs

    found = get_speech_timestamps_from_probs(
        probs.tolist(), sampling_rate=RATE, threshold=settings.threshold,
        min_speech_duration_ms=int(settings.min_speech * 1000), max_speech_duration_s=settings.max_seconds,
        min_silence_duration_ms=int(settings.min_silence * 1000), speech_pad_ms=int(settings.speech_pad * 1000),
        audio_length_samples=int(round(seconds * RATE)))
    return [(r["start"] / RATE, r["end"] / RATE) for r in found]


VAD_SETTINGS = [SegmentSettings(), SegmentSettings(min_silence=0.1, speech_pad=0.03, max_seconds=2.0, min_seconds=0.5)]


def test_onnx_vad_equals_the_torchscript_model_on_real_speech(speech_files):
    """Silero's ONNX model (numpy + ONNX Runtime) against its TorchScript model: frame probabilities
    within 1e-4, and the same speech regions and segments (the port of the timestamps step against
    Silero's own function on the TorchScript probabilities)."""
    onnx, torchscript = load_vad("onnx"), load_vad("torchscript")
    assert load_vad().kind == "onnx"  # the default where ONNX Runtime is installed
    counts = []
    for path in speech_files:
        source = FileSource(path)
        got, expected = (speech_probabilities(source.blocks(RATE, 1.1), vad) for vad in (onnx, torchscript))
        assert len(got) == len(expected) == -(-int(round(source.seconds * RATE)) // 512)
        assert np.abs(got - expected).max() <= 1e-4, path.name
        for settings in VAD_SETTINGS:
            regions = speech_regions(got, source.seconds, settings)
            assert regions == silero_regions(expected, source.seconds, settings), (path.name, settings)
            assert plan_segments(source, settings, onnx) == plan_segments(source, settings, torchscript)
            counts.append(len(regions))
    assert min(counts) >= 1 and max(counts) >= 12, counts  # speech in every clip; the joined file in pieces


def test_speech_timestamps_equal_silero_s_on_random_probabilities():
    """The torch-free port of Silero's hysteresis rules, on 300 random smooth probability tracks with
    random settings (the cut of over-long speech both ways included), against Silero's function."""
    from silero_vad import get_speech_timestamps_from_probs

    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(1, 1500))
        walk = np.cumsum(rng.normal(0, rng.uniform(0.2, 1.5), n)) * rng.uniform(0.05, 0.5)
        probs = (1 / (1 + np.exp(-(walk - walk.mean())))).astype(np.float32).tolist()
        options = dict(
            threshold=float(rng.uniform(0.2, 0.8)), min_speech_duration_ms=int(rng.integers(0, 500)),
            max_speech_duration_s=float(rng.choice([np.inf, rng.uniform(0.5, 8)])),
            min_silence_duration_ms=int(rng.integers(0, 800) if rng.random() < 0.5 else 32 * rng.integers(0, 25)),
            speech_pad_ms=int(rng.integers(0, 200)),
            neg_threshold=None if rng.random() < 0.7 else float(rng.uniform(0.01, 0.2)),
            min_silence_at_max_speech=int(rng.integers(0, 200) if rng.random() < 0.5 else 32 * rng.integers(0, 7)),
            use_max_poss_sil_at_max_speech=bool(rng.random() < 0.5),
            audio_length_samples=None if rng.random() < 0.3 else n * 512 - int(rng.integers(0, 512)))
        theirs = get_speech_timestamps_from_probs(probs, sampling_rate=RATE, **options)
        assert speech_timestamps(probs, **options) == [(r["start"], r["end"]) for r in theirs], options


def test_vad_runs_without_torch(speech_files, tmp_path):
    """With torch unimportable, load_vad gives the ONNX model (found in the silero-vad package without
    importing it) and the joined recording gets the segments the TorchScript model gives."""
    (tmp_path / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO / "workflow")])}
    code = ("import json, sys; from speech_emotion.predict.segments import FileSource, SegmentSettings, load_vad, plan_segments; "
            "vad = load_vad(); print(json.dumps([vad.kind, plan_segments(FileSource(sys.argv[1]), SegmentSettings(), vad), "
            "'torch' in sys.modules, 'silero_vad' in sys.modules]))")
    check = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True, env=env)
    assert check.returncode != 0 and "blocked by the test" in check.stderr
    run = subprocess.run([sys.executable, "-c", code, str(speech_files[-1])], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    kind, segments, torch_loaded, silero_loaded = json.loads(run.stdout)
    assert kind == "onnx" and not torch_loaded and not silero_loaded
    expected = plan_segments(FileSource(speech_files[-1]), SegmentSettings(), load_vad("torchscript"))
    assert [tuple(s) for s in segments] == expected and len(expected) >= 5
