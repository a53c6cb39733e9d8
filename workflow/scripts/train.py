"""Rule train: one (encoder, classifier, fold) -> a model folder (model.zip, features.json, model.json),
record.json and predictions.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821


from speech_emotion.io.files import read_json, write_json_atomic, write_tsv_atomic  # noqa: E402
from speech_emotion.train.classifiers import save_model  # noqa: E402
from speech_emotion.train.final_model import final_model_info  # noqa: E402
from speech_emotion.embed.identity import with_identity  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.train.fold import train_fold  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output, params, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards  # noqa: F821
tuned = read_json(inputs.tuned)["params"] if inputs.get("tuned") else None
members = dict(zip(params.members, inputs.get("members", []), strict=True))  # ensemble: member -> its model
result = train_fold(
    w.encoder, w.classifier, w.fold, params.config, params.shards, read_table(inputs.manifest),
    read_table(inputs.folds), read_json(inputs.plan), params.seed, snakemake.threads, members, tuned,  # noqa: F821
)
save_model(result.model, output.model)
result.features.write(output.features)
write_json_atomic(output.info, final_model_info(result.record, with_identity(params.encoder), params.audio))
write_json_atomic(output.record, result.record)
write_tsv_atomic(output.predictions, result.predictions)
log.info("done: %s", {k: result.record.get(k) for k in ("layers", "selected", "test_balanced_accuracy")})
