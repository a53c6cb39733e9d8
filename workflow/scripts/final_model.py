"""Rule final_model: the fold-"all" model + CV summary -> results/models/{encoder}/{classifier}/."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702

import json
import logging
import shutil
from pathlib import Path

from speech_emotion.cache import atomic_path, write_json_atomic
from speech_emotion.classifiers import load_model
from speech_emotion.metrics import cv_summary
from speech_emotion.training import final_model_info

logging.basicConfig(filename=snakemake.log[0], filemode="w", level=logging.INFO,
                    format="%(asctime)s %(levelname)s %(message)s")
load_model(snakemake.input.model)  # verify before publishing
params = json.loads(Path(snakemake.input.params).read_text(encoding="utf-8"))
cv = cv_summary(json.loads(Path(snakemake.input.metrics).read_text(encoding="utf-8")))
info = final_model_info(params, snakemake.params.encoder, snakemake.params.audio, cv)
with atomic_path(snakemake.output.model) as tmp:
    shutil.copyfile(snakemake.input.model, tmp)
write_json_atomic(snakemake.output.info, info)
logging.info("final model %s/%s: layers %s, CV balanced accuracy %s", snakemake.wildcards.encoder,
             snakemake.wildcards.classifier, info["layers"], cv.get("balanced_accuracy"))
