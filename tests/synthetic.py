"""Synthetic corpora and embedding shards shared by several test modules (the plan's, training's,
per-speaker standardisation's, fusion's, tuning's and the classifiers' tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from speech_emotion.embed.embeddings import write_shard

LABELS = ["ANG", "HAP", "NEU", "SAD"]
N_LAYERS, DIM, SIGNAL_LAYER = 5, 8, 3


def synthetic_corpus(n_speakers=9, per_label=3, seed=0):
    """Clips whose label shows only in layer SIGNAL_LAYER; speakers in 3 disjoint folds."""
    rng = np.random.default_rng(seed)
    rows, emb = [], []
    for s in range(n_speakers):
        for label_index, label in enumerate(LABELS):
            for k in range(per_label):
                clip = f"s{s}_{label}_{k}"
                rows.append({"clip_id": clip, "speaker": f"s{s}", "label": label, "fold": s % 3})
                x = rng.normal(size=(N_LAYERS, DIM))
                x[SIGNAL_LAYER, label_index] += 3.0
                emb.append(x)
    frame = pd.DataFrame(rows)
    return frame, np.asarray(emb, dtype=np.float32)


def write_embeddings(root: Path, frame: pd.DataFrame, emb: np.ndarray, variants=("clean", "aug1"), shards=2, seed=1):
    rng = np.random.default_rng(seed)
    paths = {}
    for variant in variants:
        data = emb if variant == "clean" else emb + rng.normal(scale=0.1, size=emb.shape).astype(np.float32)
        paths[variant] = {"enc": []}  # variant -> encoder -> shard files (features.Shards)
        for shard in range(shards):
            rows = np.arange(len(frame)) % shards == shard
            path = root / "results/embeddings/enc" / variant / f"shard-{shard}.npz"
            write_shard(path, frame["clip_id"][rows], data[rows], "enc", "synthetic", "test")
            paths[variant]["enc"].append(str(path))
    return paths


def speaker_corpus(every_emotion: bool, n_speakers: int = 12, per: int = 6, dim: int = 16, seed: int = 0,
                   speaker_scale: float = 4.0):
    """Clips whose emotion is a small direction in feature space and whose speaker is an offset
    (``speaker_scale``: large by default, as speaker identity dominates frozen embeddings).

    ``every_emotion``: each speaker records every emotion (an acted corpus); otherwise each speaker
    records one emotion (URDU's structure), so a speaker's mean carries the emotion."""
    rng = np.random.default_rng(seed)
    rows, X = [], []
    for s in range(n_speakers):
        offset = rng.normal(scale=speaker_scale, size=dim)
        labels = LABELS if every_emotion else [LABELS[s % 4]] * 4
        for k, label in enumerate(labels):
            for i in range(per):
                x = offset + rng.normal(size=dim)
                x[LABELS.index(label)] += 1.5
                rows.append({"clip_id": f"s{s}_{k}_{i}", "speaker": f"s{s}", "label": label, "fold": s % 3})
                X.append(x)
    return pd.DataFrame(rows), np.asarray(X, dtype=np.float32)


def plan_json(spec, fold="0", layers=None, **evidence) -> dict:
    """A plan file as rule plan writes it (:class:`speech_emotion.train.plan.Plan`): the feature pipeline
    ``spec`` and the evidence of each decision (``layers`` defaults to a fixed choice)."""
    from speech_emotion.train.fold_plan import Plan

    n_layers = max(max(m.layers) for m in spec.members) + 1
    layer_evidence = layers or {"method": "config", "spec": [int(i) for i in spec.members[0].layers], "score": None,
                                "n_layers": n_layers, "layer_scores": [], "windows": [], "candidates": []}
    return Plan("" + str(fold), spec, {"layers": layer_evidence, "speaker_norm": None, "balance": None, "copies": None,
                                       "inner": None} | evidence, n_train_clips=0).to_json()
