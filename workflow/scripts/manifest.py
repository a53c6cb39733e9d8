"""Rule manifest: shard checks + corpus metadata -> results/data/manifest.tsv and rejected.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from pathlib import Path  # noqa: E402

from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.data.datasets import DatasetError, build_manifest, list_corpus  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
params = snakemake.params  # noqa: F821
try:
    corpus = list_corpus(params.dataset, Path.cwd())
    shards = [read_table(path) for path in snakemake.input.shards]  # noqa: F821
    manifest, rejected = build_manifest(corpus, shards, params.dataset, params.max_rejected_fraction)
except DatasetError as exc:
    log.error("%s", exc)
    sys.exit(f"manifest: {exc}")
for row in rejected.itertuples():
    log.warning("rejected %s: %s", row.path, row.reason)
log.info("%d clips in the manifest, %d rejected", len(manifest), len(rejected))
write_tsv_atomic(snakemake.output.manifest, manifest)  # noqa: F821
write_tsv_atomic(snakemake.output.rejected, rejected)  # noqa: F821
