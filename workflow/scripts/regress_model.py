"""Rule regress_model: the fold-"all" regressor's folder + the CV metrics of its (target, encoder, regressor) ->
results/regression/{target}/{encoder}/{regressor}/model/ (model.zip, features.json, model.json with the CV scores,
MODEL_CARD.md)."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

import shutil  # noqa: E402

from speech_emotion.evaluate.model_card import archive_files  # noqa: E402
from speech_emotion.io.files import atomic_path, read_json, write_json_atomic, write_text_atomic  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.regress.card import regression_card  # noqa: E402
from speech_emotion.regress.model import regression_cv  # noqa: E402
from speech_emotion.train.regressors.modelfile import load_regressor  # noqa: E402
from speech_emotion.train.features import FeatureSpec  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, output = snakemake.input, snakemake.output  # noqa: F821
load_regressor(inputs.model)  # verify before publishing
features = FeatureSpec.read(inputs.features)
info = read_json(inputs.info) | {"cv": regression_cv(read_json(inputs.metrics))}
card = regression_card(info, features, archive_files(inputs.model))
for source, target in ((inputs.model, output.model), (inputs.features, output.features)):
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
write_json_atomic(output.info, info)
write_text_atomic(output.card, card)
log.info("final regressor %s: %s; CV CCC %s pooled", output.info, features.describe(), info["cv"]["ccc"]["pooled"])
