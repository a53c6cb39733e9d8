"""Rule regress_summary: every regression metrics.json -> results/regression/summary.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import read_json, write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.regress.summary import summary_row, summary_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
table = summary_table(summary_row(read_json(path)) for path in snakemake.input.metrics)  # noqa: F821
write_tsv_atomic(snakemake.output[0], table)  # noqa: F821
log.info("Regression summary (mean ± std over folds):\n%s", table.to_string(index=False))
