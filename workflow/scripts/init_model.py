"""Rule init_model: random weights from a shipped config (fixed seed) -> resources/models/{encoder}."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import logging

from speech_emotion.encoders import init_model

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO)
init_model(snakemake.input.config, snakemake.output[0], snakemake.params.seed)
logging.info("random-initialised %s (seed %d) into %s", snakemake.input.config, snakemake.params.seed, snakemake.output[0])
