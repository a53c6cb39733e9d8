"""Segments of long recordings: voice-activity regions or fixed windows, and time shares per emotion.

A recording is read through a :class:`FileSource` (block reads: memory stays bounded whatever the
file's length) or an :class:`ArraySource` (a signal already in memory). Two ways to cut it:

- ``vad``: speech regions found by Silero VAD (the ``silero-vad`` package, which ships its model;
  it runs offline on CPU: its ONNX model with ONNX Runtime, no torch needed, or where ONNX Runtime
  is not installed its TorchScript model; :mod:`speech_emotion.predict.vad` says why), then tidied
  to lengths a model trained on short clips can label:
  a region longer than ``max_seconds`` is cut into the fewest equal parts, one shorter than
  ``min_seconds`` is widened (symmetrically, into the silence around it) to that length.
- ``fixed``: windows of ``window`` seconds every ``hop`` seconds; the last window ends at the end
  of the recording, so no tail is left out.

Defaults (:class:`SegmentSettings`), chosen by reasoning, not tuned on any test data:
- ``max_seconds`` 6: the training clips of acted corpora are 1-5 s (CREMA-D 1.3-5 s, URDU 1-3 s);
  a segment much longer than any training clip averages over more than one expression and is
  an input the classifier never saw. Silero cuts an over-long region at its longest pause.
- ``min_seconds`` 1: a mean/std pooled over fewer frames (well under the shortest training
  clip) is noisy; short bursts get context rather than being dropped.
- ``min_silence`` 0.5 s: a pause at least this long ends a segment; shorter pauses are the
  breathing and hesitation inside a sentence, across which emotion rarely changes.
- ``speech_pad`` 0.1 s on each side (Silero's default is 0.03 s): onsets and offsets carry much
  of the prosody, and training clips have some silence around the speech.
- ``threshold`` 0.5, Silero's own default; regions under 0.25 s (clicks, coughs; Silero's
  ``min_speech_duration_ms``) are not speech.
- ``window`` 3 s, ``hop`` 1.5 s for fixed windows: about one training clip per window, each
  instant covered by two windows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.audio import AudioError, audio_seconds, check_samples, iter_blocks, load_audio, open_clip, read_span, resample
from .vad import VAD_FRAME, VAD_RATE, OnnxVad, TorchVad, load_vad, speech_timestamps

MODES = ("vad", "fixed")
BLOCK_SECONDS = 30.0  # block length of the streaming reads


@dataclass(frozen=True)
class SegmentSettings:
    """How a recording is cut (see the module docstring for the defaults' reasons)."""

    mode: str = "vad"
    window: float = 3.0
    hop: float = 1.5
    min_seconds: float = 1.0
    max_seconds: float = 6.0
    min_silence: float = 0.5
    speech_pad: float = 0.1
    threshold: float = 0.5
    min_speech: float = 0.25

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"segment mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        for name in ("window", "hop", "max_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"segment {name} must be > 0 (got {getattr(self, name)})")
        if not 0 <= self.min_seconds <= self.max_seconds:
            raise ValueError(f"segment min_seconds ({self.min_seconds}) must lie in [0, max_seconds = {self.max_seconds}]")
        if not 0 < self.threshold < 1:
            raise ValueError(f"VAD threshold must lie in (0, 1) (got {self.threshold})")


# --- sources: where the samples come from ----------------------------------------------------------


class FileSource:
    """An audio file read in blocks or spans, never whole (see :mod:`speech_emotion.data.audio`)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.seconds = audio_seconds(self.path)

    def blocks(self, rate: int, seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
        return iter_blocks(self.path, rate, seconds)

    def read(self, start: float, end: float, rate: int) -> np.ndarray:
        return read_span(self.path, start, end, rate)

    def load(self, rate: int) -> np.ndarray:
        return load_audio(self.path, rate)

    def checked(self, rate: int, min_seconds: float = 0.0) -> np.ndarray:
        """The whole file, opened and checked as the workflow checks its clips
        (:func:`speech_emotion.data.audio.open_clip`), mono float32 at ``rate``."""
        return open_clip(self.path, min_seconds, rate)[1]


class ArraySource:
    """A mono signal already in memory, at ``rate`` Hz."""

    def __init__(self, signal: np.ndarray, rate: int, name: str = "signal"):
        signal = np.asarray(signal, dtype=np.float32)
        if signal.ndim != 1:
            raise AudioError(name, f"expected a 1-D mono signal, got an array of shape {signal.shape}")
        if signal.size == 0:
            raise AudioError(name, "no audio samples")
        if not np.isfinite(signal).all():
            raise AudioError(name, "contains NaN or infinite samples")
        self.signal, self.rate, self.name = signal, int(rate), name
        self.seconds = len(signal) / self.rate
        self._cache: dict[int, np.ndarray] = {}

    def load(self, rate: int) -> np.ndarray:
        if rate not in self._cache:
            self._cache[rate] = resample(self.signal, self.rate, rate)
        return self._cache[rate]

    def checked(self, rate: int, min_seconds: float = 0.0) -> np.ndarray:
        """The signal checked as the workflow checks its clips
        (:func:`speech_emotion.data.audio.check_samples`), at ``rate``."""
        check_samples(self.name, self.signal, self.rate, min_seconds)
        return self.load(rate)

    def blocks(self, rate: int, seconds: float = BLOCK_SECONDS) -> Iterator[np.ndarray]:
        signal = self.load(rate)
        step = max(1, int(seconds * rate))
        for start in range(0, len(signal), step):
            yield signal[start : start + step]

    def read(self, start: float, end: float, rate: int) -> np.ndarray:
        signal = self.load(rate)
        return signal[max(0, int(round(start * rate))) : int(round(end * rate))]


# --- cutting ------------------------------------------------------------------------------------------


def fixed_windows(seconds: float, window: float, hop: float) -> list[tuple[float, float]]:
    """Windows ``[k * hop, k * hop + window]`` inside ``[0, seconds]``, and no tail left out: a tail
    of more than half a hop gets one more window ending at ``seconds``; a shorter tail moves the
    last window to end there. A recording shorter than ``window`` is one segment."""
    if seconds <= window:
        return [(0.0, round(seconds, 6))]
    count = int(math.floor((seconds - window) / hop + 1e-9)) + 1
    out = [(k * hop, k * hop + window) for k in range(count)]
    tail = seconds - out[-1][1]
    if tail > hop / 2:
        out.append((seconds - window, seconds))
    elif tail > 1e-9:
        out[-1] = (seconds - window, seconds)
    return [(round(s, 6), round(e, 6)) for s, e in out]


def tidy_segments(
    regions: Sequence[tuple[float, float]], seconds: float, min_seconds: float, max_seconds: float
) -> list[tuple[float, float]]:
    """Regions cut to at most ``max_seconds`` (fewest equal parts) and widened to ``min_seconds``.

    Widening is symmetric, into the silence around a region, never past a neighbour or the
    recording's ends (a region hemmed in stays shorter).
    """
    parts: list[tuple[float, float]] = []
    for start, end in sorted(regions):
        start, end = max(0.0, start), min(seconds, end)
        if end <= start:
            continue
        count = max(1, math.ceil((end - start) / max_seconds - 1e-9))
        size = (end - start) / count
        parts += [(start + k * size, start + (k + 1) * size) for k in range(count)]
    out: list[tuple[float, float]] = []
    for i, (start, end) in enumerate(parts):
        missing = min_seconds - (end - start)
        if missing > 0:
            low = out[-1][1] if out else 0.0
            high = parts[i + 1][0] if i + 1 < len(parts) else seconds
            start, end = start - missing / 2, end + missing / 2
            if start < low:
                start, end = low, min(high, end + (low - start))
            if end > high:
                start, end = max(low, start - (end - high)), high
        out.append((start, end))
    return [(round(s, 6), round(e, 6)) for s, e in out]


def speech_probabilities(blocks: Iterable[np.ndarray], model: OnnxVad | TorchVad) -> np.ndarray:
    """Silero's speech probability for every 512-sample frame of a 16 kHz stream given in blocks of
    any length (the model keeps its state across frames; the last frame is zero-padded);
    ``model``: a :func:`load_vad` model."""
    model.reset_states()
    probs: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float32)
    for block in blocks:
        data = np.concatenate([carry, np.asarray(block, dtype=np.float32)])
        whole = len(data) // VAD_FRAME * VAD_FRAME
        if whole:
            probs.append(model.run(data[:whole].reshape(-1, VAD_FRAME)))
        carry = data[whole:]
    if len(carry):
        probs.append(model.run(np.pad(carry, (0, VAD_FRAME - len(carry)))[None]))
    return np.concatenate(probs).astype(np.float32) if probs else np.zeros(0, dtype=np.float32)


def speech_regions(probs: np.ndarray, seconds: float, settings: SegmentSettings) -> list[tuple[float, float]]:
    """Speech regions (seconds) from frame probabilities, by Silero's own hysteresis rules
    (:func:`speech_emotion.predict.vad.speech_timestamps`, its function without torch)."""
    found = speech_timestamps(
        np.asarray(probs, dtype=np.float32).tolist(),
        sampling_rate=VAD_RATE,
        threshold=settings.threshold,
        min_speech_duration_ms=int(settings.min_speech * 1000),
        max_speech_duration_s=settings.max_seconds,
        min_silence_duration_ms=int(settings.min_silence * 1000),
        speech_pad_ms=int(settings.speech_pad * 1000),
        audio_length_samples=int(round(seconds * VAD_RATE)),
    )
    return [(start / VAD_RATE, end / VAD_RATE) for start, end in found]


def plan_segments(
    source: FileSource | ArraySource, settings: SegmentSettings, vad: OnnxVad | TorchVad | None = None
) -> list[tuple[float, float]]:
    """The segments (start, end in seconds) of one recording; ``vad``: a :func:`load_vad` model
    (loaded here if not given)."""
    if settings.mode == "fixed":
        return fixed_windows(source.seconds, settings.window, settings.hop)
    probs = speech_probabilities(source.blocks(VAD_RATE), vad if vad is not None else load_vad())
    regions = speech_regions(probs, source.seconds, settings)
    return tidy_segments(regions, source.seconds, settings.min_seconds, settings.max_seconds)


# --- time shares ---------------------------------------------------------------------------------------


def owned_spans(starts: Sequence[float], ends: Sequence[float]) -> list[tuple[float, float]]:
    """The part of the time line each segment stands for: where consecutive segments overlap (fixed
    windows with hop < window), the overlap is split at its middle, so the spans never overlap
    and cover exactly the union of the segments. Segments must be sorted by start."""
    spans = []
    for i, (start, end) in enumerate(zip(starts, ends)):
        if i > 0 and start < ends[i - 1]:
            start = (start + ends[i - 1]) / 2
        if i + 1 < len(starts) and starts[i + 1] < end:
            end = (starts[i + 1] + end) / 2
        spans.append((start, end))
    return spans


def time_shares(table: pd.DataFrame, labels: Sequence[str], key: str = "file", target: str | None = None) -> pd.DataFrame:
    """Per recording: ``seconds`` covered by segments, ``segments``, ``share_<label>`` (the share of
    that time whose segment got the label; each segment counts for its :func:`owned_spans`),
    and ``error`` (a recording that failed gets no shares). With a regressor's ``target`` (column of
    predicted values), ``mean_<target>``: the values' mean weighted by the same time."""
    rows = []
    for name, group in table.groupby(key, sort=False):
        row: dict[str, Any] = {key: name, "seconds": 0.0, "segments": 0}
        good = group[group["error"].isna()].sort_values("start") if "error" in group else group.sort_values("start")
        errors = [str(e) for e in group.get("error", pd.Series(dtype=object)).dropna()]
        spans = owned_spans(good["start"].tolist(), good["end"].tolist())
        lengths = np.array([e - s for s, e in spans], dtype=float)
        total = float(lengths.sum())
        row["seconds"], row["segments"] = round(total, 3), int(len(good))
        for label in labels:
            share = lengths[(good["label"] == label).to_numpy()].sum() / total if total > 0 else np.nan
            row[f"share_{label}"] = round(float(share), 6) if total > 0 else np.nan
        if target:
            mean = (lengths * good[target].to_numpy(dtype=float)).sum() / total if total > 0 else np.nan
            row[f"mean_{target}"] = round(float(mean), 6) if total > 0 else np.nan
        row["error"] = "; ".join(errors) if errors else None
        rows.append(row)
    means = [f"mean_{target}"] if target else []
    return pd.DataFrame(rows, columns=[key, "seconds", "segments", *[f"share_{l}" for l in labels], *means, "error"])
