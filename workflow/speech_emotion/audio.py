"""The one audio loader of the project: any readable file -> mono float32 at a fixed rate."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


class AudioError(ValueError):
    """A clip that cannot be used; ``reason`` is a short phrase for rejected.tsv."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class ClipInfo:
    """What the manifest records of a readable clip (as stored on disk, before conversion)."""

    duration_s: float
    sample_rate: int
    channels: int


def _read(path: str | Path) -> tuple[np.ndarray, int]:
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "missing file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        message = str(exc).lower()
        if "format not recognised" in message or "unknown format" in message:
            raise AudioError(path, "not audio (format not recognised)") from exc
        raise AudioError(path, f"unreadable audio ({exc})") from exc
    except (RuntimeError, ValueError, TypeError) as exc:
        raise AudioError(path, f"unreadable audio ({exc})") from exc
    return data, int(rate)


def to_mono(data: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) by averaging channels."""
    return data.mean(axis=1) if data.ndim == 2 else data


def resample(signal: np.ndarray, orig_rate: int, rate: int) -> np.ndarray:
    """High-quality resampling (soxr) of a mono float32 signal."""
    if orig_rate == rate:
        return signal.astype(np.float32, copy=False)
    import librosa

    return librosa.resample(signal, orig_sr=orig_rate, target_sr=rate, res_type="soxr_hq").astype(np.float32)


_WAV_DATA_SIZE = re.compile(r"^data\s*:\s*(\d+) \(should be (\d+)\)", re.MULTILINE)


def _check_not_truncated(path: str | Path) -> None:
    """A WAV whose data chunk declares more bytes than the file holds was cut short (libsndfile
    would silently read the part that is there). Streaming placeholders (0, 0xFFFFFFFF) are fine."""
    try:
        log = sf.info(str(path)).extra_info
    except (sf.LibsndfileError, RuntimeError):
        return
    match = _WAV_DATA_SIZE.search(log)
    if match:
        declared, present = int(match.group(1)), int(match.group(2))
        if 0 < declared < 0xFFFFFFF0 and present + 1 < declared:
            raise AudioError(path, f"truncated file (data chunk declares {declared} bytes, {present} present)")


def inspect_clip(path: str | Path, min_seconds: float = 0.0) -> ClipInfo:
    """Open and check a clip; raise :class:`AudioError` with the reason it cannot be used."""
    data, rate = _read(path)
    _check_not_truncated(path)
    frames, channels = data.shape
    if frames == 0:
        raise AudioError(path, "no audio samples")
    if not np.isfinite(data).all():
        raise AudioError(path, "contains NaN or infinite samples")
    if not np.any(data):
        raise AudioError(path, "silent (all samples are zero)")
    duration = frames / rate
    if duration < min_seconds:
        raise AudioError(path, f"too short ({duration:.3f} s < audio.min_seconds = {min_seconds} s)")
    return ClipInfo(duration_s=round(duration, 4), sample_rate=rate, channels=channels)


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Read a clip as mono float32 at ``sample_rate`` (stereo is averaged, other rates resampled)."""
    data, rate = _read(path)
    if data.shape[0] == 0:
        raise AudioError(path, "no audio samples")
    signal = to_mono(data)
    if not np.isfinite(signal).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return resample(signal, rate, sample_rate)
