"""Speech encoders: Hugging Face models (WavLM, HuBERT, wav2vec 2.0, Whisper) and openSMILE.

Every encoder maps a list of mono float32 signals (all at one sample rate, each at most one
window long) to per-item frame statistics, so that windows of a long clip can be pooled exactly
(see :mod:`speech_emotion.embed.embeddings`). Models are loaded once, from a local folder only
(``resources/models/<encoder>`` or a folder the user names), never from the network.
"""

from __future__ import annotations

import json
import math
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io.files import atomic_dir
from ..devices import resolve_device

WHISPER_HOP = 320  # samples per Whisper encoder frame at 16 kHz (10 ms mel hop x conv stride 2)
WHISPER_MARGIN = 1600  # zeros appended to every real-length item (0.1 s): same edge context alone or batched
SOURCE_FILE = "source.json"  # written by download_model / init_model: where the weights came from


@dataclass
class FrameStats:
    """Pooled statistics of one item: frame count, per-layer mean and population variance."""

    count: int
    mean: np.ndarray  # (layers, dim) float64
    var: np.ndarray  # (layers, dim) float64


def read_source(model_dir: str | Path) -> dict[str, str]:
    """The ``source.json`` of a model folder (repo id and revision), or ``{}``."""
    path = Path(model_dir) / SOURCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _masked_stats(hidden: "Any", mask: "Any") -> tuple["Any", "Any"]:
    """Mean and population variance over the frames where ``mask`` (B, T) is true; hidden (B, T, H)."""
    import torch

    hidden = hidden.float()
    weight = mask.to(hidden.dtype).unsqueeze(-1)
    count = weight.sum(1).clamp(min=1.0)
    mean = (hidden * weight).sum(1) / count
    var = (((hidden - mean.unsqueeze(1)) ** 2) * weight).sum(1) / count
    return mean, torch.clamp(var, min=0.0)


class HFEncoder:
    """A Hugging Face speech encoder loaded from a local folder (AutoFeatureExtractor + AutoModel).

    Every hidden state is kept (layer 0 = the convolutional/embedding output), each pooled over the
    valid frames only: the model's own frame-level attention mask for wav2vec-style models,
    ``ceil(samples / 320)`` frames for Whisper.

    ``real_length`` (Whisper only): run the encoder on the batch's real length instead of the
    30 s the checkpoint expects (positional embeddings cut to the input length; padded frames
    masked out of attention), which is several times faster on short clips.

    Opt-in speed-ups (``embed.max_layer``, ``embed.quantize``; both change the numbers):

    - ``max_layer`` N (>= 1): the transformer stack is cut after layer N, so hidden states 0..N
      are computed and kept (N + 1 layers, equal to the full model's first N + 1); a model with N
      or fewer layers is left whole.
    - ``quantize="int8"`` (CPU only): dynamic int8 quantisation of the ``nn.Linear`` layers
      (weights int8, activations quantised on the fly; ``torch.ao.quantization.quantize_dynamic``).
      WavLM's attention projections stay float32: its attention reads their weights directly.
    """

    def __init__(
        self, model_dir: str | Path, device: str = "auto", sample_rate: int = 16000, real_length: bool = False,
        quantize: str | None = None, max_layer: int | None = None,
    ):
        import torch
        from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

        self.model_dir = str(model_dir)
        self.device = resolve_device(device, "embed.device")
        self.dtype = torch.float16 if self.device == "cuda" else torch.float32
        self.sample_rate = sample_rate
        config = AutoConfig.from_pretrained(self.model_dir, local_files_only=True)
        self.extractor = AutoFeatureExtractor.from_pretrained(self.model_dir, local_files_only=True)
        rate = getattr(self.extractor, "sampling_rate", sample_rate)
        if rate != sample_rate:
            raise ValueError(f"{self.model_dir}: the model wants {rate} Hz audio but audio.sample_rate is {sample_rate}")
        model = AutoModel.from_pretrained(self.model_dir, local_files_only=True)
        self.is_whisper = config.model_type == "whisper"
        if getattr(config, "is_encoder_decoder", False):
            model = model.get_encoder()
        self.model = model.to(self.device, self.dtype).eval()
        self.real_length = bool(real_length) and self.is_whisper
        if real_length and not self.is_whisper:
            raise ValueError(f"{self.model_dir}: real_length applies to Whisper encoders only")
        if self.is_whisper:
            self.max_samples = self.extractor.n_samples  # 30 s
            self.n_layers = config.encoder_layers + 1
            self.hidden = config.d_model
        else:
            self.max_samples = None
            self.n_layers = config.num_hidden_layers + 1
            self.hidden = config.hidden_size
        # Group-normalised conv stacks (wav2vec2-base style) normalise over time, so padding would
        # leak into valid frames: such models are run one clip per batch.
        self.pad_safe = self.is_whisper or getattr(config, "feat_extract_norm", "layer") != "group"
        self._last = threading.local()  # the cut stack's last layer output, per embedding thread
        self.max_layer = None
        if max_layer is not None:
            self._cut(int(max_layer))
        self.quantize = None
        if quantize not in (None, "none", "off", False):
            self._quantize(str(quantize))

    @property
    def dim(self) -> int:
        return 2 * self.hidden

    @property
    def compute_dtype(self) -> str:
        """The float type the model runs in (recorded in each embedding shard), e.g. ``float32``;
        ``float32+int8-linear`` with ``quantize="int8"``."""
        name = str(self.dtype).removeprefix("torch.")
        return f"{name}+int8-linear" if self.quantize else name

    def _layer_stack(self) -> Any:
        """The module holding the transformer layers (``.layers``, an ``nn.ModuleList``)."""
        return self.model if self.is_whisper else self.model.encoder

    def _cut(self, max_layer: int) -> None:
        """Keep transformer layers 1..max_layer only (see the class docstring)."""
        if max_layer < 1:
            raise ValueError(f"embed.max_layer must be at least 1 (layer 0 is the input to the first layer), got {max_layer}")
        holder = self._layer_stack()
        if max_layer >= len(holder.layers):
            return
        holder.layers = holder.layers[:max_layer]
        self.max_layer = max_layer
        self.n_layers = max_layer + 1
        local = self._last  # the hook holds the thread-local store only (not self)

        def keep_output(module: Any, args: Any, output: Any) -> None:
            local.value = output[0] if isinstance(output, tuple) else output

        holder.layers[-1].register_forward_hook(keep_output)

    def _quantize(self, kind: str) -> None:
        import torch
        from torch import nn

        if kind != "int8":
            raise ValueError(f"embed.quantize: unknown value {kind!r} (int8 or off)")
        if self.device != "cpu":
            raise ValueError("embed.quantize: int8 runs on the CPU only; set embed.device: cpu or quantize: off")
        keep_float = {"WavLMAttention"}  # reads q/k/v/out_proj.weight directly (torch multi-head attention)
        parents = dict(self.model.named_modules())
        names = {
            name for name, module in self.model.named_modules()
            if isinstance(module, nn.Linear) and type(parents[name.rpartition(".")[0]]).__name__ not in keep_float
        }  # fmt: skip
        try:
            from torch.ao.quantization import quantize_dynamic
        except ImportError as exc:  # deprecated in torch (torchao replaces it); present up to at least 2.13
            raise ValueError(f"embed.quantize: int8 needs torch.ao.quantization, absent from this torch ({exc})") from exc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the deprecation notice, once per job otherwise
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*deprecated")
            quantize_dynamic(self.model, names, dtype=torch.qint8, inplace=True)
        self.quantize = kind

    def stats(self, signals: list[np.ndarray]) -> list[FrameStats]:
        """Frame statistics of each signal (one forward pass for the whole list)."""
        import torch

        with torch.inference_mode():
            if self.is_whisper:
                hidden, mask = self._whisper(signals)
            else:
                hidden, mask = self._wav2vec(signals)
            if self.max_layer:  # the last layer's own output, not the full stack's final layer norm of it
                hidden = (*hidden[:-1], self._last.value)
            per_layer = [_masked_stats(h, mask) for h in hidden]
            means = torch.stack([m for m, _ in per_layer], dim=1).double().cpu().numpy()
            varis = torch.stack([v for _, v in per_layer], dim=1).double().cpu().numpy()
            counts = mask.sum(1).cpu().numpy()
        return [FrameStats(int(counts[i]), means[i], varis[i]) for i in range(len(signals))]

    def _wav2vec(self, signals: list[np.ndarray]) -> tuple[tuple[Any, ...], Any]:
        import torch

        inputs = self.extractor(
            signals, sampling_rate=self.sample_rate, padding="longest", return_attention_mask=True, return_tensors="pt"
        )
        values = inputs["input_values"].to(self.device, self.dtype)
        sample_mask = inputs["attention_mask"].to(self.device)
        kwargs = {"attention_mask": sample_mask} if self.extractor.return_attention_mask else {}
        out = self.model(values, output_hidden_states=True, **kwargs)
        frames = out.hidden_states[0].shape[1]
        lengths = self.model._get_feat_extract_output_lengths(sample_mask.sum(-1)).to(torch.long)
        mask = torch.arange(frames, device=self.device).unsqueeze(0) < lengths.unsqueeze(1)
        return out.hidden_states, mask

    def _whisper(self, signals: list[np.ndarray]) -> tuple[tuple[Any, ...], Any]:
        import torch

        lengths = torch.tensor([len(s) for s in signals], device=self.device)
        if self.real_length:
            longest = max(len(s) for s in signals) + WHISPER_MARGIN
            target = min(math.ceil(longest / WHISPER_HOP) * WHISPER_HOP, self.max_samples)
            padded = [np.pad(s, (0, target - len(s))) for s in signals]
            feats = self.extractor(
                padded, sampling_rate=self.sample_rate, padding="longest", return_tensors="pt"
            ).input_features
        else:
            feats = self.extractor(signals, sampling_rate=self.sample_rate, return_tensors="pt").input_features
        feats = feats.to(self.device, self.dtype)
        valid = torch.ceil(lengths / WHISPER_HOP).to(torch.long)
        if self.real_length:
            hidden = whisper_forward(self.model, feats, valid)
        else:
            hidden = self.model(feats, output_hidden_states=True).hidden_states
        frames = hidden[0].shape[1]
        mask = torch.arange(frames, device=self.device).unsqueeze(0) < valid.clamp(max=frames).unsqueeze(1)
        return hidden, mask


def whisper_forward(encoder: Any, features: Any, valid: Any) -> tuple[Any, ...]:
    """Whisper encoder on any input length <= 30 s, returning every hidden state like Hugging Face.

    Same modules and order as ``WhisperEncoder.forward`` (conv1, conv2, positions, layers, final
    layer norm tied to the last hidden state) but with positional embeddings cut to the input
    length and keys beyond each item's ``valid`` frames masked out of self-attention.
    """
    import torch
    from torch import nn

    x = nn.functional.gelu(encoder.conv1(features))
    x = nn.functional.gelu(encoder.conv2(x)).permute(0, 2, 1)
    frames = x.shape[1]
    if frames > encoder.embed_positions.num_embeddings:
        raise ValueError(f"Whisper input of {frames} frames exceeds the model's 30 s")
    x = x + encoder.embed_positions.weight[:frames].to(x.dtype)
    keys = torch.arange(frames, device=x.device).unsqueeze(0) < valid.unsqueeze(1)  # (B, T)
    mask = torch.zeros(keys.shape, dtype=x.dtype, device=x.device)
    mask = mask.masked_fill(~keys, torch.finfo(x.dtype).min)[:, None, None, :].expand(-1, 1, frames, -1)
    hidden = [x]
    for layer in encoder.layers:
        x = layer(x, mask)
        hidden.append(x)
    hidden[-1] = encoder.layer_norm(x)
    return tuple(hidden)


class OpenSmileEncoder:
    """openSMILE functionals (eGeMAPSv02 or ComParE_2016) of each clip, as one "layer"."""

    real_length = False
    max_samples = None
    pad_safe = True
    device = "cpu"
    compute_dtype = "float32"  # openSMILE computes in single precision

    def __init__(self, feature_set: str, sample_rate: int = 16000):
        import opensmile

        self.sample_rate = sample_rate
        self.smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set), feature_level=opensmile.FeatureLevel.Functionals
        )
        self.n_layers = 1
        self.dim = len(self.smile.feature_names)

    def features(self, signal: np.ndarray) -> np.ndarray:
        """Functionals of one whole clip, shape (dim,)."""
        frame = self.smile.process_signal(signal, self.sample_rate)
        return frame.to_numpy(dtype=np.float64)[0]


def init_model(config_json: str | Path, out_dir: str | Path, seed: int, name: str | None = None) -> None:
    """Random weights from a shipped ``config.json`` (fixed seed), saved with ``save_pretrained``.

    The feature extractor comes from ``preprocessor_config.json`` beside the config; ``name``
    (default: the config's folder name) is recorded as the model's source.
    """
    import torch
    from transformers import AutoConfig, AutoFeatureExtractor, AutoModel

    config_dir = Path(config_json).parent
    config = AutoConfig.from_pretrained(str(config_dir), local_files_only=True)
    extractor = AutoFeatureExtractor.from_pretrained(str(config_dir), local_files_only=True)
    torch.manual_seed(seed)
    model = AutoModel.from_config(config).eval()
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(str(tmp))
        extractor.save_pretrained(str(tmp))
        source = {"model": f"random-init:{name or config_dir.name}", "revision": f"seed-{seed}"}
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")


def download_model(repo_id: str, revision: str | None, out_dir: str | Path) -> str:
    """Fetch a hub model into ``out_dir`` (once, on the submit host); returns the commit hash."""
    from huggingface_hub import HfApi, snapshot_download

    info = HfApi().model_info(repo_id, revision=revision, files_metadata=False)
    commit = info.sha or (revision or "main")
    names = [s.rfilename for s in info.siblings or []]
    weights = "*.safetensors" if any(n.endswith(".safetensors") for n in names) else "*.bin"
    patterns = ["*.json", "*.txt", "*.model", weights]  # safetensors preferred, never both
    if "config.json" not in names and {"config.yaml", "model.pt"} <= set(names):
        patterns = ["config.yaml", "model.pt", "*.json"]  # a FunASR checkpoint (kind emotion2vec)
    with atomic_dir(out_dir) as tmp:
        snapshot_download(
            repo_id=repo_id,
            revision=commit,
            local_dir=str(tmp),
            allow_patterns=patterns,
        )
        source = {"model": repo_id, "revision": commit}
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    return commit
