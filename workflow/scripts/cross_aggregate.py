"""Rule cross_aggregate: predictions of one cross pair -> metrics.json (scores on the test corpus)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import write_json_atomic  # noqa: E402
from speech_emotion.cross.pairs import cross_metrics  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.metrics import read_predictions  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, w = snakemake.input, snakemake.wildcards  # noqa: F821
metrics = cross_metrics(read_predictions([inputs.predictions]), read_table(inputs.manifest),
                        read_table(inputs.train_manifest), snakemake.params.label_map,  # noqa: F821
                        {"train": w.train, "test": w.test}, w.encoder, w.classifier)
write_json_atomic(snakemake.output[0], metrics)  # noqa: F821
log.info("%s %s/%s: %d test clips, UA %.3f (chance %.3f), WA %.3f (majority class %.3f)", metrics["protocol"],
         w.encoder, w.classifier, metrics["n_clips"], metrics["balanced_accuracy"]["pooled"],
         metrics["chance"]["balanced_accuracy"], metrics["accuracy"]["pooled"], metrics["chance"]["accuracy"])
if "lone_clip" in metrics:
    log.info("each test clip labelled alone (population statistics): UA %.3f, WA %.3f",
             metrics["lone_clip"]["balanced_accuracy"]["pooled"], metrics["lone_clip"]["accuracy"]["pooled"])
