"""Rule regress_aggregate: per-fold predictions of one (target, encoder, regressor) -> metrics.json."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.data.targets import declared_targets, with_target_values  # noqa: E402
from speech_emotion.io.files import write_json_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.regress.summary import metrics_of_files  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, params, w = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
target, = declared_targets({"targets": {w.target: params.target}})
metrics = metrics_of_files(inputs.predictions, with_target_values(read_table(inputs.manifest), read_table(inputs.values)), read_table(inputs.folds), target)
metrics = {"target": w.target, "column": target.column, "description": target.description, "encoder": w.encoder,
           "regressor": w.regressor, "protocol": params.protocol} | metrics
write_json_atomic(snakemake.output.metrics, metrics)  # noqa: F821
log.info("%s %s/%s: %d clips, %d folds, CCC %.3f ± %.3f (pooled %.3f; chance pooled %.3f), MAE %.3f (chance %.3f)",
         w.target, w.encoder, w.regressor, metrics["n_clips"], metrics["n_folds"], metrics["ccc"]["mean"],
         metrics["ccc"]["std"], metrics["ccc"]["pooled"], metrics["chance"]["ccc"]["pooled"], metrics["mae"]["pooled"],
         metrics["chance"]["mae"]["pooled"])
