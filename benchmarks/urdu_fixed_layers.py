"""What a fixed Whisper layer gives on URDU, to read the real-corpus table against.

After ``benchmarks/real_corpus.sh [WORKDIR]``: for every single layer and every adjacent pair of
whisper-tiny.en, a class-balanced logistic regression (C = 1, the workflow's logreg with a fixed C)
on the clean clips of each training fold, scored on the same 5 speaker-disjoint test folds as the
workflow (results/data/folds.tsv). Prints per-fold, mean and pooled UA, and the mean of the
per-fold best (an oracle: it picks the layer by the test fold, which the workflow must not do).

    python benchmarks/urdu_fixed_layers.py [WORKDIR]      # WORKDIR default ./urdu-run (as benchmarks/real_corpus.sh)
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from speech_emotion.train.classifiers.logreg import LogRegClassifier  # noqa: E402
from speech_emotion.train.layers import select  # noqa: E402
from speech_emotion.embed.embeddings import load_variant  # noqa: E402

warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
work = Path(sys.argv[1] if len(sys.argv) > 1 else "urdu-run") / "results"
variant = load_variant(sorted((work / "embeddings" / "whisper-tiny.en" / "clean").glob("shard-*.npz")), name="clean")
manifest = pd.read_csv(work / "data" / "manifest.tsv", sep="\t").set_index("clip_id")
folds = pd.read_csv(work / "data" / "folds.tsv", sep="\t").set_index("clip_id")
ids = np.asarray(variant.clip_ids)
y = manifest.loc[ids, "label"].to_numpy()
fold = folds.loc[ids, "fold"].to_numpy()
n_layers = variant.features.shape[1]
windows = [[i] for i in range(n_layers)] + [[i, i + 1] for i in range(n_layers - 1)]
per_fold = {}
print("| layers | UA per fold | UA mean | UA pooled |")
print("|---|---|---|---|")
for layers in windows:
    X = select(variant.features, layers)
    predicted = np.empty(len(y), dtype=object)
    scores = []
    for k in sorted(set(fold)):
        train, test = fold != k, fold == k
        model = LogRegClassifier(C=1.0, seed=0).fit(X[train], y[train])
        predicted[test] = model.predict(X[test])
        scores.append(balanced_accuracy_score(y[test], predicted[test]))
    per_fold[tuple(layers)] = scores
    print(f"| {layers} | {' '.join(f'{s:.3f}' for s in scores)} | {np.mean(scores):.3f} "
          f"| {balanced_accuracy_score(y, predicted):.3f} |")
oracle = np.max(np.array(list(per_fold.values())), axis=0)
print(f"\nOracle (best window per test fold, chosen by the test fold): mean UA {oracle.mean():.3f}")
