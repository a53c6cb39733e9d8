"""Rule explain_summary: every pair's importance.tsv and nuisance.tsv -> the run's tables and HTML page."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import pandas as pd  # noqa: E402

from speech_emotion.explain.report import explanations_html, run_tables, write_html  # noqa: E402
from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output, params = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
pairs = {(e, c): (pd.read_csv(i, sep="\t"), pd.read_csv(n, sep="\t"))
         for (e, c), i, n in zip(params.pairs, inputs.importance, inputs.nuisance, strict=True)}
importance, nuisance = run_tables(pairs)
write_tsv_atomic(output.importance, importance)
write_tsv_atomic(output.nuisance, nuisance)
write_html(output.html, explanations_html(importance, nuisance, params.corpus))
log.info("%d pairs explained", len(pairs))
