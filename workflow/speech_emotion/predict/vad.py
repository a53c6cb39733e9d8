"""Silero VAD without torch: its ONNX model run with ONNX Runtime, and its timestamps step in plain Python.

The ``silero-vad`` package ships the same network twice: TorchScript (``silero_vad.jit``, what
``load_silero_vad()`` loads) and ONNX (``silero_vad/data/silero_vad.onnx``). Importing the package
(or any of its modules: ``silero_vad/__init__.py`` and ``utils_vad.py`` import torch at once) needs
torch, so here the ONNX file is found through the package's import spec without importing it
(:func:`onnx_model_path`), and run as Silero's own ``OnnxWrapper`` runs it (:class:`OnnxVad`):
per 512-sample frame at 16 kHz, the last 64 samples of the previous input prepended (zeros
before the first frame), the recurrent state (2, 1, 128) fed back. :func:`speech_timestamps` is
Silero's ``get_speech_timestamps_from_probs`` (silero-vad 6.2.3) line for line, without torch.

:func:`load_vad` gives the ONNX model wherever ONNX Runtime is installed, torch or not, and the
TorchScript model (:class:`TorchVad`) only where ONNX Runtime is not. Reasons: on real speech
(tests/test_segments.py: the 12 CREMA-D clips and a recording of them joined by pauses) the two
models' frame probabilities agree within 2e-6 and give identical speech regions and segments, so
one default gives the workflow model and its exported folder the same segments; the ONNX model
is about three times faster (0.16 s against 0.45 s for 41 s of audio, one thread: less overhead
per call); and it is the one path the torch-free predictor can run. The probabilities are not
bit-identical, so a frame whose probability lies within ~1e-6 of a threshold could in principle
fall on different sides in the two.

Both runners take frames in the same interface: ``reset_states()``, then ``run(frames)`` on
consecutive (n, 512) float32 blocks, the state carried across calls.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

VAD_RATE = 16000  # Silero VAD runs at 16 kHz on frames of 512 samples
VAD_FRAME = 512
VAD_CONTEXT = 64  # samples of the previous input its ONNX wrapper prepends to each frame (16 kHz)
STATE_SHAPE = (2, 1, 128)
ONNX_FILE = "silero_vad.onnx"  # opset 16, 8 and 16 kHz: what load_silero_vad(onnx=True) loads
BACKENDS = ("auto", "onnx", "torchscript")
INSTALL = ("--segment vad needs Silero VAD's model, shipped by the silero-vad package (where torch is not "
           "wanted: `pip install --no-deps silero-vad` beside onnxruntime)")


def onnx_model_path() -> Path:
    """``silero_vad/data/silero_vad.onnx`` of the installed silero-vad package, found without importing
    the package (its ``__init__`` imports torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{INSTALL}: the silero_vad package is not installed")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / ONNX_FILE
        if path.is_file():
            return path
    raise ImportError(f"{INSTALL}: the installed silero_vad has no data/{ONNX_FILE}")


class OnnxVad:
    """Silero VAD's ONNX model with numpy and ONNX Runtime (one thread: a frame is tiny)."""

    kind = "onnx"

    def __init__(self, path: str | Path | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = Path(path) if path is not None else onnx_model_path()
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._rate = np.array(VAD_RATE, dtype=np.int64)
        self.reset_states()

    def reset_states(self) -> None:
        self._state = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(VAD_CONTEXT, dtype=np.float32)

    def run(self, frames: np.ndarray) -> np.ndarray:
        """Speech probabilities of consecutive frames (n, 512), continuing from the previous call."""
        frames = np.asarray(frames, dtype=np.float32).reshape(-1, VAD_FRAME)
        out = np.empty(len(frames), dtype=np.float32)
        window = np.empty((1, VAD_CONTEXT + VAD_FRAME), dtype=np.float32)
        for i, frame in enumerate(frames):
            window[0, :VAD_CONTEXT] = self._context
            window[0, VAD_CONTEXT:] = frame
            prob, self._state = self.session.run(None, {"input": window, "state": self._state, "sr": self._rate})
            out[i] = prob[0, 0]
            self._context = window[0, -VAD_CONTEXT:].copy()
        return out


class TorchVad:
    """Silero VAD's TorchScript model (``load_silero_vad()``, CPU, run on one torch thread). Importing
    ``silero_vad`` sets torch's thread count to 1 for the whole process; the previous count is restored."""

    kind = "torchscript"

    def __init__(self) -> None:
        import torch

        threads = torch.get_num_threads()
        try:
            from silero_vad import load_silero_vad
        finally:
            torch.set_num_threads(threads)
        with warnings.catch_warnings():  # its loader uses APIs that importlib and torch.jit mark deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            self.model = load_silero_vad()

    def reset_states(self) -> None:
        self.model.reset_states()

    def run(self, frames: np.ndarray) -> np.ndarray:
        import torch

        frames = np.asarray(frames, dtype=np.float32).reshape(-1, VAD_FRAME)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny frames: thread hand-offs would cost far more than they save
        try:
            with torch.inference_mode():
                return np.array([float(self.model(torch.from_numpy(f), VAD_RATE)) for f in frames], dtype=np.float32)
        finally:
            torch.set_num_threads(threads)


def load_vad(backend: str = "auto") -> OnnxVad | TorchVad:
    """Silero VAD: ``onnx``, ``torchscript``, or ``auto`` (ONNX where ONNX Runtime is installed, else
    TorchScript; see the module docstring for why)."""
    if backend not in BACKENDS:
        raise ValueError(f"VAD backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "auto":
        backend = "onnx" if importlib.util.find_spec("onnxruntime") is not None else "torchscript"
    if backend == "onnx":
        return OnnxVad()
    try:
        return TorchVad()
    except ImportError as exc:
        raise ImportError(f"{INSTALL}, and onnxruntime (or torch) to run it: {exc}; "
                          "--segment fixed and whole files run without it") from exc


def speech_timestamps(
    speech_probs: Sequence[float],
    sampling_rate: int = 16000,
    threshold: float = 0.5,
    min_speech_duration_ms: int = 250,
    max_speech_duration_s: float = float("inf"),
    min_silence_duration_ms: int = 100,
    speech_pad_ms: int = 30,
    neg_threshold: float | None = None,
    min_silence_at_max_speech: int = 98,
    use_max_poss_sil_at_max_speech: bool = True,
    audio_length_samples: int | None = None,
) -> list[tuple[int, int]]:
    """Speech regions (start, end in samples) from per-frame speech probabilities: Silero's
    ``get_speech_timestamps_from_probs`` (silero-vad 6.2.3, same arguments and defaults, results in
    samples), copied because its module imports torch. Hysteresis: speech starts at a frame
    >= ``threshold`` and ends after ``min_silence_duration_ms`` below ``neg_threshold`` (default
    ``threshold - 0.15``); speech longer than ``max_speech_duration_s`` is cut at its longest pause
    (or, without ``use_max_poss_sil_at_max_speech``, its last); regions are padded by ``speech_pad_ms``
    (half the gap where two regions are closer than twice that)."""
    window_size_samples = 512 if sampling_rate == 16000 else 256
    if audio_length_samples is None:
        audio_length_samples = len(speech_probs) * window_size_samples

    min_speech_samples = sampling_rate * min_speech_duration_ms / 1000
    speech_pad_samples = sampling_rate * speech_pad_ms / 1000
    max_speech_samples = sampling_rate * max_speech_duration_s - window_size_samples - 2 * speech_pad_samples
    min_silence_samples = sampling_rate * min_silence_duration_ms / 1000
    min_silence_samples_at_max_speech = sampling_rate * min_silence_at_max_speech / 1000

    triggered = False
    speeches: list[dict[str, Any]] = []
    current_speech: dict[str, Any] = {}
    if neg_threshold is None:
        neg_threshold = max(threshold - 0.15, 0.01)
    temp_end = 0  # a possible end of the current speech (silence tolerated until it is long enough)
    prev_end = next_start = 0  # limits kept for a cut of over-long speech
    possible_ends: list[tuple[int, float]] = []

    for i, speech_prob in enumerate(speech_probs):
        cur_sample = window_size_samples * i

        # speech again after a possible end: remember that pause if long enough
        if (speech_prob >= threshold) and temp_end:
            sil_dur = cur_sample - temp_end
            if sil_dur > min_silence_samples_at_max_speech:
                possible_ends.append((temp_end, sil_dur))
            temp_end = 0
            if next_start < prev_end:
                next_start = cur_sample

        # start of speech
        if (speech_prob >= threshold) and not triggered:
            triggered = True
            current_speech["start"] = cur_sample
            continue

        # the longest speech reached: cut
        if triggered and (cur_sample - current_speech["start"] > max_speech_samples):
            if use_max_poss_sil_at_max_speech and possible_ends:
                prev_end, dur = max(possible_ends, key=lambda x: x[1])  # the longest pause
                current_speech["end"] = prev_end
                speeches.append(current_speech)
                current_speech = {}
                next_start = prev_end + dur
                if next_start < prev_end + cur_sample:  # (Silero's condition, kept as it is)
                    current_speech["start"] = next_start
                else:
                    triggered = False
                prev_end = next_start = temp_end = 0
                possible_ends = []
            else:
                if prev_end:  # the last pause long enough
                    current_speech["end"] = prev_end
                    speeches.append(current_speech)
                    current_speech = {}
                    if next_start < prev_end:
                        triggered = False
                    else:
                        current_speech["start"] = next_start
                    prev_end = next_start = temp_end = 0
                    possible_ends = []
                else:  # no pause: cut here
                    current_speech["end"] = cur_sample
                    speeches.append(current_speech)
                    current_speech = {}
                    prev_end = next_start = temp_end = 0
                    triggered = False
                    possible_ends = []
                    continue

        # silence during speech
        if (speech_prob < neg_threshold) and triggered:
            if not temp_end:
                temp_end = cur_sample
            sil_dur_now = cur_sample - temp_end
            if not use_max_poss_sil_at_max_speech and sil_dur_now > min_silence_samples_at_max_speech:
                prev_end = temp_end
            if sil_dur_now < min_silence_samples:
                continue
            current_speech["end"] = temp_end
            if (current_speech["end"] - current_speech["start"]) > min_speech_samples:
                speeches.append(current_speech)
            current_speech = {}
            prev_end = next_start = temp_end = 0
            triggered = False
            possible_ends = []
            continue

    if current_speech and (audio_length_samples - current_speech["start"]) > min_speech_samples:
        current_speech["end"] = audio_length_samples
        speeches.append(current_speech)

    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - speech_pad_samples))
        if i != len(speeches) - 1:
            silence_duration = speeches[i + 1]["start"] - speech["end"]
            if silence_duration < 2 * speech_pad_samples:
                speech["end"] += int(silence_duration // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence_duration // 2))
            else:
                speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - speech_pad_samples))
        else:
            speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))
    return [(speech["start"], speech["end"]) for speech in speeches]
