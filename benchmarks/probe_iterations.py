"""How many lbfgs iterations the plan's logistic probe takes per layer, and what a looser tolerance changes.

Reads a workflow run's embeddings, manifest, folds and config (e.g. a ``benchmarks/scale.py`` folder
after ``--timeout-min 0.1``; config.yaml with the run's scale.yaml over it), builds the plan's inner
splits of one fold's clean training clips (the config's ``seed``), and fits the probe's logistic
regression (``features.probe_C``, class-balanced, lbfgs, one BLAS thread) on each given layer of the
first inner splits, standardised on their training rows, once per tolerance. Prints per fit:
iterations, CPU seconds, held-out balanced accuracy, and the share of held-out predictions equal to
those at the first tolerance (scikit-learn's default, the probe's).

    python benchmarks/probe_iterations.py WORKDIR [--encoder NAME] [--fold 0] [--layers 2,15,22]
        [--splits 2] [--tols 1e-4,1e-3,1e-2]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--encoder", default=None, help="default: the first encoder under results/embeddings")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--layers", default="2,15,22")
    parser.add_argument("--splits", type=int, default=2, help="the first N inner splits")
    parser.add_argument("--tols", default="1e-4,1e-3,1e-2")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.preprocessing import StandardScaler

    from plan_profile import run_inputs
    from speech_emotion.data.splits import build_fold
    from speech_emotion.devices import single_blas_thread
    from speech_emotion.embed.embeddings import load_variant
    from speech_emotion.train.plan import Candidates, Probe

    encoder, config, shards, manifest, folds = run_inputs(args.workdir, args.encoder)
    probe = Probe.from_config(config["features"], seed=config["seed"])  # the plan's probe and inner splits
    data = build_fold(args.fold, folds, manifest, load_variant(shards["clean"][encoder], name="clean"))
    splits = list(Candidates(probe, data.y_train, data.groups_train, data.train_ids).splits)[: args.splits]
    tols = [float(t) for t in args.tols.split(",")]
    y = data.y_train
    print(f"{encoder} fold {args.fold}: {len(y)} clean training clips, probe C={probe.C}, max_iter={probe.max_iter}")
    print("| layer | inner split | tol | iterations | CPU s | held-out balanced accuracy | predictions equal to tol "
          f"{tols[0]:g} |\n|---|---|---|---:|---:|---:|---:|")
    for layer in (int(x) for x in args.layers.split(",")):
        X = np.asarray(data.X_train[:, layer, :], dtype=np.float32)
        for k, (tr, va) in enumerate(splits):
            scaler = StandardScaler().fit(X[tr])
            train, held = scaler.transform(X[tr]), scaler.transform(X[va])
            first = None
            for tol in tols:
                model = LogisticRegression(C=probe.C, class_weight="balanced", max_iter=probe.max_iter, tol=tol)
                cpu = time.process_time()
                with single_blas_thread(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(train, y[tr])
                cpu = time.process_time() - cpu
                predicted = model.predict(held)
                first = predicted if first is None else first
                print(f"| {layer} | {k} | {tol:g} | {int(model.n_iter_[0])} | {cpu:.2f} | "
                      f"{balanced_accuracy_score(y[va], predicted):.4f} | {np.mean(predicted == first):.4f} |", flush=True)


if __name__ == "__main__":
    main()
