"""Per-shard audio files for augmented copies: one compressed ``.npz`` of PCM16 per shard.

Layout: ``clip_ids`` (str, n), ``offsets`` (int64, n + 1), ``audio`` (int16, all clips
concatenated), ``sample_rate`` (int). Clip ``i`` is ``audio[offsets[i]:offsets[i + 1]]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .files import atomic_path


def write_audio_shard(path: str | Path, clips: Mapping[str, np.ndarray], sample_rate: int) -> None:
    """Write float audio in [-1, 1] (clipped) as PCM16, atomically, in the order given."""
    ids = list(clips)
    pcm = [np.round(np.clip(clips[c], -1.0, 1.0) * 32767.0).astype(np.int16) for c in ids]
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in pcm])
    audio = np.concatenate(pcm) if pcm else np.zeros(0, dtype=np.int16)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(
            tmp, clip_ids=np.array(ids, dtype=str), offsets=offsets, audio=audio, sample_rate=np.int64(sample_rate)
        )


def read_audio_shard(path: str | Path) -> tuple[list[str], list[np.ndarray], int]:
    """Clip ids, float32 signals and the sample rate of an audio shard."""
    with np.load(path, allow_pickle=False) as data:
        ids = [str(c) for c in data["clip_ids"]]
        offsets = data["offsets"]
        audio = data["audio"].astype(np.float32) / 32767.0
        rate = int(data["sample_rate"])
    return ids, [audio[offsets[i] : offsets[i + 1]] for i in range(len(ids))], rate
