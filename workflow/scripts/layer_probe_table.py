"""Rule layer_probe_table: per fold, per layer probe score -> results/cv/{encoder}/layer_probe.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.train.fold_plan import Plan, probe_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
table = probe_table([Plan.read(path) for path in snakemake.input])  # noqa: F821
write_tsv_atomic(snakemake.output[0], table)  # noqa: F821
log.info("wrote %s (%d rows)", snakemake.output[0], len(table))  # noqa: F821
