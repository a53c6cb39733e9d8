import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821
# Rule folds: results/data/manifest.tsv -> results/data/folds.tsv (clip_id, fold).
import logging

from speech_emotion.cache import write_tsv_atomic
from speech_emotion.datasets import read_table
from speech_emotion.folds import FoldError, make_folds

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(levelname)s %(message)s", force=True)
manifest = read_table(snakemake.input[0])
try:
    folds = make_folds(manifest, snakemake.params.protocol, snakemake.params.folds, snakemake.params.seed)
except FoldError as exc:
    logging.error("%s", exc)
    sys.exit(f"folds: {exc}")
table = manifest.merge(folds, on="clip_id")
for k, part in table.groupby("fold"):
    counts = ", ".join(f"{label} {n}" for label, n in part["label"].value_counts().sort_index().items())
    logging.info("fold %d: %d clips, %d speakers; %s", k, len(part), part["speaker"].nunique(), counts)
write_tsv_atomic(snakemake.output[0], folds)
