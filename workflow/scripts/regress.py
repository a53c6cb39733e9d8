"""Rule regress: one (target, encoder, regressor, fold) -> predictions.tsv, record.json and a model folder
(model.zip, features.json, model.json); fold "all" (every clip with a value trains) is the final regressor's."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.data.targets import declared_targets, with_target_values  # noqa: E402
from speech_emotion.embed.identity import with_identity  # noqa: E402
from speech_emotion.io.files import read_json, write_json_atomic, write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.regress.fold import regress_fold, regression_model_info  # noqa: E402
from speech_emotion.train.classifiers import save_model  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output, params, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards  # noqa: F821
target, = declared_targets({"targets": {w.target: params.target}})
tuned = read_json(inputs.tuned) if inputs.get("tuned") else None  # a tuned regressor: its fold's tuned.json
members = dict(zip(params.members, inputs.get("members", []), strict=True))  # ensemble: member -> its model
result = regress_fold(
    w.encoder, w.regressor, target, w.fold, params.config, params.shards, with_target_values(read_table(inputs.manifest), read_table(inputs.values)),
    read_table(inputs.folds), read_json(inputs.plan), params.seed, snakemake.threads, tuned, members,  # noqa: F821
)
save_model(result.model, output.model)
result.features.write(output.features)
write_json_atomic(output.info, regression_model_info(result.record, with_identity(params.encoder), params.audio))
write_json_atomic(output.record, result.record)
write_tsv_atomic(output.predictions, result.predictions)
log.info("done: %s", {k: result.record.get(k) for k in ("layers", "selected", "test_scores")})
