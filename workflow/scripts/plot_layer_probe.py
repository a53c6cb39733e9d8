"""Snakemake adapter: results/cv/{encoder}/layer_probe.tsv -> probe score per layer."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from speech_emotion.plots import plot_layer_probe, read_chosen_layers  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
table = pd.read_csv(snakemake.input.probe, sep="\t")  # noqa: F821
chosen = read_chosen_layers(snakemake.input.get("layers") or None) or []  # noqa: F821
encoder = snakemake.wildcards.encoder  # noqa: F821
plot_layer_probe(table, snakemake.output[0], chosen, f"{encoder}: linear probe score per layer")  # noqa: F821
logging.info("wrote %s; chosen layers %s", snakemake.output[0], chosen)  # noqa: F821
