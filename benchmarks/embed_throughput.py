"""Embedding throughput and memory on the CPU of the machine it runs on with a WavLM-Large-shaped model.

A randomly initialised model with microsoft/wavlm-large's exact shape (same compute as the real
one: 24 layers, hidden 1024, 16 heads, 7-layer 512-channel conv stack) is saved with
``save_pretrained`` and loaded back through the embed stage's own loader. On real clips from
``../shared/data/urdu`` it measures audio-seconds per second of

  (a) the embed code path (speech_emotion.embed.embeddings.embed_signals: length-sorted batches of
      ``--batch-seconds``, every hidden layer pooled over valid frames),
  (b) a bare ``model(input_values)`` loop over the same clips one by one (the floor),
  (c) fixed batches of 4 clips in file order, padded, as the original scripts did,

interleaved (the clips are split into groups and a, b, c run on each group in rotating order),
so a changing load on the shared machine hits all three alike. Then, in a fresh process, it embeds
one ``--long-minutes`` clip (real speech concatenated) through the embed path in windows of
``--max-seconds`` and reports that process's peak resident memory (VmHWM).

    python benchmarks/embed_throughput.py                     # ~40 clips, then a 20-minute clip
    python benchmarks/embed_throughput.py --long-minutes 0    # throughput only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
URDU = REPO.parent / "shared" / "data" / "urdu"

# microsoft/wavlm-large's config.json (architecture keys; dropout is irrelevant in eval mode).
WAVLM_LARGE = dict(
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    hidden_act="gelu",
    conv_dim=[512] * 7,
    conv_kernel=[10, 3, 3, 3, 3, 2, 2],
    conv_stride=[5, 2, 2, 2, 2, 2, 2],
    conv_bias=False,
    feat_extract_norm="layer",
    feat_extract_activation="gelu",
    do_stable_layer_norm=True,
    num_conv_pos_embeddings=128,
    num_conv_pos_embedding_groups=16,
    num_buckets=320,
    max_bucket_distance=800,
    layer_norm_eps=1e-5,
    apply_spec_augment=False,
)


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_model(folder: Path, seed: int = 0) -> Path:
    """Random WavLM-Large-shaped model + wavlm-large's feature extractor settings, saved once."""
    if (folder / "config.json").exists():
        return folder
    import torch
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMModel

    torch.manual_seed(seed)
    model = WavLMModel(WavLMConfig(**WAVLM_LARGE)).eval()
    model.save_pretrained(str(folder))
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    ).save_pretrained(str(folder))
    return folder


def pick_clips(count: int) -> list[Path]:
    """``count`` clips spread evenly over the sorted file list (all four emotions)."""
    files = sorted(URDU.glob("*/*.wav"))
    if not files:
        sys.exit(f"needs {URDU} (the ../shared folder beside the checkout); absent here")
    step = max(1, len(files) // count)
    return files[::step][:count]


def throughput(args: argparse.Namespace, folder: Path) -> dict:
    import torch

    from speech_emotion.data.audio import load_audio
    from speech_emotion.embed.embeddings import embed_signals
    from speech_emotion.embed.encoders import HFEncoder

    torch.set_num_threads(args.threads)
    files = pick_clips(args.clips)
    signals = [load_audio(f) for f in files]
    encoder = HFEncoder(folder, device="cpu")
    model, extractor = encoder.model, encoder.extractor

    def run_a(group):
        embed_signals(encoder, group, args.batch_seconds, args.max_seconds, progress_every=1e9)

    def run_b(group):
        inputs = [extractor(s, sampling_rate=16000, return_tensors="pt").input_values for s in group]
        with torch.inference_mode():
            start = time.perf_counter()
            for values in inputs:
                model(values)
            return time.perf_counter() - start

    def run_c(group):
        with torch.inference_mode():
            for i in range(0, len(group), 4):
                batch = extractor(
                    group[i : i + 4], sampling_rate=16000, padding=True, return_attention_mask=True,
                    return_tensors="pt",
                )  # fmt: skip
                model(batch.input_values, attention_mask=batch.attention_mask)

    run_a(signals[:1])  # warm-up (allocator, kernels)
    methods = {"a": run_a, "b": run_b, "c": run_c}
    seconds = dict.fromkeys(methods, 0.0)
    per_group = []
    groups = [signals[i : i + args.group] for i in range(0, len(signals), args.group)]
    for g, group in enumerate(groups):
        names = list(methods)
        names = names[g % 3 :] + names[: g % 3]  # rotate the order per group
        took = {}
        for name in names:
            start = time.perf_counter()
            inner = methods[name](group)
            took[name] = inner if name == "b" else time.perf_counter() - start
            seconds[name] += took[name]
        per_group.append({k: round(v, 1) for k, v in took.items()})
        print(f"group {g} ({', '.join(names)}): seconds {per_group[-1]}", flush=True)
    audio_s = sum(len(s) for s in signals) / 16000
    rates = {k: audio_s / v for k, v in seconds.items()}
    return {
        "clips": len(signals),
        "audio_seconds": round(audio_s, 1),
        "clip_seconds_min_max": [round(min(len(s) for s in signals) / 16000, 2),
                                 round(max(len(s) for s in signals) / 16000, 2)],
        "threads": args.threads,
        "batch_seconds": args.batch_seconds,
        "audio_s_per_s": {k: round(v, 2) for k, v in rates.items()},
        "wall_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "seconds_per_group": per_group,
        "median_group_ratio_a_over_b": round(float(np.median([g["b"] / g["a"] for g in per_group])), 3),
        "median_group_ratio_a_over_c": round(float(np.median([g["c"] / g["a"] for g in per_group])), 3),
        "ratio_a_over_b": round(rates["a"] / rates["b"], 3),
        "ratio_a_over_c": round(rates["a"] / rates["c"], 3),
        "peak_rss_mb": round(peak_rss_mb()),
    }  # fmt: skip


def long_clip(args: argparse.Namespace, folder: Path) -> dict:
    """One --long-minutes clip through the embed path (fresh process: its own peak memory)."""
    import torch

    from speech_emotion.data.audio import load_audio
    from speech_emotion.embed.embeddings import embed_signals
    from speech_emotion.embed.encoders import HFEncoder

    torch.set_num_threads(args.threads)
    target = int(args.long_minutes * 60 * 16000)
    pieces, total = [], 0
    for path in sorted(URDU.glob("*/*.wav")):
        pieces.append(load_audio(path))
        total += len(pieces[-1])
        if total >= target:
            break
    signal = np.concatenate(pieces)
    while len(signal) < target:
        signal = np.concatenate([signal, signal])
    signal = signal[:target]
    rss_before = peak_rss_mb()
    encoder = HFEncoder(folder, device="cpu")
    start = time.perf_counter()
    out = embed_signals(encoder, [signal], args.batch_seconds, args.max_seconds, progress_every=60)
    elapsed = time.perf_counter() - start
    return {
        "long_clip_seconds": len(signal) / 16000,
        "windows": int(np.ceil(len(signal) / (args.max_seconds * 16000))),
        "shape": list(out.shape),
        "finite": bool(np.isfinite(out).all()),
        "elapsed_s": round(elapsed, 1),
        "audio_s_per_s": round(len(signal) / 16000 / elapsed, 2),
        "peak_rss_mb_before_model": round(rss_before),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--group", type=int, default=10, help="clips per interleaving group")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-seconds", type=float, default=30.0, help="embed.cpu_batch_seconds (config default)")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="audio.max_seconds (config default)")
    parser.add_argument("--long-minutes", type=float, default=20.0, help="0 skips the long-clip measurement")
    parser.add_argument("--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "wavlm-large-random")
    parser.add_argument("--part", choices=["all", "throughput", "long"], default="all", help=argparse.SUPPRESS)
    args = parser.parse_args()

    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    folder = build_model(args.model_dir)
    if args.part in ("all", "throughput"):
        result = throughput(args, folder)
        print(json.dumps({"throughput": result}, indent=2), flush=True)
        r = result["audio_s_per_s"]
        print(
            f"(a) embed path {r['a']:.2f}, (b) bare one-by-one {r['b']:.2f}, (c) batches of 4 in file order "
            f"{r['c']:.2f} audio-s/s; a/b = {result['ratio_a_over_b']:.3f}, a/c = {result['ratio_a_over_c']:.3f}; "
            f"peak RSS {result['peak_rss_mb']} MB",
            flush=True,
        )
    if args.part == "long" or (args.part == "all" and args.long_minutes > 0):
        if args.part == "all":  # fresh process, so its peak memory is the embed path's alone
            cmd = [sys.executable, __file__, "--part", "long", "--model-dir", str(folder),
                   "--long-minutes", str(args.long_minutes), "--threads", str(args.threads),
                   "--batch-seconds", str(args.batch_seconds), "--max-seconds", str(args.max_seconds)]  # fmt: skip
            subprocess.run(cmd, check=True)
            return
        result = long_clip(args, folder)
        print(json.dumps({"long_clip": result}, indent=2), flush=True)
        print(
            f"{result['long_clip_seconds'] / 60:.0f}-minute clip in {result['windows']} windows: "
            f"{result['audio_s_per_s']} audio-s/s, peak RSS {result['peak_rss_mb']} MB",
            flush=True,
        )


if __name__ == "__main__":
    main()
