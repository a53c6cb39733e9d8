"""Accuracy cost of the opt-in embedding speed-ups on real speech: URDU with the real whisper-tiny.en.

Embeds the 400 clips of ``../shared/data/urdu`` with ``../shared/models/whisper-tiny.en``
(``real_length: true``, as ``benchmarks/urdu.yaml`` runs it) through the embed stage's code path
(``embed_signals``, 2 batches side by side) once per setting:

- default (float32, every layer),
- ``embed.quantize: int8``,
- ``embed.max_layer: N`` (``--max-layer``, default 1: the plans pick layer 0 on URDU),
- both,

in groups of clips with the settings' order rotating, so a changing load hits all alike; the
embeddings are rounded to float16 as the shards store them. Then, on the project's folds
(``speech_emotion.data.folds.make_folds``: speaker-disjoint, 5 folds, seed 42, the config's defaults)
and per setting:

- per layer: pooled UA (balanced accuracy of the pooled test predictions) of the workflow's
  logistic regression with C = 1 on that layer;
- the plan: per fold, the project's layer probe (``speech_emotion.train.plan.choose_layers("auto")`` on
  the fold's training clips, speaker-grouped inner folds) picks the layers, then the workflow's
  logistic regression (C chosen from its Cs by inner CV) trains on them; pooled UA over the folds.
  No per-speaker standardisation and no copies (the full workflow decides those per fold too).

    python benchmarks/embed_speedups_urdu.py [--max-layer 1] [--out urdu-speedups.md]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
SHARED = REPO.parent / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "urdu")
    parser.add_argument("--model", type=Path, default=SHARED / "models" / "whisper-tiny.en")
    parser.add_argument("--max-layer", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-seconds", type=float, default=30.0, help="embed.cpu_batch_seconds (config default)")
    parser.add_argument("--group", type=int, default=50, help="clips per rotation group")
    parser.add_argument("--out", type=Path, default=Path("urdu-speedups.md"))
    args = parser.parse_args()
    for path in (args.data, args.model):
        if not path.exists():
            sys.exit(f"needs {path} (the ../shared folder beside the checkout); absent here")
    warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")

    import torch
    from sklearn.metrics import balanced_accuracy_score

    from speech_emotion.data.audio import load_audio
    from speech_emotion.train.classifiers.logreg import LogRegClassifier
    from speech_emotion.data.datasets import list_corpus
    from speech_emotion.embed.embeddings import as_stored, embed_signals
    from speech_emotion.embed.encoders import HFEncoder
    from speech_emotion.data.folds import make_folds
    from speech_emotion.train.layers import select
    from speech_emotion.train.plan import Candidates, Probe, choose_layers

    torch.set_num_threads(args.threads)
    dataset = {"kind": "folder", "root": str(args.data), "speaker_regex": r"^(S[MF]\d+)_"}
    manifest = list_corpus(dataset, REPO)
    folds = make_folds(manifest, "speaker", 5, 42).set_index("clip_id").loc[manifest["clip_id"], "fold"].to_numpy()
    y = manifest["label"].to_numpy()
    speakers = manifest["speaker"].to_numpy()
    signals = [load_audio(p) for p in manifest["path"]]
    n = args.max_layer
    settings = {
        "default": {},
        "int8": {"quantize": "int8"},
        f"max_layer {n}": {"max_layer": n},
        f"int8 + max_layer {n}": {"quantize": "int8", "max_layer": n},
    }
    encoders = {name: HFEncoder(args.model, "cpu", real_length=True, **kw) for name, kw in settings.items()}
    for encoder in encoders.values():  # warm-up
        embed_signals(encoder, signals[:2], args.batch_seconds, 30.0, progress_every=1e9)
    seconds = dict.fromkeys(settings, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in settings}
    names = list(settings)
    for g, start in enumerate(range(0, len(signals), args.group)):
        group = signals[start : start + args.group]
        for name in names[g % len(names) :] + names[: g % len(names)]:
            began = time.perf_counter()
            parts[name].append(embed_signals(encoders[name], group, args.batch_seconds, 30.0, progress_every=1e9,
                                             workers=args.threads))  # fmt: skip
            seconds[name] += time.perf_counter() - began
        print(f"group {g} done", flush=True)
    audio_s = sum(len(s) for s in signals) / 16000
    embeddings = {name: as_stored(np.concatenate(p), "hf") for name, p in parts.items()}

    def pooled_ua(predict_fold) -> float:
        predicted = np.empty(len(y), dtype=object)
        for k in np.unique(folds):
            test = folds == k
            predicted[test] = predict_fold(~test, test)
        return float(balanced_accuracy_score(y, predicted))

    rows = {}
    for name, emb in embeddings.items():
        per_layer = []
        for layer in range(emb.shape[1]):
            X = select(emb, [layer])
            per_layer.append(pooled_ua(lambda tr, te: LogRegClassifier(C=1.0, seed=42).fit(X[tr], y[tr]).predict(X[te])))
        chosen = []

        def planned(tr, te, emb=emb, chosen=chosen):
            probe = Probe(inner_folds=5, seed=42, n_jobs=args.threads)
            shared = Candidates(probe, y[tr], speakers[tr], manifest["clip_id"].to_numpy()[tr])
            member = choose_layers("auto", emb[tr], y[tr], shared, probe)[0]
            X = member.features(emb)
            chosen.append("weighted" if member.weights is not None else list(member.layers))
            model = LogRegClassifier(seed=42).fit(X[tr], y[tr], groups=speakers[tr])
            return model.predict(X[te])

        plan_ua = pooled_ua(planned)
        rows[name] = {
            "audio_s_per_s": round(audio_s / seconds[name], 2),
            "speed_vs_default": None,
            "n_layers": int(emb.shape[1]),
            "ua_per_layer": [round(v, 3) for v in per_layer],
            "plan_layers_per_fold": chosen,
            "plan_pooled_ua": round(plan_ua, 3),
            "max_abs_diff_vs_default": None,
        }
        print(name, rows[name], flush=True)
    base = embeddings["default"]
    for name, row in rows.items():
        row["speed_vs_default"] = round(seconds["default"] / seconds[name], 2)
        common = embeddings[name].shape[1]
        diff = np.abs(embeddings[name] - base[:, :common])
        row["max_abs_diff_vs_default"] = float(diff.max())
        row["mean_rel_diff_vs_default"] = float(diff.mean() / np.abs(base[:, :common]).mean())

    n_layers = base.shape[1]
    lines = [
        f"URDU ({len(signals)} clips, {audio_s:.0f} audio-s, {len(np.unique(speakers))} speakers), whisper-tiny.en "
        f"(real_length), CPU, {args.threads} threads; pooled UA over the project's 5 speaker folds:",
        "",
        "| setting | audio-s/s | x default | mean abs. change / mean abs. value | UA by layer "
        + " ".join(str(i) for i in range(n_layers)) + " (logreg C=1) | plan's layers per fold | UA, plan + logreg |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        layers = " ".join(f"{v:.3f}" for v in row["ua_per_layer"])
        chosen = "; ".join(str(c) for c in row["plan_layers_per_fold"])
        lines.append(f"| {name} | {row['audio_s_per_s']:.1f} | {row['speed_vs_default']:.2f} | "
                     f"{row['mean_rel_diff_vs_default']:.4f} | {layers} | {chosen} | {row['plan_pooled_ua']:.3f} |")  # fmt: skip
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    Path(str(args.out) + ".json").write_text(json.dumps(rows, indent=2, default=str) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
