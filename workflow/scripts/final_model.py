"""Rule final_model: the fold-"all" model + CV summary -> results/models/{encoder}/{classifier}/
(model.zip, model.json, MODEL_CARD.md)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import json
import logging
import shutil
from pathlib import Path

import pandas as pd

from speech_emotion.cache import atomic_path, write_json_atomic, write_text_atomic
from speech_emotion.classifiers import load_model
from speech_emotion.metrics import cv_summary
from speech_emotion.model_card import model_card
from speech_emotion.training import final_model_info

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
load_model(snakemake.input.model)  # verify before publishing
params = json.loads(Path(snakemake.input.params).read_text(encoding="utf-8"))
metrics = json.loads(Path(snakemake.input.metrics).read_text(encoding="utf-8"))
info = final_model_info(params, snakemake.params.encoder, snakemake.params.audio, cv_summary(metrics))
manifest = pd.read_csv(snakemake.input.manifest, sep="\t", dtype={"clip_id": str, "label": str, "speaker": str})
card = model_card(info, metrics, manifest, snakemake.params.corpus, params.get("augment"))
with atomic_path(snakemake.output.model) as tmp:
    shutil.copyfile(snakemake.input.model, tmp)
write_json_atomic(snakemake.output.info, info)
write_text_atomic(snakemake.output.card, card)
logging.info("final model %s/%s: layers %s, CV balanced accuracy %s", snakemake.wildcards.encoder,
             snakemake.wildcards.classifier, info["layers"], info["cv"]["balanced_accuracy"])
