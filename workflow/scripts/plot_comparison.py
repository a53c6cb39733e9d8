"""Snakemake adapter: results/summary.tsv -> comparison of all (encoder, classifier) pairs."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from speech_emotion.plots import plot_comparison  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
summary = pd.read_csv(snakemake.input.summary, sep="\t")  # noqa: F821
chance = json.loads(Path(snakemake.input.metrics[0]).read_text(encoding="utf-8"))["chance"]["balanced_accuracy"]  # noqa: F821
plot_comparison(summary, snakemake.output[0], chance=chance)  # noqa: F821
logging.info("wrote %s (%d pairs)", snakemake.output[0], len(summary))  # noqa: F821
