"""Snakemake adapter: clean embeddings of one encoder -> UMAP coloured by emotion and by speaker."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import logging  # noqa: E402

import pandas as pd  # noqa: E402

from speech_emotion.embeddings import load_variant  # noqa: E402
from speech_emotion.plots import layer_features, plot_umap, read_chosen_layers, umap_2d  # noqa: E402

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")  # noqa: F821
manifest = pd.read_csv(snakemake.input.manifest, sep="\t", dtype={"clip_id": str, "speaker": str, "label": str})  # noqa: F821
# The final model's layers (layers/fold-all.json); the last layer when there is no such file.
layers = read_chosen_layers(snakemake.input.get("layers") or None) or [-1]  # noqa: F821
variant = load_variant(snakemake.input.embeddings, layers=layers)  # noqa: F821
features, _ = layer_features(variant.features, None if layers == [-1] else list(range(len(layers))))
shown = "last" if layers == [-1] else ", ".join(map(str, layers))
meta = manifest.set_index("clip_id").loc[[str(c) for c in variant.clip_ids]]
points = umap_2d(features, seed=snakemake.params.seed)  # noqa: F821
encoder = snakemake.wildcards.encoder  # noqa: F821
plot_umap(points, meta["label"], meta["speaker"], snakemake.output[0],  # noqa: F821
          f"{encoder}: UMAP of clean embeddings (layer {shown}; {len(meta)} clips)")
logging.info("wrote %s from %d clips, layers %s", snakemake.output[0], len(meta), shown)  # noqa: F821
