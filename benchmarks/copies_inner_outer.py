"""Each fold's copies decision against what the copies do to that fold's test part (issue 27 item 3).

For a finished workflow run, per encoder and outer fold: the plan's copies record (the probe's
pooled inner-CV UA with and without the fold's augmented copies, and whether they were kept), then
each classifier trained as the train job trains it, twice: on the fold's feature pipeline with the
copies and without them. Prints per fold the inner gain (with - without) beside the outer effect
(test-fold UA with - without) of each classifier, and the pooled UA of both over all folds.

The outer test folds are read here to UNDERSTAND the decision, never to tune it: the rule itself is
chosen by reasoning (docs/how-it-works.md#the-per-fold-plan).

    python benchmarks/copies_inner_outer.py WORKDIR ENCODERS CLASSIFIERS [CONFIG.yaml ...]

WORKDIR: a finished run with augmented copies (``augment.copies`` > 0), e.g. ``bash
benchmarks/real_corpus.sh WORKDIR`` or the demo (``snakemake --cores 2 --workflow-profile
profiles/demo``); ENCODERS and CLASSIFIERS comma-separated (no ensemble: it needs its members'
models); CONFIG files are merged over this checkout's config.yaml in order (the run's own config
files, e.g. profiles/demo/demo-config.yaml), for the classifier settings.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import yaml
from sklearn.metrics import balanced_accuracy_score

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.train.fold import train_fold  # noqa: E402
from speech_emotion.train.fold_plan import Plan  # noqa: E402

warnings.filterwarnings("ignore")


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def main(argv: list[str]) -> None:
    workdir, encoders, classifiers = Path(argv[0]), argv[1].split(","), argv[2].split(",")
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in argv[3:]:
        config = merged(config, yaml.safe_load(Path(path).read_text()))
    results = workdir / "results"
    manifest = read_table(results / "data" / "manifest.tsv")
    folds = read_table(results / "data" / "folds.tsv")
    for encoder in encoders:
        shards = {v.name: {encoder: sorted(str(p) for p in v.glob("shard-*.npz"))}  # variant -> encoder -> shards
                  for v in sorted((results / "embeddings" / encoder).iterdir())}
        plans = sorted((results / "cv" / encoder / "plans").glob("fold-[0-9]*.json"), key=lambda p: int(p.stem[5:]))
        pooled = {(c, use): ([], []) for c in classifiers for use in (True, False)}
        print(f"\n{encoder}: fold | copies kept | inner UA with / without (gain) | "
              + " | ".join(f"{c} test UA with / without (effect)" for c in classifiers))
        for plan_path in plans:
            plan = json.loads(plan_path.read_text())
            fold, copies = int(plan["fold"]), Plan.from_json(plan).decision("copies")
            cells = []
            for classifier in classifiers:
                scores = {}
                for use in (True, False):
                    forced = dict(plan, features=dict(plan["features"], copies=use))
                    result = train_fold(encoder, classifier, fold, config["classifiers"][classifier], shards, manifest,
                                        folds, forced, int(config["seed"]))
                    frame = result.predictions
                    scores[use] = balanced_accuracy_score(frame["label"], frame["prediction"])
                    pooled[(classifier, use)][0].extend(frame["label"])
                    pooled[(classifier, use)][1].extend(frame["prediction"])
                cells.append(f"{scores[True]:.3f} / {scores[False]:.3f} ({scores[True] - scores[False]:+.3f})")
            inner = (f"{copies['score_with']:.3f} / {copies['score_without']:.3f} "
                     f"({copies['score_with'] - copies['score_without']:+.3f})" if copies.get("score_with") is not None
                     else "not probed")
            print(f"{fold} | {'yes' if copies['use'] else 'no'} | {inner} | " + " | ".join(cells))
        print("pooled | | | " + " | ".join(
            f"{balanced_accuracy_score(*pooled[(c, True)]):.3f} / {balanced_accuracy_score(*pooled[(c, False)]):.3f}"
            for c in classifiers))
        kept = [Plan.read(p).features.copies for p in plans]
        print(f"plans keeping the copies: {sum(kept)} of {len(kept)}; pooled UA of the run as planned: see summary.tsv")


if __name__ == "__main__":
    main(sys.argv[1:])
