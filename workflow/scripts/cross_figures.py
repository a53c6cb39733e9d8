"""Rule cross_figures: metrics.json of a cross pair -> confusion heatmap and per-class bars."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import read_json  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.plots import plot_confusion, plot_per_class  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
output, w = snakemake.output, snakemake.wildcards  # noqa: F821
metrics = read_json(snakemake.input.metrics)  # noqa: F821
title = f"{w.encoder} + {w.classifier}, trained on {w.train}, tested on {w.test}"
plot_confusion(metrics, output.confusion, title)
plot_per_class(metrics, output.per_class, title)
log.info("wrote %s and %s", output.confusion, output.per_class)
