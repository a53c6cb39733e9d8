"""Rule layer_probe: the layers every classifier of one fold reads and whether its augmented copies train."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import logging

import pandas as pd

from speech_emotion.cache import write_json_atomic
from speech_emotion.training import run_layer_probe, variant_paths

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
manifest = pd.read_csv(snakemake.input.manifest, sep="\t", dtype={"clip_id": str, "label": str, "speaker": str})
folds = pd.read_csv(snakemake.input.folds, sep="\t", dtype={"clip_id": str})
result = run_layer_probe(snakemake.wildcards.fold, variant_paths(snakemake.input.embeddings), manifest, folds,
                         snakemake.params.features, snakemake.params.seed, snakemake.params.augment_use)
result["encoder"] = snakemake.wildcards.encoder
logging.info("encoder %s fold %s: layers %s (probe score %s; per layer %s); augmented copies %s",
             snakemake.wildcards.encoder, snakemake.wildcards.fold, result["layers"], result["score"],
             result["layer_scores"], result["augment"])
write_json_atomic(snakemake.output[0], result)
