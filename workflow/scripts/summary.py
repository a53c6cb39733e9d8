"""Rule summary: every metrics.json -> results/summary.tsv (also written to the log)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import read_json, write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.metrics import format_summary, summary_row, summary_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
rows = []
for path in snakemake.input.metrics:  # noqa: F821
    metrics = read_json(path)
    rows.append(summary_row(metrics, metrics["encoder"], metrics["classifier"], metrics["protocol"]))
table = summary_table(rows)
write_tsv_atomic(snakemake.output[0], table)  # noqa: F821
log.info("Cross-validation summary (mean ± std over folds):\n%s", format_summary(table))
