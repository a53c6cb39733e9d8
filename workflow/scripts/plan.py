"""Rule plan: what every classifier of one (encoder, fold) uses (its feature pipeline: layers, per-speaker
standardisation, whether copies train), decided on the fold's training part
-> results/cv/{encoder}/plans/fold-{fold}.json."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import read_json, write_json_atomic  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.train.plan import make_plan  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, params, w = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
# a fusion's member plans, in the config's member order (input function member_plans)
member_plans = [(member, read_json(path)) for member, path in zip(params.members, inputs.member_plans, strict=True)]
plan = make_plan(w.fold, params.shards, read_table(inputs.manifest), read_table(inputs.folds),
                 params.features, params.augment_use, params.seed, member_plans or None,
                 threads=snakemake.threads)  # noqa: F821
log.info("encoder %s fold %s: %s; evidence %s", w.encoder, w.fold, plan.describe(), plan.evidence)
write_json_atomic(snakemake.output[0], plan.to_json() | {"encoder": w.encoder})  # noqa: F821
