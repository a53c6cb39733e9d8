"""Snakemake adapter: copy {n} of one shard's accepted clips -> results/audio/aug{n}/shard-{shard}.npz."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from speech_emotion.augment import augment_shard  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
try:
    augment_shard(
        shard_table=snakemake.input[0],  # noqa: F821
        clip_ids=list(snakemake.params.clip_ids),  # noqa: F821
        copy=int(snakemake.params.copy_index),  # noqa: F821
        transforms=snakemake.params.transforms,  # noqa: F821
        seed=int(snakemake.params.seed),  # noqa: F821
        sample_rate=int(snakemake.params.sample_rate),  # noqa: F821
        output=snakemake.output[0],  # noqa: F821
    )
except Exception:
    logging.exception("augment failed")
    raise
