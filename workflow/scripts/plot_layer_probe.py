"""Rule plot_layer_probe: results/cv/{encoder}/layer_probe.tsv -> probe score per layer."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import pandas as pd  # noqa: E402

from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.plots import plot_layer_probe  # noqa: E402
from speech_emotion.train.fold_plan import Plan  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
table = pd.read_csv(snakemake.input.probe, sep="\t")  # noqa: F821
chosen = Plan.read(snakemake.input.plan).layers  # the final model's layers  # noqa: F821
encoder = snakemake.wildcards.encoder  # noqa: F821
plot_layer_probe(table, snakemake.output[0], chosen, f"{encoder}: linear probe score per layer")  # noqa: F821
log.info("wrote %s; chosen layers %s", snakemake.output[0], chosen)  # noqa: F821
