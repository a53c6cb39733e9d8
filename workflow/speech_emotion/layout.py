"""The results layout: every path pattern of the workflow's data products, written once.

Patterns use Snakemake's wildcard syntax (``{encoder}``, ``{fold}`` ...); the rules use them as they
are, input functions through ``expand`` or ``str.format``. ``corpus_dir`` is ``""`` for the primary
corpus (``dataset``) and ``"corpora/<name>/"`` for an extra corpus of a cross-corpus run. Logs and
benchmark files are named in their rules (one rule each).
"""

from __future__ import annotations

RESULTS = "results"

# data stage
SHARD_TABLE = "results/{corpus_dir}data/shards/shard-{shard}.tsv"
MANIFEST_OF = "results/{corpus_dir}data/manifest.tsv"
REJECTED_OF = "results/{corpus_dir}data/rejected.tsv"
MANIFEST = MANIFEST_OF.format(corpus_dir="")
REJECTED = REJECTED_OF.format(corpus_dir="")
FOLDS = "results/data/folds.tsv"

# augment and embed stages
AUDIO = "results/audio/{variant}/shard-{shard}.npz"
EMBEDDINGS = "results/{corpus_dir}embeddings/{encoder}/{variant}/shard-{shard}.npz"

# train stage: a plan per (encoder, fold); a model folder per (encoder, classifier, fold)
PLAN = "results/cv/{encoder}/plans/fold-{fold}.json"
FOLD = "results/cv/{encoder}/{classifier}/fold-{fold}"
FINAL_FOLD = FOLD.replace("{fold}", "all")  # every clip trains: the final model's fold
MODEL = "results/models/{encoder}/{classifier}"
LAYER_PROBE_TABLE = "results/cv/{encoder}/layer_probe.tsv"

# evaluate stage
CLASSIFIER = "results/cv/{encoder}/{classifier}"
METRICS = f"{CLASSIFIER}/metrics.json"
SUMMARY = "results/summary.tsv"
LEADERBOARD = "results/leaderboard.html"
PLOTS = "results/plots"

# explain stage: importances and nuisance checks on the CV test folds
CLIP_LEVELS = "results/explain/clip_levels.tsv"
IMPORTANCE = f"{CLASSIFIER}/importance.tsv"
NUISANCE = f"{CLASSIFIER}/nuisance.tsv"
EXPLAIN_IMPORTANCE = "results/explain/importance.tsv"
EXPLAIN_NUISANCE = "results/explain/nuisance.tsv"
EXPLANATIONS = "results/explain/explanations.html"

# regress stage: continuous targets (dataset.targets), cross-validated per (target, encoder, regressor)
# on the classification folds with plans of their own (scored by CCC); a summary of its own (summary.tsv's columns are classification's)
REGRESSOR = "results/regression/{target}/{encoder}/{regressor}"
REGRESSION_FOLD = f"{REGRESSOR}/fold-{{fold}}"
REGRESSION_PLAN = "results/regression/{target}/{encoder}/plans/fold-{fold}.json"  # a fold's plan scored by CCC
REGRESSION_METRICS = f"{REGRESSOR}/metrics.json"
REGRESSION_MODEL = f"{REGRESSOR}/model"  # the final regressor's folder (fold "all"; predict --model loads it)
REGRESSION_SUMMARY = "results/regression/summary.tsv"
TARGET_VALUES = "results/data/targets/{target}.tsv"  # clip_id and the values of one declared target
REGRESSION_SCATTER = f"{REGRESSOR}/scatter.png"  # predicted against rated value, pooled over folds
REGRESSION_RESIDUALS = f"{REGRESSOR}/residuals.png"  # residual against prediction
REGRESSION_LEADERBOARD = "results/regression/leaderboard.html"  # summary.tsv for the report

# cross-corpus runs
CROSS_PLAN = "results/cross/models/{train}/{encoder}/plan.json"
CROSS_MODEL = "results/cross/models/{train}/{encoder}/{classifier}"
CROSS_PAIR = "results/cross/{train}__{test}/{encoder}/{classifier}"

CACHE_ROOTS = ("results/audio", "results/embeddings", "results/cv", "results/models", "results/corpora",
               "results/cross", "results/regression")
"""Where cached archives (.npz, .zip) live: checked at start-up (speech_emotion.io.files.find_corrupt)."""
