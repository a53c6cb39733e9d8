"""Rule regress_tune: one (target, encoder, regressor, fold) -> study.sqlite3 + tuned.json (best settings, pooled
inner CCC), on the fold's clean training clips with a value of the target."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.data.targets import declared_targets, with_target_values  # noqa: E402
from speech_emotion.io.files import read_json, write_json_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.regress.tune import tune_fold  # noqa: E402

job_log(snakemake.log[0])  # noqa: F821
inputs, output, params, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards  # noqa: F821
target, = declared_targets({"targets": {w.target: params.target}})
result = tune_fold(
    w.encoder, w.regressor, target, w.fold, params.config, params.tune, params.shards,
    with_target_values(read_table(inputs.manifest), read_table(inputs.values)), read_table(inputs.folds),
    read_json(inputs.plan), output.study, params.seed, snakemake.threads,  # noqa: F821
)
write_json_atomic(output.best, result)
