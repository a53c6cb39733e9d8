"""Rule tune: Optuna study nested in one training fold -> study.sqlite3 + tuned.json (best params)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import write_json_atomic  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.train.features import planned_fold  # noqa: E402
from speech_emotion.train.fold_plan import Plan  # noqa: E402
from speech_emotion.data.splits import parse_fold  # noqa: E402
from speech_emotion.train.tuning import tune  # noqa: E402

job_log(snakemake.log[0])  # noqa: F821
inputs, output, params, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards  # noqa: F821
spec = Plan.read(inputs.plan).features
data = planned_fold(parse_fold(w.fold), params.shards, read_table(inputs.manifest),
                    read_table(inputs.folds), spec)[0]  # the plan's feature pipeline
settings = params.tune
result = tune(
    w.classifier, params.config | spec.classifier_params(), settings["space"], data.X_train, data.y_train, data.groups_train,
    output.study, f"{w.encoder}-{w.classifier}-fold-{w.fold}",
    n_trials=settings["n_trials"], inner_folds=settings["inner_folds"], seed=params.seed,
    n_jobs=snakemake.threads, clean=data.train_variants == "clean", pruner=settings["pruner"],  # noqa: F821
    clips=data.train_ids,
)
write_json_atomic(output.best, result)
