"""Rule cross_train: one classifier on every clip of the train corpus with a common label, as its plan says
-> a model folder results/cross/models/{train}/{encoder}/{classifier}/ (model.zip, features.json,
model.json) and record.json."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821


from speech_emotion.io.files import read_json, write_json_atomic  # noqa: E402
from speech_emotion.train.classifiers import save_model  # noqa: E402
from speech_emotion.cross.pairs import cross_train, map_labels, mapping_note  # noqa: E402
from speech_emotion.train.final_model import final_model_info  # noqa: E402
from speech_emotion.embed.identity import with_identity  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output, params, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards  # noqa: F821
manifest = read_table(inputs.manifest)
log.info("%s", mapping_note(w.train, manifest, *map_labels(manifest, params.label_map)))
members = dict(zip(params.members, inputs.get("members", []), strict=True))  # ensemble: member -> its model
result = cross_train(w.encoder, w.classifier, params.config, params.shards, manifest,
                     params.label_map, read_json(inputs.plan), params.seed, snakemake.threads, members)  # noqa: F821
result.record["train_corpus"] = w.train
save_model(result.model, output.model)
result.features.write(output.features)
write_json_atomic(output.info, final_model_info(result.record, with_identity(params.encoder), params.audio))
write_json_atomic(output.record, result.record)
log.info("done: %s", {k: result.record.get(k) for k in ("layers", "labels", "n_train_clips", "selected")})
