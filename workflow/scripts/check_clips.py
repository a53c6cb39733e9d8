import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821
# Rule check_clips: open every clip of one shard -> results/data/shards/shard-{shard}.tsv.
import logging

from speech_emotion.cache import write_tsv_atomic
from speech_emotion.datasets import check_shard

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(levelname)s %(message)s", force=True)
table = check_shard(snakemake.params.clips, snakemake.params.min_seconds)
for row in table[table["reason"] != ""].itertuples():
    logging.warning("rejected %s: %s", row.path, row.reason)
logging.info("shard %s: %d clips checked, %d rejected", snakemake.wildcards.shard, len(table), (table["reason"] != "").sum())
write_tsv_atomic(snakemake.output[0], table)
