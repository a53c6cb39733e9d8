"""Rule aggregate: per-fold predictions of one (encoder, classifier) -> metrics.json."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import write_json_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.metrics import evaluate_files  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
w, params = snakemake.wildcards, snakemake.params  # noqa: F821
perception = snakemake.input.get("perception")  # noqa: F821
metrics = evaluate_files(
    snakemake.input.predictions,  # noqa: F821
    snakemake.input.manifest,  # noqa: F821
    perception[0] if isinstance(perception, list) and perception else perception or None,
    params.perception_note,
    snakemake.input.folds,  # noqa: F821
)
metrics = {"encoder": w.encoder, "classifier": w.classifier, "protocol": params.protocol} | metrics
write_json_atomic(snakemake.output.metrics, metrics)  # noqa: F821
log.info(
    "%s/%s: %d clips, %d folds, UA %.3f ± %.3f, WA %.3f ± %.3f, human baseline: %s",
    metrics["encoder"], metrics["classifier"], metrics["n_clips"], metrics["n_folds"],
    metrics["balanced_accuracy"]["mean"], metrics["balanced_accuracy"]["std"],
    metrics["accuracy"]["mean"], metrics["accuracy"]["std"],
    "available" if metrics["human_baseline"]["available"] else metrics["human_baseline"]["reason"],
)
if "lone_clip" in metrics:
    lone = metrics["lone_clip"]
    log.info("each test clip labelled alone (population statistics; folds %s standardise per speaker): "
             "UA %.3f pooled, %.3f ± %.3f over folds (each speaker's own clips: UA %.3f pooled)",
             ", ".join(lone["folds_standardised"]), lone["balanced_accuracy"]["pooled"],
             lone["balanced_accuracy"]["mean"], lone["balanced_accuracy"]["std"], metrics["balanced_accuracy"]["pooled"])
