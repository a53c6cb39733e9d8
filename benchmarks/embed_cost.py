"""The embedding half of the scale benchmark: what embedding CREMA-D costs, and the opt-in speed-ups.

A randomly initialised model of microsoft/wavlm-large's exact shape (the same compute as the real
one; ``benchmarks/embed_throughput.py`` builds it) embeds real clips of ``../shared/data/urdu``
(1 to 3 s, mean 2.5 s: CREMA-D's clips are 1.3 to 5 s, mean 2.54 s). Every setting runs on the
same clips, interleaved (the clips are split into groups; each group runs every setting, in an
order that rotates from group to group), so a changing load on a shared machine hits all alike.
Speeds are audio-seconds per second; ratios within one run are the robust figures.

Settings (CPU, the default):

- ``bare B``: a bare batched forward pass, ``model(input_values, attention_mask)`` on the same
  length-sorted batches of at most B audio-seconds as the embed path, no hidden states kept,
  torch's own threads (the floor a hand-written loop would reach);
- ``embed B``: the embed stage's code path (``speech_emotion.embed.embeddings.embed_signals``: batches
  of at most B audio-seconds, ``--threads`` batches side by side on one torch thread each, every
  hidden layer pooled as mean ++ std over valid frames), for each ``--batch-seconds`` B;
- ``embed B int8`` / ``max_layer N`` / both: the opt-in speed-ups (``embed.quantize: int8``,
  ``embed.max_layer: N``) at the config's CPU batch size.

Then: where the forward pass spends its time (module timings on one batch) and its floating-point
operations per audio-second (torch's FlopCounterMode), and the projected wall time of CREMA-D:
18,924 audio-seconds of clean clips (the official files' sizes) and 3 x that with the default 2
augmented copies (their lengths vary by the time stretch, about the same on average).

GPU mode (``--device cuda``): the same, in float16 and bfloat16 (``--dtypes``), batch seconds
swept (default 30 60 120 240), on every URDU clip by default, with peak GPU memory per setting.
Quantisation is CPU-only and is skipped there.

    python benchmarks/embed_cost.py                                   # CPU, ~10 min on 2 cores
    python benchmarks/embed_cost.py --device cuda --out embed-cost-gpu.md   # on a GPU machine

Writes a markdown table to ``--out`` (and prints it) and the raw numbers to ``--out`` + ``.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "benchmarks"))
from embed_throughput import build_model, peak_rss_mb  # noqa: E402

URDU = REPO.parent / "shared" / "data" / "urdu"
RATE = 16000
CREMAD_CLEAN_S = 18924.0  # sum over the 7,442 official AudioWAV files of (bytes - 44) / 32,000 (16 kHz PCM16)
COPIES = 2  # augment.copies (default)


def pick_clips(count: int) -> list[Path]:
    files = sorted(URDU.glob("*/*.wav"))
    if not files:
        sys.exit(f"needs {URDU} (the ../shared folder beside the checkout); absent here")
    if count <= 0 or count >= len(files):
        return files
    step = len(files) / count
    return [files[int(i * step)] for i in range(count)]


def hours(audio_s: float, rate: float) -> float:
    return audio_s / rate / 3600


class Setting:
    """One measured setting: a name and a function embedding a group of signals."""

    def __init__(self, name: str, run, kind: str, batch_seconds: float, note: str = ""):
        self.name, self.run, self.kind, self.batch_seconds, self.note = name, run, kind, batch_seconds, note
        self.seconds = 0.0
        self.cpu_seconds = 0.0  # the process's CPU time (all threads): robust to other work on the machine
        self.peak_gpu_mb = 0.0


def make_settings(args: argparse.Namespace, folder: Path) -> tuple[list[Setting], dict]:
    import torch

    from speech_emotion.embed.embeddings import embed_signals, plan_batches
    from speech_emotion.embed.encoders import HFEncoder

    cuda = args.device == "cuda"
    settings: list[Setting] = []
    encoders = {}

    def encoder_for(dtype: str, quantize=None, max_layer=None) -> HFEncoder:
        key = (dtype, quantize, max_layer)
        if key not in encoders:
            encoder = HFEncoder(folder, args.device, RATE, quantize=quantize, max_layer=max_layer)
            if cuda and dtype != "float16":  # the embed stage runs CUDA in float16; bf16 for comparison
                encoder.dtype = getattr(torch, dtype)
                encoder.model.to(encoder.dtype)
            encoders[key] = encoder
        return encoders[key]

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def embed_run(encoder, batch_seconds):
        def run(signals):
            embed_signals(encoder, signals, batch_seconds, 30.0, progress_every=1e9, workers=1 if cuda else args.threads)
            sync()

        return run

    def bare_run(encoder, batch_seconds):
        model, extractor = encoder.model, encoder.extractor

        def run(signals):
            batches = plan_batches([len(s) for s in signals], int(batch_seconds * RATE))
            with torch.inference_mode():
                for batch in batches:
                    inputs = extractor([signals[i] for i in batch], sampling_rate=RATE, padding="longest",
                                       return_attention_mask=True, return_tensors="pt")  # fmt: skip
                    model(inputs.input_values.to(encoder.device, encoder.dtype),
                          attention_mask=inputs.attention_mask.to(encoder.device))  # fmt: skip
            sync()

        return run

    dtypes = args.dtypes if cuda else ["float32"]
    for dtype in dtypes:
        suffix = f" {dtype}" if cuda else ""
        for b in args.batch_seconds:
            base = encoder_for(dtype)
            settings.append(Setting(f"bare {b:g}{suffix}", bare_run(base, b), "bare", b))
            settings.append(Setting(f"embed {b:g}{suffix}", embed_run(base, b), "embed", b))
        b = args.speedup_batch_seconds
        for n in args.max_layer:
            settings.append(Setting(f"embed {b:g}{suffix} max_layer {n}", embed_run(encoder_for(dtype, None, n), b),
                                    "embed", b, f"max_layer {n}"))  # fmt: skip
        if not cuda and args.int8:
            settings.append(Setting(f"embed {b:g} int8", embed_run(encoder_for(dtype, "int8"), b), "embed", b, "int8"))
            for n in args.max_layer:
                settings.append(Setting(f"embed {b:g} int8 max_layer {n}",
                                        embed_run(encoder_for(dtype, "int8", n), b), "embed", b, f"int8 + max_layer {n}"))  # fmt: skip
    return settings, encoders


def profile(encoder, signals: list[np.ndarray], batch_seconds: float) -> dict:
    """Module timings of the bare forward pass on one batch (one torch thread) and its FLOPs per audio-second."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from speech_emotion.devices import single_torch_thread
    from speech_emotion.embed.embeddings import plan_batches

    model = encoder.model
    batch = plan_batches([len(s) for s in signals], int(batch_seconds * RATE))[0]
    group = [signals[i] for i in batch]
    inputs = encoder.extractor(group, sampling_rate=RATE, padding="longest", return_attention_mask=True,
                               return_tensors="pt")  # fmt: skip
    parts = {"conv feature extractor": model.feature_extractor, "feature projection": model.feature_projection,
             "positional convolution": model.encoder.pos_conv_embed}  # fmt: skip
    for i, layer in enumerate(model.encoder.layers):
        parts[f"layer {i + 1}"] = layer
    took = dict.fromkeys(parts, 0.0)
    handles, started = [], {}
    for name, module in parts.items():
        handles.append(module.register_forward_pre_hook(lambda m, a, name=name: started.__setitem__(name, time.perf_counter())))
        handles.append(module.register_forward_hook(
            lambda m, a, o, name=name: took.__setitem__(name, took[name] + time.perf_counter() - started[name])))  # fmt: skip
    values = inputs.input_values.to(encoder.device, encoder.dtype)
    mask = inputs.attention_mask.to(encoder.device)
    with single_torch_thread(), torch.inference_mode():
        model(values[:1, : RATE], attention_mask=mask[:1, : RATE])  # warm-up
        took = dict.fromkeys(parts, 0.0)
        start = time.perf_counter()
        model(values, attention_mask=mask)
        total = time.perf_counter() - start
    for handle in handles:
        handle.remove()
    layers = sum(v for k, v in took.items() if k.startswith("layer"))
    padded_s = values.shape[0] * values.shape[1] / RATE
    from torch.nn.utils import parametrize

    for module in model.modules():  # FlopCounterMode trips over the positional conv's weight norm (the last use)
        if parametrize.is_parametrized(module):
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(values, attention_mask=mask)
    flops = counter.get_total_flops()
    return {
        "batch": {"clips": len(group), "padded_audio_s": round(padded_s, 1)},
        "seconds_one_thread": round(total, 2),
        "share": {
            "conv feature extractor": round(took["conv feature extractor"] / total, 3),
            "feature projection + positional convolution": round(
                (took["feature projection"] + took["positional convolution"]) / total, 3),
            "24 transformer layers": round(layers / total, 3),
            "per transformer layer (mean)": round(layers / len(model.encoder.layers) / total, 4),
        },
        "gflop_per_audio_s": round(flops / padded_s / 1e9, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--clips", type=int, default=None, help="URDU clips (default: 24 on CPU, all 400 on CUDA)")
    parser.add_argument("--group", type=int, default=8, help="clips per interleaving group (CPU; 100 on CUDA)")
    parser.add_argument("--threads", type=int, default=2, help="CPU: embed.threads (batches side by side) and torch threads")
    parser.add_argument("--batch-seconds", type=float, nargs="+", default=None,
                        help="swept (default: 5 10 30 on CPU, 30 60 120 240 on CUDA)")  # fmt: skip
    parser.add_argument("--speedup-batch-seconds", type=float, default=None,
                        help="batch seconds of the speed-up settings (default: 30 on CPU, 120 on CUDA: the config's)")  # fmt: skip
    parser.add_argument("--max-layer", type=int, nargs="*", default=[12], help="embed.max_layer values measured")
    parser.add_argument("--no-int8", dest="int8", action="store_false", help="skip embed.quantize: int8 (CPU)")
    parser.add_argument("--dtypes", nargs="+", default=["float16", "bfloat16"], help="CUDA: compute dtypes")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    parser.add_argument("--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "wavlm-large-random")
    parser.add_argument("--out", type=Path, default=Path("embed-cost.md"))
    args = parser.parse_args()
    cuda = args.device == "cuda"
    args.clips = args.clips if args.clips is not None else (0 if cuda else 16)
    args.group = 100 if cuda and args.group == 8 else args.group
    args.batch_seconds = args.batch_seconds or ([30.0, 60.0, 120.0, 240.0] if cuda else [5.0, 10.0, 30.0])
    args.speedup_batch_seconds = args.speedup_batch_seconds or (120.0 if cuda else 30.0)

    import torch

    from speech_emotion.data.audio import load_audio
    from speech_emotion.embed.embeddings import embed_signals

    if cuda and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device visible to torch here")
    torch.set_num_threads(args.threads)
    folder = build_model(args.model_dir)
    files = pick_clips(args.clips)
    signals = [load_audio(f) for f in files]
    audio_s = sum(len(s) for s in signals) / RATE
    settings, encoders = make_settings(args, folder)
    for encoder in encoders.values():  # warm-up: allocator, kernels
        embed_signals(encoder, signals[:2], 30.0, 30.0, progress_every=1e9)
    groups = [signals[i : i + args.group] for i in range(0, len(signals), args.group)]
    print(f"{len(signals)} clips, {audio_s:.0f} audio-s in {len(groups)} groups; {len(settings)} settings; "
          f"device {args.device}, {args.threads} threads", flush=True)  # fmt: skip
    per_group = []
    for g, group in enumerate(groups):
        order = settings[g % len(settings) :] + settings[: g % len(settings)]
        took = {}
        for setting in order:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            start, cpu_start = time.perf_counter(), time.process_time()
            setting.run(group)
            took[setting.name] = time.perf_counter() - start
            setting.seconds += took[setting.name]
            setting.cpu_seconds += time.process_time() - cpu_start
            if cuda:
                setting.peak_gpu_mb = max(setting.peak_gpu_mb, torch.cuda.max_memory_allocated() / 2**20)
        per_group.append({k: round(v, 2) for k, v in took.items()})
        print(f"group {g}: " + ", ".join(f"{k} {v:.1f}s" for k, v in took.items()), flush=True)

    from speech_emotion.embed.embeddings import plan_batches

    def padding(batch_seconds: float) -> float:
        """Padded audio / audio of the batches of this batch size over the groups. Small groups of
        clips spread over every length pad more than a shard's hundreds of clips in length order."""
        padded = real = 0
        for group in groups:
            lengths = [len(x) for x in group]
            for batch in plan_batches(lengths, int(batch_seconds * RATE)):
                padded += len(batch) * max(lengths[i] for i in batch)
                real += sum(lengths[i] for i in batch)
        return padded / real

    reference = {}  # the bare pass of the same batch size and dtype
    for s in settings:
        if s.kind == "bare":
            reference[s.name.replace("bare", "embed", 1)] = s
    rows = []
    default_embed = next(s for s in settings if s.kind == "embed" and s.batch_seconds == args.speedup_batch_seconds
                         and not s.note)  # fmt: skip
    for s in settings:
        # CPU: the rate of --threads fully busy cores from the CPU time (a shared machine's wall time
        # depends on the other work); CUDA: wall time
        cost = s.seconds if cuda else s.cpu_seconds / args.threads
        rate = audio_s / cost
        bare = reference.get(s.name) or reference.get(s.name.split(" max_layer")[0].replace(" int8", ""))
        bare_cost = (bare.seconds if cuda else bare.cpu_seconds / args.threads) if bare else None
        default_cost = default_embed.seconds if cuda else default_embed.cpu_seconds / args.threads
        row = {
            "setting": s.name, "audio_s_per_s": round(rate, 3), "wall_seconds": round(s.seconds, 1),
            "cpu_seconds": round(s.cpu_seconds, 1), "wall_audio_s_per_s": round(audio_s / s.seconds, 3),
            "vs_bare_same_batch": round(bare_cost / cost, 3) if bare and s.kind == "embed" else None,
            "vs_default_embed": round(default_cost / cost, 3),
            "wall_vs_default_embed": round(default_embed.seconds / s.seconds, 3),
            "padded_over_audio": round(padding(s.batch_seconds), 3),
            "cremad_clean_h": round(hours(CREMAD_CLEAN_S, rate), 2),
            "cremad_with_copies_h": round(hours(CREMAD_CLEAN_S * (1 + COPIES), rate), 2),
        }  # fmt: skip
        if cuda:
            row["peak_gpu_mb"] = round(s.peak_gpu_mb)
        rows.append(row)
    prof = profile(encoders[("float32", None, None)], signals, 30.0) if args.profile and not cuda else None
    result = {
        "device": args.device,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "threads": args.threads, "clips": len(signals), "audio_s": round(audio_s, 1),
        "cremad_clean_audio_s": CREMAD_CLEAN_S, "copies": COPIES,
        "rows": rows, "seconds_per_group": per_group, "profile": prof,
        "peak_rss_mb": round(peak_rss_mb()),
    }  # fmt: skip
    lines = [
        f"Embedding cost, WavLM-Large shape (random weights), {len(signals)} URDU clips ({audio_s:.0f} audio-s), "
        + (f"GPU {result['gpu']}, wall time" if cuda else
           f"CPU, {args.threads} threads; audio-s/s = audio-s / (CPU s / {args.threads}), i.e. with {args.threads} cores "
           "kept busy; the wall-time columns depend on the other work on the machine") + ":",
        "",
        "| setting | padded audio / audio | audio-s/s | x bare forward (same batches) | x embed default | CREMA-D clean, h | CREMA-D clean + "
        f"{COPIES} copies, h |" + (" peak GPU MB |" if cuda else " wall audio-s/s | wall x embed default |"),
        "|---|---|---|---|---|---|---|---|" + ("" if cuda else "---|"),
    ]
    for r in rows:
        vs_bare = f"{r['vs_bare_same_batch']:.2f}" if r["vs_bare_same_batch"] is not None else "-"
        lines.append(f"| {r['setting']} | {r['padded_over_audio']:.2f} | {r['audio_s_per_s']:.2f} | {vs_bare} | {r['vs_default_embed']:.2f} | "
                     f"{r['cremad_clean_h']:.1f} | {r['cremad_with_copies_h']:.1f} |"
                     + (f" {r['peak_gpu_mb']} |" if cuda else
                        f" {r['wall_audio_s_per_s']:.2f} | {r['wall_vs_default_embed']:.2f} |"))  # fmt: skip
    if prof:
        share = prof["share"]
        lines += ["", f"Profile (one batch of {prof['batch']['clips']} clips, {prof['batch']['padded_audio_s']} padded "
                  f"audio-s, one thread, {prof['seconds_one_thread']} s): conv feature extractor "
                  f"{share['conv feature extractor']:.0%}, projection + positional conv "
                  f"{share['feature projection + positional convolution']:.0%}, 24 transformer layers "
                  f"{share['24 transformer layers']:.0%} ({share['per transformer layer (mean)']:.1%} each); "
                  f"{prof['gflop_per_audio_s']} GFLOP per audio-second."]  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text, flush=True)
    args.out.write_text(text, encoding="utf-8")
    Path(str(args.out) + ".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
