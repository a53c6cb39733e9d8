"""Rule folds: results/data/manifest.tsv -> results/data/folds.tsv (clip_id, fold[, fold_name])."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.data.folds import (  # noqa: E402
    FoldError,
    assigned_from_column,
    assigned_from_table,
    describe_folds,
    make_folds,
)
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.data.splits import speaker_overlap  # noqa: E402

log = job_log(snakemake.log[0])
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
    log.error("%s", exc)
    sys.exit(f"folds: {exc}")
for line in describe_folds(manifest, folds):
    log.info("%s", line)
overlap = speaker_overlap(manifest[["clip_id", "speaker"]].merge(folds, on="clip_id"))
if overlap["n_speakers"]:
    log.warning(
        "%d speaker(s) are on both sides of a fold (%d test clips; scores overstate accuracy on new speakers): %s",
        overlap["n_speakers"], overlap["n_clips"],
        "; ".join(f"{s} in {', '.join(e['folds'])} ({e['test_clips']} test clips)"
                  for s, e in list(overlap["speakers"].items())[:10]) + ("; ..." if overlap["n_speakers"] > 10 else ""),
    )
write_tsv_atomic(snakemake.output[0], folds)
