"""Rule download_cremad: the official CREMA-D corpus (checkpoint, runs on the submit host)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.data.download import DownloadError, Settings, download_cremad  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
# Transfer knobs come from the config, not params: changing them must not rerun the checkpoint.
transfer = snakemake.config["dataset"]["download"]  # noqa: F821
settings = Settings(
    pointer_url=params.pointer_url,
    media_url=params.media_url,
    retries=int(transfer["retries"]),
    timeout_s=float(transfer["timeout_s"]),
    jobs=int(transfer["jobs"]),
)
output = snakemake.output  # noqa: F821
try:
    download_cremad(output.audio, output.demographics, output.perception, store=params.store, settings=settings)
except DownloadError as exc:
    log.error("%s", exc)
    sys.exit(f"{exc}\n(log: {snakemake.log[0]})")  # noqa: F821
