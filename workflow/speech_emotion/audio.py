"""The one audio loader of the project: any readable file -> mono float32 at a fixed rate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Check that ``path`` is a non-empty file and turn soundfile's errors into :class:`AudioError`."""
    if not path.is_file():
        raise AudioError(path, "missing file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        yield
    except sf.LibsndfileError as exc:
        message = str(exc).lower()
        if "format not recognised" in message or "unknown format" in message:
            raise AudioError(path, "not audio (format not recognised)") from exc
        raise AudioError(path, f"unreadable audio ({exc})") from exc
    except (RuntimeError, ValueError, TypeError) as exc:
        raise AudioError(path, f"unreadable audio ({exc})") from exc


def _read(path: str | Path) -> tuple[np.ndarray, int]:
    path = Path(path)
    with _reading(path):
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
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


# --- long files: block reads, memory bounded -----------------------------------------------------


def _checked_mono(path: str | Path, data: np.ndarray) -> np.ndarray:
    signal = to_mono(data)
    if not np.isfinite(signal).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return signal


def audio_seconds(path: str | Path) -> float:
    """Duration of a file as stored (header only; nothing is decoded)."""
    path = Path(path)
    with _reading(path):
        info = sf.info(str(path))
    if info.frames <= 0:
        raise AudioError(path, "no audio samples")
    return info.frames / info.samplerate


def iter_blocks(path: str | Path, sample_rate: int = 16000, block_seconds: float = 30.0) -> Iterator[np.ndarray]:
    """A file as consecutive mono float32 blocks at ``sample_rate``, read ``block_seconds`` at a time.

    Memory stays bounded by one block whatever the file's length. Resampling runs as one stream
    (soxr, the resampler of :func:`resample`), so the concatenated blocks equal the whole file
    resampled at once, up to the resampler's float precision.
    """
    path = Path(path)
    with _reading(path):
        with sf.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            stream = None
            if rate != sample_rate:
                import soxr

                stream = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
            frames = max(1, int(block_seconds * rate))
            while True:
                data = handle.read(frames, dtype="float32", always_2d=True)
                last = len(data) < frames
                signal = _checked_mono(path, data)
                if stream is not None:
                    signal = stream.resample_chunk(signal, last=last)
                if len(signal):
                    yield signal.astype(np.float32, copy=False)
                if last:
                    return


def read_span(path: str | Path, start_s: float, end_s: float, sample_rate: int = 16000) -> np.ndarray:
    """Samples between ``start_s`` and ``end_s`` of a file, mono float32 at ``sample_rate``
    (only that span is read)."""
    path = Path(path)
    with _reading(path):
        with sf.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            start = max(0, int(round(start_s * rate)))
            stop = min(handle.frames, int(round(end_s * rate)))
            handle.seek(start)
            data = handle.read(max(0, stop - start), dtype="float32", always_2d=True)
    if len(data) == 0:
        raise AudioError(path, f"no audio samples between {start_s:.3f} s and {end_s:.3f} s")
    return resample(_checked_mono(path, data), rate, sample_rate)
