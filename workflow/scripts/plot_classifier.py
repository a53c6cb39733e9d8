"""Rule classifier_figures: metrics.json -> confusion heatmap and per-class bars of one classifier."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import read_json  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.plots import plot_confusion, plot_per_class  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
output = snakemake.output  # noqa: F821
metrics = read_json(snakemake.input.metrics)  # noqa: F821
title = f"{snakemake.wildcards.encoder} + {snakemake.wildcards.classifier}"  # noqa: F821
plot_confusion(metrics, output.confusion, title)
plot_per_class(metrics, output.per_class, title)
log.info("wrote %s and %s", output.confusion, output.per_class)
