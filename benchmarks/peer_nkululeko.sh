#!/usr/bin/env bash
# Where the project stands against nkululeko (https://github.com/felixbur/nkululeko), the tool a
# user would otherwise pick: URDU (../shared/data/urdu, 400 clips, 4 classes), the same clips, the
# same speaker-independent folds (the project's results/data/folds.tsv) and the same features
# (openSMILE eGeMAPSv02 functionals, 88 values; each tool extracts its own, and the script checks
# that they are identical), classifiers side by side.
#
#   benchmarks/peer_nkululeko.sh [WORKDIR]
#
# WORKDIR (default ./peer-run) receives:
#   project/      the workflow run: benchmarks/urdu.yaml with run.encoders [egemaps], classifiers
#                 logreg, svm, xgboost, mlp, augment.copies 0 (emptied first: its wall time is from scratch)
#   nkululeko/    nkululeko's data CSV (the project's manifest + fold column), one INI per
#                 (model, fold), its experiment folder (emptied first) and results.json
#   nkululeko-venv/  nkululeko in its own virtual environment (built once; NK_VENV to put it elsewhere)
# and prints a Markdown table: per classifier, pooled UA and fold-mean UA of each tool, and each
# tool's wall time (feature extraction included).
#
# nkululeko (NK_VERSION, default 1.14.1) runs each of its models xgb, svm, mlp once per fold with
# `split_strategy = column` on the fold column (train = the other folds, test = the fold: the same
# 5 splits as the project), `[FEATS] type = ['os']` (its openSMILE eGeMAPSv02 functionals),
# `scale = standard` (fitted on the training part) and `[MODEL] class_weight = True`, each model
# with its own defaults: xgb = xgboost's XGBClassifier defaults (100 rounds, learning rate 0.3,
# depth 6), svm = SVC(C=1, rbf, gamma scale). Its MLP has no default architecture or length:
# the script uses the settings of nkululeko's own test INI (tests/exp_emodb_os_mlp.ini: layers
# {'l1': 128, 'l2': 16}, drop 0.4) for 100 epochs and no patience, and reports the LAST epoch
# (nkululeko itself prints the best epoch on the test fold, which is chosen by the test fold; the
# table gives it too, marked). `[MODEL] n_jobs` = the cores the project uses. nkululeko's `logo`
# over the same fold column gives the same XGBoost folds; per-fold runs are used here so that the
# scaler is fitted without the test fold and the MLP runs on the same splits.
#
# Needs ../shared beside this checkout and a package registry for the venv (once); no other network.
# NK_TORCH_INDEX: a pip index for torch (e.g. https://download.pytorch.org/whl/cpu on a machine
# where the registry's default torch is a CUDA build); torch is pinned to the project's version.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(cd "$REPO/.." && pwd)/shared"
WORKDIR="${1:-peer-run}"
NK_VERSION="${NK_VERSION:-1.14.1}"
CORES="$(nproc)"

if [[ ! -d "$SHARED/data/urdu" ]]; then
    echo "peer_nkululeko.sh: $SHARED/data/urdu not found (../shared must sit beside the checkout $REPO)" >&2
    exit 2
fi
mkdir -p "$WORKDIR"
WORKDIR="$(cd "$WORKDIR" && pwd)"
NK_VENV="${NK_VENV:-$WORKDIR/nkululeko-venv}"

# 1. nkululeko in its own virtual environment
if ! "$NK_VENV/bin/python" -c "import nkululeko" 2>/dev/null; then
    echo "[peer] building $NK_VENV (nkululeko==$NK_VERSION)" >&2
    python3 -m venv "$NK_VENV"
    torch_version="$(python3 -c 'import torch; print(torch.__version__.split("+")[0])')"
    "$NK_VENV/bin/pip" install -q "torch==$torch_version" ${NK_TORCH_INDEX:+--index-url "$NK_TORCH_INDEX"}
    "$NK_VENV/bin/pip" install -q "nkululeko==$NK_VERSION"
fi

# 2. the project: eGeMAPS, copies 0, from an empty folder
PROJECT="$WORKDIR/project"
rm -rf "$PROJECT"
mkdir -p "$PROJECT"
sed "s|@SHARED@|$SHARED|g" "$REPO/benchmarks/urdu.yaml" > "$PROJECT/urdu.yaml"
cat > "$PROJECT/peer.yaml" <<'YAML'
run:
  encoders: [egemaps]
  classifiers: [logreg, svm, xgboost, mlp]
augment:
  copies: 0
YAML
echo "[peer] $(date -u +%FT%TZ) project: snakemake --cores $CORES in $PROJECT" >&2
start=$(date +%s.%N)
snakemake --snakefile "$REPO/Snakefile" --directory "$PROJECT" --configfile "$PROJECT/urdu.yaml" "$PROJECT/peer.yaml" \
    --cores "$CORES" --quiet --show-failed-logs results/summary.tsv > "$PROJECT/snakemake.log" 2>&1 \
    || { tail -50 "$PROJECT/snakemake.log" >&2; exit 1; }
project_s=$(python3 -c "import time; print(f'{time.time() - $start:.0f}')")
echo "[peer] project finished in $project_s s" >&2

# 3. nkululeko on the same clips and folds
NK="$WORKDIR/nkululeko"
rm -rf "$NK"
mkdir -p "$NK"
python3 - "$PROJECT" "$NK/urdu.csv" <<'PY'
import sys
import pandas as pd
results = f"{sys.argv[1]}/results/data"
manifest = pd.read_csv(f"{results}/manifest.tsv", sep="\t")
folds = pd.read_csv(f"{results}/folds.tsv", sep="\t")
data = manifest.merge(folds, on="clip_id", validate="one_to_one")
pd.DataFrame({"file": data["path"], "speaker": data["speaker"], "emotion": data["label"],
              "fold": data["fold"].astype(int)}).to_csv(sys.argv[2], index=False)
PY
echo "[peer] $(date -u +%FT%TZ) nkululeko $NK_VERSION: xgb, svm, mlp x 5 folds in $NK" >&2
start=$(date +%s.%N)
"$NK_VENV/bin/python" - "$NK" "$CORES" > "$NK/nkululeko.log" 2>&1 <<'PY' || { tail -50 "$NK/nkululeko.log" >&2; exit 1; }
import configparser
import json
import sys
import time
from pathlib import Path

import pandas as pd

import nkululeko.experiment as exp

nk, cores = Path(sys.argv[1]), sys.argv[2]
folds = sorted(pd.read_csv(nk / "urdu.csv")["fold"].unique().tolist())
MODELS = {
    "xgb": {"type": "xgb", "class_weight": "True"},
    "svm": {"type": "svm", "class_weight": "True"},
    # nkululeko's own test INI (tests/exp_emodb_os_mlp.ini) without its patience on the test set
    "mlp": {"type": "mlp", "class_weight": "True", "layers": "{'l1': 128, 'l2': 16}", "drop": "0.4"},
}
out = {}
for name, model in MODELS.items():
    out[name] = {"folds": []}
    start = time.time()
    for fold in folds:
        config = configparser.ConfigParser()
        config["EXP"] = {"root": f"{nk}/", "name": "urdu", "runs": "1",
                         "epochs": "100" if name == "mlp" else "1", "save": "False"}
        config["DATA"] = {"databases": "['urdu']", "urdu": str(nk / "urdu.csv"), "urdu.type": "csv",
                          "urdu.absolute_path": "True", "urdu.split_strategy": "column",
                          "urdu.split_column": "fold", "target": "emotion", "no_reuse": "True",
                          "urdu.train_vals": str([f for f in folds if f != fold]), "urdu.test_vals": str([fold])}
        config["FEATS"] = {"type": "['os']", "scale": "standard"}
        config["MODEL"] = {**model, "n_jobs": cores, "random_seed": "42"}
        with open(nk / f"{name}_fold{fold}.ini", "w") as handle:
            config.write(handle)
        expr = exp.Experiment(config)
        expr.set_module("nkululeko")
        expr.load_datasets()
        expr.fill_train_and_tests()
        expr.extract_feats()
        expr.init_runmanager()
        expr.run()
        decode = expr.label_encoder.inverse_transform
        last = expr.runmgr.reports[-1]  # the last epoch (the only one for xgb and svm)
        best = expr.runmgr.best_results[-1]  # what nkululeko prints: the best epoch on the test fold
        out[name]["folds"].append({
            "fold": int(fold), "index": [str(i[0] if isinstance(i, tuple) else i) for i in expr.df_test.index],
            "truth": decode(last.truths.astype(int)).tolist(), "last": decode(last.preds.astype(int)).tolist(),
            "best": decode(best.preds.astype(int)).tolist(), "best_epoch": int(best.epoch),
        })
    out[name]["seconds"] = time.time() - start
(nk / "results.json").write_text(json.dumps(out))
PY
nk_s=$(python3 -c "import time; print(f'{time.time() - $start:.0f}')")
echo "[peer] nkululeko finished in $nk_s s" >&2

# 4. the table
python3 - "$PROJECT" "$NK" "$project_s" "$nk_s" "$NK_VERSION" "$CORES" <<'PY'
import glob
import json
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score

warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")  # folds without Angry
project, nk, project_s, nk_s, version, cores = sys.argv[1:]
summary = pd.read_csv(f"{project}/results/summary.tsv", sep="\t").set_index("classifier")
results = json.loads(open(f"{nk}/results.json").read())

def ua(truth, pred):
    return balanced_accuracy_score(truth, pred)

# the features: nkululeko's store against the project's shards, value for value
store = pd.read_pickle(glob.glob(f"{nk}/urdu/store/urdu_os_all.pkl")[0]) if glob.glob(f"{nk}/urdu/store/urdu_os_all.pkl") else None
if store is not None:
    rows = {}
    for path in sorted(glob.glob(f"{project}/results/embeddings/egemaps/clean/shard-*.npz")):
        shard = np.load(path)
        rows.update({str(c): e.reshape(-1) for c, e in zip(shard["clip_ids"], shard["embeddings"])})
    files = store.index.get_level_values(0)
    ours = np.stack([rows["/".join(f.split("/")[-2:]).rsplit(".", 1)[0]] for f in files])
    diff = float(np.abs(ours - store.to_numpy()).max())
    features = f"identical (largest difference {diff:g})" if diff == 0 else f"differ (largest difference {diff:g})"
else:
    features = "not compared (nkululeko's feature store not found)"

names = {"xgboost": "xgb", "svm": "svm", "mlp": "mlp", "logreg": None}
print(f"| classifier | project UA pooled | project UA fold mean | nkululeko {version} UA pooled | nkululeko UA fold mean |")
print("|---|---|---|---|---|")
note = ""
for ours, theirs in names.items():
    row = summary.loc[ours]
    project_cells = f"{row['balanced_accuracy_pooled']:.3f} | {row['balanced_accuracy_mean']:.3f}"
    if theirs is None:
        print(f"| {ours} | {project_cells} | (no such model) | |")
        continue
    folds = results[theirs]["folds"]
    truth = sum((f["truth"] for f in folds), [])

    def scores(key):
        pooled = ua(truth, sum((f[key] for f in folds), []))
        return f"{pooled:.3f} | {np.mean([ua(f['truth'], f[key]) for f in folds]):.3f}"

    print(f"| {ours} | {project_cells} | {scores('last')} |")
    if theirs == "mlp":
        print(f"| mlp, nkululeko's best epoch of each test fold (chosen by the test fold) | | | {scores('best')} |")
        note = ("nkululeko's MLP: 100 epochs, the last one scored; what nkululeko prints is the best epoch on "
                f"each test fold (epochs {', '.join(str(f['best_epoch'] + 1) for f in folds)}), chosen by the "
                "test fold, so not comparable.")
if note:
    print()
    print(note)
print()
print(f"Wall time on {cores} CPU cores, feature extraction included: project {project_s} s "
      f"(snakemake, every job from an empty folder), nkululeko {nk_s} s (xgb {results['xgb']['seconds']:.0f} s, "
      f"svm {results['svm']['seconds']:.0f} s, mlp {results['mlp']['seconds']:.0f} s, one process).")
print(f"eGeMAPSv02 features of the two tools: {features}.")
print(f"Same 400 clips, same {len(results['xgb']['folds'])} speaker-disjoint folds (results/data/folds.tsv).")
PY
