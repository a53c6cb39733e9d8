"""The one audio loader of the project: any readable file -> mono float32 at a fixed rate.

:func:`check_samples` is the one clip check (no samples, NaN or infinite samples, silent, too
short) and :func:`open_clip` the one way to open a clip with it (unreadable, missing, empty, not
audio, truncated; other rates and channels converted): the workflow's rule check_clips
(:func:`speech_emotion.data.datasets.check_shard`) and ``speech-emotion predict`` / the Python API
(:mod:`speech_emotion.predict.api`, whole files, signals in memory and segments) reject the same clips with
the same reasons.

Decoders inside libsndfile (mpg123 for MP3) write notes such as ``Illegal Audio-MPEG-Header``
straight to the process's stderr; they are kept off it unless :func:`decoder_messages` lets them
through (``speech-emotion predict --verbose``).
"""

from __future__ import annotations

import os
import re
import sys
import threading
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


# --- decoder messages ------------------------------------------------------------------------------

_quiet_lock = threading.Lock()
_quiet_state = {"show": False, "depth": 0, "saved": -1}


@contextmanager
def decoder_messages(show: bool) -> Iterator[None]:
    """Let the decoders' own stderr notes through (``show=True``) or keep them off (the default)
    inside the block; the previous setting is restored afterwards."""
    before = _quiet_state["show"]
    _quiet_state["show"] = bool(show)
    try:
        yield
    finally:
        _quiet_state["show"] = before


@contextmanager
def _quiet_decoder() -> Iterator[None]:
    """File descriptor 2 points to /dev/null inside the block (the decoders write there from C,
    past Python's sys.stderr); nested and concurrent blocks share one redirection."""
    if _quiet_state["show"]:
        yield
        return
    with _quiet_lock:
        if _quiet_state["depth"] == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError, OSError):
                pass
            try:
                saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            except OSError:  # no file descriptor 2 to redirect: nothing to hide
                saved = -1
            _quiet_state["saved"] = saved
        _quiet_state["depth"] += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_state["depth"] -= 1
            if _quiet_state["depth"] == 0 and _quiet_state["saved"] >= 0:
                os.dup2(_quiet_state["saved"], 2)
                os.close(_quiet_state["saved"])
                _quiet_state["saved"] = -1


# --- reading and checking --------------------------------------------------------------------------

_NOT_AUDIO = ("format not recognised", "unknown format", "not a regular file", "possibly a pipe")


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Check that ``path`` is a non-empty file and turn soundfile's errors into :class:`AudioError`.

    libsndfile says "File does not exist or is not a regular file" when no decoder accepts a file
    that does exist (a text file named .mp3): that is "not audio" too."""
    if not path.is_file():
        raise AudioError(path, "missing file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        yield
    except sf.LibsndfileError as exc:
        message = str(exc).lower()
        if any(text in message for text in _NOT_AUDIO):
            raise AudioError(path, "not audio (format not recognised)") from exc
        raise AudioError(path, f"unreadable audio ({exc})") from exc
    except (RuntimeError, ValueError, TypeError) as exc:
        raise AudioError(path, f"unreadable audio ({exc})") from exc


def _read(path: str | Path) -> tuple[np.ndarray, int]:
    path = Path(path)
    with _reading(path), _quiet_decoder():
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
        with _quiet_decoder():
            log = sf.info(str(path)).extra_info
    except (sf.LibsndfileError, RuntimeError):
        return
    match = _WAV_DATA_SIZE.search(log)
    if match:
        declared, present = int(match.group(1)), int(match.group(2))
        if 0 < declared < 0xFFFFFFF0 and present + 1 < declared:
            raise AudioError(path, f"truncated file (data chunk declares {declared} bytes, {present} present)")


def check_samples(name: str | Path, data: np.ndarray, rate: int, min_seconds: float = 0.0) -> ClipInfo:
    """The clip check of the project: raise :class:`AudioError` (``reason``: no audio samples,
    contains NaN or infinite samples, silent, too short) for samples a model must not label.

    ``data``: (frames, channels) as stored, or a 1-D mono signal; ``rate`` its sample rate. The
    workflow's clip check (:func:`open_clip`, rule check_clips) and predict (files, signals in
    memory, segments) all call it, so they reject the same clips with the same reasons.
    """
    data = np.asarray(data)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise AudioError(name, f"expected a 1-D mono signal, got an array of shape {data.shape}")
    frames, channels = data.shape
    if frames == 0:
        raise AudioError(name, "no audio samples")
    if not np.isfinite(data).all():
        raise AudioError(name, "contains NaN or infinite samples")
    if not np.any(data):
        raise AudioError(name, "silent (all samples are zero)")
    duration = frames / rate
    if duration < min_seconds:
        raise AudioError(name, f"too short ({duration:.3f} s < audio.min_seconds = {min_seconds} s)")
    return ClipInfo(duration_s=round(duration, 4), sample_rate=int(rate), channels=channels)


def open_clip(path: str | Path, min_seconds: float = 0.0, sample_rate: int | None = None) -> tuple[ClipInfo, np.ndarray | None]:
    """Open and check a clip: raise :class:`AudioError` with the reason it cannot be used (missing,
    empty, not audio, unreadable, truncated, then :func:`check_samples`). Returns what the manifest
    records of it and, with ``sample_rate``, the clip as mono float32 at that rate (stereo
    averaged, other rates resampled), else None."""
    data, rate = _read(path)
    _check_not_truncated(path)
    info = check_samples(path, data, rate, min_seconds)
    return info, (None if sample_rate is None else resample(to_mono(data), rate, sample_rate))


def inspect_clip(path: str | Path, min_seconds: float = 0.0) -> ClipInfo:
    """Open and check a clip (:func:`open_clip`, without keeping the samples)."""
    return open_clip(path, min_seconds)[0]


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
    with _reading(path), _quiet_decoder():
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
        with _quiet_decoder():  # not across the yields below: stderr is the caller's between blocks
            handle = sf.SoundFile(str(path))
        with handle:
            rate = int(handle.samplerate)
            stream = None
            if rate != sample_rate:
                import soxr

                stream = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
            frames = max(1, int(block_seconds * rate))
            while True:
                with _quiet_decoder():
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
    with _reading(path), _quiet_decoder():
        with sf.SoundFile(str(path)) as handle:
            rate = int(handle.samplerate)
            start = max(0, int(round(start_s * rate)))
            stop = min(handle.frames, int(round(end_s * rate)))
            handle.seek(start)
            data = handle.read(max(0, stop - start), dtype="float32", always_2d=True)
    if len(data) == 0:
        raise AudioError(path, f"no audio samples between {start_s:.3f} s and {end_s:.3f} s")
    return resample(_checked_mono(path, data), rate, sample_rate)
