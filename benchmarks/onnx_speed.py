"""Embed-stage speed of the exported ONNX encoder graphs against the workflow's torch encoders.

Three encoders: the tiny random WavLM of the tests (``resources/tiny-wavlm``), the real
``whisper-tiny.en`` (``../shared/models/whisper-tiny.en``, ``real_length: true`` as benchmarks/urdu.yaml
runs it) and a WavLM-Large-shaped model with random weights (``transformers.WavLMConfig`` with
wavlm-large's sizes: 24 layers of 1024, saved with ``save_pretrained``; the speed of a real
WavLM-Large, not its numbers). Each is exported whole (every layer) by ``speech-emotion export``'s
code, in float32 and with ``--quantize int8``.

Each path (torch, ONNX float32, ONNX int8) runs in a process of its own, on one thread (as the
embed stage runs each batch: ``embed_signals`` sets torch to one thread; ONNX Runtime is given one
intra-op thread), over the 12 real CREMA-D clips of ``../shared/data/cremad-sample``:

- latency: each clip alone (batch of one), median over clips of the best of ``--repeats`` runs;
- throughput: all clips through ``embed_signals`` (the workflow's batching, ``--batch-seconds``),
  best of ``--repeats`` runs, in clips/s and audio seconds per second;
- peak memory: the process's peak resident set (``VmHWM``) after loading and running;
- max |difference| of the pooled embeddings from the torch path's (before float16 rounding).

    python benchmarks/onnx_speed.py [--out onnx-speed.md] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
SHARED = REPO.parent / "shared"
PATHS = ("torch", "onnx-float32", "onnx-int8")


def wavlm_large_shaped(out: Path) -> None:
    """Random weights in wavlm-large's shape (the tiny WavLM's feature extractor settings)."""
    import shutil

    import torch
    from transformers import WavLMConfig, WavLMModel

    config = WavLMConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                         do_stable_layer_norm=True, feat_extract_norm="layer", conv_bias=False)
    torch.manual_seed(0)
    WavLMModel(config).eval().save_pretrained(str(out))
    shutil.copy(REPO / "resources/tiny-wavlm/preprocessor_config.json", out / "preprocessor_config.json")


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM; ``ru_maxrss`` would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(path: str, spec: dict, model_dir: str, graph: str, facts: dict, clips: list[str], repeats: int,
           batch_seconds: float, reference: str | None) -> dict:
    """One path's numbers, measured in this process."""
    from speech_emotion.data.audio import load_audio
    from speech_emotion.embed.embeddings import embed_signals, make_encoder

    signals = [load_audio(clip, 16000) for clip in clips]
    start = time.perf_counter()
    if path == "torch":
        encoder = make_encoder(spec, model_dir, "cpu", 16000)
    else:
        from speech_emotion.predict.onnx_model import OnnxEncoder

        encoder = OnnxEncoder(graph, facts, 16000, threads=1)
    load_s = time.perf_counter() - start
    embed_signals(encoder, signals[:1], batch_seconds)  # warm-up
    latency = []
    for signal in signals:
        runs = []
        for _ in range(repeats):
            t = time.perf_counter()
            embed_signals(encoder, [signal], batch_seconds)
            runs.append(time.perf_counter() - t)
        latency.append(min(runs))
    whole = []
    for _ in range(repeats):
        t = time.perf_counter()
        values = embed_signals(encoder, signals, batch_seconds)
        whole.append(time.perf_counter() - t)
    audio = sum(len(s) for s in signals) / 16000
    out = {"path": path, "load_s": load_s, "latency_s": statistics.median(latency),
           "clips_per_s": len(signals) / min(whole), "audio_s_per_s": audio / min(whole),
           "peak_mb": peak_mb()}
    if reference is None:
        np.save(graph + ".reference.npy", values)
    else:
        out["max_diff"] = float(np.abs(values - np.load(reference)).max())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, default=SHARED / "data" / "cremad-sample" / "AudioWAV")
    parser.add_argument("--whisper", type=Path, default=SHARED / "models" / "whisper-tiny.en")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-seconds", type=float, default=30.0, help="embed.cpu_batch_seconds (config default)")
    parser.add_argument("--out", type=Path, default=Path("onnx-speed.md"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(**json.loads(args.worker))))
        return
    for path in (args.clips, args.whisper):
        if not path.exists():
            sys.exit(f"needs {path} (the ../shared folder beside the checkout); absent here")
    from speech_emotion.embed.encoders import init_model
    from speech_emotion.predict.export import export_encoder, quantize_graph

    clips = [str(p) for p in sorted(args.clips.glob("*.wav"))]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        init_model(REPO / "resources/tiny-wavlm/config.json", root / "tiny-wavlm", seed=0)
        wavlm_large_shaped(root / "wavlm-large-shaped")
        models = [("tiny-wavlm", {"kind": "hf"}, root / "tiny-wavlm", 3),
                  ("whisper-tiny.en", {"kind": "hf", "real_length": True}, args.whisper, 4),
                  ("wavlm-large-shaped", {"kind": "hf"}, root / "wavlm-large-shaped", 24)]
        for name, spec, model_dir, last in models:
            graph = root / f"{name}.onnx"
            start = time.perf_counter()
            facts = export_encoder(spec, model_dir, last, graph, 16000)
            export_s = time.perf_counter() - start
            int8 = root / f"{name}-int8.onnx"
            int8.write_bytes(graph.read_bytes())
            quantize_graph(int8)
            sizes = {"onnx-float32": graph.stat().st_size, "onnx-int8": int8.stat().st_size}
            for path in PATHS:
                job = {"path": path, "spec": spec, "model_dir": str(model_dir),
                       "graph": str(int8 if path == "onnx-int8" else graph), "facts": facts, "clips": clips,
                       "repeats": args.repeats, "batch_seconds": args.batch_seconds,
                       "reference": None if path == "torch" else str(graph) + ".reference.npy"}
                done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)], capture_output=True,
                                      text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1]) | {"model": name, "export_s": export_s,
                                                                          "graph_mb": sizes.get(path, 0) / 2**20}
                print(json.dumps(row), flush=True)
                rows.append(row)
    lines = ["| encoder | path | latency per clip (s) | clips/s | audio s/s | peak memory (MB) | max abs diff vs torch | graph (MB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        diff = f"{row['max_diff']:.1e}" if "max_diff" in row else ""
        graph_mb = f"{row['graph_mb']:.0f}" if row["graph_mb"] else ""
        lines.append(f"| {row['model']} | {row['path']} | {row['latency_s']:.3f} | {row['clips_per_s']:.2f} | "
                     f"{row['audio_s_per_s']:.1f} | {row['peak_mb']:.0f} | {diff} | {graph_mb} |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
