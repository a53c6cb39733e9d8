"""Rule download_model: fetch a hub model once into resources/models/{encoder} (submit host)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import logging

from speech_emotion.encoders import download_model

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO)
commit = download_model(snakemake.params.repo_id, snakemake.params.revision, snakemake.output[0])
logging.info("downloaded %s at %s into %s", snakemake.params.repo_id, commit, snakemake.output[0])
