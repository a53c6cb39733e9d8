"""Snakemake adapter: write the synthetic demo corpus."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from speech_emotion.demo import make_demo_corpus  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
count = make_demo_corpus(
    snakemake.output.audio,  # noqa: F821
    snakemake.output.demographics,  # noqa: F821
    seed=snakemake.params.seed,  # noqa: F821
)
logging.info("wrote %d synthetic clips to %s", count, snakemake.output.audio)  # noqa: F821
