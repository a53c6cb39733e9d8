"""Rule train: one (encoder, classifier, fold) -> model.zip, params.json, predictions.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import json
import logging
from pathlib import Path

import pandas as pd

from speech_emotion.cache import write_json_atomic, write_tsv_atomic
from speech_emotion.classifiers import save_model
from speech_emotion.training import train_fold, variant_paths

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
w = snakemake.wildcards
manifest = pd.read_csv(snakemake.input.manifest, sep="\t", dtype={"clip_id": str, "label": str, "speaker": str})
folds = pd.read_csv(snakemake.input.folds, sep="\t", dtype={"clip_id": str})
layer_choice = json.loads(Path(snakemake.input.layers).read_text(encoding="utf-8"))
tuned = None
if snakemake.input.get("tuned"):
    tuned = json.loads(Path(snakemake.input.tuned).read_text(encoding="utf-8"))["params"]
members = {Path(p).parent.parent.name: p for p in snakemake.input.get("members", [])}
result = train_fold(
    w.encoder, w.classifier, w.fold, snakemake.params.config, variant_paths(snakemake.input.embeddings),
    manifest, folds, layer_choice, snakemake.params.seed, snakemake.threads, members, tuned,
)
save_model(result.model, snakemake.output.model)
write_json_atomic(snakemake.output.params, result.params)
write_tsv_atomic(snakemake.output.predictions, result.predictions)
logging.info("done: %s", {k: result.params.get(k) for k in ("layers", "selected", "test_balanced_accuracy")})
