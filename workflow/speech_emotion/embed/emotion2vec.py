"""emotion2vec as an encoder (``kind: emotion2vec``): FunASR's model code, feature extraction only.

emotion2vec (Ma et al., "emotion2vec: Self-Supervised Pre-Training for Speech Emotion
Representation", https://arxiv.org/abs/2312.15185) is a data2vec 2.0 audio model. Its released
checkpoints (``config.yaml`` + ``model.pt``) load only through the FunASR toolkit; this module is
FunASR's model code cut down to what feature extraction runs, so the workflow needs torch alone.

Ported from FunASR 1.4 (https://github.com/modelscope/FunASR, MIT License, Copyright (c) 2025
FunASR; its emotion2vec code is modified from https://github.com/ddlBoJack/emotion2vec and the
data2vec parts carry "Copyright (c) Facebook, Inc. and its affiliates", also MIT):

- ``funasr/models/emotion2vec/model.py``: ``Emotion2vec`` (forward with ``features_only``, and the
  waveform layer norm of ``inference``);
- ``funasr/models/emotion2vec/audio.py``: ``AudioEncoder`` (CNN, projection, convolutional positions,
  frame padding mask);
- ``funasr/models/emotion2vec/base.py``: ``ModalitySpecificEncoder.contextualized_features``,
  ``get_alibi``, ``get_alibi_bias``;
- ``funasr/models/emotion2vec/modules.py``: ``BlockEncoder``, ``AltBlock``, ``AltAttention``;
- ``funasr/models/emotion2vec/fairseq_modules.py``: ``ConvFeatureExtractionModel``, ``SamePad``,
  ``TransposeLast``, ``Fp32LayerNorm``, ``Fp32GroupNorm``;
- ``funasr/models/emotion2vec/timm_modules.py``: ``Mlp``.

Changes: no training parts (masking, decoder, EMA teacher, losses, dropout, drop path); every
block's output kept; the convolutional positional encoder zeroes padded frames before each of its
convolutions, so a clip in a padded batch gives the frames it gives alone (FunASR's batched
forward lets padding leak into the last valid frames there); weights read with
``torch.load(weights_only=True)``. Module and parameter names are FunASR's, so its ``model.pt``
loads as it is. The model weights themselves are not MIT: see docs/encoders.md.

MIT License of the ported code:

    Permission is hereby granted, free of charge, to any person obtaining a copy
    of this software and associated documentation files (the "Software"), to deal
    in the Software without restriction, including without limitation the rights
    to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
    copies of the Software, and to permit persons to whom the Software is
    furnished to do so, subject to the following conditions:

    The above copyright notice and this permission notice shall be included in
    all copies or substantial portions of the Software.

    THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
    IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
    FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
    AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
    LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
    OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
    THE SOFTWARE.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..io.files import atomic_dir
from ..devices import resolve_device
from .encoders import SOURCE_FILE, FrameStats, _masked_stats

log = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
WEIGHTS_FILE = "model.pt"
SAMPLE_RATE = 16000  # FunASR feeds emotion2vec 16 kHz audio
IGNORED_PREFIXES = ("modality_encoders.AUDIO.decoder.", "proj.", "ema.", "_ema.")  # training/classifier parts


# --- config and weights -------------------------------------------------------------------------------


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """``model_conf`` of a FunASR ``config.yaml`` (``model: Emotion2vec``)."""
    import yaml

    path = Path(model_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no emotion2vec config (a FunASR model folder holds config.yaml and model.pt)")
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if config.get("model", "Emotion2vec") != "Emotion2vec" or "model_conf" not in config:
        raise ValueError(f"{path}: not an emotion2vec config (model: {config.get('model')!r}, needs model_conf)")
    conf = config["model_conf"]
    if conf.get("modalities", {}).get("audio") is None:
        raise ValueError(f"{path}: model_conf.modalities.audio is missing")
    audio = conf["modalities"]["audio"]
    if audio.get("learned_alibi"):
        raise ValueError(f"{path}: learned_alibi is not supported (no emotion2vec release uses it)")
    if audio.get("model_depth", conf["depth"]) != conf["depth"] and audio.get("learned_alibi_scale_per_layer"):
        raise ValueError(f"{path}: modalities.audio.model_depth must equal depth")
    return conf


def load_weights(model: nn.Module, path: str | Path) -> None:
    """FunASR's ``model.pt`` into ``model``: tensors only (``weights_only=True``); a missing or
    mis-shaped parameter is an error, training-only parts (decoder, classifier head) are skipped."""
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    for key in ("state_dict", "model_state_dict", "model"):  # the nestings FunASR's loader accepts
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    scale = state.get("modality_encoders.AUDIO.alibi_scale")
    if scale is not None and scale.dim() == 4:  # base.py upgrade_state_dict_named: older checkpoints
        state["modality_encoders.AUDIO.alibi_scale"] = scale.unsqueeze(0)
    missing = [k for k in own if k not in state]
    if missing:
        raise ValueError(f"{path}: {len(missing)} parameters missing, e.g. {missing[:3]}; not an emotion2vec checkpoint "
                         "of this config.yaml")
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}" for k in own if state[k].shape != own[k].shape]
    if wrong:
        raise ValueError(f"{path}: parameter shapes differ from config.yaml: {wrong[:3]}")
    extra = sorted(k for k in state if k not in own)
    unknown = [k for k in extra if not k.startswith(IGNORED_PREFIXES)]
    if unknown:
        log.warning("%s: %d parameters not used by feature extraction, e.g. %s", path, len(unknown), unknown[:3])
    model.load_state_dict({k: state[k] for k in own}, strict=True)


# --- modules (FunASR's names, so that its state dict loads unchanged) ---------------------------------


class TransposeLast(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(-2, -1)


class SamePad(nn.Module):
    def __init__(self, kernel_size: int):
        super().__init__()
        self.remove = 1 if kernel_size % 2 == 0 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : -self.remove] if self.remove > 0 else x


class Fp32LayerNorm(nn.LayerNorm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.layer_norm(x.float(), self.normalized_shape, self.weight.float() if self.weight is not None else None,
                           self.bias.float() if self.bias is not None else None, self.eps)
        return out.type_as(x)


class Fp32GroupNorm(nn.GroupNorm):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.group_norm(x.float(), self.num_groups, self.weight.float() if self.weight is not None else None,
                           self.bias.float() if self.bias is not None else None, self.eps)
        return out.type_as(x)


class ConvFeatureExtractionModel(nn.Module):
    """The wav2vec-style CNN; ``mode`` layer_norm (per-frame norms) or default (GroupNorm over time, layer 0)."""

    def __init__(self, conv_layers: list[tuple[int, int, int]], mode: str):
        super().__init__()
        if mode not in ("default", "layer_norm"):
            raise ValueError(f"extractor_mode {mode!r}: default or layer_norm")
        self.conv_layers = nn.ModuleList()
        in_d = 1
        for i, (dim, k, stride) in enumerate(conv_layers):
            conv = nn.Conv1d(in_d, dim, k, stride=stride, bias=False)
            nn.init.kaiming_normal_(conv.weight)
            if mode == "layer_norm":  # index 1 is FunASR's (inactive) dropout
                norm = nn.Sequential(TransposeLast(), Fp32LayerNorm(dim, elementwise_affine=True), TransposeLast())
                block = nn.Sequential(conv, nn.Identity(), norm, nn.GELU())
            elif i == 0:
                block = nn.Sequential(conv, nn.Identity(), Fp32GroupNorm(dim, dim, affine=True), nn.GELU())
            else:
                block = nn.Sequential(conv, nn.Identity(), nn.GELU())
            self.conv_layers.append(block)
            in_d = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, samples) -> (B, C, frames)
        x = x.unsqueeze(1)
        for conv in self.conv_layers:
            x = conv(x)
        return x


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class AltAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None, alibi_bias: torch.Tensor | None) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        dtype = q.dtype
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if alibi_bias is not None:
            attn = attn.type_as(alibi_bias)
            attn[:, : alibi_bias.size(1)] += alibi_bias
        if padding_mask is not None and (torch.compiler.is_exporting() or padding_mask.any()):  # export: always mask
            attn = attn.masked_fill(padding_mask.unsqueeze(1).unsqueeze(2).to(torch.bool), float("-inf"))
        attn = attn.softmax(dim=-1, dtype=torch.float32).to(dtype=dtype)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class AltBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, norm_layer: Any, layer_norm_first: bool):
        super().__init__()
        self.layer_norm_first = layer_norm_first
        self.norm1 = norm_layer(dim)
        self.attn = AltAttention(dim, num_heads)
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None, alibi_bias: torch.Tensor | None) -> torch.Tensor:
        if self.layer_norm_first:
            x = x + self.attn(self.norm1(x), padding_mask, alibi_bias)
            r = x = self.mlp(self.norm2(x))
            return r + x  # sic: FunASR's (and fairseq data2vec 2.0's) AltBlock adds the MLP output to itself here
        x = x + self.attn(x, padding_mask, alibi_bias)
        r = x = self.norm1(x)
        x = self.mlp(x)
        return self.norm2(r + x)


class BlockEncoder(nn.Module):
    """The prenet blocks of the audio encoder (``context_encoder``)."""

    def __init__(self, blocks: nn.ModuleList, norm: nn.Module | None):
        super().__init__()
        self.blocks = blocks
        self.norm = norm


class AudioEncoder(nn.Module):
    """``modality_encoders.AUDIO``: CNN, projection, convolutional positions, extra tokens, prenet."""

    def __init__(self, audio: dict[str, Any], embed_dim: int, make_block: Any, norm_layer: Any, layer_norm_first: bool):
        super().__init__()
        self.feature_enc_layers = [tuple(layer) for layer in eval(audio["feature_encoder_spec"], {"__builtins__": {}})]
        feature_dim = self.feature_enc_layers[-1][0]
        self.local_encoder = ConvFeatureExtractionModel(self.feature_enc_layers, audio.get("extractor_mode", "layer_norm"))
        self.project_features = nn.Sequential(TransposeLast(), nn.LayerNorm(feature_dim), nn.Linear(feature_dim, embed_dim))
        depth = audio["conv_pos_depth"]
        k = max(3, audio["conv_pos_width"] // depth)
        positional = nn.Sequential(
            TransposeLast(),
            *[nn.Sequential(nn.Conv1d(embed_dim, embed_dim, kernel_size=k, padding=k // 2, groups=audio["conv_pos_groups"]),
                            SamePad(k), TransposeLast(), nn.LayerNorm(embed_dim, elementwise_affine=False),
                            TransposeLast(), nn.GELU())
              for _ in range(depth)],
            TransposeLast(),
        )
        self.pos_pre_ln = bool(audio.get("conv_pos_pre_ln", False))
        if self.pos_pre_ln:
            positional = nn.Sequential(nn.LayerNorm(embed_dim), positional)
        self.relative_positional_encoder = positional
        prenet = int(audio.get("prenet_depth", 0))
        self.context_encoder = BlockEncoder(nn.ModuleList(make_block() for _ in range(prenet)),
                                            norm_layer(embed_dim) if not layer_norm_first else None)
        self.prenet_depth = prenet
        self.num_extra_tokens = int(audio.get("num_extra_tokens", 0))
        self.extra_tokens = nn.Parameter(torch.zeros(1, self.num_extra_tokens, embed_dim)) if self.num_extra_tokens else None
        if self.extra_tokens is not None and not audio.get("init_extra_token_zero", True):
            nn.init.normal_(self.extra_tokens)
        self.use_alibi = bool(audio.get("use_alibi_encoder", False))
        self.num_alibi_heads = int(audio.get("num_alibi_heads", 1))
        self.alibi_scale = None
        if self.use_alibi:
            layers = prenet + int(audio.get("model_depth", 0)) if audio.get("learned_alibi_scale_per_layer") else 1
            heads = self.num_alibi_heads if audio.get("learned_alibi_scale_per_head") else 1
            self.alibi_scale = nn.Parameter(torch.full((layers, 1, heads, 1, 1), float(audio.get("alibi_scale", 1.0))),
                                            requires_grad=bool(audio.get("learned_alibi_scale", False)))

    def frame_lengths(self, samples: torch.Tensor) -> torch.Tensor:
        """Valid CNN frames of each signal length (audio.py's get_feat_extract_output_lengths)."""
        lengths = samples.to(torch.float64)
        for _, kernel, stride in self.feature_enc_layers:
            lengths = torch.floor((lengths - kernel) / stride + 1)
        return lengths.to(torch.long)

    def positions(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The convolutional positional encoder, padded frames zeroed before every convolution (a clip
        alone sees the convolution's zero padding past its end, so batched it must too)."""
        encoder = self.relative_positional_encoder
        if self.pos_pre_ln:
            x = encoder[0](x)
            encoder = encoder[1]
        keep = valid.to(x.dtype).unsqueeze(1)  # (B, 1, T)
        h = x.transpose(1, 2)
        for layer in list(encoder)[1:-1]:
            h = layer(h * keep)
        return h.transpose(1, 2)


def get_alibi(max_positions: int, attention_heads: int) -> torch.Tensor:
    """base.py get_alibi (dims=1): symmetric linear distance bias per head, (H, T, T)."""

    def get_slopes(n: int) -> list[float]:
        def power_of_2(n: int) -> list[float]:
            start = 2 ** (-(2 ** -(math.log2(n) - 3)))
            return [start * start**i for i in range(n)]

        if math.log2(n).is_integer():
            return power_of_2(n)
        closest = 2 ** math.floor(math.log2(n))
        return power_of_2(closest) + get_slopes(2 * closest)[0::2][: n - closest]

    slopes = torch.Tensor(get_slopes(attention_heads))
    pos_bias = torch.abs(torch.arange(max_positions).unsqueeze(0) - torch.arange(max_positions).unsqueeze(1)) * -1
    return slopes.unsqueeze(1).unsqueeze(1) * pos_bias.unsqueeze(0).expand(attention_heads, -1, -1)


class Emotion2vecModel(nn.Module):
    """FunASR's ``Emotion2vec`` for feature extraction; :meth:`hidden_states` returns every layer."""

    def __init__(self, conf: dict[str, Any]):
        super().__init__()
        from functools import partial

        self.conf = conf
        embed_dim = int(conf["embed_dim"])
        layer_norm_first = bool(conf.get("layer_norm_first", False))
        norm_layer = partial(nn.LayerNorm, eps=float(conf.get("norm_eps", 1e-5)),
                             elementwise_affine=bool(conf.get("norm_affine", True)))

        def make_block() -> AltBlock:
            return AltBlock(embed_dim, int(conf["num_heads"]), float(conf.get("mlp_ratio", 4.0)), norm_layer,
                            layer_norm_first)

        audio = dict(conf["modalities"]["audio"])
        audio.setdefault("model_depth", conf["depth"])
        self.modality_encoders = nn.ModuleDict(
            {"AUDIO": AudioEncoder(audio, embed_dim, make_block, norm_layer, layer_norm_first)}
        )
        self.blocks = nn.ModuleList(make_block() for _ in range(int(conf["depth"])))
        self.norm = norm_layer(embed_dim) if layer_norm_first else None
        self.embed_dim = embed_dim

    @property
    def n_layers(self) -> int:
        """Hidden states returned: the input of the first block, then every block's output."""
        return 1 + self.modality_encoders["AUDIO"].prenet_depth + len(self.blocks)

    @property
    def pad_safe(self) -> bool:
        """False when the CNN normalises over time (extractor_mode default): padding would leak."""
        return not any(isinstance(m, nn.GroupNorm) for m in self.modality_encoders["AUDIO"].local_encoder.modules())

    def hidden_states(self, source: torch.Tensor, samples: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Every layer's frames (extra tokens removed) and the valid-frame mask (B, T).

        ``source``: (B, samples), each row already normalised if the model wants it and zero-padded
        past its length ``samples[b]``. Same modules and order as FunASR's ``extract_features``
        (mask=False); the last state is FunASR's output ``x``.
        """
        enc = self.modality_encoders["AUDIO"]
        x = enc.project_features(enc.local_encoder(source))  # (B, T, C)
        B, T, _ = x.shape
        frames = enc.frame_lengths(samples.to(x.device))
        if not torch.compiler.is_exporting() and (frames < 1).any():  # export: the predictor checks lengths
            raise ValueError(f"a signal of {int(samples.min())} samples is shorter than the CNN's receptive field")
        valid = torch.arange(T, device=x.device).unsqueeze(0) < frames.clamp(max=T).unsqueeze(1)
        padding = ~valid
        x = x + enc.positions(x, valid)

        alibi_bias, alibi_scale = None, None
        if enc.use_alibi:
            alibi_bias = get_alibi(T, enc.num_alibi_heads).to(dtype=torch.float32, device=x.device)
            alibi_bias = alibi_bias.unsqueeze(0).expand(B, -1, -1, -1)
            alibi_scale = enc.alibi_scale.clamp_min(0)
            if alibi_scale.size(0) == 1:
                alibi_bias = alibi_bias * alibi_scale.squeeze(0).type_as(alibi_bias)
                alibi_scale = None
        num = enc.num_extra_tokens
        if num:
            x = torch.cat([enc.extra_tokens.expand(B, -1, -1), x], dim=1)
            padding = F.pad(padding, (num, 0))
            if alibi_bias is not None:
                alibi_bias = F.pad(alibi_bias, (num, 0, num, 0))

        if enc.context_encoder.norm is not None:
            x = enc.context_encoder.norm(x)
        hidden = [x]
        blocks = list(enc.context_encoder.blocks) + list(self.blocks)
        for i, block in enumerate(blocks):
            bias = alibi_bias
            if bias is not None and alibi_scale is not None:
                bias = bias * alibi_scale[i].type_as(bias)  # per-layer scales: prenet blocks first, then the model's
            x = block(x, padding, bias)
            hidden.append(x)
        if self.norm is not None:
            hidden[-1] = self.norm(x)
        return [h[:, num:] for h in hidden], valid


# --- the encoder the workflow uses -----------------------------------------------------------------


class Emotion2vecEncoder:
    """An emotion2vec checkpoint (FunASR ``config.yaml`` + ``model.pt``) from a local folder, in the
    interface of :class:`~speech_emotion.embed.encoders.HFEncoder`: every hidden state kept (layer 0 = the
    input of the first transformer block), each pooled over the valid frames only.

    Each signal is normalised over its own samples as FunASR's ``inference`` does (``F.layer_norm``
    over the whole waveform, when ``model_conf.normalize`` is true) before padding.
    """

    real_length = False
    max_samples = None

    def __init__(self, model_dir: str | Path, device: str = "auto", sample_rate: int = SAMPLE_RATE):
        self.model_dir = str(model_dir)
        self.device = resolve_device(device, "embed.device")
        self.dtype = torch.float16 if self.device == "cuda" else torch.float32
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"{self.model_dir}: emotion2vec wants {SAMPLE_RATE} Hz audio but audio.sample_rate is {sample_rate}")
        self.sample_rate = sample_rate
        conf = read_config(self.model_dir)
        model = Emotion2vecModel(conf)
        load_weights(model, Path(self.model_dir) / WEIGHTS_FILE)
        self.model = model.to(self.device, self.dtype).eval()
        self.normalize = bool(conf.get("normalize", False))
        self.n_layers = model.n_layers
        self.hidden = model.embed_dim
        self.pad_safe = model.pad_safe

    @property
    def dim(self) -> int:
        return 2 * self.hidden

    @property
    def compute_dtype(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    def waveforms(self, signals: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, longest) zero-padded float32 batch, each row normalised like FunASR, and the lengths."""
        lengths = torch.tensor([len(s) for s in signals], dtype=torch.long)
        batch = torch.zeros(len(signals), int(lengths.max()), dtype=torch.float32)
        for i, signal in enumerate(signals):
            wave = torch.from_numpy(np.asarray(signal, dtype=np.float32))
            batch[i, : len(wave)] = F.layer_norm(wave, wave.shape) if self.normalize else wave
        return batch, lengths

    def stats(self, signals: list[np.ndarray]) -> list[FrameStats]:
        """Frame statistics of each signal (one forward pass for the whole list)."""
        batch, lengths = self.waveforms(signals)
        with torch.inference_mode():
            hidden, mask = self.model.hidden_states(batch.to(self.device, self.dtype), lengths.to(self.device))
            per_layer = [_masked_stats(h, mask) for h in hidden]
            means = torch.stack([m for m, _ in per_layer], dim=1).double().cpu().numpy()
            varis = torch.stack([v for _, v in per_layer], dim=1).double().cpu().numpy()
            counts = mask.sum(1).cpu().numpy()
        return [FrameStats(int(counts[i]), means[i], varis[i]) for i in range(len(signals))]


def init_model(config_yaml: str | Path, out_dir: str | Path, seed: int, name: str | None = None) -> None:
    """Random weights (fixed seed) for an emotion2vec ``config.yaml``: ``out_dir`` gets the config,
    ``model.pt`` (a plain state dict, like FunASR's) and ``source.json``."""
    config_yaml = Path(config_yaml)
    conf = read_config(config_yaml.parent) if config_yaml.name == CONFIG_FILE else None
    if conf is None:
        raise ValueError(f"{config_yaml}: an emotion2vec init_config must be named {CONFIG_FILE}")
    torch.manual_seed(seed)
    model = Emotion2vecModel(conf).eval()
    with atomic_dir(out_dir) as tmp:
        (tmp / CONFIG_FILE).write_text(config_yaml.read_text(encoding="utf-8"), encoding="utf-8")
        torch.save(model.state_dict(), tmp / WEIGHTS_FILE)
        source = {"model": f"random-init:{name or config_yaml.parent.name}", "revision": f"seed-{seed}"}
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
