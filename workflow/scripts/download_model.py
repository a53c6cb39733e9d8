"""Rule download_model: fetch a hub model once into resources/models/{encoder} (submit host)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.embed.encoders import download_model  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
params, output = snakemake.params, snakemake.output[0]  # noqa: F821
commit = download_model(params.repo_id, params.revision, output)
log.info("downloaded %s at %s into %s", params.repo_id, commit, output)
