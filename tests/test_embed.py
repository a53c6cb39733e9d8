"""Embedding stage: pooling over valid frames, layers, windows, shard files, tiny models, rerun scope."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, shared_path
from speech_emotion.embed import embeddings as E
from speech_emotion.embed import encoders as M
from speech_emotion.embed.shards import shard_of
from speech_emotion.data.splits import Variant

RATE = 16000


def _signal(seconds: float, seed: int) -> np.ndarray:
    """Speech-like test signal: a few harmonics with vibrato plus noise (not silence, not periodic)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 120 + 40 * seed % 80 + 15 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 6)) * (0.5 + 0.4 * np.sin(2 * np.pi * 1.5 * t))
    return (0.3 * wave + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def tiny_wavlm(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "tiny-wavlm"
    M.init_model(REPO / "resources" / "tiny-wavlm" / "config.json", out, seed=0)
    return out


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "tiny-whisper"
    M.init_model(REPO / "resources" / "tiny-whisper" / "config.json", out, seed=0)
    return out


# --- tiny models: saved with save_pretrained, loaded back offline --------------------------------


def test_tiny_model_saved_and_loaded_offline(tiny_wavlm, tmp_path):
    import torch
    from transformers import AutoModel

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    names = {p.name for p in tiny_wavlm.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "source.json"} <= names
    assert not [n for n in names if n.startswith(".tmp-")]
    again = tmp_path / "again"
    M.init_model(REPO / "resources" / "tiny-wavlm" / "config.json", again, seed=0)
    other = tmp_path / "other"
    M.init_model(REPO / "resources" / "tiny-wavlm" / "config.json", other, seed=1)
    a, b, c = (AutoModel.from_pretrained(str(p)).state_dict() for p in (tiny_wavlm, again, other))
    assert all(torch.equal(a[k], b[k]) for k in a), "same seed must give the same weights"
    assert not all(torch.equal(a[k], c[k]) for k in a), "another seed must give other weights"
    assert M.read_source(tiny_wavlm) == {"model": "random-init:tiny-wavlm", "revision": "seed-0"}


# --- pooling over valid frames only --------------------------------------------------------------


@pytest.mark.parametrize("which,real_length", [("wavlm", False), ("whisper", False), ("whisper", True)])
def test_pooling_ignores_padding(which, real_length, tiny_wavlm, tiny_whisper):
    folder = tiny_wavlm if which == "wavlm" else tiny_whisper
    encoder = M.HFEncoder(folder, "cpu", real_length=real_length)
    signals = [_signal(s, i) for i, s in enumerate((0.7, 2.3, 1.1, 3.0))]
    batches = E.plan_batches([len(s) for s in signals], 100 * RATE)
    assert len(batches) == 1, "all four clips must share one padded batch"
    together = E.embed_signals(encoder, signals, batch_seconds=100)
    alone = np.stack([E.embed_signals(encoder, [s], batch_seconds=100)[0] for s in signals])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-4)
    # and padding WOULD matter if it were pooled: the mean over all frames of the short clip differs
    stats = encoder.stats(signals)
    assert stats[0].count < stats[3].count


def test_real_whisper_pooling_ignores_padding():
    folder = shared_path("models", "whisper-tiny.en")
    clips = sorted(shared_path("data", "urdu").glob("*/*.wav"))[:3]
    from speech_emotion.data.audio import load_audio

    signals = [load_audio(c) for c in clips]
    for real_length in (False, True):
        encoder = M.HFEncoder(folder, "cpu", real_length=real_length)
        together = E.embed_signals(encoder, signals, batch_seconds=100)
        alone = np.stack([E.embed_signals(encoder, [s], batch_seconds=100)[0] for s in signals])
        np.testing.assert_allclose(together, alone, rtol=1e-3, atol=1e-3)


def test_whisper_forward_matches_hugging_face_at_30s(tiny_whisper):
    import torch

    encoder = M.HFEncoder(tiny_whisper, "cpu")
    feats = encoder.extractor([_signal(2.0, 3)], sampling_rate=RATE, return_tensors="pt").input_features
    with torch.inference_mode():
        ours = M.whisper_forward(encoder.model, feats, torch.tensor([1500]))
        theirs = encoder.model(feats, output_hidden_states=True).hidden_states
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_real_length_is_whisper_only(tiny_wavlm):
    with pytest.raises(ValueError, match="Whisper"):
        M.HFEncoder(tiny_wavlm, "cpu", real_length=True)


# --- layers and shapes ---------------------------------------------------------------------------


def test_layer_count_and_shapes(tiny_wavlm, tiny_whisper, tmp_path):
    signals = [_signal(1.0, 1), _signal(1.6, 2)]
    wavlm = M.HFEncoder(tiny_wavlm, "cpu")
    out = E.embed_signals(wavlm, signals, batch_seconds=10)
    assert out.shape == (2, 3 + 1, 2 * 32)  # 3 transformer layers + the CNN/embedding output
    assert (out[:, :, 32:] >= 0).all(), "second half is the standard deviation"
    assert not np.allclose(out[:, 0], out[:, -1]), "layers must differ"
    whisper = M.HFEncoder(tiny_whisper, "cpu")
    assert E.embed_signals(whisper, signals, batch_seconds=10).shape == (2, 2 + 1, 2 * 32)

    path = tmp_path / "shard-0.npz"
    E.write_shard(path, ["b", "a"], out, "tiny-wavlm", "random-init:tiny-wavlm", "seed-0")
    shard = E.load_shard(path)
    assert shard.embeddings.dtype == np.float16 and shard.embeddings.shape == (2, 4, 64)
    assert shard.clip_ids.tolist() == ["b", "a"]
    assert shard.metadata["layers"] == 4 and shard.metadata["encoder"] == "tiny-wavlm"
    np.testing.assert_allclose(shard.embeddings, out, rtol=1e-3, atol=1e-3)


# --- opt-in speed-ups: embed.max_layer, embed.quantize --------------------------------------------


@pytest.mark.parametrize("which,real_length,cut", [("wavlm", False, 2), ("wavlm", False, 1), ("whisper", False, 1),
                                                   ("whisper", True, 1)])
def test_max_layer_keeps_the_full_models_first_layers(which, real_length, cut, tiny_wavlm, tiny_whisper):
    """max_layer N: N + 1 hidden states, equal to the full model's first N + 1 (not the final layer
    norm the full stack applies to its last layer), in batches run side by side too."""
    folder = tiny_wavlm if which == "wavlm" else tiny_whisper
    signals = [_signal(s, i) for i, s in enumerate((0.7, 2.3, 1.1, 3.0))]
    full = E.embed_signals(M.HFEncoder(folder, "cpu", real_length=real_length), signals, batch_seconds=4)
    encoder = M.HFEncoder(folder, "cpu", real_length=real_length, max_layer=cut)
    assert encoder.n_layers == cut + 1 and encoder.max_layer == cut
    for workers in (1, 2):
        out = E.embed_signals(encoder, signals, batch_seconds=4, workers=workers)
        assert out.shape == (len(signals), cut + 1, full.shape[2])
        np.testing.assert_allclose(out, full[:, : cut + 1], rtol=1e-5, atol=1e-5)


def test_max_layer_at_or_beyond_the_depth_keeps_the_model_whole(tiny_wavlm):
    signals = [_signal(1.0, 1)]
    full = E.embed_signals(M.HFEncoder(tiny_wavlm, "cpu"), signals, batch_seconds=4)
    for cut in (3, 30):  # tiny-wavlm has 3 transformer layers
        encoder = M.HFEncoder(tiny_wavlm, "cpu", max_layer=cut)
        assert encoder.max_layer is None and encoder.n_layers == 4
        np.testing.assert_array_equal(E.embed_signals(encoder, signals, batch_seconds=4), full)
    with pytest.raises(ValueError, match="max_layer must be at least 1"):
        M.HFEncoder(tiny_wavlm, "cpu", max_layer=0)


@pytest.mark.parametrize("which,real_length", [("wavlm", False), ("whisper", True)])
def test_quantize_int8_runs_differs_slightly_and_stays_close(which, real_length, tiny_wavlm, tiny_whisper):
    from torch import nn

    folder = tiny_wavlm if which == "wavlm" else tiny_whisper
    signals = [_signal(s, i) for i, s in enumerate((0.7, 2.3, 1.1))]
    full = E.embed_signals(M.HFEncoder(folder, "cpu", real_length=real_length), signals, batch_seconds=4)
    encoder = M.HFEncoder(folder, "cpu", real_length=real_length, quantize="int8")
    assert encoder.compute_dtype == "float32+int8-linear"
    assert not any(type(m) is nn.Linear for name, m in encoder.model.named_modules()
                   if "feed_forward" in name or ".fc" in name), "the feed-forward layers are quantised"
    out = E.embed_signals(encoder, signals, batch_seconds=4)
    assert out.shape == full.shape and np.isfinite(out).all()
    assert not np.array_equal(out, full), "int8 weights must change the numbers"
    # close: per layer, the error is a small part of the values' spread
    for layer in range(full.shape[1]):
        error = np.abs(out[:, layer] - full[:, layer]).mean()
        assert error < 0.05 * full[:, layer].std(), (layer, error)
    # and both speed-ups together
    both = M.HFEncoder(folder, "cpu", real_length=real_length, quantize="int8", max_layer=1)
    assert E.embed_signals(both, signals, batch_seconds=4).shape == (3, 2, full.shape[2])


def test_quantize_refuses_unknown_kinds_and_make_encoder_passes_the_speedups(tiny_wavlm):
    with pytest.raises(ValueError, match="unknown value"):
        M.HFEncoder(tiny_wavlm, "cpu", quantize="int4")
    assert E.embed_speedups({"quantize": None, "max_layer": None}) == {}
    assert E.embed_speedups({"shards": 4}) == {}
    assert E.embed_speedups({"quantize": "int8", "max_layer": 12}) == {"quantize": "int8", "max_layer": 12}
    spec = {"kind": "hf", "model": "x", **E.embed_speedups({"quantize": "int8", "max_layer": 2})}
    encoder = E.make_encoder(spec, tiny_wavlm, "cpu", RATE)
    assert (encoder.quantize, encoder.max_layer, encoder.n_layers) == ("int8", 2, 3)


def test_opensmile_shapes():
    signals = [_signal(1.0, 1), _signal(1.5, 2)]
    egemaps = E.make_encoder({"kind": "opensmile", "feature_set": "eGeMAPSv02"}, None, "cpu", RATE)
    out = E.embed_signals(egemaps, signals, batch_seconds=10)
    assert out.shape == (2, 1, 88) and np.isfinite(out).all()
    assert not np.allclose(out[0], out[1])
    compare = E.make_encoder({"kind": "opensmile", "feature_set": "ComParE_2016"}, None, "cpu", RATE)
    assert E.embed_signals(compare, signals[:1], batch_seconds=10).shape == (1, 1, 6373)


# --- batching and windows ------------------------------------------------------------------------


def test_plan_batches_sorted_within_budget():
    lengths = [5, 50, 20, 20, 7, 200, 1]
    batches = E.plan_batches(lengths, 60)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths, reverse=True), "longest first, so padding stays small"
    assert all(len(b) * max(lengths[i] for i in b) <= 60 for b in batches if len(b) > 1)
    assert [5] in batches, "an item over the budget gets a batch of its own"
    assert all(len({lengths[i] for i in b}) == 1 for b in E.plan_batches(lengths, 60, pad_safe=False))


def test_window_bounds_cover_everything():
    assert E.window_bounds(100, None) == [(0, 100)]
    assert E.window_bounds(100, 100) == [(0, 100)]
    bounds = E.window_bounds(250, 100)
    assert bounds == [(0, 84), (84, 168), (168, 250)]
    assert bounds[0][0] == 0 and bounds[-1][1] == 250
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))


def test_combine_stats_is_exact():
    rng = np.random.default_rng(0)
    frames = rng.normal(5.0, 2.0, size=(37, 3, 4))
    cuts = [0, 10, 11, 37]
    parts = [frames[a:b] for a, b in zip(cuts, cuts[1:])]
    got = E.combine_stats([len(p) for p in parts], [p.mean(0) for p in parts], [p.var(0) for p in parts])
    np.testing.assert_allclose(got, np.concatenate([frames.mean(0), frames.std(0)], axis=-1), rtol=1e-12)


def test_long_clip_is_windowed_not_truncated(tiny_wavlm):
    encoder = M.HFEncoder(tiny_wavlm, "cpu")
    long = np.concatenate([_signal(4.0, 1), _signal(4.0, 2), _signal(3.0, 3)])  # 11 s, windows <= 4 s
    seen = []
    original = encoder.stats
    encoder.stats = lambda chunk: (seen.extend(len(c) for c in chunk), original(chunk))[1]
    out = E.embed_signals(encoder, [long], batch_seconds=100, max_seconds=4.0)
    encoder.stats = original
    assert len(seen) == 3, "11 s in windows of at most 4 s: three windows"
    assert max(seen) <= 4 * RATE and sum(seen) == len(long), "every sample in exactly one window"
    # the pooled clip equals the frame-weighted combination of its windows' statistics
    stats = [encoder.stats([long[a:b]])[0] for a, b in E.window_bounds(len(long), 4 * RATE)]
    expected = E.combine_stats([s.count for s in stats], [s.mean for s in stats], [s.var for s in stats])
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-5)
    # the end of the clip counts: changing only the last second changes the embedding
    changed = long.copy()
    changed[-RATE:] = _signal(1.0, 9)
    assert not np.allclose(E.embed_signals(encoder, [changed], 100, 4.0), out, atol=1e-4)


@pytest.mark.slow
def test_twenty_minute_clip_in_windows(tiny_wavlm):
    encoder = M.HFEncoder(tiny_wavlm, "cpu")
    long = np.tile(_signal(10.0, 4), 120)  # 20 minutes
    biggest = []
    original = encoder.stats
    encoder.stats = lambda chunk: (biggest.append(len(chunk) * max(map(len, chunk))), original(chunk))[1]
    out = E.embed_signals(encoder, [long], batch_seconds=30, max_seconds=30.0)
    assert out.shape == (1, 4, 64) and np.isfinite(out).all()
    assert len(biggest) == 40 and max(biggest) <= 30 * RATE, "memory is bounded by one 30 s batch"


# --- shard files ---------------------------------------------------------------------------------


def test_shard_stability_adding_a_clip_changes_one_shard():
    ids = [f"spk{i % 7}_{i:04d}" for i in range(300)]

    def members(clips):
        return {s: sorted(c for c in clips if shard_of(c, 16) == s) for s in range(16)}

    before, after = members(ids), members(ids + ["spk3_new"])
    changed = [s for s in before if before[s] != after[s]]
    assert changed == [shard_of("spk3_new", 16)]


def _write(path, ids=("a", "b", "c")):
    rng = np.random.default_rng(0)
    E.write_shard(path, list(ids), rng.normal(size=(len(ids), 2, 6)), "enc", "model", "rev")


def test_load_shard_detects_truncation_and_corruption(tmp_path):
    good = tmp_path / "good" / "shard-0.npz"
    _write(good)
    assert E.quick_check(good) is None
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert E.quick_check(truncated)
    with pytest.raises(E.ShardError, match=re.escape(str(truncated))):
        E.load_shard(truncated)
    # same structure, changed array: the checksum catches it
    with np.load(good) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["embeddings"] = arrays["embeddings"] + np.float16(1)
    tampered = tmp_path / "tampered.npz"
    np.savez_compressed(tampered, **arrays)
    with pytest.raises(E.ShardError, match="checksum"):
        E.load_shard(tampered)
    # flipped bytes inside the compressed array: zip CRC / zlib error, reported with the name
    flipped = tmp_path / "flipped.npz"
    raw = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("embeddings.npy")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    raw[middle] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    with pytest.raises(E.ShardError, match=re.escape(str(flipped))):
        E.load_shard(flipped)
    with pytest.raises(E.ShardError, match="missing"):
        E.load_shard(tmp_path / "absent.npz")


def test_a_job_and_the_start_up_check_say_one_thing_about_a_corrupt_shard(tmp_path):
    """Issue 33 item 5: the start-up check said `snakemake --forcerun FILE`, a job reading the same file
    "delete it and rerun the workflow"; both now give the one command that rebuilds it and its readers."""
    from speech_emotion.io.files import corrupt_message, zip_problem

    good = tmp_path / "shard-0.npz"
    _write(good)
    truncated = tmp_path / "shard-1.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    command = f"`snakemake --forcerun {truncated}`"
    with pytest.raises(E.ShardError) as job:
        E.load_shard(truncated)
    assert command in str(job.value) and "delete" not in str(job.value)
    assert command in corrupt_message(truncated, zip_problem(truncated))


def test_load_variant(tmp_path):
    folder = tmp_path / "enc" / "aug1"
    _write(folder / "shard-0.npz", ("a", "c"))
    _write(folder / "shard-1.npz", ("b",))
    variant = E.load_variant([folder / "shard-0.npz", folder / "shard-1.npz"], "aug1")
    assert isinstance(variant, Variant) and variant.name == "aug1"
    assert variant.clip_ids.tolist() == ["a", "c", "b"] and variant.features.shape == (3, 2, 6)
    assert E.load_variant([folder / "shard-0.npz"], "aug1", layers=[1]).features.shape == (2, 1, 6)
    _write(folder / "shard-2.npz", ("b",))
    with pytest.raises(E.ShardError, match="more than one shard"):
        E.load_variant([folder / "shard-1.npz", folder / "shard-2.npz"], "aug1")


def test_shards_record_device_and_mixed_devices_are_warned_about(tmp_path, caplog):
    rng = np.random.default_rng(0)
    folder = tmp_path / "enc" / "clean"
    E.write_shard(folder / "shard-0.npz", ["a"], rng.normal(size=(1, 2, 6)), "enc", "m", "r")
    E.write_shard(folder / "shard-1.npz", ["b"], rng.normal(size=(1, 2, 6)), "enc", "m", "r",
                  device="cuda", compute_dtype="float16")
    assert {"device": "cpu", "compute_dtype": "float32"}.items() <= E.load_shard(folder / "shard-0.npz").metadata.items()
    with caplog.at_level("WARNING"):
        E.load_variant([folder / "shard-0.npz"], "clean")
    assert not caplog.text
    with caplog.at_level("WARNING"):
        variant = E.load_variant([folder / "shard-0.npz", folder / "shard-1.npz"], "clean")
    assert variant.made_with == ("cpu float32", "cuda float16")
    assert "different devices/dtypes (cpu float32, cuda float16)" in caplog.text


def test_embeddings_do_not_depend_on_threads(tmp_path):
    """embed.threads (and the machine's cores) must not change a number: batches run side by side,
    each on one torch thread. A WavLM wide enough for multi-threaded kernels to split their sums
    (with 2 torch threads, 13 of its 7,680 float16 values changed before)."""
    import json

    import torch

    config = json.loads((REPO / "resources" / "tiny-wavlm" / "config.json").read_text())
    config.update(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4,
                  conv_dim=[128] * 7)
    folder = tmp_path / "wider-wavlm"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    preprocessor = "preprocessor_config.json"
    (folder / preprocessor).write_text((REPO / "resources" / "tiny-wavlm" / preprocessor).read_text())
    M.init_model(folder / "config.json", tmp_path / "model", seed=0)
    signals = [_signal(seconds, seed) for seed, seconds in enumerate((1.0, 2.0, 3.0))]
    previous = torch.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            torch.set_num_threads(threads)  # what a job with `threads` cores would have
            encoder = M.HFEncoder(tmp_path / "model", "cpu", RATE)
            results.append(E.embed_signals(encoder, signals, batch_seconds=2.5, workers=threads))
        assert torch.get_num_threads() == 2, "the caller's thread setting is restored"
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(results[0], results[1])


def test_float16_overflow_is_refused(tmp_path):
    with pytest.raises(ValueError, match="float16"):
        E.write_shard(tmp_path / "x.npz", ["a"], np.full((1, 1, 2), 1e6), "e", "m", "r")
    E.write_shard(tmp_path / "y.npz", ["a"], np.full((1, 1, 2), 1e6), "e", "m", "r", dtype="float32")
    assert E.load_shard(tmp_path / "y.npz").embeddings.dtype == np.float32


