"""The plan's decisions and two classifiers on URDU, from embeddings a workflow run already wrote, with the
code of any checkout whose package is laid out by stage: compare two versions of the plan on the same
embeddings and folds.

    python benchmarks/urdu_plan_compare.py CHECKOUT WORKDIR ENCODERS CLASSIFIERS
    e.g. python benchmarks/urdu_plan_compare.py . urdu-run whisper-tiny.en,egemaps logreg,mlp

WORKDIR is a finished `bash benchmarks/real_corpus.sh WORKDIR` folder (its results/embeddings and
results/data/manifest.tsv); the folds are made again exactly as rule folds makes them (speaker protocol,
5 folds, seed 42). Each fold's plan is made with CHECKOUT's code, then each classifier is trained as the
train job trains it (the classifier settings of CHECKOUT's config.yaml). Prints per fold the layers,
standardisation, copies (with the probe's inner scores with and without them) and per classifier the
pooled and fold-mean UA. No tuning, no ensemble.
"""
import json
import sys
import time
import warnings
from pathlib import Path

checkout, workdir, encoders, classifiers = sys.argv[1], Path(sys.argv[2]), sys.argv[3].split(","), sys.argv[4].split(",")
sys.path.insert(0, str(Path(checkout) / "workflow"))
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402

from speech_emotion.data.folds import make_folds  # noqa: E402
from speech_emotion.train.plan import make_plan  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.train.fold import train_fold  # noqa: E402

warnings.filterwarnings("ignore")
results = workdir / "results"
config = yaml.safe_load(open(Path(checkout) / "config.yaml"))
manifest = read_table(results / "data" / "manifest.tsv")
folds = make_folds(manifest, "speaker", 5, 42, None, None)
for encoder in encoders:
    paths = {v.name: {encoder: sorted(str(p) for p in v.glob("shard-*.npz"))}  # variant -> encoder -> shards
             for v in sorted((results / "embeddings" / encoder).iterdir())}
    predictions = {c: [] for c in classifiers}
    for k in range(5):
        start = time.time()
        plan = make_plan(str(k), paths, manifest, folds, config["features"], "auto", 42)
        copies = plan.decision("copies")
        print(f"{encoder} fold {k}: layers {plan.layers} ({plan.layer_candidate}), "
              f"speaker norm {plan.features.speaker_norm}, copies {copies['use']} (inner UA with "
              f"{copies.get('score_with')}, without {copies.get('score_without')}), {time.time() - start:.0f} s",
              flush=True)
        for c in classifiers:
            predictions[c].append(train_fold(encoder, c, k, config["classifiers"][c], paths, manifest, folds, plan,
                                             42).predictions)
    for c in classifiers:
        pooled = np.concatenate([p["prediction"] for p in predictions[c]])
        truth = np.concatenate([p["label"] for p in predictions[c]])
        per_fold = [balanced_accuracy_score(p["label"], p["prediction"]) for p in predictions[c]]
        print(f"{encoder} {c}: pooled UA {balanced_accuracy_score(truth, pooled):.3f}, fold mean {np.mean(per_fold):.3f}",
              flush=True)
