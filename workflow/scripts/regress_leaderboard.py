"""Rule regress_leaderboard: results/regression/summary.tsv -> its HTML table for the report."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import pandas as pd  # noqa: E402

from speech_emotion.io.files import write_text_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.regress.summary import summary_html  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
summary = pd.read_csv(snakemake.input[0], sep="\t")  # noqa: F821
write_text_atomic(snakemake.output[0], summary_html(summary))  # noqa: F821
log.info("wrote %s (%d rows)", snakemake.output[0], len(summary))  # noqa: F821
