#!/usr/bin/env bash
# Real-corpus results table: URDU emotional speech (../shared/data/urdu, 400 clips, 4 classes,
# natural talk-show speech) with eGeMAPS, ComParE and the real pretrained Whisper tiny.en
# (../shared/models/whisper-tiny.en), every classifier, speaker-independent 5-fold CV.
#
#   benchmarks/real_corpus.sh [WORKDIR] [extra snakemake arguments...]
#
# WORKDIR (default ./urdu-run, beside where you call it) receives the filled-in config (urdu.yaml) and every output
# (WORKDIR/results, logs under WORKDIR/results/logs); rerunning reuses what is up to date.
# Prints results/summary.tsv as a Markdown table (WA and UA mean ± std over the 5 folds, pooled UA
# from summary.tsv, chance levels, ensemble vs best single classifier, the layers chosen per fold,
# whether each fold's augmented copies trained)
# and copies the layer-probe figure of whisper-tiny.en to WORKDIR/layer_probe_whisper-tiny.en.png.
# The explanations of every pair (docs/explain.md) land in WORKDIR/results/explain/.
# Needs ../shared (data and model) beside this checkout; no network.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(cd "$REPO/.." && pwd)/shared"
WORKDIR="${1:-urdu-run}"
shift || true

for need in "$SHARED/data/urdu" "$SHARED/models/whisper-tiny.en"; do
    if [[ ! -d "$need" ]]; then
        echo "real_corpus.sh: $need not found (../shared must sit beside the checkout $REPO)" >&2
        exit 2
    fi
done

mkdir -p "$WORKDIR"
WORKDIR="$(cd "$WORKDIR" && pwd)"
CONFIG="$WORKDIR/urdu.yaml"
# fill in the absolute paths (same text on every rerun: the config does not make jobs stale)
sed "s|@SHARED@|$SHARED|g" "$REPO/benchmarks/urdu.yaml" > "$CONFIG.tmp"
mv "$CONFIG.tmp" "$CONFIG"

CORES="$(nproc)"
TARGETS=(results/summary.tsv results/plots/whisper-tiny.en/layer_probe.png results/plots/comparison.png
         results/explain/explanations.html)
echo "[real_corpus] $(date -u +%FT%TZ) snakemake --cores $CORES in $WORKDIR" >&2
start=$(date +%s)
snakemake --snakefile "$REPO/Snakefile" --directory "$WORKDIR" --configfile "$CONFIG" \
    --cores "$CORES" --rerun-incomplete --show-failed-logs "$@" "${TARGETS[@]}"
echo "[real_corpus] snakemake finished in $(( $(date +%s) - start )) s" >&2

cp "$WORKDIR/results/plots/whisper-tiny.en/layer_probe.png" "$WORKDIR/layer_probe_whisper-tiny.en.png"

python3 - "$WORKDIR" "$REPO" <<'PY'
import sys
from pathlib import Path

import pandas as pd

work = Path(sys.argv[1])
sys.path.insert(0, str(Path(sys.argv[2]) / "workflow"))  # speech_emotion of this checkout (plans' reader)
summary = pd.read_csv(work / "results" / "summary.tsv", sep="\t")
manifest = pd.read_csv(work / "results" / "data" / "manifest.tsv", sep="\t")
counts = manifest["label"].value_counts()
folds = int(summary["n_folds"].iloc[0])

def cell(row, name):
    return f"{row[f'{name}_mean']:.3f} ± {row[f'{name}_std']:.3f}"

best_mean = summary["balanced_accuracy_mean"].max()
best_pooled = summary["balanced_accuracy_pooled"].max()
print("| encoder | classifier | WA (mean ± std) | UA (mean ± std) | UA pooled |")
print("|---|---|---|---|---|")
for row in summary.to_dict("records"):
    ua, pooled = cell(row, "balanced_accuracy"), f"{row['balanced_accuracy_pooled']:.3f}"
    if row["balanced_accuracy_mean"] == best_mean:
        ua = f"**{ua}**"
    if row["balanced_accuracy_pooled"] == best_pooled:
        pooled = f"**{pooled}**"
    print(f"| {row['encoder']} | {row['classifier']} | {cell(row, 'accuracy')} | {ua} | {pooled} |")
chance_mean = summary["chance_balanced_accuracy_mean"].iloc[0]
print(
    f"| chance | | {counts.max() / counts.sum():.3f} (majority class {counts.idxmax()}) "
    f"| {chance_mean:.3f} (mean over folds of 1/classes in the fold) | {1 / len(counts):.3f} (1/{len(counts)}) |"
)
print()
print(
    f"{len(manifest)} clips, {manifest['speaker'].nunique()} speakers, {len(counts)} classes "
    f"({', '.join(f'{k} {v}' for k, v in counts.sort_index().items())}); mean ± std over {folds} "
    f"speaker-disjoint folds (protocol {summary['protocol'].iloc[0]}); UA pooled = balanced accuracy "
    f"of all {folds} folds' predictions together; bold = best. Chance UA of a fold is 1/(classes in its "
    f"test part): compare the fold means with {chance_mean:.3f}, the pooled UA with {1 / len(counts):.3f}."
)
for encoder, rows in summary.groupby("encoder"):
    singles = rows[rows["classifier"] != "ensemble"]
    ensemble = rows[rows["classifier"] == "ensemble"]
    if len(singles) and len(ensemble):
        top = singles.loc[singles["balanced_accuracy_pooled"].idxmax()]
        print(f"{encoder}: ensemble UA pooled {ensemble['balanced_accuracy_pooled'].iloc[0]:.3f}, mean "
              f"{ensemble['balanced_accuracy_mean'].iloc[0]:.3f}; best single ({top['classifier']}) pooled "
              f"{top['balanced_accuracy_pooled']:.3f}, mean {top['balanced_accuracy_mean']:.3f}")
probe = work / "results" / "cv" / "whisper-tiny.en" / "layer_probe.tsv"
if probe.is_file():
    table = pd.read_csv(probe, sep="\t", dtype={"fold": str})
    chosen = table[table["chosen"] == 1].groupby("fold")["layer"].apply(list)
    print("whisper-tiny.en layers chosen per fold: " + ", ".join(f"fold {k} {v}" for k, v in chosen.items()))
import json  # noqa: E402
from speech_emotion.train.fold_plan import Plan  # noqa: E402
for encoder in sorted(summary["encoder"].unique()):
    plans = sorted((work / "results" / "cv" / encoder / "plans").glob("fold-*.json"))
    for key, what in (("copies", "augmented copies train"), ("speaker_norm", "per-speaker standardisation")):
        used = []
        for path in plans:
            decision = Plan.read(path).decision(key)
            if decision.get("score_with") is not None:
                used.append(f"{path.stem[5:]} {'yes' if decision['use'] else 'no'} "
                            f"({decision['score_with']:.3f} vs {decision['score_without']:.3f})")
        if used:
            print(f"{encoder}: {what} (inner UA with vs without) per fold: " + ", ".join(used))
fallbacks = []
for path in sorted((work / "results" / "cv").glob("*/*/fold-*/record.json")):
    grouping = json.loads(path.read_text()).get("selected", {}).get("inner_grouping", {})
    for purpose, record in grouping.items():
        if record["grouping"] != "speaker":
            fallbacks.append(f"{path.parent.parent.parent.name}/{path.parent.parent.name}/{path.parent.name} {purpose}")
print(f"inner splits grouped by clip instead of speaker (class from too few speakers): "
      f"{', '.join(fallbacks) if fallbacks else 'none'}")
print(f"Layer-probe figure: {work / 'layer_probe_whisper-tiny.en.png'}")
PY
