"""Snakemake adapter: metrics.json of every classifier of one encoder -> per-fold score lines."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from speech_emotion.plots import plot_fold_scores  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
by_classifier = {}
for path in snakemake.input.metrics:  # noqa: F821
    metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    by_classifier[metrics["classifier"]] = metrics
encoder = snakemake.wildcards.encoder  # noqa: F821
plot_fold_scores(by_classifier, snakemake.output[0], f"{encoder}: score of each test fold")  # noqa: F821
logging.info("wrote %s (%s)", snakemake.output[0], ", ".join(sorted(by_classifier)))  # noqa: F821
