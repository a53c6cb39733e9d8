"""``speech-emotion export``: a final model folder as ONNX graphs that a torch-free predictor runs.

The exported folder (docs/deploy.md has the whole contract):

- ``encoder-<name>.onnx`` per member encoder (Hugging Face ``kind: hf``: WavLM, wav2vec 2.0, HuBERT,
  Whisper's encoder; ``kind: emotion2vec``): zero-padded 16 kHz ``waveforms`` (batch, samples) and
  their ``lengths`` (batch,) -> per item ``frames`` (batch,), ``mean`` and ``variance`` (batch,
  layers, hidden) of every hidden state 0..N over the item's valid frames, N the last layer the
  feature pipeline reads (the stack is cut there). The waveform normalisation of the model's
  feature extractor and Whisper's log-mel spectrogram are inside the graph, torch's exporter
  made it from the workflow's own encoder (:class:`speech_emotion.embed.encoders.HFEncoder`);
- ``features.onnx``: each member's pooled embeddings ``embeddings_<name>`` (clips, layers 0..N,
  2 x hidden: mean ++ std) -> ``features`` (clips, columns): the feature pipeline's layer selection
  or weighting (features.json, :class:`speech_emotion.train.features.FeatureSpec`);
- ``classifier.onnx``: ``features`` and, for a model that standardises per speaker, ``speaker_mean``
  and ``speaker_std`` (float64, one row per clip or one row for all; default: the training
  population's) -> ``probabilities`` (clips, labels): the standardisation, the classifier's scaler
  (with the workflow's arithmetic, :func:`_scaler_graph`) and the classifier (skl2onnx for logistic
  regression and SVM, onnxmltools for XGBoost, torch's exporter for the MLP; the ensemble as its
  members and their weighted average);
- ``export.json`` (format, labels, sample rate, inputs and outputs of each graph, the encoders'
  batching facts, versions), and copies of ``model.json``, ``features.json`` and ``MODEL_CARD.md``.

What joins the graphs is the workflow's own numpy code, run by the predictor
(:mod:`speech_emotion.predict.onnx_model`): long clips cut into windows and their frame statistics
pooled (:func:`speech_emotion.embed.embeddings.embed_signals`), the float16 rounding the embedding
shards store (:func:`~speech_emotion.embed.embeddings.as_stored`), and whose statistics standardise
which clip (:meth:`~speech_emotion.train.features.FeatureSpec.standardise`).

openSMILE encoders are refused: their functionals are not a graph.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("speech_emotion.predict.export")

EXPORT_FORMAT = "speech-emotion-onnx"
EXPORT_VERSION = 1
EXPORT_FILE = "export.json"
FEATURES_GRAPH = "features.onnx"
CLASSIFIER_GRAPH = "classifier.onnx"
OPSET = 18  # ai.onnx opset of every graph (torch's exporter default)
ML_OPSET = 3  # ai.onnx.ml opset (skl2onnx, onnxmltools)
IR_VERSION = 10  # ONNX Runtime >= 1.20 reads it
QUANTIZE = ("int8",)
# quantize_dynamic's settings for --quantize int8, chosen by measurement (docs/deploy.md#int8):
# the matrix products only (int8 convolutions in the feature encoder moved up to 75 % of the demo
# models' labels); one weight scale per output column, which on URDU with whisper-tiny.en moves
# 1-6 % of the labels against 4-10 % with one scale per matrix, at the same speed; and 8-bit
# weights (reduce_range's 7 bits moved more labels with either scale)
INT8: dict[str, Any] = {"op_types": ("MatMul",), "per_channel": True, "reduce_range": False}


def encoder_graph_name(name: str) -> str:
    return f"encoder-{name}.onnx"


def default_out(model_dir: str | Path, quantize: str | None = None) -> Path:
    """Where ``export`` writes by default: ``<model>/onnx`` (``<model>/onnx-int8`` with ``--quantize int8``)."""
    return Path(model_dir) / ("onnx" if not quantize else f"onnx-{quantize}")


@contextmanager
def quiet_exporter() -> Iterator[None]:
    """torch's exporter and onnxscript's optimiser without their info lines and warnings."""
    import warnings

    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir", "torch._export")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


# --- encoder graphs -----------------------------------------------------------------------------------


def _valid(lengths: Any, frames: int) -> Any:
    """(B, frames) mask of the first ``lengths[b]`` positions."""
    import torch

    return torch.arange(frames, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def _pooled(hidden: Sequence[Any], mask: Any) -> tuple[Any, Any, Any]:
    """frames, mean, variance (the workflow's :func:`~speech_emotion.embed.encoders._masked_stats`)."""
    import torch

    from ..embed.encoders import _masked_stats

    stats = [_masked_stats(h, mask) for h in hidden]
    return (mask.sum(1).to(torch.int64), torch.stack([m for m, _ in stats], dim=1),
            torch.stack([v for _, v in stats], dim=1))


def _cut_hf(encoder: Any, last: int) -> None:
    """Cut an :class:`~speech_emotion.embed.encoders.HFEncoder`'s stack after layer ``last`` (as
    ``embed.max_layer`` does; layer 0 needs no transformer layer, one is kept)."""
    if last < encoder.n_layers - 1:
        encoder._cut(max(last, 1))


def _hf_module(encoder: Any, last: int) -> Any:
    """The torch module of an HF encoder's path: waveforms, lengths -> frames, mean, variance."""
    import torch
    from torch import nn

    from ..embed.encoders import WHISPER_HOP, whisper_forward

    class Wav2vecGraph(nn.Module):
        """wav2vec 2.0 / HuBERT / WavLM: the feature extractor's normalisation, then the model."""

        def __init__(self) -> None:
            super().__init__()
            self.model = encoder.model
            self.normalize = bool(getattr(encoder.extractor, "do_normalize", False))
            self.with_mask = bool(encoder.extractor.return_attention_mask)

        def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
            samples = _valid(lengths, waveforms.shape[1])
            weight = samples.to(waveforms.dtype)
            values = waveforms * weight
            if self.normalize:  # Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm over the valid samples
                count = lengths.to(waveforms.dtype).unsqueeze(1)
                mean = values.sum(1, keepdim=True) / count
                var = (((values - mean) ** 2) * weight).sum(1, keepdim=True) / count
                values = (values - mean) / torch.sqrt(var + 1e-7) * weight
            kwargs = {"attention_mask": samples.to(torch.int64)} if self.with_mask else {}
            hidden = self.model(values, output_hidden_states=True, **kwargs).hidden_states
            frames = self.model._get_feat_extract_output_lengths(lengths).to(torch.int64)
            return _pooled(_kept(hidden), _valid(frames, hidden[0].shape[1]))

    class WhisperGraph(nn.Module):
        """Whisper: the feature extractor's log-mel spectrogram (its torch path), then the encoder."""

        def __init__(self) -> None:
            super().__init__()
            self.model = encoder.model
            extractor = encoder.extractor
            self.n_fft, self.hop = int(extractor.n_fft), int(extractor.hop_length)
            self.register_buffer("window", torch.hann_window(self.n_fft))
            self.register_buffer("filters", torch.from_numpy(np.asarray(extractor.mel_filters, dtype=np.float32)))

        def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
            stft = torch.stft(waveforms, self.n_fft, self.hop, window=self.window, return_complex=True)
            magnitudes = stft[..., :-1].abs() ** 2
            log_spec = torch.clamp(self.filters.T @ magnitudes, min=1e-10).log10()
            peak = log_spec.amax(dim=(1, 2), keepdim=True)
            features = (torch.maximum(log_spec, peak - 8.0) + 4.0) / 4.0
            valid = torch.ceil(lengths / WHISPER_HOP).to(torch.int64)
            if encoder.real_length:
                hidden = whisper_forward(self.model, features, valid)
            else:
                hidden = self.model(features, output_hidden_states=True).hidden_states
            frames = hidden[0].shape[1]
            return _pooled(_kept(hidden), _valid(valid.clamp(max=frames), frames))

    def _kept(hidden: Sequence[Any]) -> list[Any]:
        if encoder.max_layer:  # the cut stack: its last layer's own output (HFEncoder.stats)
            hidden = (*hidden[:-1], encoder._last.value)
        return list(hidden[: last + 1])

    return (WhisperGraph() if encoder.is_whisper else Wav2vecGraph()).eval()


def _emotion2vec_module(encoder: Any, last: int) -> Any:
    """emotion2vec's path (:class:`~speech_emotion.embed.emotion2vec.Emotion2vecEncoder`): the
    waveform layer norm, then the model's hidden states 0..last (the blocks after it removed)."""
    import torch
    from torch import nn

    model = copy.deepcopy(encoder.model)
    prenet = model.modality_encoders["AUDIO"].prenet_depth
    if last < model.n_layers - 1:
        model.blocks = nn.ModuleList(list(model.blocks)[: max(last - prenet, 0)])
        model.norm = None  # the final norm belongs to the last block of the whole stack
    normalize = encoder.normalize

    class Emotion2vecGraph(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
            weight = _valid(lengths, waveforms.shape[1]).to(waveforms.dtype)
            values = waveforms * weight
            if normalize:  # F.layer_norm over each waveform's own samples (eps 1e-5)
                count = lengths.to(waveforms.dtype).unsqueeze(1)
                mean = values.sum(1, keepdim=True) / count
                var = (((values - mean) ** 2) * weight).sum(1, keepdim=True) / count
                values = (values - mean) / torch.sqrt(var + 1e-5) * weight
            hidden, mask = self.model.hidden_states(values, lengths)
            return _pooled(hidden[: last + 1], mask)

    return Emotion2vecGraph().eval()


def encoder_facts(encoder: Any, kind: str, last: int) -> dict[str, Any]:
    """What the predictor needs to batch and pad for an encoder graph (export.json ``encoders``)."""
    whisper = bool(getattr(encoder, "is_whisper", False))
    return {
        "kind": kind,
        "layers": last + 1,
        "dim": int(encoder.dim),
        "max_samples": encoder.max_samples,
        "pad_safe": bool(encoder.pad_safe),
        "padding": ("whisper-real-length" if encoder.real_length else "whisper-30s") if whisper else "longest",
    }


def export_encoder(spec: Mapping[str, Any], model_dir: str | Path, last: int, path: Path, sample_rate: int) -> dict[str, Any]:
    """Write the encoder graph of ``encoders.<name>`` (``spec``) with hidden states 0..``last``;
    returns its facts (:func:`encoder_facts`)."""
    import torch

    from ..embed.embeddings import make_encoder

    kind = spec["kind"]
    if kind == "opensmile":
        raise ValueError("an openSMILE encoder cannot be exported to ONNX (its functionals are not a graph); "
                         "export a model whose encoders are kind hf or emotion2vec")
    if spec.get("quantize") not in (None, "none", "off", False):
        raise ValueError(f"the encoder was run with embed.quantize {spec['quantize']} (torch int8): its numbers cannot be "
                         "exported; export a model trained on float32 embeddings (use export --quantize int8 instead)")
    encoder = make_encoder(dict(spec), model_dir, "cpu", sample_rate)
    if kind == "hf":
        _cut_hf(encoder, last)
        module = _hf_module(encoder, last)
    else:
        module = _emotion2vec_module(encoder, last)
    facts = encoder_facts(encoder, kind, last)
    seconds = 2 if facts["padding"] != "whisper-30s" else 30
    waveforms = torch.randn(2, seconds * sample_rate) * 0.1
    lengths = torch.tensor([waveforms.shape[1], waveforms.shape[1] * 2 // 3], dtype=torch.int64)
    batch = torch.export.Dim("batch", min=1)
    dynamic: tuple[dict[int, Any], dict[int, Any]] = ({0: batch}, {0: batch})
    if facts["padding"] != "whisper-30s":
        dynamic[0][1] = torch.export.Dim("samples", min=400, max=encoder.max_samples or 2**31 - 1)
    with quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(module, (waveforms, lengths), dynamo=True, opset_version=OPSET,
                                    input_names=["waveforms", "lengths"], output_names=["frames", "mean", "variance"],
                                    dynamic_shapes=dynamic, optimize=True, verbose=False)
    program.save(str(path), external_data=False)
    return facts


# --- the head: features and classifier graphs ----------------------------------------------------------


def _model(graph: Any) -> Any:
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
    model.ir_version = IR_VERSION
    return model


def _normalised(model: Any) -> Any:
    """``model`` with this module's opsets and IR version (so that graphs can be merged)."""
    from onnx import helper

    ops = {o.domain: o.version for o in model.opset_import}
    if ops.get("", OPSET) > OPSET:
        raise ValueError(f"a converter wrote opset {ops['']} (expected at most {OPSET})")
    if ops.get("", OPSET) < OPSET:  # skl2onnx writes the lowest opset its operators need
        from onnx import version_converter

        model = version_converter.convert_version(model, OPSET)
        ops = {o.domain: o.version for o in model.opset_import}
    del model.opset_import[:]
    model.opset_import.extend([helper.make_opsetid("", OPSET), helper.make_opsetid("ai.onnx.ml", ML_OPSET)]
                              + [helper.make_opsetid(d, v) for d, v in ops.items() if d not in ("", "ai.onnx.ml")])
    model.ir_version = IR_VERSION
    return model


def features_graph(spec: Any, facts: Mapping[str, Mapping[str, Any]]) -> Any:
    """``features.onnx``: each member's embeddings -> the pipeline's columns (its layers side by
    side, or their weighted sum), members side by side: :meth:`FeatureSpec.select`."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inputs, inits, parts = [], [], [], []
    for k, member in enumerate(spec.members):
        name = f"embeddings_{member.encoder}"
        dim = int(facts[member.encoder]["dim"])
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                    ["clips", int(facts[member.encoder]["layers"]), dim]))
        inits.append(numpy_helper.from_array(np.asarray(member.layers, dtype=np.int64), f"layers_{k}"))
        nodes.append(helper.make_node("Gather", [name, f"layers_{k}"], [f"chosen_{k}"], axis=1))
        if member.weights is None:
            inits.append(numpy_helper.from_array(np.array([0, -1], dtype=np.int64), f"flat_{k}"))
            nodes.append(helper.make_node("Reshape", [f"chosen_{k}", f"flat_{k}"], [f"part_{k}"]))
        else:
            weights = np.asarray(member.weights, dtype=np.float32).reshape(1, -1, 1)
            inits += [numpy_helper.from_array(weights, f"weights_{k}"),
                      numpy_helper.from_array(np.array([1], dtype=np.int64), f"axis_{k}")]
            nodes += [helper.make_node("Mul", [f"chosen_{k}", f"weights_{k}"], [f"weighted_{k}"]),
                      helper.make_node("ReduceSum", [f"weighted_{k}", f"axis_{k}"], [f"part_{k}"], keepdims=0)]
        parts.append(f"part_{k}")
    nodes.append(helper.make_node("Concat", parts, ["features"], axis=1))
    output = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["clips", "columns"])
    return _model(helper.make_graph(nodes, "features", inputs, [output], inits))


def _standardise_graph(spec: Any, n_features: int) -> Any:
    """features, speaker_mean, speaker_std (float64; default: the population's) -> standardised
    (``Stats.apply``: in float64, then float32). A model without standardisation passes features on."""
    from onnx import TensorProto, helper, numpy_helper

    features = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["clips", n_features])
    out = helper.make_tensor_value_info("standardised", TensorProto.FLOAT, ["clips", n_features])
    if not spec.speaker_norm:
        return _model(helper.make_graph([helper.make_node("Identity", ["features"], ["standardised"])],
                                        "standardise", [features], [out]))
    mean = numpy_helper.from_array(np.asarray(spec.population.mean, dtype=np.float64).reshape(1, -1), "speaker_mean")
    std = numpy_helper.from_array(np.asarray(spec.population.std, dtype=np.float64).reshape(1, -1), "speaker_std")
    inputs = [features] + [helper.make_tensor_value_info(n, TensorProto.DOUBLE, ["speaker_rows", n_features])
                           for n in ("speaker_mean", "speaker_std")]
    nodes = [helper.make_node("Cast", ["features"], ["features64"], to=TensorProto.DOUBLE),
             helper.make_node("Sub", ["features64", "speaker_mean"], ["centred"]),
             helper.make_node("Div", ["centred", "speaker_std"], ["scaled"]),
             helper.make_node("Cast", ["scaled"], ["standardised"], to=TensorProto.FLOAT)]
    return _model(helper.make_graph(nodes, "standardise", inputs, [out], [mean, std]))


def _sklearn_graph(steps: list[tuple[str, Any]], n_features: int, options: Mapping[str, Any] | None = None,
                   input_name: str = "X") -> Any:
    """A scikit-learn pipeline converted by skl2onnx: ``input_name`` (float32) -> its outputs."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.pipeline import Pipeline

    pipe = Pipeline(steps) if len(steps) > 1 else steps[0][1]
    return convert_sklearn(pipe, initial_types=[(input_name, FloatTensorType([None, n_features]))],
                           target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET}, options=dict(options or {}))


def _scaler_in_float32(scaler: Any, mean: np.ndarray, scale: np.ndarray) -> bool:
    """Whether the installed scikit-learn's ``StandardScaler.transform`` of float32 rows computes in
    float32 with its statistics rounded to float32 (``X -= mean_.astype(X.dtype)``), rather than each
    step in float64 rounded to float32 (``X -= mean_`` in place: older versions). Found by trying it."""
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(64, len(mean))) * scale + mean).astype(np.float32)
    want = scaler.transform(X.copy())
    in_float32 = (X - mean.astype(np.float32)) / scale.astype(np.float32)
    return bool(np.array_equal(want, in_float32))


def _scaler_graph(scaler: Any, n_features: int) -> Any:
    """X (float32) -> ``scaled``: the classifier's scaler bit for bit as the workflow applies it
    (:meth:`~speech_emotion.train.classifiers.base.Classifier._scale`, ``StandardScaler.transform``
    of float32 rows: ``(X - mean) / scale``, in float32 or step by step in float64,
    :func:`_scaler_in_float32`). Not skl2onnx's Scaler operator: it multiplies by a float32
    reciprocal, one ulp off in 40 % of the cells, which moves XGBoost's probabilities by 3e-2 where
    a value sits on a split threshold, as a training clip's own values do (docs/deploy.md, parity on
    the demo's synthetic clips)."""
    from onnx import TensorProto, helper, numpy_helper

    mean = np.asarray(scaler.mean_ if scaler.with_mean else np.zeros(n_features), dtype=np.float64)
    scale = np.asarray(scaler.scale_ if scaler.with_std and scaler.scale_ is not None else np.ones(n_features),
                       dtype=np.float64)
    if _scaler_in_float32(scaler, mean, scale):
        inits = [numpy_helper.from_array(mean.astype(np.float32).reshape(1, -1), "scaler_mean"),
                 numpy_helper.from_array(scale.astype(np.float32).reshape(1, -1), "scaler_scale")]
        nodes = [helper.make_node("Sub", ["X", "scaler_mean"], ["centred"]),
                 helper.make_node("Div", ["centred", "scaler_scale"], ["scaled"])]
    else:
        inits = [numpy_helper.from_array(mean.reshape(1, -1), "scaler_mean"),
                 numpy_helper.from_array(scale.reshape(1, -1), "scaler_scale")]
        nodes = [helper.make_node("Cast", ["X"], ["X64"], to=TensorProto.DOUBLE),
                 helper.make_node("Sub", ["X64", "scaler_mean"], ["centred64"]),
                 helper.make_node("Cast", ["centred64"], ["centred"], to=TensorProto.FLOAT),
                 helper.make_node("Cast", ["centred"], ["centred_again"], to=TensorProto.DOUBLE),
                 helper.make_node("Div", ["centred_again", "scaler_scale"], ["scaled64"]),
                 helper.make_node("Cast", ["scaled64"], ["scaled"], to=TensorProto.FLOAT)]
    return _model(helper.make_graph(
        nodes, "scaler", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["rows", n_features])],
        [helper.make_tensor_value_info("scaled", TensorProto.FLOAT, ["rows", n_features])], inits))


def _scaled(scaler: Any, model: Any, n_features: int) -> Any:
    """``model`` (reading ``scaled``) after the scaler (:func:`_scaler_graph`): X -> its outputs."""
    from onnx import compose

    return compose.merge_models(_scaler_graph(scaler, n_features), _normalised(model), io_map=[("scaled", "scaled")])


def _only(model: Any, output: str, rename: str) -> Any:
    """``model`` with one output, ``output`` renamed ``rename``."""
    from onnx import helper

    graph = model.graph
    kept = [o for o in graph.output if o.name == output]
    if not kept:
        raise ValueError(f"no output {output!r} among {[o.name for o in graph.output]}")
    graph.node.append(helper.make_node("Identity", [output], [rename]))
    renamed = copy.deepcopy(kept[0])
    renamed.name = rename
    del graph.output[:]
    graph.output.append(renamed)
    return model


def _probability_graph(clf: Any, n_features: int) -> Any:
    """X (the classifier's input, float32) -> ``proba`` (rows, clf.classes_) of one member classifier."""
    name = clf.name
    if name == "logreg":
        model = _sklearn_graph([("logreg", clf.model_)], n_features, {id(clf.model_): {"zipmap": False}}, "scaled")
        return _scaled(clf.scaler_, _only(model, "probabilities", "proba"), n_features)
    if name == "svm":
        return _svm_graph(clf, n_features)
    if name == "xgboost":
        return _xgboost_graph(clf, n_features)
    if name == "mlp":
        return _mlp_graph(clf, n_features)
    raise ValueError(f"classifier {name} cannot be exported to ONNX")


def _svm_graph(clf: Any, n_features: int) -> Any:
    """The SVC on its support vectors (skl2onnx's one-vs-rest decision values), then the Platt
    sigmoids and their normalisation (:meth:`SVMClassifier._calibrated`)."""
    from onnx import TensorProto, compose, helper, numpy_helper

    if len(clf.classes_) < 3:
        raise ValueError("export of a two-class SVM is not supported (its one-column decision values)")
    svc = copy.deepcopy(clf.model_)  # fitted on the precomputed kernel: the same SVC on the kernel's vectors
    svc.kernel, svc.coef0, svc.degree, svc._gamma = clf.kernel, 0.0, 3, float(clf.gamma_)
    svc.support_vectors_ = np.asarray(clf.support_vectors_, dtype=np.float64)
    svc.n_features_in_ = n_features
    svc.shape_fit_ = (len(svc.support_vectors_), n_features)
    decision = _scaled(clf.scaler_, _only(_sklearn_graph([("svm", svc)], n_features, {id(svc): {"zipmap": False}},
                                                         "scaled"), "probabilities", "decision"), n_features)
    a = np.array([[pair[0] for pair in clf.calibration_]], dtype=np.float32)
    b = np.array([[pair[1] for pair in clf.calibration_]], dtype=np.float32)
    columns = len(clf.classes_)
    nodes = [helper.make_node("Mul", ["decision", "platt_a"], ["ad"]),
             helper.make_node("Add", ["ad", "platt_b"], ["adb"]),
             helper.make_node("Neg", ["adb"], ["logit"]),
             helper.make_node("Sigmoid", ["logit"], ["sigmoids"]),
             helper.make_node("ReduceSum", ["sigmoids", "one"], ["total"], keepdims=1),
             helper.make_node("Greater", ["total", "zero"], ["positive"]),
             helper.make_node("Div", ["sigmoids", "total"], ["normalised"]),
             helper.make_node("Shape", ["sigmoids"], ["shape"]),
             helper.make_node("Expand", ["uniform", "shape"], ["uniform_rows"]),
             helper.make_node("Where", ["positive", "normalised", "uniform_rows"], ["proba"])]
    inits = [numpy_helper.from_array(a, "platt_a"), numpy_helper.from_array(b, "platt_b"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
             numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
             numpy_helper.from_array(np.full((1, columns), 1.0 / columns, dtype=np.float32), "uniform")]
    graph = helper.make_graph(
        nodes, "platt",
        [helper.make_tensor_value_info("decision", TensorProto.FLOAT, ["rows", columns])],
        [helper.make_tensor_value_info("proba", TensorProto.FLOAT, ["rows", columns])], inits)
    return compose.merge_models(_normalised(decision), _model(graph), io_map=[("decision", "decision")])


def _xgboost_graph(clf: Any, n_features: int) -> Any:
    """The scaler (:func:`_scaler_graph`), then the booster (onnxmltools)."""
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = convert_xgboost(clf.model_, initial_types=[("scaled", FloatTensorType([None, n_features]))])
    probs = [o.name for o in booster.graph.output if "prob" in o.name.lower()]
    return _scaled(clf.scaler_, _only(booster, probs[0], "proba"), n_features)


def _mlp_graph(clf: Any, n_features: int) -> Any:
    """The scaler (:func:`_scaler_graph`), then the net and its softmax (torch's exporter)."""
    import onnx
    import torch

    net = torch.nn.Sequential(clf.net_, torch.nn.Softmax(dim=1)).eval()
    with quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(net, (torch.zeros(2, n_features),), dynamo=True, opset_version=OPSET,
                                    input_names=["scaled"], output_names=["proba"],
                                    dynamic_shapes=({0: torch.export.Dim("rows", min=1)},), verbose=False)
    return _scaled(clf.scaler_, onnx.load_from_string(program.model_proto.SerializeToString()), n_features)


def _aligned(model: Any, classes: Sequence[str], labels: Sequence[str], prefix: str) -> Any:
    """``model``'s ``proba`` columns (``classes``) as the columns of ``labels`` (zeros for a class it
    never saw: :func:`speech_emotion.train.classifiers.base.align_proba`), output ``<prefix>proba``."""
    from onnx import TensorProto, compose, helper, numpy_helper

    model = compose.add_prefix(model, prefix)
    if list(classes) == list(labels):
        return model
    place = np.zeros((len(classes), len(labels)), dtype=np.float32)
    place[np.arange(len(classes)), np.searchsorted(np.asarray(labels), np.asarray(classes))] = 1.0
    graph = helper.make_graph([helper.make_node("MatMul", ["p", "place"], ["q"])], "align",
                              [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["rows", len(classes)])],
                              [helper.make_tensor_value_info("q", TensorProto.FLOAT, ["rows", len(labels)])],
                              [numpy_helper.from_array(place, "place")])
    merged = compose.merge_models(_normalised(model), compose.add_prefix(_model(graph), prefix + "align_"),
                                  io_map=[(prefix + "proba", prefix + "align_p")])
    return _only(merged, prefix + "align_q", prefix + "proba_aligned")


def classifier_graph(clf: Any, spec: Any, labels: Sequence[str], n_features: int) -> Any:
    """``classifier.onnx``: features (+ speaker statistics) -> probabilities in the order of ``labels``."""
    from onnx import TensorProto, checker, compose, helper, numpy_helper

    labels = [str(label) for label in labels]
    if clf.name == "ensemble":
        members = [(name, clf.members_[name], float(w)) for name, w in zip(clf.members, clf.weights_)]
    else:
        members = [(clf.name, clf, 1.0)]
    head = _standardise_graph(spec, n_features)
    blend_nodes, blend_inits, terms = [], [], []
    for k, (name, member, weight) in enumerate(members):
        prefix = f"m{k}_{name}_"
        sub = _aligned(_normalised(_probability_graph(member, n_features)), [str(c) for c in member.classes_],
                       labels, prefix)
        out = sub.graph.output[0].name
        sub = _only(sub, out, f"{prefix}out")
        head = compose.merge_models(head, _normalised(sub), io_map=[("standardised", f"{prefix}X")],
                                    outputs=None)
        head = _keep_output(head, "standardised", n_features)
        blend_inits.append(numpy_helper.from_array(np.array(weight, dtype=np.float32), f"w{k}"))
        blend_nodes.append(helper.make_node("Mul", [f"{prefix}out", f"w{k}"], [f"term{k}"]))
        terms.append(f"term{k}")
    blend_nodes.append(helper.make_node("Sum", terms, ["total"]))
    blend_inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis"))
    blend_nodes += [helper.make_node("ReduceSum", ["total", "axis"], ["rowsum"], keepdims=1),
                    helper.make_node("Div", ["total", "rowsum"], ["probabilities"])]
    graph = head.graph
    graph.node.extend(blend_nodes)
    graph.initializer.extend(blend_inits)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["clips", len(labels)]))
    graph.name = "classifier"
    checker.check_model(head)
    return head


def _keep_output(model: Any, name: str, n_features: int) -> Any:
    """``model`` whose outputs also include the (clips, n_features) tensor ``name`` (the next member reads it)."""
    from onnx import TensorProto, helper

    if name not in [o.name for o in model.graph.output]:
        model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["clips", n_features]))
    return model


# --- the folder -----------------------------------------------------------------------------------------


def export_versions() -> dict[str, str]:
    """The library versions of the export (the model's own are in model.json)."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    out = {"speech-emotion": __version__}
    for name in ("torch", "transformers", "onnx", "onnxruntime", "skl2onnx", "onnxmltools", "onnxscript"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def reusable_encoder(folder: str | Path, name: str, record: Mapping[str, Any], last: int) -> Path | None:
    """The float32 graph of encoder ``name`` in an earlier export ``folder`` when it is the same
    encoder (model.json's record) cut at the same layer, else None."""
    folder = Path(folder)
    try:
        earlier = read_export(folder)
        info = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    from .portable import encoder_records

    facts = earlier["encoders"].get(name)
    same = [r for r in encoder_records(info) if r["name"] == name and r["spec"] == record["spec"]
            and r.get("identity") == record.get("identity")]
    if not facts or not same or facts["layers"] != last + 1 or earlier.get("quantize"):
        return None
    graph = folder / facts["graph"]
    return graph if graph.is_file() else None


def export_model(model_dir: str | Path, out: str | Path | None = None, quantize: str | None = None,
                 encoder_dir: str | Path | None = None, encoders_from: str | Path | None = None,
                 int8: Mapping[str, Any] | None = None) -> Path:
    """Export the final model at ``model_dir`` (``results/models/<encoder>/<classifier>``) to ``out``
    (default :func:`default_out`); ``quantize="int8"`` quantises the encoder graphs' weights
    (ONNX Runtime's dynamic quantisation with :data:`INT8`, or with the settings ``int8`` changes:
    benchmarks). ``encoders_from``: an earlier float32 export of another
    classifier on the same encoder and layers, whose encoder graphs are copied instead of exported
    again (:func:`reusable_encoder`; another encoder is exported). Returns the folder."""
    from ..io.files import atomic_dir, write_json_atomic
    from ..train.final_model import load_final_model
    from .portable import encoder_records, locate_encoder

    if quantize not in (None, *QUANTIZE):
        raise ValueError(f"--quantize: {quantize!r} is not supported (int8)")
    model_dir = Path(model_dir)
    final = load_final_model(model_dir)  # a regressor's folder: refused (export writes classifiers' graphs only)
    info = final.info
    rate = int(info.get("audio", {}).get("sample_rate", 16000))
    records = {r["name"]: r for r in encoder_records(info)}
    kinds = {name: r["spec"]["kind"] for name, r in records.items()}
    if "opensmile" in kinds.values():
        raise ValueError(f"{model_dir}: an openSMILE encoder ({', '.join(n for n, k in kinds.items() if k == 'opensmile')}) "
                         "cannot be exported to ONNX: its functionals are not a graph; export a model on a Hugging "
                         "Face or emotion2vec encoder")
    if encoder_dir is not None and len(records) > 1:
        raise ValueError("encoder_dir names one encoder's weights; this model fuses several")
    spec = final.features
    last = {m.encoder: max(m.layers) for m in spec.members}
    target = Path(out) if out is not None else default_out(model_dir, quantize)
    with atomic_dir(target) as tmp:
        facts: dict[str, dict[str, Any]] = {}
        for name, record in records.items():
            graph = tmp / encoder_graph_name(name)
            earlier = reusable_encoder(encoders_from, name, record, last[name]) if encoders_from else None
            if earlier is not None:
                log.info("encoder %s: the graph of %s", name, earlier)
                shutil.copy2(earlier, graph)
                facts[name] = dict(read_export(encoders_from)["encoders"][name])
            else:
                found = locate_encoder(model_dir, record, encoder_dir, download=False)
                log.info("exporting encoder %s (%s) up to layer %d", name, found.describe(), last[name])
                facts[name] = export_encoder(record["spec"], found.path, last[name], graph, rate)
            facts[name]["graph"] = graph.name
            if quantize:
                quantize_graph(graph, int8)
        import onnx

        columns = sum(int(facts[m.encoder]["dim"]) * (1 if m.weights else len(m.layers)) for m in spec.members)
        onnx.save(features_graph(spec, facts), str(tmp / FEATURES_GRAPH))
        onnx.save(classifier_graph(final.model, spec, final.labels, columns), str(tmp / CLASSIFIER_GRAPH))
        for name in ("model.json", "features.json", "MODEL_CARD.md"):
            if (model_dir / name).is_file():
                shutil.copy2(model_dir / name, tmp / name)
        write_json_atomic(tmp / EXPORT_FILE, export_description(info, spec, facts, columns, quantize, int8))
    return target


def export_description(info: Mapping[str, Any], spec: Any, facts: Mapping[str, Mapping[str, Any]], columns: int,
                       quantize: str | None, int8: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """export.json: what a predictor needs to know besides the graphs (docs/deploy.md)."""
    audio = dict(info.get("audio", {}))
    speaker = {"speaker_mean": f"float64 (rows, {columns}): one row per clip, or one row for all",
               "speaker_std": f"float64 (rows, {columns})",
               "default": "the training population's statistics (features.json population)"} if spec.speaker_norm else None
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "model": {"encoder": info["encoder"]["name"], "classifier": info["classifier"]},
        "labels": [str(label) for label in info["labels"]],
        "sample_rate": int(audio.get("sample_rate", 16000)),
        "audio": audio,
        "quantize": quantize,
        "quantize_settings": ({k: list(v) if isinstance(v, tuple) else v for k, v in {**INT8, **(int8 or {})}.items()}
                              if quantize else None),  # quantize_dynamic's, on the encoder graphs
        "encoders": {name: dict(f) for name, f in facts.items()},
        "graphs": {
            "encoder": {"inputs": {"waveforms": "float32 (batch, samples): mono audio at sample_rate, zero-padded "
                                                "past each item's length (Whisper: to 30 s, or with padding "
                                                "whisper-real-length to the batch's length, see docs/deploy.md)",
                                   "lengths": "int64 (batch,): each item's samples"},
                        "outputs": {"frames": "int64 (batch,): valid frames pooled",
                                    "mean": "float32 (batch, layers, hidden): mean over valid frames per hidden state",
                                    "variance": "float32 (batch, layers, hidden): population variance"}},
            "features": {"file": FEATURES_GRAPH,
                         "inputs": {f"embeddings_{m.encoder}": "float32 (clips, layers, 2*hidden): mean ++ std, "
                                    "rounded to float16 as the workflow stores embeddings" for m in spec.members},
                         "outputs": {"features": f"float32 (clips, {columns})"}},
            "classifier": {"file": CLASSIFIER_GRAPH,
                           "inputs": {"features": f"float32 (clips, {columns})", **({"speaker_mean": speaker["speaker_mean"],
                                      "speaker_std": speaker["speaker_std"]} if speaker else {})},
                           "outputs": {"probabilities": f"float32 (clips, {len(info['labels'])}) in the order of labels"}},
        },
        "speaker_inputs": speaker,
        "min_clips": int(spec.min_clips),
        "versions": export_versions(),
    }


def int8_settings(text: str) -> dict[str, Any]:
    """:data:`INT8` with the changes a benchmark names: ``default``, or comma-separated ``per_channel``
    or ``per_tensor`` (one weight scale per matrix), ``reduce_range``, ``ops=MatMul+Gemm``;
    ``weight_only[=BLOCK]`` (8-bit weights in blocks of BLOCK rows, default 32, with float activations:
    ONNX Runtime's MatMulNBits instead of dynamic quantisation) and ``accuracy_level=N`` (its compute
    type)."""
    settings = dict(INT8)
    for part in filter(None, (p.strip() for p in text.split(","))):
        if part in ("per_channel", "per_tensor"):
            settings["per_channel"] = part == "per_channel"
        elif part == "reduce_range":
            settings["reduce_range"] = True
        elif part.startswith("ops="):
            settings["op_types"] = tuple(part[4:].split("+"))
        elif part.startswith("weight_only"):
            settings["method"] = "weight_only"
            settings["block_size"] = int(part.partition("=")[2] or 32)
        elif part.startswith("accuracy_level="):
            settings["accuracy_level"] = int(part.partition("=")[2])
        elif part != "default":
            raise ValueError(f"int8 setting {part!r}: expected default, per_channel, per_tensor, reduce_range, ops=A+B, "
                             "weight_only[=BLOCK] or accuracy_level=N")
    return settings


def quantize_graph(path: Path, settings: Mapping[str, Any] | None = None) -> None:
    """int8 quantisation of a graph's weights in place, with :data:`INT8` or ``settings`` (its keys):
    dynamic (ONNX Runtime's ``quantize_dynamic``; activations quantised on the fly), or with
    ``method: weight_only`` 8-bit weights only (``MatMulNBitsQuantizer``, symmetric blocks)."""
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    settings = {**INT8, **(settings or {})}
    logging.disable(logging.WARNING)  # its root-logger advice to pre-process the graph (shape inference) first
    try:
        with tempfile.TemporaryDirectory() as scratch:
            quantized = Path(scratch) / path.name
            if settings.get("method") == "weight_only":
                import onnx
                from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

                quantizer = MatMulNBitsQuantizer(onnx.load(str(path)), bits=8, block_size=int(settings["block_size"]),
                                                 is_symmetric=True, op_types_to_quantize=tuple(settings["op_types"]),
                                                 accuracy_level=settings.get("accuracy_level"))
                quantizer.process()
                quantizer.model.save_model_to_file(str(quantized), use_external_data_format=False)
            else:
                quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8,
                                 op_types_to_quantize=list(settings["op_types"]), per_channel=bool(settings["per_channel"]),
                                 reduce_range=bool(settings["reduce_range"]))
            shutil.move(str(quantized), str(path))
    finally:
        logging.disable(logging.NOTSET)


def read_export(folder: str | Path) -> dict[str, Any]:
    """export.json of an exported folder, or a ValueError naming what is wrong."""
    path = Path(folder) / EXPORT_FILE
    if not path.is_file():
        raise ValueError(f"{path}: missing (is {folder} a folder written by speech-emotion export?)")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != EXPORT_FORMAT:
        raise ValueError(f"{path}: not a speech-emotion ONNX export (format {data.get('format')!r})")
    if data.get("version") != EXPORT_VERSION:
        raise ValueError(f"{path}: export version {data.get('version')} is not supported (this predictor reads {EXPORT_VERSION})")
    return data


def is_export(folder: str | Path) -> bool:
    """Whether ``folder`` is an exported model (holds export.json)."""
    return (Path(folder) / EXPORT_FILE).is_file()

