"""Snakemake adapter: per-fold predictions of one (encoder, classifier) -> metrics.json."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import logging  # noqa: E402

from speech_emotion.cache import write_json_atomic  # noqa: E402
from speech_emotion.metrics import evaluate_files  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
perception = snakemake.input.get("perception")  # noqa: F821
metrics = evaluate_files(
    snakemake.input.predictions,  # noqa: F821
    snakemake.input.manifest,  # noqa: F821
    perception[0] if isinstance(perception, list) and perception else perception or None,
    snakemake.params.perception_note,  # noqa: F821
    snakemake.input.folds,  # noqa: F821
)
metrics = {"encoder": snakemake.wildcards.encoder, "classifier": snakemake.wildcards.classifier,  # noqa: F821
           "protocol": snakemake.params.protocol} | metrics  # noqa: F821
write_json_atomic(snakemake.output.metrics, metrics)  # noqa: F821
logging.info(
    "%s/%s: %d clips, %d folds, UA %.3f ± %.3f, WA %.3f ± %.3f, human baseline: %s",
    metrics["encoder"], metrics["classifier"], metrics["n_clips"], metrics["n_folds"],
    metrics["balanced_accuracy"]["mean"], metrics["balanced_accuracy"]["std"],
    metrics["accuracy"]["mean"], metrics["accuracy"]["std"],
    "available" if metrics["human_baseline"]["available"] else metrics["human_baseline"]["reason"],
)
