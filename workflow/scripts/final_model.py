"""Rule final_model: the fold-"all" model folder + its CV metrics (+ the pair's explanations, where the explain
stage ran for it) -> results/models/{encoder}/{classifier}/ (model.zip, features.json, model.json with the CV
scores, MODEL_CARD.md)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from speech_emotion.io.files import atomic_path, read_json, write_json_atomic, write_text_atomic  # noqa: E402
from speech_emotion.train.classifiers import load_model  # noqa: E402
from speech_emotion.train.features import FeatureSpec  # noqa: E402
from speech_emotion.train.final_model import without_stale_keys  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.evaluate.metrics import cv_summary  # noqa: E402
from speech_emotion.evaluate.model_card import archive_files, explanation_lines, model_card  # noqa: E402
from speech_emotion.predict.portable import bundled_encoders  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output, params = snakemake.input, snakemake.output, snakemake.params  # noqa: F821
load_model(inputs.model)  # verify before publishing
features = FeatureSpec.read(inputs.features)  # the one statement of layers, weights, speaker standardisation, copies
record = read_json(inputs.record)
metrics = read_json(inputs.metrics)
info = without_stale_keys(read_json(inputs.info)) | {"cv": cv_summary(metrics) | {"protocol": metrics.get("protocol", "speaker")}}
# the pair's explanations on the CV test folds, where the explain stage ran for it (rule input model_explanations)
explained = explanation_lines(inputs.importance, inputs.nuisance) if hasattr(inputs, "importance") else None
# a rebuilt model keeps an earlier `speech-emotion bundle` copy of its weights (encoder/): the card says so
card = model_card(info, features, metrics, read_table(inputs.manifest), params.corpus, record.get("copies"),
                  archive_files(inputs.model), bundled_encoders(Path(output.card).parent, info), explained)
for source, target in ((inputs.model, output.model), (inputs.features, output.features)):
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
write_json_atomic(output.info, info)
write_text_atomic(output.card, card)
log.info("final model %s/%s: %s; CV balanced accuracy %s", snakemake.wildcards.encoder,  # noqa: F821
         snakemake.wildcards.classifier, features.describe(), info["cv"]["balanced_accuracy"])  # noqa: F821
