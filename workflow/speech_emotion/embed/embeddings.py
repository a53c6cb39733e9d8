"""Embedding shards: clips -> (clips, layers, dim) float16 arrays, written and read safely.

Embedding (:func:`embed_signals`):
- clips longer than ``max_seconds`` (or than the model's own limit, 30 s for Whisper) are cut
  into equal windows no longer than that; nothing is truncated. The windows' frames are pooled
  together exactly: the clip's mean and standard deviation are those of ALL its valid frames
  (each window's hidden states computed with that window as context), combined from per-window
  counts, means and variances;
- items (clips or windows) are sorted by length, longest first, and grouped into batches whose
  padded length x size stays within ``batch_seconds`` of audio, so padding stays small;
- one vector per hidden layer: mean ++ std (population, ddof=0) over valid frames.

Shard file (``.npz``): ``clip_ids`` (str), ``embeddings`` (clips, layers, dim): float16 for
Hugging Face encoders, float32 for openSMILE (its functionals reach 1e11, beyond float16),
``encoder``, ``model``, ``revision``, ``layers``, ``pooling``, ``device`` and ``compute_dtype`` (what
the encoder ran on: a GPU in float16 gives slightly different numbers than a CPU in float32), and
``checksum`` (SHA-256 of ids and array) that :func:`load_shard` verifies.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io.files import atomic_path, rebuild_hint
from ..data.splits import Variant

log = logging.getLogger(__name__)

POOLING = "mean+std over valid frames of all windows (population std)"
REQUIRED_KEYS = ("clip_ids", "embeddings", "encoder", "model", "revision", "layers", "checksum")
METADATA_KEYS = ("encoder", "model", "revision", "layers", "pooling", "device", "compute_dtype")
FLOAT16_MAX = float(np.finfo(np.float16).max)


class ShardError(ValueError):
    """An embedding shard that cannot be used (truncated, corrupt, inconsistent); names the file."""


# --- windows and batches -------------------------------------------------------------------------


def window_bounds(n_samples: int, max_samples: int | None) -> list[tuple[int, int]]:
    """Split ``n_samples`` into the fewest equal windows of at most ``max_samples`` each."""
    if not max_samples or n_samples <= max_samples:
        return [(0, n_samples)]
    count = math.ceil(n_samples / max_samples)
    size = math.ceil(n_samples / count)
    return [(start, min(start + size, n_samples)) for start in range(0, n_samples, size)]


def plan_batches(lengths: Sequence[int], batch_samples: int, pad_safe: bool = True) -> list[list[int]]:
    """Indices grouped into batches, longest first; a batch's size x its longest item <= ``batch_samples``.

    A single item longer than the budget gets a batch of its own. ``pad_safe=False`` (models whose
    output depends on padding) puts only equal-length items together.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for index in order:
        if batches:
            current = batches[-1]
            longest = lengths[current[0]]
            fits = (len(current) + 1) * longest <= batch_samples
            if fits and (pad_safe or lengths[index] == longest):
                current.append(index)
                continue
        batches.append([index])
    return batches


def combine_stats(counts: Sequence[int], means: Sequence[np.ndarray], variances: Sequence[np.ndarray]) -> np.ndarray:
    """Exact mean ++ std over the union of frames of several windows (parallel variance formula)."""
    n = np.asarray(counts, dtype=np.float64)
    total = n.sum()
    if total <= 0:
        raise ValueError("no valid frames to pool")
    mu = np.stack(means)
    mean = np.tensordot(n, mu, axes=1) / total
    m2 = np.tensordot(n, np.stack(variances), axes=1) + np.tensordot(n, (mu - mean) ** 2, axes=1)
    return np.concatenate([mean, np.sqrt(np.maximum(m2 / total, 0.0))], axis=-1)


# --- embedding ---------------------------------------------------------------------------------------


class Progress:
    """Logs clips done and clips/s at most every ``every`` seconds (and at the end)."""

    def __init__(self, total: int, every: float = 10.0, sample_rate: int = 16000):
        self.total, self.every, self.rate = total, every, sample_rate
        self.start = self.last = time.perf_counter()
        self.done = 0
        self.audio_s = 0.0

    def update(self, clips: int, samples: int) -> None:
        self.done += clips
        self.audio_s += samples / self.rate
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            elapsed = max(now - self.start, 1e-9)
            log.info(
                "embedded %d/%d clips (%.0f%%): %.2f clips/s, %.1f audio-s/s, %.0f s elapsed",
                self.done, self.total, 100.0 * self.done / max(self.total, 1),
                self.done / elapsed, self.audio_s / elapsed, elapsed,
            )  # fmt: skip


def batch_seconds_for(device: str, batch_seconds: float, cpu_batch_seconds: float | None = None) -> float:
    """Audio seconds per batch on ``device``: ``embed.batch_seconds`` on a GPU, ``embed.cpu_batch_seconds``
    (when set) on a CPU, where batching gains little and memory matters."""
    if device == "cuda" or cpu_batch_seconds is None:
        return float(batch_seconds)
    return float(cpu_batch_seconds)


def embed_signals(
    encoder: Any,
    signals: Sequence[np.ndarray],
    batch_seconds: float,
    max_seconds: float | None = None,
    progress_every: float = 10.0,
    workers: int = 1,
) -> np.ndarray:
    """Embed clips with an :class:`~speech_emotion.embed.encoders.HFEncoder` or ``OpenSmileEncoder``.

    Returns float32 (clips, layers, dim) in the order of ``signals``. Torch runs on one CPU thread
    per batch and ``workers`` batches run side by side, so the numbers do not depend on
    ``workers`` (``embed.threads``) or on the cores of the machine; the batches themselves depend
    only on the clips and ``batch_seconds``.
    """
    from ..devices import single_torch_thread
    from .encoders import OpenSmileEncoder

    rate = encoder.sample_rate
    progress = Progress(len(signals), progress_every, rate)
    out = np.zeros((len(signals), encoder.n_layers, encoder.dim), dtype=np.float32)
    if isinstance(encoder, OpenSmileEncoder):
        for i, signal in enumerate(signals):
            out[i, 0] = encoder.features(signal)
            progress.update(1, len(signal))
        return out

    limits = [int(max_seconds * rate)] if max_seconds else []
    if encoder.max_samples:
        limits.append(encoder.max_samples)
    max_samples = min(limits) if limits else None
    items: list[tuple[int, int, int]] = []  # (clip, start, end)
    for clip, signal in enumerate(signals):
        if len(signal) == 0:
            raise ValueError(f"clip #{clip} has no samples")
        items.extend((clip, start, end) for start, end in window_bounds(len(signal), max_samples))
    windows_left = np.bincount([c for c, _, _ in items], minlength=len(signals))
    parts: dict[int, list[Any]] = {}
    batch_samples = max(1, int(batch_seconds * rate))
    batches = plan_batches([e - s for _, s, e in items], batch_samples, encoder.pad_safe)

    def run(batch: list[int]) -> list[Any]:
        return encoder.stats([np.ascontiguousarray(signals[items[i][0]][items[i][1] : items[i][2]]) for i in batch])

    # an encoder that sets its own threads (the ONNX Runtime predictor's) says so; torch runs on one
    threads = encoder.threads() if hasattr(encoder, "threads") else single_torch_thread()
    with threads, ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        for batch, batch_stats in zip(batches, pool.map(run, batches)):
            done_clips, done_samples = _collect(batch, batch_stats, items, parts, windows_left, signals, out)
            progress.update(done_clips, done_samples)
    return out


def _collect(
    batch: list[int], batch_stats: list[Any], items: list[tuple[int, int, int]], parts: dict[int, list[Any]],
    windows_left: np.ndarray, signals: Sequence[np.ndarray], out: np.ndarray,
) -> tuple[int, int]:
    """Store a batch's frame statistics; pool each clip whose last window is done. Returns (clips, samples) done."""
    done_clips, done_samples = 0, 0
    for i, stats in zip(batch, batch_stats):
        clip = items[i][0]
        parts.setdefault(clip, []).append(stats)
        windows_left[clip] -= 1
        if windows_left[clip] == 0:
            got = parts.pop(clip)
            out[clip] = combine_stats([s.count for s in got], [s.mean for s in got], [s.var for s in got])
            done_clips += 1
            done_samples += len(signals[clip])
    return done_clips, done_samples


# --- shard files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """Contents of one embedding shard file."""

    clip_ids: np.ndarray
    embeddings: np.ndarray  # (clips, layers, dim): float16 (hf) or float32 (opensmile)
    metadata: dict[str, Any]


def _checksum(clip_ids: np.ndarray, embeddings: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update("\n".join(str(c) for c in clip_ids).encode("utf-8"))
    digest.update(f"{embeddings.shape} {embeddings.dtype}".encode("ascii"))
    digest.update(np.ascontiguousarray(embeddings).tobytes())
    return digest.hexdigest()


def stored_dtype(kind: str) -> str:
    """The dtype an encoder kind's embeddings are stored in: float32 for openSMILE (its functionals
    overflow float16), float16 otherwise."""
    return "float32" if kind == "opensmile" else "float16"


def as_stored(embeddings: np.ndarray, kind: str) -> np.ndarray:
    """float32 embeddings rounded as a shard of an encoder of ``kind`` stores them, so that a model
    reads at predict time exactly the values it was trained and evaluated on."""
    if stored_dtype(kind) == "float16":
        return to_float16(embeddings).astype(np.float32)
    return np.asarray(embeddings, dtype=np.float32)


def to_float16(embeddings: np.ndarray, what: str = "embeddings") -> np.ndarray:
    """Cast to float16, refusing values that would overflow to infinity or are not finite."""
    if not np.isfinite(embeddings).all():
        raise ValueError(f"{what}: contains NaN or infinite values")
    peak = float(np.abs(embeddings).max()) if embeddings.size else 0.0
    if peak > FLOAT16_MAX:
        raise ValueError(f"{what}: value {peak:.4g} exceeds the float16 range ({FLOAT16_MAX})")
    return embeddings.astype(np.float16)


def write_shard(
    path: str | Path,
    clip_ids: Sequence[str],
    embeddings: np.ndarray,
    encoder: str,
    model: str,
    revision: str,
    dtype: str = "float16",
    device: str = "cpu",
    compute_dtype: str = "float32",
) -> None:
    """Write one embedding shard atomically (array + metadata + checksum); ``dtype`` float16 or float32
    (as stored); ``device`` and ``compute_dtype``: what the encoder ran on (cpu float32, cuda float16)."""
    ids = np.array(list(clip_ids), dtype=str)
    array = np.asarray(embeddings)
    if dtype == "float16":
        array = to_float16(array, f"{path}")
    elif not np.isfinite(array).all():
        raise ValueError(f"{path}: contains NaN or infinite values")
    else:
        array = array.astype(dtype)
    if array.ndim != 3 or array.shape[0] != len(ids):
        raise ValueError(f"{path}: embeddings shape {array.shape} does not match {len(ids)} clips x layers x dim")
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(
            tmp,
            clip_ids=ids,
            embeddings=array,
            encoder=np.array(encoder),
            model=np.array(model),
            revision=np.array(revision),
            layers=np.int64(array.shape[1]),
            pooling=np.array(POOLING),
            device=np.array(device),
            compute_dtype=np.array(compute_dtype),
            checksum=np.array(_checksum(ids, array)),
        )


def quick_check(path: str | Path) -> str | None:
    """Cheap structural check (zip directory and member names, no decompression).

    Returns a reason when the file is unusable (e.g. truncated), ``None`` when it looks whole.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = {Path(n).stem for n in archive.namelist()}
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        return f"not a readable .npz archive ({exc})"
    missing = [k for k in REQUIRED_KEYS if k not in names]
    return f"missing arrays {missing}" if missing else None


def load_shard(path: str | Path) -> Shard:
    """Read and verify an embedding shard; raise :class:`ShardError` naming the file when it is bad."""
    path = Path(path)
    hint = rebuild_hint(path)
    if not path.is_file():
        raise ShardError(f"{path}: embedding shard is missing")
    reason = quick_check(path)
    if reason:
        raise ShardError(f"{path}: corrupt or truncated embedding shard: {reason}; {hint}")
    try:
        with np.load(path, allow_pickle=False) as data:
            ids = data["clip_ids"]
            array = data["embeddings"]
            meta = {k: data[k].item() for k in METADATA_KEYS if k in data}
            stored = str(data["checksum"])
    except Exception as exc:  # zlib / CRC / format errors all mean the same to the caller
        raise ShardError(f"{path}: corrupt embedding shard ({type(exc).__name__}: {exc}); {hint}") from exc
    if array.ndim != 3 or array.shape[0] != len(ids):
        raise ShardError(f"{path}: embeddings shape {array.shape} does not match {len(ids)} clip ids; {hint}")
    if _checksum(ids, array) != stored:
        raise ShardError(f"{path}: checksum mismatch, the file was changed after it was written; {hint}")
    return Shard(clip_ids=ids.astype(str), embeddings=array, metadata=meta)


def load_variant(paths: Sequence[str | Path], name: str, layers: Sequence[int] | None = None) -> Variant:
    """Concatenate the shards of one variant (``name``: "clean", "aug1", ...) into a
    :class:`~speech_emotion.data.splits.Variant`.

    ``features`` is (clips, layers, dim) as stored (float16 for hf, float32 for opensmile), or only
    the given ``layers`` (saves memory).
    Shards must agree on encoder and layer count; a clip id in two shards is an error.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("load_variant: no shard paths given")
    ids, arrays, first, made_with = [], [], None, set()
    for path in paths:
        shard = load_shard(path)
        made_with.add(made_with_of(shard.metadata))
        if first is None:
            first = (shard.metadata.get("encoder"), shard.embeddings.shape[1:], path)
        elif (shard.metadata.get("encoder"), shard.embeddings.shape[1:]) != first[:2]:
            raise ShardError(f"{path}: encoder/shape {shard.embeddings.shape[1:]} differs from {first[2]}")
        ids.append(shard.clip_ids)
        arrays.append(shard.embeddings if layers is None else shard.embeddings[:, list(layers)])
    clip_ids = np.concatenate(ids)
    unique, counts = np.unique(clip_ids, return_counts=True)
    if (counts > 1).any():
        raise ShardError(f"variant {name}: clip ids in more than one shard, e.g. {unique[counts > 1][:3].tolist()}")
    warn_mixed_devices(made_with, f"variant {name}")
    return Variant(name=name, clip_ids=clip_ids, features=np.concatenate(arrays), made_with=tuple(sorted(made_with)))


def made_with_of(metadata: dict[str, Any]) -> str:
    """``<device> <compute dtype>`` of a shard ("unrecorded" for shards written before it was recorded)."""
    if "device" not in metadata:
        return "unrecorded"
    return f"{metadata['device']} {metadata.get('compute_dtype', '?')}"


def warn_mixed_devices(made_with: set[str] | Sequence[str], what: str) -> None:
    """Warn when the embeddings of one encoder were computed on different devices or dtypes."""
    kinds = sorted(set(made_with))
    if len(kinds) > 1:
        log.warning("%s: embedding shards were computed with different devices/dtypes (%s); GPU float16 and "
                    "CPU float32 give slightly different numbers, so results are not exactly reproducible. "
                    "Rerun the embed jobs with one embed.device for identical numbers.", what, ", ".join(kinds))



def embed_speedups(embed: dict[str, Any]) -> dict[str, Any]:
    """The opt-in speed-ups of config ``embed`` that are set (``quantize``, ``max_layer``), for an hf
    encoder's spec. They change the embeddings, so they belong to what makes a shard (and a final
    model's encoder record) stale; unset, they add nothing, so existing runs' params stay the same."""
    out: dict[str, Any] = {}
    if embed.get("quantize") not in (None, "none", False):
        out["quantize"] = str(embed["quantize"])
    if embed.get("max_layer") is not None:
        out["max_layer"] = int(embed["max_layer"])
    return out


def make_encoder(spec: dict[str, Any], model_dir: str | Path | None, device: str, sample_rate: int) -> Any:
    """The encoder described by ``encoders.<name>`` (``kind: hf`` and ``emotion2vec`` load from ``model_dir``)."""
    from .encoders import HFEncoder, OpenSmileEncoder

    if spec["kind"] == "opensmile":
        return OpenSmileEncoder(spec["feature_set"], sample_rate)
    if spec["kind"] == "hf":
        if model_dir is None:
            raise ValueError("kind hf needs a model folder")
        return HFEncoder(model_dir, device, sample_rate, real_length=bool(spec.get("real_length", False)),
                         quantize=spec.get("quantize"), max_layer=spec.get("max_layer"))
    if spec["kind"] == "emotion2vec":
        if model_dir is None:
            raise ValueError("kind emotion2vec needs a model folder")
        from .emotion2vec import Emotion2vecEncoder

        return Emotion2vecEncoder(model_dir, device, sample_rate)
    raise ValueError(f"unknown encoder kind {spec['kind']!r}")
