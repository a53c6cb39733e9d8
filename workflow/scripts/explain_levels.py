"""Rule clip_levels: manifest -> results/explain/clip_levels.tsv (duration and RMS level of every clip)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.explain.nuisance import clip_levels  # noqa: E402
from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
levels = clip_levels(read_table(snakemake.input.manifest), snakemake.params.sample_rate)  # noqa: F821
write_tsv_atomic(snakemake.output[0], levels)  # noqa: F821
log.info("%d clips: duration %.2f-%.2f s, RMS %.1f to %.1f dBFS", len(levels), levels["duration_s"].min(),
         levels["duration_s"].max(), levels["rms_dbfs"].min(), levels["rms_dbfs"].max())
