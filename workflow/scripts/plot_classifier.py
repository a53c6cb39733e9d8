"""Snakemake adapter: metrics.json -> confusion heatmap and per-class bars of one classifier."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from speech_emotion.plots import plot_confusion, plot_per_class  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
metrics = json.loads(Path(snakemake.input.metrics).read_text(encoding="utf-8"))  # noqa: F821
title = f"{snakemake.wildcards.encoder} + {snakemake.wildcards.classifier}"  # noqa: F821
plot_confusion(metrics, snakemake.output.confusion, title)  # noqa: F821
plot_per_class(metrics, snakemake.output.per_class, title)  # noqa: F821
logging.info("wrote %s and %s", snakemake.output.confusion, snakemake.output.per_class)  # noqa: F821
