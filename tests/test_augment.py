"""Augmentation: deterministic copies, transforms within their ranges, copies only train, and
raising augment.copies schedules only the new copy's jobs."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from speech_emotion.io.audio_store import read_audio_shard
from speech_emotion.augment.transforms import (
    augment_clip,
    augment_shard,
    build_pipeline,
    check_per_class_labels,
    clips_needing_copy,
    copies_for,
    TRANSFORMS,
    copy_seed,
    max_copies,
    transform_config,
)
from speech_emotion.config import schema_defaults
from speech_emotion.data.splits import Variant, build_fold

SR = 16000
AUGMENT = schema_defaults()["augment"]  # the defaults (config.yaml equals them: tests/test_config.py)
OFF = {**AUGMENT, **{name: {**AUGMENT[name], "p": 0.0} for name in TRANSFORMS}}


def tone(freq: float = 220.0, seconds: float = 1.5, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def only(name: str, **ranges: float) -> dict:
    """A transform config with only ``name`` switched on (p=1), optionally with its range."""
    return transform_config({**OFF, name: {**AUGMENT[name], "p": 1.0, **ranges}})


def run_copies(name: str, seeds: range, **ranges: float) -> list[tuple[np.ndarray, np.ndarray]]:
    pipeline = build_pipeline(only(name, **ranges))
    x = tone()
    return [(x, augment_clip(x, SR, pipeline, seed, "clip", 1)) for seed in seeds]


def f0(signal: np.ndarray) -> float:
    """Frequency of the strongest spectral peak (zero-padded FFT, Hann window)."""
    n = len(signal) * 8
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal)), n=n))
    return float(np.fft.rfftfreq(n, 1 / SR)[np.argmax(spectrum)])


def write_wavs(folder, clips: dict[str, np.ndarray]) -> pd.DataFrame:
    """WAV files + a check_clips-style shard table (all accepted)."""
    rows = []
    for clip_id, signal in clips.items():
        path = folder / f"{clip_id}.wav"
        sf.write(path, signal, SR, subtype="PCM_16")
        rows.append({"clip_id": clip_id, "path": str(path), "duration_s": len(signal) / SR,
                     "sample_rate": SR, "channels": 1, "reason": ""})
    return pd.DataFrame(rows)


@pytest.fixture
def shard(tmp_path):
    rng = np.random.default_rng(0)
    clips = {f"c{i}": (tone(150 + 40 * i, 1.0, 0.4) + 0.01 * rng.standard_normal(SR)).astype(np.float32)
             for i in range(3)}
    table = write_wavs(tmp_path, clips)
    path = tmp_path / "shard-0.tsv"
    table.to_csv(path, sep="\t", index=False)
    return path, table


# --- determinism ----------------------------------------------------------------------------------
def test_copy_seed_depends_on_seed_clip_and_copy_only():
    base = copy_seed(42, "a", 1)
    assert copy_seed(42, "a", 1) == base
    assert len({base, copy_seed(43, "a", 1), copy_seed(42, "b", 1), copy_seed(42, "a", 2)}) == 4


def test_shard_is_byte_identical_when_rebuilt(shard, tmp_path):
    table_path, table = shard
    spec = transform_config(AUGMENT)
    for name in ("one.npz", "two.npz"):
        random.seed(len(name)), np.random.seed(len(name))  # different global state each time
        augment_shard(table_path, list(table["clip_id"]), 1, spec, 42, SR, tmp_path / name)
    assert (tmp_path / "one.npz").read_bytes() == (tmp_path / "two.npz").read_bytes()
    ids, audio, rate = read_audio_shard(tmp_path / "one.npz")
    assert ids == ["c0", "c1", "c2"] and rate == SR
    clean = [sf.read(p, dtype="float32")[0] for p in table["path"]]
    assert all(not (len(a) == len(c) and np.allclose(a, c, atol=1e-3)) for a, c in zip(audio, clean))


def test_copy_independent_of_order_other_clips_and_global_rng(shard, tmp_path):
    table_path, table = shard
    spec = transform_config(AUGMENT)
    augment_shard(table_path, ["c0", "c1", "c2"], 2, spec, 7, SR, tmp_path / "all.npz")
    random.random(), np.random.standard_normal(5)  # disturb the global generators in between
    augment_shard(table_path, ["c2"], 2, spec, 7, SR, tmp_path / "one.npz")
    ids_all, audio_all, _ = read_audio_shard(tmp_path / "all.npz")
    ids_one, audio_one, _ = read_audio_shard(tmp_path / "one.npz")
    assert ids_one == ["c2"]
    np.testing.assert_array_equal(audio_all[ids_all.index("c2")], audio_one[0])
    # the other copy index and another seed give different audio
    augment_shard(table_path, ["c2"], 1, spec, 7, SR, tmp_path / "copy1.npz")
    augment_shard(table_path, ["c2"], 2, spec, 8, SR, tmp_path / "seed8.npz")
    for other in ("copy1.npz", "seed8.npz"):
        audio = read_audio_shard(tmp_path / other)[1][0]
        assert len(audio) != len(audio_one[0]) or not np.array_equal(audio, audio_one[0])


def test_global_rng_state_is_restored():
    pipeline = build_pipeline(transform_config(AUGMENT))
    random.seed(1), np.random.seed(1)
    expected = (random.random(), np.random.random())
    random.seed(1), np.random.seed(1)
    augment_clip(tone(), SR, pipeline, 42, "x", 1)
    assert (random.random(), np.random.random()) == expected


# --- each transform within its range --------------------------------------------------------------
def test_time_stretch_changes_length_within_rate_range():
    ratios = [len(y) / len(x) for x, y in run_copies("time_stretch", range(20), min_rate=0.9, max_rate=1.1)]
    assert all(1 / 1.1 - 1e-3 <= r <= 1 / 0.9 + 1e-3 for r in ratios), ratios
    assert min(ratios) < 0.97 and max(ratios) > 1.03  # really stretched, both ways
    (x, y), = run_copies("time_stretch", range(1), min_rate=1.1, max_rate=1.1)
    assert len(y) / len(x) == pytest.approx(1 / 1.1, abs=2e-3)


def test_noise_snr_within_range():
    def snr(x, y):
        return 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))

    measured = [snr(x, y) for x, y in run_copies("noise", range(20), min_snr_db=10.0, max_snr_db=30.0)]
    assert all(9.7 <= s <= 30.3 for s in measured), measured
    assert max(measured) - min(measured) > 5  # drawn from the range, not a fixed amplitude
    (x, y), = run_copies("noise", range(1), min_snr_db=15.0, max_snr_db=15.0)
    assert snr(x, y) == pytest.approx(15.0, abs=0.2)
    quiet = build_pipeline(only("noise", min_snr_db=15.0, max_snr_db=15.0))
    y_quiet = augment_clip(x * 0.1, SR, quiet, 0, "clip", 1)
    assert snr(x * 0.1, y_quiet) == pytest.approx(15.0, abs=0.2)  # relative to the signal, not fixed


def test_gain_factor_within_range():
    factors = []
    for x, y in run_copies("gain", range(20), min_factor=0.8, max_factor=1.2):
        factor = float(np.dot(x, y) / np.dot(x, x))
        np.testing.assert_allclose(y, factor * x, atol=1e-6)  # a pure scaling
        factors.append(factor)
    assert all(0.8 - 1e-6 <= f <= 1.2 + 1e-6 for f in factors), factors
    assert min(factors) < 0.9 and max(factors) > 1.1
    (x, y), = run_copies("gain", range(1), min_factor=0.8, max_factor=0.8)
    assert float(np.max(np.abs(y)) / np.max(np.abs(x))) == pytest.approx(0.8, rel=1e-5)


@pytest.mark.parametrize("semitones", [-2.0, 2.0])
def test_pitch_shift_moves_the_fundamental(semitones):
    (x, y), = run_copies("pitch_shift", range(1), min_semitones=semitones, max_semitones=semitones)
    assert len(y) == len(x)
    shift = 12 * np.log2(f0(y) / f0(x))
    assert shift == pytest.approx(semitones, abs=0.15)


def test_pitch_shift_draws_within_range():
    shifts = [12 * np.log2(f0(y) / f0(x)) for x, y in run_copies("pitch_shift", range(8),
                                                                  min_semitones=-2.0, max_semitones=2.0)]
    assert all(-2.15 <= s <= 2.15 for s in shifts), shifts
    assert max(shifts) - min(shifts) > 1.0


def test_all_probabilities_zero_is_identity_and_loud_copies_are_rescaled_not_clipped():
    x = tone(amp=0.9)
    np.testing.assert_array_equal(augment_clip(x, SR, build_pipeline(transform_config(OFF)), 1, "c", 1), x)
    y = augment_clip(x, SR, build_pipeline(only("gain", min_factor=1.2, max_factor=1.2)), 1, "c", 1)
    assert np.max(np.abs(y)) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(y, x / np.max(np.abs(x)), atol=1e-5)  # same shape, no flat tops


def test_transform_config_checks_ranges_and_ignores_copy_counts():
    gain_on = {**AUGMENT, "gain": {**AUGMENT["gain"], "p": 1.0}}
    spec = transform_config({**gain_on, "copies": 5, "per_class_copies": {"NEU": 9}})
    assert set(spec) == {"time_stretch", "pitch_shift", "gain", "noise"}
    assert spec["gain"] == {"p": 1.0, "min_factor": 0.8, "max_factor": 1.2}
    assert spec == transform_config({**gain_on, "copies": 2})
    with pytest.raises(ValueError, match=r"augment\.noise\.min_snr_db \(40\.0\) must not exceed augment\.noise\.max_snr_db"):
        transform_config({**AUGMENT, "noise": {"p": 0.5, "min_snr_db": 40.0, "max_snr_db": 10.0}})
    with pytest.raises(ValueError, match=r"augment\.gain: unknown key"):
        transform_config({**AUGMENT, "gain": {**AUGMENT["gain"], "min_db": 1.0}})
    with pytest.raises(ValueError, match=r"augment\.noise: missing key\(s\) p"):
        transform_config({**AUGMENT, "noise": {"min_snr_db": 10.0, "max_snr_db": 30.0}})


def test_transform_params_of_the_default_config_are_unchanged():
    """The augment jobs' `transforms` param (its repr: key order and float types included) must not
    change, or every finished augment job of every user reruns."""
    expected = ("{'time_stretch': {'p': 0.5, 'min_rate': 0.9, 'max_rate': 1.1}, "
                "'pitch_shift': {'p': 0.5, 'min_semitones': -2.0, 'max_semitones': 2.0}, "
                "'gain': {'p': 0.5, 'min_factor': 0.8, 'max_factor': 1.2}, "
                "'noise': {'p': 0.5, 'min_snr_db': 10.0, 'max_snr_db': 30.0}}")
    assert repr(transform_config(AUGMENT)) == expected


# --- how many copies ------------------------------------------------------------------------------
def test_copies_per_class_and_stable_lists_when_copies_grow():
    clips = pd.DataFrame({"clip_id": ["a", "b", "c", "d"], "label": ["ANG", "NEU", "SAD", "ANG"]})
    two = {"copies": 2, "per_class_copies": {"SAD": 4}}
    three = {"copies": 3, "per_class_copies": {"SAD": 4}}
    assert copies_for("ANG", two) == 2 and copies_for("SAD", two) == 4
    assert max_copies(two) == 4 and max_copies({"copies": 0}) == 0
    assert max_copies({"copies": 0, "per_class_copies": {"SAD": 2}}) == 2  # only the minority class
    for n in (1, 2):
        assert clips_needing_copy(clips, n, two) == clips_needing_copy(clips, n, three) == ["a", "b", "c", "d"]
    assert clips_needing_copy(clips, 3, two) == ["c"]
    assert clips_needing_copy(clips, 3, three) == ["a", "b", "c", "d"]
    assert clips_needing_copy(clips, 1, {"copies": 0}) == []
    check_per_class_labels(two, clips["label"])
    with pytest.raises(ValueError, match="unknown label.*SDA"):
        check_per_class_labels({"per_class_copies": {"SDA": 3}}, clips["label"])


def test_augment_shard_skips_rejected_clips_and_writes_empty_shards(shard, tmp_path):
    table_path, table = shard
    table.loc[table["clip_id"] == "c1", "reason"] = "too short"
    table.to_csv(table_path, sep="\t", index=False)
    augment_shard(table_path, ["c0", "c1"], 1, transform_config(AUGMENT), 42, SR, tmp_path / "a.npz")
    assert read_audio_shard(tmp_path / "a.npz")[0] == ["c0"]
    augment_shard(table_path, [], 1, transform_config(AUGMENT), 42, SR, tmp_path / "empty.npz")
    assert read_audio_shard(tmp_path / "empty.npz")[0] == []
    with pytest.raises(ValueError, match="not in the shard table"):
        augment_shard(table_path, ["zz"], 1, transform_config(AUGMENT), 42, SR, tmp_path / "b.npz")


# --- copies only train ----------------------------------------------------------------------------
def test_build_fold_keeps_copies_of_test_clips_out_of_training():
    ids = [f"s{s}_{i}" for s in range(6) for i in range(4)]
    manifest = pd.DataFrame({"clip_id": ids, "speaker": [c.split("_")[0] for c in ids],
                             "label": ["ANG", "NEU"] * 12})
    folds = pd.DataFrame({"clip_id": ids, "fold": [int(c[1]) % 3 for c in ids]})  # speaker-disjoint
    rng = np.random.default_rng(0)

    def variant(name, order):
        chosen = [ids[i] for i in order]
        return Variant(name, np.array(chosen), rng.standard_normal((len(chosen), 2, 3)))

    clean = variant("clean", range(len(ids)))
    # the augment stage makes copies of every clip (it does not know the folds), in any order
    copies = [variant("aug1", rng.permutation(len(ids))), variant("aug2", rng.permutation(len(ids))[:20])]
    for k in range(3):
        data = build_fold(k, folds, manifest, clean, copies)
        fold_k = set(folds.loc[folds["fold"] == k, "clip_id"])
        assert not fold_k & set(data.train_ids)  # no clean clip and no copy of a fold-k clip trains
        assert set(data.test_ids) == fold_k and len(data.test_ids) == len(fold_k)  # test: clean fold-k only
        rows = [list(clean.clip_ids).index(c) for c in data.test_ids]
        np.testing.assert_array_equal(data.X_test, clean.features[rows])
        for name, var in [("clean", clean), *[(c.name, c) for c in copies]]:
            mask = data.train_variants == name
            expected = [c for c in var.clip_ids if c not in fold_k]
            assert list(data.train_ids[mask]) == expected
            for cid, x in zip(data.train_ids[mask], data.X_train[mask]):
                np.testing.assert_array_equal(x, var.features[list(var.clip_ids).index(cid)])
        assert list(data.y_train) == list(manifest.set_index("clip_id").loc[data.train_ids, "label"])
        assert not set(data.groups_train) & {f"s{s}" for s in range(6) if s % 3 == k}
    everything = build_fold(None, folds, manifest, clean, copies)
    assert len(everything.test_ids) == 0 and len(everything.train_ids) == 24 + 24 + 20
    assert set(build_fold("1", folds, manifest, clean).test_ids) == set(build_fold(1, folds, manifest, clean).test_ids)
    with pytest.raises(ValueError, match="fold 7 has no clips"):
        build_fold(7, folds, manifest, clean, copies)


@pytest.mark.shared
def test_real_speech_copies_stay_within_ranges():
    from conftest import shared_path

    from speech_emotion.data.audio import load_audio

    files = sorted(shared_path("data", "cremad-sample", "AudioWAV").glob("*.wav"))
    assert len(files) == 12
    stretch = build_pipeline(only("time_stretch"))
    noise = build_pipeline(only("noise"))
    for i, path in enumerate(files):
        x = load_audio(path, SR)
        y = augment_clip(x, SR, stretch, 42, path.stem, 1)
        assert 1 / 1.1 - 1e-3 <= len(y) / len(x) <= 1 / 0.9 + 1e-3
        z = augment_clip(x, SR, noise, 42, path.stem, 1)
        snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((z - x).astype(np.float64) ** 2))
        assert 9.7 <= snr <= 30.3, (path.name, snr)
