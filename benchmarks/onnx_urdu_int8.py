"""Accuracy cost of an int8 ONNX export on real speech: URDU with the real whisper-tiny.en.

Embeds the 400 clips of ``../shared/data/urdu`` with ``../shared/models/whisper-tiny.en``
(``real_length: true``, as ``benchmarks/urdu.yaml`` runs it) three ways, through the embed stage's
code (``embed_signals``, one thread, rounded to float16 as shards store them): the workflow's torch
encoder, its ONNX float32 graph and the same graph after ``--quantize int8`` (every layer exported).
Then, on the project's folds (speaker-disjoint, 5 folds, seed 42) and per layer, the workflow's
logistic regression (C = 1) is trained on each fold's training clips **with the torch embeddings**
(the model a user would export) and labels the test clips from each of the three embeddings: what
a deployed export predicts. Reported per layer: pooled UA of each, and the share of test clips whose
ONNX label equals the torch label. ``--int8 SETTING`` (repeatable) measures other settings of ONNX
Runtime's ``quantize_dynamic`` than the export's (``default``; comma-separated ``per_channel``,
``per_tensor``, ``reduce_range``, ``ops=MatMul+Gemm``, ``weight_only``: ``speech_emotion.predict.export.int8_settings``), a pair of
columns each.

    python benchmarks/onnx_urdu_int8.py [--int8 default --int8 per_channel ...] [--out onnx-urdu-int8.md]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
SHARED = REPO.parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "urdu")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "whisper-tiny.en")
    parser.add_argument("--batch-seconds", type=float, default=30.0, help="embed.cpu_batch_seconds (config default)")
    parser.add_argument("--int8", action="append", help="quantize_dynamic settings (repeatable; default: the export's)")
    parser.add_argument("--out", type=Path, default=Path("onnx-urdu-int8.md"))
    args = parser.parse_args()
    int8 = args.int8 or ["default"]
    names = {setting: "onnx int8" if setting == "default" and len(int8) == 1 else f"onnx int8 {setting}" for setting in int8}
    for path in (args.data, args.model):
        if not path.exists():
            sys.exit(f"needs {path} (the ../shared folder beside the checkout); absent here")
    from sklearn.metrics import balanced_accuracy_score

    from speech_emotion.data.audio import load_audio
    from speech_emotion.data.datasets import list_corpus
    from speech_emotion.data.folds import make_folds
    from speech_emotion.embed.embeddings import as_stored, embed_signals, make_encoder
    from speech_emotion.predict.export import export_encoder, int8_settings, quantize_graph
    from speech_emotion.predict.onnx_model import OnnxEncoder
    from speech_emotion.train.classifiers.logreg import LogRegClassifier
    from speech_emotion.train.layers import select

    manifest = list_corpus({"kind": "folder", "root": str(args.data), "speaker_regex": r"^(S[MF]\d+)_"}, REPO)
    folds = make_folds(manifest, "speaker", 5, 42).set_index("clip_id").loc[manifest["clip_id"], "fold"].to_numpy()
    y = manifest["label"].to_numpy()
    signals = [load_audio(p) for p in manifest["path"]]
    spec = {"kind": "hf", "real_length": True}
    torch_encoder = make_encoder(spec, args.model, "cpu", 16000)
    last = torch_encoder.n_layers - 1
    embeddings, seconds = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        graph = Path(scratch) / "encoder.onnx"
        facts = export_encoder(spec, args.model, last, graph, 16000)
        encoders = {"torch": torch_encoder, "onnx float32": OnnxEncoder(graph, facts, 16000, threads=1)}
        for i, setting in enumerate(int8):
            quantized = Path(scratch) / f"encoder-int8-{i}.onnx"
            quantized.write_bytes(graph.read_bytes())
            quantize_graph(quantized, int8_settings(setting))
            encoders[names[setting]] = OnnxEncoder(quantized, facts, 16000, threads=1)
        for name, encoder in encoders.items():
            began = time.perf_counter()
            embeddings[name] = as_stored(embed_signals(encoder, signals, args.batch_seconds, 30.0, progress_every=1e9),
                                         "hf")
            seconds[name] = time.perf_counter() - began
            print(f"{name}: {seconds[name]:.0f} s", flush=True)
    audio_s = sum(len(s) for s in signals) / 16000
    lines = [f"URDU ({len(signals)} clips, {audio_s:.0f} audio-s), whisper-tiny.en (real_length), logistic regression "
             "(C = 1) trained on the torch embeddings of each fold's training clips; pooled UA over the 5 speaker folds "
             "of the test clips embedded each way, and the share of test clips labelled as from the torch embeddings. "
             + ", ".join(f"{name} {audio_s / s:.1f} audio-s/s" for name, s in seconds.items()) + " (one thread).",
             "", "| layer | UA torch | UA ONNX float32 | " + " | ".join(f"UA ONNX {n[5:]}" for n in names.values())
             + " | labels = torch: float32 | " + " | ".join(f"labels = torch: {n[5:]}" for n in names.values()) + " |",
             "|---:|---:|---:|" + "---:|" * len(int8) + "---:|" + "---:|" * len(int8)]
    for layer in range(last + 1):
        predicted = {name: np.empty(len(y), dtype=object) for name in embeddings}
        for k in np.unique(folds):
            test = folds == k
            model = LogRegClassifier(C=1.0, seed=42).fit(select(embeddings["torch"][~test], [layer]), y[~test])
            for name, values in embeddings.items():
                predicted[name][test] = model.predict(select(values[test], [layer]))
        ua = {name: balanced_accuracy_score(y, p) for name, p in predicted.items()}
        same = {name: float((predicted[name] == predicted["torch"]).mean()) for name in predicted}
        lines.append(f"| {layer} | {ua['torch']:.3f} | {ua['onnx float32']:.3f} | "
                     + " | ".join(f"{ua[n]:.3f}" for n in names.values()) + f" | {same['onnx float32']:.1%} | "
                     + " | ".join(f"{same[n]:.1%}" for n in names.values()) + " |")
        print(lines[-1], flush=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
