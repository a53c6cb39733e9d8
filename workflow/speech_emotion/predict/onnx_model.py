"""The torch-free predictor: a folder written by ``speech-emotion export`` run with ONNX Runtime.

:func:`load_exported` gives an :class:`OnnxEmotionModel`, the API's :class:`~speech_emotion.predict.api.EmotionModel`
(same ``predict``, ``predict_signals``, segments, speakers, enrolment, checks and columns) whose
two model steps run the exported graphs:

- :meth:`OnnxEmotionModel.features`: each encoder graph through the workflow's own windowing,
  batching and pooling (:func:`speech_emotion.embed.embeddings.embed_signals`, with
  :class:`OnnxEncoder` as the encoder), the float16 rounding of stored embeddings
  (:func:`~speech_emotion.embed.embeddings.as_stored`), then ``features.onnx``;
- :meth:`OnnxEmotionModel.classify`: ``classifier.onnx`` on rows that
  :meth:`~speech_emotion.train.features.FeatureSpec.standardise` (features.json) has standardised, so the graph
  is given identity speaker statistics (mean 0, std 1).

Imports numpy, pandas, soundfile and onnxruntime; never torch, transformers or scikit-learn
(tests/test_export.py runs it with those made unimportable).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..embed.encoders import WHISPER_HOP, WHISPER_MARGIN, FrameStats
from ..train.features import FEATURES_FILE, FeatureSpec
from .api import DEFAULT_MIN_SECONDS, EmotionModel
from .export import CLASSIFIER_GRAPH, FEATURES_GRAPH, read_export


def session(path: str | Path, threads: int = 0) -> Any:
    """An ONNX Runtime CPU session of one graph; ``threads`` intra-op threads (0: ONNX Runtime's
    default, one per core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxEncoder:
    """An exported encoder graph in the interface :func:`~speech_emotion.embed.embeddings.embed_signals`
    reads of an encoder (``stats``, ``sample_rate``, ``n_layers``, ``dim``, ``max_samples``,
    ``pad_safe``, ``device``, ``threads``)."""

    device = "cpu"
    compute_dtype = "float32"

    def __init__(self, path: str | Path, facts: Mapping[str, Any], sample_rate: int, threads: int = 0):
        self.path = Path(path)
        self.session = session(self.path, threads)
        self.sample_rate = int(sample_rate)
        self.n_layers = int(facts["layers"])
        self.dim = int(facts["dim"])
        self.max_samples = None if facts.get("max_samples") is None else int(facts["max_samples"])
        self.pad_safe = bool(facts["pad_safe"])
        self.padding = str(facts["padding"])
        self.real_length = self.padding == "whisper-real-length"

    def threads(self) -> Any:
        """The thread setting of a batch (ONNX Runtime's own, set per session): nothing to do."""
        return nullcontext()

    def padded_length(self, longest: int) -> int:
        """Samples a batch is zero-padded to: its longest item; Whisper's 30 s, or with real length
        that item plus a 0.1 s margin, rounded up to whole frames (as :class:`HFEncoder` pads)."""
        if self.padding == "whisper-30s":
            return int(self.max_samples)
        if self.padding == "whisper-real-length":
            return min(math.ceil((longest + WHISPER_MARGIN) / WHISPER_HOP) * WHISPER_HOP, int(self.max_samples))
        return longest

    def stats(self, signals: list[np.ndarray]) -> list[FrameStats]:
        """Frame statistics of each signal (one run of the graph for the whole list)."""
        lengths = np.array([len(s) for s in signals], dtype=np.int64)
        batch = np.zeros((len(signals), self.padded_length(int(lengths.max()))), dtype=np.float32)
        for i, signal in enumerate(signals):
            batch[i, : len(signal)] = signal
        frames, mean, variance = self.session.run(["frames", "mean", "variance"],
                                                  {"waveforms": batch, "lengths": lengths})
        return [FrameStats(int(frames[i]), mean[i].astype(np.float64), variance[i].astype(np.float64))
                for i in range(len(signals))]


@dataclass
class ExportedFinal:
    """The parts of a model folder the API reads (:class:`speech_emotion.train.final_model.FinalModel`'s
    ``path``, ``info``, ``features``, ``labels``, ``speaker_norm``), from an exported folder."""

    path: Path
    info: dict[str, Any]
    features: FeatureSpec
    export: dict[str, Any] = field(default_factory=dict)
    model: Any = None

    @property
    def labels(self) -> list[str]:
        return list(self.export["labels"])

    @property
    def speaker_norm(self) -> bool:
        return self.features.speaker_norm


class OnnxEmotionModel(EmotionModel):
    """:class:`~speech_emotion.predict.api.EmotionModel` on an exported folder (module docstring)."""

    def __init__(self, final: ExportedFinal, threads: int = 0):
        folder = final.path
        rate = int(final.export["sample_rate"])
        encoders = {name: OnnxEncoder(folder / facts["graph"], facts, rate, threads)
                    for name, facts in final.export["encoders"].items()}
        super().__init__(final, encoders, {name: facts["kind"] for name, facts in final.export["encoders"].items()})  # type: ignore[arg-type]
        self.audio = dict(final.export.get("audio", {}))
        self.sample_rate = rate
        self.min_seconds = float(self.audio.get("min_seconds", DEFAULT_MIN_SECONDS))
        self.features_session = session(folder / FEATURES_GRAPH, threads)
        self.classifier_session = session(folder / CLASSIFIER_GRAPH, threads)

    def __repr__(self) -> str:
        model = self.final.export["model"]
        return f"OnnxEmotionModel({str(self.path)!r}: {model['encoder']} + {model['classifier']}, labels {self.labels})"

    def iter_predict(self, files: Any, *, segment: Any = None, **options: Any) -> Any:
        """:meth:`EmotionModel.iter_predict`; ``segment="vad"`` needs Silero VAD (silero-vad, torch)."""
        if getattr(segment, "mode", segment) == "vad":
            try:
                import silero_vad  # noqa: F401
            except ImportError as exc:
                raise ValueError("--segment vad needs Silero VAD (the silero-vad package, which needs torch), absent "
                                 f"here ({exc}); --segment fixed and whole files run without it") from exc
        return super().iter_predict(files, segment=segment, **options)

    def embeddings(self, signals: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Each encoder's pooled embeddings (clips, layers, dim) of mono float32 signals at
        :attr:`sample_rate`, rounded as the workflow stores them."""
        from ..embed.embeddings import as_stored, batch_seconds_for, embed_signals

        out = {}
        for name, encoder in self.encoders.items():
            batch = batch_seconds_for("cpu", self.audio["batch_seconds"], self.audio.get("cpu_batch_seconds"))
            values = embed_signals(encoder, list(signals), batch, self.audio.get("max_seconds"), progress_every=1e9)
            out[name] = as_stored(values, self.kinds[name])
        return out

    def features(self, signals: Sequence[np.ndarray]) -> np.ndarray:
        """The classifier's input before per-speaker standardisation (``features.onnx``)."""
        feeds = {f"embeddings_{name}": values for name, values in self.embeddings(signals).items()}
        return self.features_session.run(["features"], feeds)[0]

    def classify(self, features: np.ndarray, speaker_mean: np.ndarray | None = None,
                 speaker_std: np.ndarray | None = None) -> np.ndarray:
        """Probabilities (rows, labels) from ``classifier.onnx``. ``features`` are standardised
        already (the API standardises them with features.json) unless ``speaker_mean`` and
        ``speaker_std`` are given: the graph then standardises them with those."""
        X = np.ascontiguousarray(features, dtype=np.float32)
        feeds: dict[str, np.ndarray] = {"features": X}
        if self.final.speaker_norm:
            width = X.shape[1]
            feeds["speaker_mean"] = np.zeros((1, width)) if speaker_mean is None else np.atleast_2d(speaker_mean)
            feeds["speaker_std"] = np.ones((1, width)) if speaker_std is None else np.atleast_2d(speaker_std)
        return self.classifier_session.run(["probabilities"], feeds)[0].astype(np.float64)


def load_exported(path: str | Path, device: str = "auto", encoder_dir: str | Path | None = None,
                  threads: int = 0) -> OnnxEmotionModel:
    """Load a folder written by ``speech-emotion export`` (export.json, the graphs, features.json,
    model.json); ``threads``: ONNX Runtime intra-op threads per graph (0: one per core). It runs on
    the CPU (``device`` auto or cpu) and holds its encoders (no ``encoder_dir``)."""
    if device not in ("auto", "cpu"):
        raise ValueError(f"device {device}: an exported model runs on the CPU with ONNX Runtime (use auto or cpu)")
    if encoder_dir is not None:
        raise ValueError("an exported model holds its encoder graphs: --encoder-dir does not apply")
    folder = Path(path)
    export = read_export(folder)
    missing = [name for name in (FEATURES_GRAPH, CLASSIFIER_GRAPH, FEATURES_FILE,
                                 *(f["graph"] for f in export["encoders"].values())) if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{folder}: exported model is missing {', '.join(missing)}")
    info_path = folder / "model.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    final = ExportedFinal(path=folder, info=info, features=FeatureSpec.read(folder / FEATURES_FILE), export=export)
    return OnnxEmotionModel(final, threads)
