"""Deterministic audio augmentation with audiomentations, configured from ``config['augment']``.

A copy depends only on (seed, clip id, copy index): each copy gets its own seed from a hash of the
three, and the global ``random`` / ``numpy.random`` generators that audiomentations draws from are
seeded with it and restored afterwards, so the result never depends on the order in which clips
are processed, on the other clips of a shard, or on anything else the process did before.

Copies only ever train (see :mod:`speech_emotion.data.splits`); this module just makes them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.audio import load_audio
from ..io.audio_store import write_audio_shard
from ..io.tables import read_table

log = logging.getLogger(__name__)

# The four transforms in pipeline-spec order, each with its (low, high) range keys. Their settings and
# defaults live in the config schema (workflow/schemas/config.schema.yaml) and config.yaml.
TRANSFORMS: dict[str, tuple[str, str]] = {
    "time_stretch": ("min_rate", "max_rate"),
    "pitch_shift": ("min_semitones", "max_semitones"),
    "gain": ("min_factor", "max_factor"),
    "noise": ("min_snr_db", "max_snr_db"),
}


# --- how many copies ----------------------------------------------------------------------------
def copies_for(label: str, augment: Mapping[str, Any]) -> int:
    """Copies of a clip with this label: ``per_class_copies[label]`` if set, else ``copies``."""
    per_class = augment.get("per_class_copies") or {}
    return int(per_class.get(str(label), augment.get("copies", 0)))


def max_copies(augment: Mapping[str, Any]) -> int:
    """N of the variants aug1..augN: ``max(copies, max(per_class_copies))`` (0: no augmentation)."""
    per_class = augment.get("per_class_copies") or {}
    return max([int(augment.get("copies", 0)), *(int(v) for v in per_class.values())])


def check_per_class_labels(augment: Mapping[str, Any], labels: Iterable[str]) -> None:
    """Raise ``ValueError`` when ``per_class_copies`` names a label the corpus does not have."""
    known = {str(label) for label in labels}
    unknown = sorted(set(augment.get("per_class_copies") or {}) - known)
    if unknown:
        raise ValueError(
            f"augment.per_class_copies: unknown label(s) {', '.join(unknown)}; "
            f"the corpus has {', '.join(sorted(known)) or 'no labels'}"
        )


def clips_needing_copy(clips: pd.DataFrame, copy: int, augment: Mapping[str, Any]) -> list[str]:
    """Sorted ids of the clips (columns clip_id, label) that get copy number ``copy`` (1-based).

    Depends on ``copies`` only through ``copies_for(label) >= copy``, so raising ``copies`` leaves
    the lists of the existing copies unchanged (and their jobs up to date).
    """
    if copy < 1:
        raise ValueError(f"copy index must be >= 1, got {copy}")
    wanted = [str(c) for c, label in zip(clips["clip_id"], clips["label"]) if copies_for(label, augment) >= copy]
    return sorted(wanted)


# --- transforms ---------------------------------------------------------------------------------
def transform_config(augment: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The transform part of ``augment`` (no ``copies``), as floats, checked.

    ``augment`` is the validated ``config['augment']``: every transform with ``p`` and its range
    (the defaults come from config.yaml and the schema). This, not the whole section, is what a
    copy depends on: changing ``copies`` or ``per_class_copies`` must not invalidate the copies
    that already exist. The one place that checks the ranges (``check_config`` calls it too).
    """
    spec: dict[str, dict[str, float]] = {}
    for name, (low, high) in TRANSFORMS.items():
        given = augment.get(name)
        keys = ("p", low, high)
        if not isinstance(given, Mapping):
            raise ValueError(f"augment.{name}: missing (a mapping with keys {', '.join(keys)})")
        unknown = sorted(set(given) - set(keys))
        if unknown:
            raise ValueError(f"augment.{name}: unknown key(s) {', '.join(unknown)} (known: {', '.join(keys)})")
        missing = [key for key in keys if key not in given]
        if missing:
            raise ValueError(f"augment.{name}: missing key(s) {', '.join(missing)}")
        section = {key: float(given[key]) for key in keys}
        if section[low] > section[high]:
            raise ValueError(
                f"augment.{name}.{low} ({section[low]}) must not exceed augment.{name}.{high} ({section[high]})"
            )
        if not 0.0 <= section["p"] <= 1.0:
            raise ValueError(f"augment.{name}.p must lie in [0, 1], got {section['p']}")
        spec[name] = section
    if spec["gain"]["min_factor"] <= 0:
        raise ValueError("augment.gain.min_factor must be > 0")
    return spec


def build_pipeline(spec: Mapping[str, Mapping[str, float]]) -> Any:
    """An audiomentations ``Compose`` (fixed order: stretch, pitch, gain, noise) from ``spec``.

    Time stretch changes the length (``leave_length_unchanged=False``: a copy is really slower
    or faster, not cropped or zero-padded). Gain factors become dB for ``Gain``. Noise comes last
    so its SNR is relative to the signal as it finally sounds.
    """
    from audiomentations import AddGaussianSNR, Compose, Gain, PitchShift, TimeStretch

    spec = transform_config(spec)
    ts, ps, gain, noise = spec["time_stretch"], spec["pitch_shift"], spec["gain"], spec["noise"]
    return Compose(
        [
            TimeStretch(min_rate=ts["min_rate"], max_rate=ts["max_rate"], leave_length_unchanged=False, p=ts["p"]),
            PitchShift(min_semitones=ps["min_semitones"], max_semitones=ps["max_semitones"], p=ps["p"]),
            Gain(
                min_gain_db=20.0 * math.log10(gain["min_factor"]),
                max_gain_db=20.0 * math.log10(gain["max_factor"]),
                p=gain["p"],
            ),
            AddGaussianSNR(min_snr_db=noise["min_snr_db"], max_snr_db=noise["max_snr_db"], p=noise["p"]),
        ],
        p=1.0,
        shuffle=False,
    )


# --- determinism --------------------------------------------------------------------------------
def copy_seed(seed: int, clip_id: str, copy: int) -> bytes:
    """32 bytes that depend only on (seed, clip id, copy index)."""
    return hashlib.sha256(f"{int(seed)}\x1f{clip_id}\x1f{int(copy)}".encode("utf-8")).digest()


@contextmanager
def seeded_global_rngs(key: bytes) -> Iterator[None]:
    """Seed ``random`` and ``numpy.random`` (what audiomentations draws from) from ``key``, then
    restore their previous states, so nothing outside leaks in and nothing inside leaks out."""
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        random.seed(int.from_bytes(key, "big"))
        np.random.seed(np.frombuffer(key, dtype=">u4").astype(np.uint32))
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def augment_clip(signal: np.ndarray, sample_rate: int, pipeline: Any, seed: int, clip_id: str, copy: int) -> np.ndarray:
    """Copy ``copy`` of one clip: mono float32; rescaled (not clipped) if it would exceed +-1."""
    samples = np.ascontiguousarray(signal, dtype=np.float32)
    with seeded_global_rngs(copy_seed(seed, clip_id, copy)):
        out = np.asarray(pipeline(samples=samples, sample_rate=sample_rate), dtype=np.float32)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > 1.0:
        out = out / peak
    return out


# --- one shard ----------------------------------------------------------------------------------
def augment_shard(
    shard_table: str | Path,
    clip_ids: Sequence[str],
    copy: int,
    transforms: Mapping[str, Any],
    seed: int,
    sample_rate: int,
    output: str | Path,
) -> dict[str, int]:
    """Write copy ``copy`` of the accepted ``clip_ids`` of one shard to ``output`` (audio_store).

    ``clip_ids`` are the shard's clips that get this copy (from the corpus and
    ``per_class_copies``); clips check_clips rejected are skipped. A clip id absent from the shard
    table is an error (the table is stale). An empty shard still gets a file.
    """
    table = read_table(shard_table)
    missing = {"clip_id", "path", "reason"} - set(table.columns)
    if missing:
        raise ValueError(f"{shard_table}: missing column(s) {', '.join(sorted(missing))}")
    rows = table.set_index("clip_id")
    unknown = sorted(set(clip_ids) - set(rows.index))
    if unknown:
        raise ValueError(f"{shard_table}: {len(unknown)} clip(s) not in the shard table, e.g. {unknown[:3]}")
    pipeline = build_pipeline(transforms)
    clips: dict[str, np.ndarray] = {}
    skipped = 0
    for clip_id in sorted(set(clip_ids)):
        if rows.at[clip_id, "reason"]:
            skipped += 1
            log.info("skip %s (rejected: %s)", clip_id, rows.at[clip_id, "reason"])
            continue
        signal = load_audio(rows.at[clip_id, "path"], sample_rate)
        clips[clip_id] = augment_clip(signal, sample_rate, pipeline, seed, clip_id, copy)
    write_audio_shard(output, clips, sample_rate)
    log.info("copy %d: wrote %d clips to %s (%d rejected clips skipped)", copy, len(clips), output, skipped)
    return {"written": len(clips), "skipped": skipped}
