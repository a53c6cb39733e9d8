import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821
# Rule folds: results/data/manifest.tsv -> results/data/folds.tsv (clip_id, fold[, fold_name]).
import logging

from speech_emotion.cache import write_tsv_atomic
from speech_emotion.datasets import read_table
from speech_emotion.folds import FoldError, assigned_from_column, assigned_from_table, describe_folds, make_folds
from speech_emotion.splits import speaker_overlap

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(levelname)s %(message)s", force=True)
protocol, predefined = snakemake.params.protocol, snakemake.params.predefined
manifest = read_table(snakemake.input.manifest, text_columns=[predefined["column"]] if predefined else [])
try:
    assigned, source = None, None
    if predefined and predefined.get("table"):
        source = f"cv.fold_table '{predefined['table']}'"
        rejected = read_table(snakemake.input.rejected)["clip_id"] if snakemake.input.get("rejected") else []
        assigned = assigned_from_table(snakemake.input.table, manifest, rejected, source)
    elif predefined:
        source = f"{predefined['source']} (column '{predefined['column']}', cv.fold_column)"
        assigned = assigned_from_column(manifest, predefined["column"], source)
    folds = make_folds(manifest, protocol, snakemake.params.folds, snakemake.params.seed, assigned, source)
except FoldError as exc:
    logging.error("%s", exc)
    sys.exit(f"folds: {exc}")
for line in describe_folds(manifest, folds):
    logging.info("%s", line)
overlap = speaker_overlap(manifest[["clip_id", "speaker"]].merge(folds, on="clip_id"))
if overlap["n_speakers"]:
    logging.warning(
        "%d speaker(s) are on both sides of a fold (%d test clips; scores overstate accuracy on new speakers): %s",
        overlap["n_speakers"], overlap["n_clips"],
        "; ".join(f"{s} in {', '.join(e['folds'])} ({e['test_clips']} test clips)"
                  for s, e in list(overlap["speakers"].items())[:10]) + ("; ..." if overlap["n_speakers"] > 10 else ""),
    )
write_tsv_atomic(snakemake.output[0], folds)
