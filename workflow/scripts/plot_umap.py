"""Rule plot_umap: clean embeddings of one encoder -> UMAP coloured by emotion and by speaker."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from speech_emotion.io.tables import read_table  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.plots import plot_umap, umap_2d  # noqa: E402
from speech_emotion.train.fold_plan import Plan  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs = snakemake.input  # noqa: F821
spec = Plan.read(inputs.plan).features  # the final model's feature pipeline (plans/fold-all.json)
variant = spec.read_variant("clean", snakemake.params.shards["clean"])  # noqa: F821  (before per-speaker standardisation)
meta = read_table(inputs.manifest).set_index("clip_id").loc[[str(c) for c in variant.clip_ids]]
points = umap_2d(variant.features, seed=snakemake.params.seed)  # noqa: F821
shown = "; ".join(f"{m.encoder} {', '.join(map(str, m.layers))}" for m in spec.members)
plot_umap(points, meta["label"], meta["speaker"], snakemake.output[0],  # noqa: F821
          f"{snakemake.wildcards.encoder}: UMAP of clean embeddings (layer {shown}; {len(meta)} clips)")  # noqa: F821
log.info("wrote %s from %d clips, layers %s", snakemake.output[0], len(meta), shown)  # noqa: F821
