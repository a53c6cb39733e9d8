"""Snakemake adapter: every metrics.json -> results/summary.tsv (also printed to the log)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import json  # noqa: E402
import logging  # noqa: E402
from pathlib import Path  # noqa: E402

from speech_emotion.cache import write_tsv_atomic  # noqa: E402
from speech_emotion.metrics import format_summary, summary_row, summary_table  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")  # noqa: F821
rows = []
for path in snakemake.input.metrics:  # noqa: F821
    metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    rows.append(summary_row(metrics, metrics["encoder"], metrics["classifier"], metrics["protocol"]))
table = summary_table(rows)
write_tsv_atomic(snakemake.output[0], table)  # noqa: F821
logging.info("Cross-validation summary (mean ± std over folds):\n%s", format_summary(table))
