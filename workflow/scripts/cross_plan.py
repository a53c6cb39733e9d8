"""Rule cross_plan: the train corpus's plan (its feature pipeline: layers, per-speaker standardisation,
whether copies train) decided on all its clips with a common label
-> results/cross/models/{train}/{encoder}/plan.json."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import read_json, write_json_atomic  # noqa: E402
from speech_emotion.cross.pairs import cross_plan, map_labels, mapping_note  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.train.fold_plan import Plan  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, params, w = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
manifest = read_table(inputs.manifest)
log.info("%s", mapping_note(w.train, manifest, *map_labels(manifest, params.label_map)))
# a fusion's member plans of the same train corpus, in the config's member order
member_plans = [(member, read_json(path)) for member, path in zip(params.members, inputs.member_plans, strict=True)]
plan = cross_plan(params.shards, manifest, params.label_map, params.features, params.augment_use,
                  params.seed, member_plans or None, snakemake.threads)  # noqa: F821
plan["encoder"], plan["train_corpus"] = w.encoder, w.train
log.info("encoder %s, train corpus %s (%d clips): %s; evidence %s", w.encoder, w.train, plan["n_train_clips"],
         Plan.from_json(plan).describe(), plan["evidence"])
write_json_atomic(snakemake.output[0], plan)  # noqa: F821
