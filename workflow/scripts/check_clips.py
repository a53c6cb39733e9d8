"""Rule check_clips: open every clip of one shard -> results/data/shards/shard-{shard}.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.data.datasets import check_shard  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
table = check_shard(snakemake.params.clips, snakemake.params.min_seconds)  # noqa: F821
for row in table[table["reason"] != ""].itertuples():
    log.warning("rejected %s: %s", row.path, row.reason)
log.info("shard %s: %d clips checked, %d rejected", snakemake.wildcards.shard, len(table),  # noqa: F821
         (table["reason"] != "").sum())
write_tsv_atomic(snakemake.output[0], table)  # noqa: F821
