"""What the classifier defaults cost on a finished run's features and folds (issue 27 item 4).

Loads the features of one encoder of a finished workflow run exactly as its train jobs do (each
fold's plan: layers, copies, speaker normalisation) and the run's outer folds, then fits the
project's own classifiers (``make_classifier``) under named variants of their settings on each
fold's training part and scores the fold's test part. Prints, per variant, the pooled UA (all
folds' predictions together), the mean of the per-fold UA, each fold's UA, what the fit chose
(early-stopping rounds, C), and the wall time of its fits (one process, one thread).

The outer test folds are read here to UNDERSTAND what a setting costs, never to choose a default:
a default is chosen by reasoning or by inner CV of the training part (the ``*-inner`` variants
choose per fold on the training part only), as docs/results.md says for each.

    python benchmarks/classifier_defaults.py WORKDIR [--encoder egemaps] [--only xgboost svm mlp] [--variants NAME ...]

WORKDIR is a finished run (e.g. ``benchmarks/peer_nkululeko.sh``'s project run, or
``benchmarks/real_corpus.sh``'s), with results/data/{manifest,folds}.tsv, the encoder's embeddings
and its plans.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))
from speech_emotion.train.classifiers import make_classifier  # noqa: E402
from speech_emotion.train.features import planned_fold  # noqa: E402
from speech_emotion.train.fold_plan import Plan  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")

# A variant is (name, classifier, parameters on top of the class defaults). The defaults before
# issue 27 are spelled out (XGBoost with early stopping after 20 rounds, the SVM at C=10), so that the
# table stays the same whatever the class defaults are.
ES = {"early_stopping_rounds": 20}  # XGBoost until issue 27: early stopping on 15 % of the training clips
NO_ES = {"early_stopping_rounds": 0}  # XGBoost since: n_estimators rounds on every training row
XGB_PEER = {**NO_ES, "n_estimators": 100, "learning_rate": 0.3, "max_bin": 256,
            "subsample": 1.0, "colsample_bytree": 1.0}  # xgboost's own defaults, as nkululeko's xgb uses them
VARIANTS: list[tuple[str, str, dict]] = [
    # XGBoost: from the old default towards xgboost's own defaults, one setting at a time
    ("xgb ES 20 on 15 %, <=200 x lr 0.1, 64 bins, 0.8/0.8 (default until issue 27)", "xgboost", ES),
    ("xgb ES 20, 256 bins", "xgboost", {**ES, "max_bin": 256}),
    ("xgb ES patience 50", "xgboost", {"early_stopping_rounds": 50}),
    ("xgb no ES, 200 x lr 0.1 (default since issue 27)", "xgboost", NO_ES),
    ("xgb no ES, 200 x lr 0.1, 256 bins", "xgboost", {**NO_ES, "max_bin": 256}),
    ("xgb no ES, 100 x lr 0.1", "xgboost", {**NO_ES, "n_estimators": 100}),
    ("xgb no ES, 400 x lr 0.05", "xgboost", {**NO_ES, "n_estimators": 400, "learning_rate": 0.05}),
    ("xgb no ES, 100 x lr 0.3", "xgboost", {**NO_ES, "n_estimators": 100, "learning_rate": 0.3}),
    ("xgb no ES, 200 x lr 0.1, subsample 1/1", "xgboost", {**NO_ES, "subsample": 1.0, "colsample_bytree": 1.0}),
    ("xgb no ES, 200 x lr 0.1, depth 3", "xgboost", {**NO_ES, "max_depth": 3}),
    ("xgb xgboost defaults (peer: no ES, 100 x lr 0.3, 256 bins, 1/1)", "xgboost", XGB_PEER),
    ("xgb peer, 64 bins", "xgboost", {**XGB_PEER, "max_bin": 64}),
    ("xgb peer, subsample 0.8/0.8", "xgboost", {**XGB_PEER, "subsample": 0.8, "colsample_bytree": 0.8}),
    ("xgb peer + ES 20 on 15 %", "xgboost", {**XGB_PEER, **ES}),
    # SVM: C fixed, or chosen by inner CV
    ("svm C=10 (default until issue 27)", "svm", {"C": 10.0}),
    ("svm C=3", "svm", {"C": 3.0}),
    ("svm C=1 (default since issue 27)", "svm", {"C": 1.0}),
    ("svm C=0.3", "svm", {"C": 0.3}),
    ("svm C by inner CV of [0.1, 0.3, 1, 3, 10] (C: null)", "svm", {"C": None, "Cs": [0.1, 0.3, 1.0, 3.0, 10.0]}),
    # MLP
    ("mlp default (512-256-128, ES patience 15 on 15 %)", "mlp", {}),
    ("mlp 256-128", "mlp", {"hidden": [256, 128]}),
    ("mlp 128-64", "mlp", {"hidden": [128, 64]}),
    ("mlp dropout 0.5", "mlp", {"dropout": 0.5}),
    ("mlp patience 30", "mlp", {"patience": 30}),
    ("mlp weight_decay 0.01", "mlp", {"weight_decay": 0.01}),
    # logistic regression, for reference (C by inner CV, the default)
    ("logreg default (C by inner CV)", "logreg", {}),
]


def load_folds(work: Path, encoder: str):
    """(fold index, FoldData) of every outer fold, as the run's train jobs read them."""
    results = work / "results"
    manifest = read_table(results / "data" / "manifest.tsv")
    folds = read_table(results / "data" / "folds.tsv")
    paths = {v.name: {encoder: sorted(str(p) for p in v.glob("shard-*.npz"))}  # variant -> encoder -> shards
             for v in sorted((results / "embeddings" / encoder).iterdir())}
    out = []
    for plan_path in sorted((results / "cv" / encoder / "plans").glob("fold-*.json")):
        fold = int(plan_path.stem.split("-")[1])
        data, _, _ = planned_fold(fold, paths, manifest, folds, Plan.read(plan_path).features)
        out.append((fold, data))
    if not out:
        raise SystemExit(f"no plans under {results / 'cv' / encoder / 'plans'}: run the workflow first")
    return out


def chosen(model) -> str:
    for attr, label in (("best_iteration_", "rounds"), ("best_epoch_", "epochs"), ("C_", "C")):
        value = getattr(model, attr, None)
        if value is not None:
            return f"{label} {value + 1 if attr != 'C_' else value:g}"
    return ""


def evaluate(folds, classifier: str, params: dict, seed: int) -> dict:
    truth, predicted, per_fold, picks, seconds = [], [], [], [], 0.0
    for _, data in folds:
        model = make_classifier(classifier, params, seed=seed)
        clean = data.train_variants == "clean"
        start = time.perf_counter()
        model.fit(data.X_train, data.y_train, data.groups_train, clean, data.train_ids)
        pred = model.predict(data.X_test)
        seconds += time.perf_counter() - start
        truth.append(data.y_test)
        predicted.append(pred)
        per_fold.append(balanced_accuracy_score(data.y_test, pred))
        picks.append(chosen(model))
    return {"pooled": balanced_accuracy_score(np.concatenate(truth), np.concatenate(predicted)),
            "mean": float(np.mean(per_fold)), "per_fold": per_fold, "chosen": picks, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--encoder", default="egemaps")
    parser.add_argument("--only", nargs="*", help="classifiers to run (default: all)")
    parser.add_argument("--variants", nargs="*", help="variant names to run (default: all of --only)")
    parser.add_argument("--seed", type=int, default=42, help="the workflow's seed (config.yaml: seed)")
    args = parser.parse_args()
    folds = load_folds(args.workdir, args.encoder)
    print(f"{args.encoder}: {sum(len(d.y_test) for _, d in folds)} test clips in {len(folds)} outer folds "
          f"(training rows per fold: {', '.join(str(len(d.y_train)) for _, d in folds)})\n")
    print("| variant | UA pooled | UA fold mean | UA per fold | chosen per fold | fit s |")
    print("|---|---|---|---|---|---|")
    for name, classifier, params in VARIANTS:
        if args.only and classifier not in args.only or args.variants and name not in args.variants:
            continue
        r = evaluate(folds, classifier, params, args.seed)
        print(f"| {name} | {r['pooled']:.3f} | {r['mean']:.3f} | {' '.join(f'{s:.3f}' for s in r['per_fold'])} "
              f"| {', '.join(r['chosen'])} | {r['seconds']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
