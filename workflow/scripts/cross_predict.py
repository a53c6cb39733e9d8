"""Rule cross_predict: a train corpus's model predicts every clip of the test corpus with a common label
(clean audio, through the model's feature pipeline) -> results/cross/{train}__{test}/{encoder}/{classifier}/predictions.tsv."""
import sys; sys.path.insert(0, str(__import__("pathlib").Path(snakemake.scriptdir).parent))  # noqa: E702,F821

from pathlib import Path  # noqa: E402

from speech_emotion.io.files import write_tsv_atomic  # noqa: E402
from speech_emotion.train.classifiers import load_model  # noqa: E402
from speech_emotion.cross.pairs import map_labels, mapping_note, predict_corpus  # noqa: E402
from speech_emotion.train.features import FeatureSpec  # noqa: E402
from speech_emotion.io.logs import job_log  # noqa: E402
from speech_emotion.io.tables import read_table  # noqa: E402

log = job_log(snakemake.log[0])  # noqa: F821
inputs, params, w = snakemake.input, snakemake.params, snakemake.wildcards  # noqa: F821
manifest = read_table(inputs.manifest)
log.info("%s", mapping_note(w.test, manifest, *map_labels(manifest, params.label_map)))
spec = FeatureSpec.read(inputs.features)
predictions, _ = predict_corpus(load_model(inputs.model), spec, params.shards["clean"], manifest,
                                read_table(inputs.train_manifest), params.label_map, Path.cwd())
write_tsv_atomic(snakemake.output[0], predictions)  # noqa: F821
log.info("%s/%s trained on %s: %d clips of %s predicted (%s)", w.encoder, w.classifier, w.train,
         len(predictions), w.test, spec.describe())
