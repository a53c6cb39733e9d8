"""Rule target_values: the manifest + a declared target's table -> results/data/targets/<target>.tsv
(clip_id and the target's values; a bad value stops the job naming the file, column and clips)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.data.datasets import DatasetError  # noqa: E402
from speech_emotion.data.targets import target_values  # noqa: E402
from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
target = snakemake.wildcards.target  # noqa: F821
try:
    values = target_values(read_table(snakemake.input.manifest), snakemake.params.dataset, target)  # noqa: F821
except DatasetError as exc:
    log.error("%s", exc)
    sys.exit(f"target_values: {exc}")
column = values.columns[1]
log.info("target %s: %d of %d clips have a value of %s", target, int(values[column].notna().sum()), len(values), column)
write_tsv_atomic(snakemake.output[0], values)  # noqa: F821
