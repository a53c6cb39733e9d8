"""Rule tune: Optuna study nested in one training fold -> study.sqlite3 + tuned.json (best params)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import json
import logging
from pathlib import Path

import pandas as pd

from speech_emotion.cache import write_json_atomic
from speech_emotion.training import load_fold, parse_fold, trained_variants, variant_paths
from speech_emotion.tuning import tune

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
w = snakemake.wildcards
manifest = pd.read_csv(snakemake.input.manifest, sep="\t", dtype={"clip_id": str, "label": str, "speaker": str})
folds = pd.read_csv(snakemake.input.folds, sep="\t", dtype={"clip_id": str})
choice = json.loads(Path(snakemake.input.layers).read_text(encoding="utf-8"))
data = load_fold(parse_fold(w.fold), trained_variants(variant_paths(snakemake.input.embeddings), choice), manifest,
                 folds, choice["layers"])
settings = snakemake.params.tune
result = tune(
    w.classifier, snakemake.params.config, settings["space"], data.X_train, data.y_train, data.groups_train,
    snakemake.output.study, f"{w.encoder}-{w.classifier}-fold-{w.fold}",
    n_trials=settings["n_trials"], inner_folds=settings["inner_folds"], seed=snakemake.params.seed,
    n_jobs=snakemake.threads, score_mask=data.train_variants == "clean", pruner=settings.get("pruner"),
    clips=data.train_ids,
)
write_json_atomic(snakemake.output.best, result)
