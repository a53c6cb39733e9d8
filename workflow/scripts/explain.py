"""Rule explain: the CV fold models of one (encoder, classifier) on their own test clips ->
importance.tsv, nuisance.tsv and importance.png."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.explain.nuisance import read_levels  # noqa: E402
from speech_emotion.explain.pair import FoldFiles, explain_pair  # noqa: E402
from speech_emotion.explain.report import plot_importance  # noqa: E402
from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output, params, w = snakemake.input, snakemake.output, snakemake.params, snakemake.wildcards  # noqa: F821
files = [FoldFiles(str(fold), model, features, predictions) for fold, model, features, predictions
         in zip(params.folds, inputs.models, inputs.features, inputs.predictions, strict=True)]
importance, nuisance = explain_pair(files, params.shards, read_table(inputs.manifest), read_table(inputs.folds),
                                   read_levels(inputs.levels), params.encoders, params.repeats, params.seed,
                                   params.max_features)
write_tsv_atomic(output.importance, importance.round(6))
write_tsv_atomic(output.nuisance, nuisance.round(6))
plot_importance(importance, nuisance, output.figure, title=f"{w.encoder} / {w.classifier}: importance on the test folds")
log.info("done: %d importance rows, nuisance %s", len(importance),
         dict(zip(nuisance["nuisance"], nuisance["probe_ua"].round(3))))
