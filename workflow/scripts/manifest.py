import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821
# Rule manifest: shard checks + corpus metadata -> results/data/manifest.tsv and rejected.tsv.
import logging
from pathlib import Path

from speech_emotion.cache import write_tsv_atomic
from speech_emotion.datasets import DatasetError, build_manifest, list_corpus, read_table

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(levelname)s %(message)s", force=True)
try:
    corpus = list_corpus(snakemake.params.dataset, Path.cwd())
    shards = [read_table(path) for path in snakemake.input.shards]
    manifest, rejected = build_manifest(corpus, shards, snakemake.params.dataset, snakemake.params.max_rejected_fraction)
except DatasetError as exc:
    logging.error("%s", exc)
    sys.exit(f"manifest: {exc}")
for row in rejected.itertuples():
    logging.warning("rejected %s: %s", row.path, row.reason)
logging.info("%d clips in the manifest, %d rejected", len(manifest), len(rejected))
write_tsv_atomic(snakemake.output.manifest, manifest)
write_tsv_atomic(snakemake.output.rejected, rejected)
