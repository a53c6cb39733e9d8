"""Rule regress_plan: the feature pipeline of one (target, encoder, fold)'s regressors (layers, per-speaker
standardisation, fusion balance; copies never), decided by a ridge probe's pooled inner CCC on the fold's
training clips that have a value -> results/regression/{target}/{encoder}/plans/fold-{fold}.json."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.data.targets import declared_targets, with_target_values  # noqa: E402
from speech_emotion.io.files import read_json, write_json_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.regress.plan import make_regression_plan  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, params, w = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
target, = declared_targets({"targets": {w.target: params.target}})
# a fusion's member regression plans, in the config's member order (input function regression_member_plans)
member_plans = [(member, read_json(path)) for member, path in zip(params.members, inputs.member_plans, strict=True)]
manifest = with_target_values(read_table(inputs.manifest), read_table(inputs.values))
plan = make_regression_plan(w.fold, target, params.shards, manifest, read_table(inputs.folds), params.features,
                            params.seed, member_plans or None, threads=snakemake.threads)  # noqa: F821
log.info("%s %s fold %s: %s; evidence %s", w.target, w.encoder, w.fold, plan.describe(), plan.evidence)
write_json_atomic(snakemake.output[0], plan.to_json() | {"encoder": w.encoder, "target": w.target})  # noqa: F821
