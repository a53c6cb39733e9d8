"""How well the plans' ridge layer screen ranks an encoder's layers against the logistic probe.

Reads a workflow run's embeddings, manifest, folds and config (a ``benchmarks/scale.py`` folder, or a
run such as ``benchmarks/real_corpus.sh``'s; config.yaml with the run's scale.yaml over it), builds
each fold's plan inner splits of its clean training clips (the config's ``seed``) and scores every
layer with the logistic probe (``features.probe_C``) and with the ridge screen
(:func:`speech_emotion.train.plan.ridge_screen`) at each penalty given. Prints per fold and penalty:
the rank correlation of the two rankings, the screen's best layer, and where the probe's best layer
ranks in the screen (0: first; it is among the plan's finalists when it ranks below
``features.probe_finalists``), with the CPU seconds of each.

    python benchmarks/layer_screen.py WORKDIR [--encoder NAME] [--folds 0,1,2,3,4,all] [--alphas 0.001,0.01,0.1,1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--encoder", default=None, help="default: the first encoder under results/embeddings")
    parser.add_argument("--folds", default="0")
    parser.add_argument("--alphas", default="0.001,0.01,0.1,1")
    args = parser.parse_args()
    from scipy.stats import spearmanr

    from plan_profile import run_inputs
    from speech_emotion.data.splits import build_fold, parse_fold
    from speech_emotion.embed.embeddings import load_variant
    from speech_emotion.train.layers import select
    from speech_emotion.train.plan import Candidates, Probe, ridge_screen, score_of

    encoder, config, shards, manifest, folds = run_inputs(args.workdir, args.encoder)
    clean = load_variant(list(shards["clean"][encoder]), name="clean")
    probe = Probe.from_config(config["features"], int(config["seed"]))
    print(f"{encoder}: features.probe_finalists {probe.finalists}")
    for fold in args.folds.split(","):
        data = build_fold(parse_fold(fold), folds, manifest, clean)
        y = np.asarray(data.y_train)
        shared = Candidates(probe, y, data.groups_train, data.train_ids)
        layers = range(data.X_train.shape[1])
        cpu = time.process_time()
        logistic = [shared.score(i, select(data.X_train, [i])).pooled for i in layers]
        print(f"fold {fold} ({len(y)} clips, {len(layers)} layers): logistic probe best layer {int(np.argmax(logistic))}"
              f" ({time.process_time() - cpu:.0f} CPU s); scores {np.round(logistic, 3).tolist()}")
        for alpha in (float(a) for a in args.alphas.split(",")):
            cpu = time.process_time()
            screen = [score_of(ridge_screen(select(data.X_train, [i]), y, shared.splits, alpha), y, shared.splits).pooled
                      for i in layers]
            order = np.argsort(-np.asarray(screen), kind="stable")
            rank = int(np.flatnonzero(order == int(np.argmax(logistic)))[0])
            print(f"  screen alpha {alpha:g}: Spearman {spearmanr(screen, logistic)[0]:.3f}, best layer {int(order[0])}, "
                  f"the probe's best ranks {rank} ({time.process_time() - cpu:.0f} CPU s)")


if __name__ == "__main__":
    main()
