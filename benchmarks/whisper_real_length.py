"""Whisper real-length option: clips/s and balanced accuracy with and without it, in one run.

The Hugging Face Whisper encoder pads every input to 30 s (3,000 mel frames). With
``encoders.<name>.real_length: true`` the embed stage runs it on the batch's real length
(positional embeddings cut to the input length, padded frames masked out of attention). This
script embeds every clip of ``../shared/data/urdu`` with ``../shared/models/whisper-tiny.en`` both
ways through the embed code path (groups of clips, the two modes alternating, so the shared
machine's load hits both alike), then scores each hidden layer (and all layers concatenated) with
a logistic-regression probe (standardised features, class-weighted, C=1) under speaker-disjoint
5-fold cross-validation (StratifiedGroupKFold, speaker = name prefix, e.g. SM1).

    python benchmarks/whisper_real_length.py
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
SHARED = REPO.parent / "shared"


def probe(features: np.ndarray, labels: np.ndarray, speakers: np.ndarray, folds: int, seed: int) -> float:
    """Balanced accuracy of a logistic-regression probe under speaker-disjoint CV (pooled predictions)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    predictions = np.empty_like(labels)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels, speakers):
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced")
        )
        model.fit(features[train], labels[train])
        predictions[test] = model.predict(features[test])
    return float(balanced_accuracy_score(labels, predictions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "urdu")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "whisper-tiny.en")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-seconds", type=float, default=30.0, help="embed.cpu_batch_seconds (config default)")
    parser.add_argument("--group", type=int, default=50, help="clips per alternation group")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    for path in (args.data, args.model):
        if not path.exists():
            sys.exit(f"needs {path} (the ../shared folder beside the checkout); absent here")

    import torch

    from speech_emotion.data.audio import load_audio
    from speech_emotion.embed.embeddings import embed_signals
    from speech_emotion.embed.encoders import HFEncoder

    torch.set_num_threads(args.threads)
    files = sorted(args.data.glob("*/*.wav"))
    labels = np.array([f.parent.name for f in files])
    speakers = np.array([re.match(r"^(S[MF]\d+)_", f.name).group(1) for f in files])
    signals = [load_audio(f) for f in files]
    encoders = {mode: HFEncoder(args.model, "cpu", real_length=mode) for mode in (False, True)}
    for encoder in encoders.values():  # warm-up
        embed_signals(encoder, signals[:2], args.batch_seconds, 30.0, progress_every=1e9)

    seconds = {False: 0.0, True: 0.0}
    parts: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for g, start in enumerate(range(0, len(signals), args.group)):
        group = signals[start : start + args.group]
        for mode in ((False, True) if g % 2 == 0 else (True, False)):
            began = time.perf_counter()
            parts[mode].append(embed_signals(encoders[mode], group, args.batch_seconds, 30.0, progress_every=1e9))
            seconds[mode] += time.perf_counter() - began
    results = {}
    for mode in (False, True):
        emb = np.concatenate(parts[mode]).astype(np.float16).astype(np.float32)  # as stored
        per_layer = [probe(emb[:, i], labels, speakers, args.folds, args.seed) for i in range(emb.shape[1])]
        all_layers = probe(emb.reshape(len(emb), -1), labels, speakers, args.folds, args.seed)
        best = int(np.argmax(per_layer))
        results["real_length" if mode else "padded_30s"] = {
            "clips_per_s": round(len(signals) / seconds[mode], 2),
            "audio_s_per_s": round(sum(len(s) for s in signals) / 16000 / seconds[mode], 1),
            "seconds": round(seconds[mode], 1),
            "ua_per_layer": [round(x, 3) for x in per_layer],
            "ua_best_layer": {"layer": best, "ua": round(per_layer[best], 3)},
            "ua_all_layers": round(all_layers, 3),
        }
    summary = {
        "clips": len(signals),
        "audio_seconds": round(sum(len(s) for s in signals) / 16000, 1),
        "speakers": int(len(set(speakers))),
        "chance_ua": 0.25,
        **results,
        "speedup": round(results["real_length"]["clips_per_s"] / results["padded_30s"]["clips_per_s"], 2),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
