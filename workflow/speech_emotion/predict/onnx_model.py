"""The torch-free predictor: a folder written by ``speech-emotion export`` run with ONNX Runtime.

:func:`speech_emotion.predict.api.load_model` makes the API's :class:`~speech_emotion.predict.api.EmotionModel`
(same ``predict``, ``predict_signals``, segments, speakers, enrolment, checks and columns) of the
parts :func:`load_exported` reads, so that its two model steps run the exported graphs:

- features: each encoder graph (:class:`OnnxEncoder`) through the workflow's own windowing,
  batching and pooling (:func:`speech_emotion.embed.embeddings.embed_signals`), the float16 rounding
  of stored embeddings (:func:`~speech_emotion.embed.embeddings.as_stored`) and the layer selection
  of features.json (:meth:`~speech_emotion.train.features.FeatureSpec.select`; ``features.onnx``
  holds the same for other runtimes, and tests/test_export.py checks they agree);
- classify: ``classifier.onnx`` (:class:`OnnxClassifier`) on rows that
  :meth:`~speech_emotion.train.features.FeatureSpec.standardise` has standardised, so the graph is
  given identity speaker statistics (mean 0, std 1).

A predict run loads numpy, pandas, soundfile, tqdm (the command line's progress bar) and
onnxruntime; never torch, transformers or scikit-learn (tests/test_export.py runs it with those
made unimportable).
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
from .export import CLASSIFIER_GRAPH, FEATURES_GRAPH, read_export


def session(path: str | Path | bytes, threads: int = 0) -> Any:
    """An ONNX Runtime CPU session of one graph (a file, or a serialised model); ``threads``
    intra-op threads (0: ONNX Runtime's default, one per core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3
    model = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


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


class OnnxClassifier:
    """``classifier.onnx`` in the part of a classifier's interface the API uses: ``predict_proba``
    of standardised rows (the graph gets identity speaker statistics, mean 0 and std 1: the API
    has standardised the rows with features.json), columns in the order of ``classes_`` (the labels)."""

    def __init__(self, path: str | Path, labels: Sequence[str], speaker_norm: bool, threads: int = 0):
        self.session = session(path, threads)
        self.classes_ = np.asarray(list(labels))
        self.speaker_norm = speaker_norm

    def predict_proba(self, features: np.ndarray, speaker_mean: np.ndarray | None = None,
                      speaker_std: np.ndarray | None = None) -> np.ndarray:
        """Probabilities (rows, labels); with ``speaker_mean`` and ``speaker_std`` (rows or one row)
        the graph standardises the rows itself (raw features in)."""
        X = np.ascontiguousarray(features, dtype=np.float32)
        feeds: dict[str, np.ndarray] = {"features": X}
        if self.speaker_norm:
            width = X.shape[1]
            feeds["speaker_mean"] = np.zeros((1, width)) if speaker_mean is None else np.atleast_2d(speaker_mean)
            feeds["speaker_std"] = np.ones((1, width)) if speaker_std is None else np.atleast_2d(speaker_std)
        return self.session.run(["probabilities"], feeds)[0].astype(np.float64)


def load_exported(path: str | Path, device: str = "auto", encoder_dir: str | Path | None = None,
                  threads: int = 0) -> tuple[ExportedFinal, dict[str, OnnxEncoder], dict[str, str]]:
    """The parts :func:`speech_emotion.predict.api.load_model` makes an
    :class:`~speech_emotion.predict.api.EmotionModel` of, from a folder written by ``speech-emotion
    export``: the model folder's stand-in (its ``model`` an :class:`OnnxClassifier`), an
    :class:`OnnxEncoder` per encoder and the encoders' kinds. ``threads``: ONNX Runtime intra-op
    threads per graph (0: one per core). It runs on the CPU (``device`` auto or cpu) and holds its
    encoders (no ``encoder_dir``)."""
    if device not in ("auto", "cpu"):
        raise ValueError(f"device {device}: an exported model runs on the CPU with ONNX Runtime (use auto or cpu)")
    if encoder_dir is not None:
        raise ValueError("an exported model holds its encoder graphs: --encoder-dir does not apply")
    folder = Path(path)
    export = read_export(folder)
    missing = [name for name in (FEATURES_GRAPH, CLASSIFIER_GRAPH, FEATURES_FILE, "model.json",
                                 *(f["graph"] for f in export["encoders"].values())) if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{folder}: exported model is missing {', '.join(missing)}")
    info = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    spec = FeatureSpec.read(folder / FEATURES_FILE)
    rate = int(export["sample_rate"])
    final = ExportedFinal(path=folder, info=info, features=spec, export=export,
                          model=OnnxClassifier(folder / CLASSIFIER_GRAPH, export["labels"], spec.speaker_norm, threads))
    encoders = {name: OnnxEncoder(folder / facts["graph"], facts, rate, threads) for name, facts in export["encoders"].items()}
    return final, encoders, {name: str(facts["kind"]) for name, facts in export["encoders"].items()}
