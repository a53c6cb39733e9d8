"""Rule init_model: random weights from a shipped config (fixed seed) -> resources/models/{encoder}."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import logging
import tempfile
from pathlib import Path

from speech_emotion.encoders import init_model

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO)
with tempfile.TemporaryDirectory() as folder:
    for name, text in snakemake.params.configs.items():
        (Path(folder) / name).write_text(text, encoding="utf-8")
    init_model(Path(folder) / "config.json", snakemake.output[0], snakemake.params.seed, snakemake.params.name)
logging.info("random-initialised %s (seed %d)", snakemake.wildcards.encoder, snakemake.params.seed)
