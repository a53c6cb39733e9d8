"""Rule plot_comparison: results/summary.tsv -> comparison of all (encoder, classifier) pairs."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import pandas as pd  # noqa: E402

from speech_emotion.io.files import read_json  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.plots import plot_comparison  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
summary = pd.read_csv(snakemake.input.summary, sep="\t")  # noqa: F821
chance = read_json(snakemake.input.metrics[0])["chance"]["balanced_accuracy"]  # noqa: F821
plot_comparison(summary, snakemake.output[0], chance=chance)  # noqa: F821
log.info("wrote %s (%d pairs)", snakemake.output[0], len(summary))  # noqa: F821
