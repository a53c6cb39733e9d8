"""Snakemake adapter: download the official CREMA-D corpus (checkpoint download_cremad)."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821

from speech_emotion.download import DownloadError, Settings, download_cremad  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")  # noqa: F821
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
try:
    download_cremad(
        snakemake.output.audio,  # noqa: F821
        snakemake.output.demographics,  # noqa: F821
        snakemake.output.perception,  # noqa: F821
        store=params.store,
        settings=settings,
    )
except DownloadError as exc:
    logging.error("%s", exc)
    sys.exit(f"{exc}\n(log: {snakemake.log[0]})")  # noqa: F821
