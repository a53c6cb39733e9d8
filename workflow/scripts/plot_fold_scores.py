"""Rule plot_fold_scores: metrics.json of every classifier of one encoder -> per-fold score lines."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import read_json  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.plots import plot_fold_scores  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
by_classifier = {}
for path in snakemake.input.metrics:  # noqa: F821
    metrics = read_json(path)
    by_classifier[metrics["classifier"]] = metrics
encoder = snakemake.wildcards.encoder  # noqa: F821
plot_fold_scores(by_classifier, snakemake.output[0], f"{encoder}: score of each test fold")  # noqa: F821
log.info("wrote %s (%s)", snakemake.output[0], ", ".join(sorted(by_classifier)))  # noqa: F821
