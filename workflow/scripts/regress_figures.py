"""Rule regress_figures: predictions.tsv of every fold + metrics.json -> scatter and residual plots."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import pandas as pd  # noqa: E402

from speech_emotion.io.files import read_json  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.regress.plots import plot_residuals, plot_scatter  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output, w = snakemake.input, snakemake.output, snakemake.wildcards  # noqa: F821
predictions = pd.concat([pd.read_csv(path, sep="\t", dtype={"clip_id": str, "speaker": str})
                         for path in inputs.predictions], ignore_index=True)
metrics = read_json(inputs.metrics)
title = f"{w.target}: {w.encoder} + {w.regressor}"
log.info("%s", plot_scatter(predictions, metrics, output.scatter, title))
plot_residuals(predictions, metrics, output.residuals, title)
log.info("wrote %s and %s", output.scatter, output.residuals)
