"""`speech-emotion export` and the torch-free predictor (issue 34).

The demo's final tiny-WavLM models (each classifier kind; they standardise per speaker) and a copy
made plain (features.json without per-speaker standardisation) are exported and fed the 12 real
CREMA-D clips: the exported folder's probabilities must equal the workflow model's (float32: within
1e-4; int8: the same label for at least 95 % of the clips). The encoder graphs of the other
encoder families (Whisper, both paddings, and emotion2vec), cut at an inner layer and with long
clips in windows, are compared with the workflow's encoders. A subprocess in which torch,
transformers and scikit-learn cannot be imported labels the clips with an exported folder exactly
as the workflow model does.

``SPEECH_EMOTION_DEMO_RUN=<folder>`` reads the final models of a finished demo run there (never
written) instead of making the session's own demo run.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, shared_path
from speech_emotion import load_model
from speech_emotion.data.audio import load_audio
from speech_emotion.embed.embeddings import as_stored, embed_signals
from speech_emotion.predict.cli import main
from speech_emotion.predict.export import CLASSIFIER_GRAPH, EXPORT_FILE, FEATURES_GRAPH, export_model
from speech_emotion.predict.onnx_model import OnnxClassifier, OnnxEncoder, session

KINDS = ["logreg", "svm", "xgboost", "mlp", "ensemble"]
ATOL = 1e-4  # float32 graphs against the workflow's float32/float64 arithmetic
SPEAKER = r"^(\d+)_"
BLOCKER = '''import sys

BLOCKED = ("torch", "transformers", "sklearn", "xgboost", "skl2onnx", "onnxmltools")


class Blocker:
    """Makes the blocked packages unimportable, as on a machine without them."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
        return None


sys.meta_path.insert(0, Blocker())
'''

pytestmark = [pytest.mark.shared, pytest.mark.xdist_group("export")]  # module fixtures export the demo models once


@pytest.fixture(scope="module")
def clips() -> list[Path]:
    return sorted(shared_path("data", "cremad-sample", "AudioWAV").glob("*.wav"))


@pytest.fixture(scope="module")
def demo_models(request) -> Path:
    reuse = os.environ.get("SPEECH_EMOTION_DEMO_RUN")
    run = Path(reuse) if reuse else request.getfixturevalue("demo_run")
    return run / "results/models/tiny-wavlm"


def readme_lines() -> list[str]:
    """README "Label new recordings": its export line and the predict line on the exported folder."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = [line.split("  #")[0].strip() for line in text.splitlines()
             if line.startswith("speech-emotion export") or ("speech-emotion predict" in line and "/onnx " in line)]
    assert len(lines) == 2 and lines[0].startswith("speech-emotion export"), lines
    return lines


@pytest.fixture(scope="module")
def readme_run(demo_models, tmp_path_factory) -> Path:
    """A folder laid out like the demo's where the README's export line ran as written."""
    root = tmp_path_factory.mktemp("readme")
    run = demo_models.parents[2]
    for part in ("results/models/tiny-wavlm/ensemble", "results/demo/AudioWAV", "resources/models/tiny-wavlm"):
        shutil.copytree(run / part, root / part)
    export = subprocess.run(["bash", "-c", readme_lines()[0]], cwd=root, capture_output=True, text=True, timeout=600)
    assert export.returncode == 0, export.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def exported(readme_run, demo_models, tmp_path_factory) -> dict[str, Path]:
    """Every classifier kind exported (the ensemble by the README's command; the others copy its
    encoder graph, --encoders-from), the ensemble also in int8, and a plain copy of logreg."""
    root = tmp_path_factory.mktemp("export")
    out = {"ensemble": readme_run / "results/models/tiny-wavlm/ensemble/onnx"}
    for kind in KINDS[:-1]:
        out[kind] = export_model(demo_models / kind, root / kind, encoders_from=out["ensemble"])
    assert main(["export", "--model", str(demo_models / "ensemble"), "--out", str(root / "int8"), "--quantize", "int8",
                 "--encoders-from", str(out["ensemble"])]) == 0
    out["int8"] = root / "int8"
    plain = root / "plain-model"
    shutil.copytree(demo_models / "logreg", plain)
    spec = json.loads((plain / "features.json").read_text())
    (plain / "features.json").write_text(json.dumps(spec | {"speaker_norm": False}))
    out["plain-model"] = plain
    out["plain"] = export_model(plain, root / "plain", encoders_from=out["ensemble"], encoder_dir=_weights(demo_models))
    return out


def _weights(demo_models: Path) -> Path:
    return demo_models.parents[2] / "resources/models/tiny-wavlm"


def _speakers(clips: list[Path]) -> list[str]:
    return [re.match(SPEAKER, clip.name).group(1) for clip in clips]


def test_exported_folder_is_self_describing(exported, demo_models):
    folder = exported["ensemble"]
    for name in ("encoder-tiny-wavlm.onnx", FEATURES_GRAPH, CLASSIFIER_GRAPH, EXPORT_FILE, "features.json",
                 "model.json", "MODEL_CARD.md"):
        assert (folder / name).is_file(), name
    described = json.loads((folder / EXPORT_FILE).read_text())
    info = json.loads((demo_models / "ensemble/model.json").read_text())
    assert described["labels"] == info["labels"] and described["sample_rate"] == 16000
    assert described["encoders"]["tiny-wavlm"]["layers"] == 1  # the pipeline reads layer 0 only
    assert set(described["graphs"]["classifier"]["inputs"]) == {"features", "speaker_mean", "speaker_std"}
    assert {"onnx", "onnxruntime", "torch"} <= set(described["versions"])
    assert (folder / "MODEL_CARD.md").read_text() == (demo_models / "ensemble/MODEL_CARD.md").read_text()

    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(folder / CLASSIFIER_GRAPH)).graph
    defaults = {t.name: numpy_helper.to_array(t) for t in graph.initializer if t.name.startswith("speaker_")}
    population = json.loads((demo_models / "ensemble/features.json").read_text())["population"]
    np.testing.assert_array_equal(defaults["speaker_mean"][0], population["mean"])
    np.testing.assert_array_equal(defaults["speaker_std"][0], population["std"])
    plain = [i.name for i in onnx.load(str(exported["plain"] / CLASSIFIER_GRAPH)).graph.input]
    assert plain == ["features"]


@pytest.mark.parametrize("kind", KINDS)
def test_float32_probabilities_equal_the_workflow_models(kind, exported, demo_models, clips):
    workflow = load_model(demo_models / kind, device="cpu")
    onnx_model = load_model(exported[kind])
    assert isinstance(onnx_model.final.model, OnnxClassifier) and onnx_model.labels == workflow.labels
    assert all(isinstance(encoder, OnnxEncoder) for encoder in onnx_model.encoders.values())
    signals = [load_audio(clip, 16000) for clip in clips]
    features = workflow.features(signals)
    np.testing.assert_allclose(onnx_model.features(signals), features, rtol=0, atol=ATOL)
    # features.onnx (for runtimes other than this one) selects what features.json selects
    embeddings = embed_signals(onnx_model.encoders["tiny-wavlm"], signals, 30.0, 10.0)
    stored = as_stored(embeddings, "hf")
    selected = session(exported[kind] / FEATURES_GRAPH).run(["features"], {"embeddings_tiny-wavlm": stored})[0]
    np.testing.assert_array_equal(selected, workflow.final.features.select({"tiny-wavlm": stored}))
    speakers = _speakers(clips)
    expected = workflow.probabilities(signals, speakers)
    got = onnx_model.probabilities(signals, speakers)
    assert np.abs(got - expected).max() <= ATOL, np.abs(got - expected).max()
    # the graph's own standardisation: the speaker's statistics as inputs, the population's by default
    rows = np.array(speakers) == speakers[0]
    stats = workflow.final.features.enrol(speakers[0], features[rows]).stats
    own = onnx_model.final.model.predict_proba(features[rows], stats.mean[None], stats.std[None])
    assert np.abs(own - expected[rows]).max() <= ATOL
    alone = onnx_model.final.model.session.run(["probabilities"], {"features": features})[0]
    lone = workflow.classify(workflow.final.features.population.apply(features))
    assert np.abs(alone - lone).max() <= ATOL


def test_plain_model_and_predict_tables(exported, demo_models, clips):
    """A model without per-speaker standardisation: no speaker inputs, the same table as the workflow's."""
    onnx_model = load_model(exported["plain"])
    assert not onnx_model.needs_speakers
    reference = load_model(exported["plain-model"], device="cpu", encoder_dir=_weights(demo_models))
    table, expected = onnx_model.predict(clips), reference.predict(clips)
    assert list(table.columns) == list(expected.columns) and "speaker_norm" not in table.columns
    probs = [c for c in table.columns if c.startswith("prob_")]
    assert np.abs(table[probs].to_numpy(float) - expected[probs].to_numpy(float)).max() <= ATOL
    assert (table["label"] == expected["label"]).all()


def test_int8_labels_agree(exported, demo_models, clips):
    import onnx

    graph = onnx.load(str(exported["int8"] / "encoder-tiny-wavlm.onnx")).graph
    assert any(node.op_type == "MatMulInteger" for node in graph.node)
    described = json.loads((exported["int8"] / EXPORT_FILE).read_text())
    assert described["quantize"] == "int8"
    assert described["quantize_settings"] == {"op_types": ["MatMul"], "per_channel": True, "reduce_range": False}
    speakers = _speakers(clips)
    expected = load_model(demo_models / "ensemble", device="cpu").predict(clips, speakers=speakers)
    got = load_model(exported["int8"]).predict(clips, speakers=speakers)
    agreement = float((got["label"] == expected["label"]).mean())
    assert agreement >= 0.95, agreement


def test_torch_free_predictor_in_a_subprocess(exported, demo_models, clips, tmp_path, capsys):
    """The exported folder labels the clips with torch, transformers and scikit-learn unimportable,
    and prints what the workflow model prints."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO / "workflow")])}
    check = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, text=True, env=env)
    assert check.returncode != 0 and "blocked by the test" in check.stderr
    command = [sys.executable, "-m", "speech_emotion.predict.cli", "predict", "--model", str(exported["ensemble"]),
               "--speaker-regex", SPEAKER, *map(str, clips)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert main(["predict", "--model", str(demo_models / "ensemble"), "--device", "cpu", "--speaker-regex", SPEAKER,
                 *map(str, clips)]) == 0
    got, expected = (pd.read_csv(io.StringIO(text), sep="\t") for text in (result.stdout, capsys.readouterr().out))
    probs = [c for c in expected.columns if c.startswith("prob_")]
    assert list(got.columns) == list(expected.columns) and len(got) == len(clips)
    assert got.drop(columns=probs).equals(expected.drop(columns=probs))  # files, speakers, labels, speaker_norm
    assert np.abs(got[probs].to_numpy() - expected[probs].to_numpy()).max() <= ATOL
    # enrolment with the exported model, then its file read by the workflow model (same pipeline)
    enrolment = tmp_path / "1001.json"
    enrol = subprocess.run([sys.executable, "-m", "speech_emotion.predict.cli", "enrol", "--model",
                            str(exported["ensemble"]), "--speaker", "1001", "--out", str(enrolment),
                            *map(str, clips[:6])], capture_output=True, text=True, env=env, timeout=300)
    assert enrol.returncode == 0, enrol.stderr[-3000:]
    workflow = load_model(demo_models / "ensemble", device="cpu")
    assert workflow.add_enrolment(enrolment) == "1001"
    info = subprocess.run([sys.executable, "-m", "speech_emotion.predict.cli", "info", str(exported["ensemble"])],
                          capture_output=True, text=True, env=env, timeout=300)
    assert info.returncode == 0 and "ONNX Runtime" in info.stdout and "NOT FOUND" not in info.stdout, info.stdout
    # segments need no torch: fixed windows, and Silero VAD's ONNX model (the same segments and labels
    # as the workflow model, which runs it too where ONNX Runtime is installed; tests/test_segments.py
    # compares it with the TorchScript model)
    fixed = subprocess.run([*command[:6], "--no-speakers", "--segment", "fixed", str(clips[0])],
                           capture_output=True, text=True, env=env, timeout=300)
    assert fixed.returncode == 0 and len(fixed.stdout.splitlines()) >= 2, fixed.stderr[-2000:]
    vad = subprocess.run([*command[:6], "--speaker-regex", SPEAKER, "--segment", "vad", *map(str, clips)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert vad.returncode == 0, vad.stderr[-2000:]
    assert main(["predict", "--model", str(demo_models / "ensemble"), "--device", "cpu", "--speaker-regex", SPEAKER,
                 "--segment", "vad", *map(str, clips)]) == 0
    got, expected = (pd.read_csv(io.StringIO(text), sep="\t") for text in (vad.stdout, capsys.readouterr().out))
    assert list(got.columns) == list(expected.columns) and len(got) >= len(clips) and got["error"].isna().all()
    assert got.drop(columns=probs).equals(expected.drop(columns=probs))  # files, segments, speakers, labels
    assert np.abs(got[probs].to_numpy() - expected[probs].to_numpy()).max() <= ATOL


def test_opensmile_models_are_refused_in_one_line(demo_models, tmp_path, capsys):
    egemaps = demo_models.parent / "egemaps/logreg"
    assert main(["export", "--model", str(egemaps), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "openSMILE" in err[0] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("kind,config,options,last", [
    ("hf", "tiny-whisper/config.json", {}, 1),
    ("hf", "tiny-whisper/config.json", {"real_length": True}, 2),
    ("hf", "tiny-wavlm/config.json", {}, 2),
    ("emotion2vec", "tiny-emotion2vec/config.yaml", {}, 2),
], ids=["whisper-30s", "whisper-real-length", "wavlm-cut", "emotion2vec"])
def test_encoder_graphs_equal_the_workflow_encoders(kind, config, options, last, clips, tmp_path):
    """Each family's graph, cut after an inner layer, pools the frames the workflow's encoder pools,
    long clips in windows (max_seconds 1.0) included."""
    from speech_emotion.embed.embeddings import make_encoder
    from speech_emotion.predict.export import export_encoder

    if kind == "emotion2vec":
        from speech_emotion.embed.emotion2vec import init_model
    else:
        from speech_emotion.embed.encoders import init_model
    weights = tmp_path / "weights"
    init_model(REPO / "resources" / config, weights, seed=0)
    spec = {"kind": kind, **options}
    graph = tmp_path / "encoder.onnx"
    facts = export_encoder(spec, weights, last, graph, 16000)
    signals = [load_audio(clip, 16000) for clip in clips[:4]]
    expected = embed_signals(make_encoder(spec, weights, "cpu", 16000), signals, 30.0, 1.0)
    got = embed_signals(OnnxEncoder(graph, facts, 16000), signals, 30.0, 1.0)
    assert got.shape == (len(signals), last + 1, expected.shape[2])
    assert np.abs(got - expected[:, : last + 1]).max() <= ATOL


def test_the_readme_export_commands_run_as_written(readme_run, tmp_path):
    """README "Label new recordings": its export line ran as written (fixture readme_run); its predict
    line on the exported folder runs as written with torch, transformers and scikit-learn unimportable."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO / "workflow")])}
    predict = subprocess.run(["bash", "-c", readme_lines()[1]], cwd=readme_run, capture_output=True, text=True,
                             env=env, timeout=600)
    assert predict.returncode == 0, predict.stderr[-3000:]
    table = pd.read_csv(readme_run / "labels-onnx.tsv", sep="\t")
    assert len(table) == len(list((readme_run / "results/demo/AudioWAV").glob("*.wav"))) and table["error"].isna().all()


def test_features_graph_selects_and_weights_layers_of_a_fusion():
    """features.onnx of a fusion (layers side by side for one member, a learned layer weighting for the
    other) computes FeatureSpec.select; no audio needed."""
    from speech_emotion.predict.export import features_graph
    from speech_emotion.train.features import FeatureSpec, Member

    spec = FeatureSpec.of([Member("a", (0, 2)), Member("b", (1, 3), (0.25, 0.75))])
    facts = {"a": {"layers": 3, "dim": 8}, "b": {"layers": 4, "dim": 6}}
    rng = np.random.default_rng(0)
    embeddings = {"a": rng.normal(size=(5, 3, 8)).astype(np.float32), "b": rng.normal(size=(5, 4, 6)).astype(np.float32)}
    graph = features_graph(spec, facts).SerializeToString()
    got = session(graph).run(["features"], {f"embeddings_{k}": v for k, v in embeddings.items()})[0]
    np.testing.assert_allclose(got, spec.select(embeddings), rtol=0, atol=1e-6)
    assert got.shape == (5, 2 * 8 + 6)


def test_classifier_graph_places_columns_of_labels_a_model_never_saw():
    """A model trained without one of the labels gets a zero column for it, as align_proba gives."""
    from speech_emotion.predict.export import classifier_graph
    from speech_emotion.train import classifiers as C
    from speech_emotion.train.classifiers.base import align_proba
    from speech_emotion.train.features import FeatureSpec

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 5)).astype(np.float32)
    y = np.array(["a", "c", "d"] * 20)
    X[y == "c"] += 1.5
    model = C.make_classifier("logreg", {"Cs": [1.0]}).fit(X, y)
    labels = ["a", "b", "c", "d"]
    graph = classifier_graph(model, FeatureSpec.of([0], encoder="e"), labels, 5).SerializeToString()
    got = session(graph).run(["probabilities"], {"features": X})[0]
    expected = align_proba(model, model.predict_proba(X), np.asarray(labels))
    np.testing.assert_allclose(got, expected, rtol=0, atol=ATOL)
    assert (got[:, 1] == 0).all()


def test_classifier_graph_scales_as_the_workflow_so_trees_split_alike():
    """XGBoost's trees step on a change of one float32 ulp at a split threshold, and a threshold lies
    on a training row's own scaled value: the graph's standardisation (speaker statistics fed, one
    speaker with a near-constant column) and the classifier's scaler (fitted with copies: not a unit
    std) give every training row the workflow's bits (the graph's scaled input and the probabilities equal the numpy path's). Found
    on the demo's 240 synthetic clips: skl2onnx's Scaler op (float32 offset and reciprocal) moved
    40 % of the scaled cells by an ulp and XGBoost's probabilities by 3e-2."""
    from onnx import TensorProto, helper

    from speech_emotion.predict.export import classifier_graph
    from speech_emotion.train import classifiers as C
    from speech_emotion.train.features import FeatureSpec
    from speech_emotion.train.speaker_norm import Stats

    rng = np.random.default_rng(3)
    X = rng.normal(0.3, 0.05, size=(90, 6)).astype(np.float32)
    y = np.array(["ang", "hap", "sad"] * 30)
    X[y == "hap", :3] += 0.05
    speakers = np.repeat(["s1", "s2", "s3"], 30)
    X[speakers == "s2", 4] = np.float32(0.25) + rng.normal(0, 4e-6, 30).astype(np.float32)  # std just over MIN_STD
    spec = FeatureSpec.of([0], encoder="e", speaker_norm=True, min_clips=5).fit_population(X)
    S = spec.standardise(X, speakers)[0]
    stats = {s: Stats.of(X[speakers == s]) for s in ("s1", "s2", "s3")}
    assert 1e-6 < stats["s2"].std[4] < 1e-5
    copies = S * np.float32(1.1) + rng.normal(0, 0.2, S.shape).astype(np.float32)  # as augmented copies train:
    model = C.make_classifier("xgboost", {"n_estimators": 20, "max_depth": 4}).fit(  # the scaler's std is not 1
        np.vstack([S, copies]), np.concatenate([y, y]))
    graph = classifier_graph(model, spec, list(model.classes_), X.shape[1])
    scaled = [n for node in graph.graph.node for n in node.output if n.endswith("_scaled")]
    assert len(scaled) == 1
    graph.graph.output.append(helper.make_tensor_value_info(scaled[0], TensorProto.FLOAT, ["clips", X.shape[1]]))
    got, got_scaled = session(graph.SerializeToString()).run(
        ["probabilities", scaled[0]],
        {"features": X, "speaker_mean": np.stack([stats[s].mean for s in speakers]),
         "speaker_std": np.stack([stats[s].std for s in speakers])})
    want_scaled = model._scale(S)
    assert (got_scaled != want_scaled).sum() == 0, f"{(got_scaled != want_scaled).mean():.0%} of the scaled cells differ"
    np.testing.assert_allclose(got, model.predict_proba(S), rtol=0, atol=1e-6)


def test_scaler_graph_follows_the_float64_steps_of_older_scikit_learn():
    """scikit-learn before its array-API StandardScaler subtracts and divides float32 rows in place by
    float64 statistics (each step rounded to float32): the scaler graph then does the same."""
    from speech_emotion.predict.export import _scaler_graph

    class OlderScaler:  # StandardScaler.transform as scikit-learn 1.4 computes it
        with_mean = with_std = True

        def __init__(self, mean, scale):
            self.mean_, self.scale_ = mean, scale

        def transform(self, X):
            X = np.array(X, dtype=np.float32)
            X -= self.mean_
            X /= self.scale_
            return X

    rng = np.random.default_rng(4)
    scaler = OlderScaler(rng.normal(0.1, 0.3, 7), rng.uniform(0.5, 2.0, 7))
    X = rng.normal(size=(200, 7)).astype(np.float32)
    want = scaler.transform(X)
    assert not np.array_equal(want, (X - scaler.mean_.astype(np.float32)) / scaler.scale_.astype(np.float32))
    got = session(_scaler_graph(scaler, 7).SerializeToString()).run(["scaled"], {"X": X})[0]
    assert np.array_equal(got, want)


@pytest.mark.parametrize("text", ["default", "per_tensor", "weight_only", "weight_only=16,accuracy_level=4"])
def test_int8_settings_quantise_a_matrix_product_as_they_say(text, tmp_path):
    """Each int8 setting the benchmarks name quantises a graph's MatMul weights its way (dynamic:
    MatMulInteger with int8 weights; weight_only: MatMulNBits with 8-bit blocks, float activations),
    and the quantised product stays near the float one: weight-only within an 8-bit step of the
    weights (|W| <= 1, K = 64 inputs in [-1, 1]: per element at most 64 x 1/254)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from speech_emotion.predict.export import int8_settings, quantize_graph

    settings = int8_settings(text)
    rng = np.random.default_rng(0)
    weights = rng.uniform(-1, 1, (64, 48)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "product",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 48])],
                              [numpy_helper.from_array(weights, "w")])
    path = tmp_path / "product.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10), str(path))
    quantize_graph(path, settings)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert ("MatMulNBits" in ops) == (settings.get("method") == "weight_only")
    assert ("MatMulInteger" in ops) == (settings.get("method") != "weight_only")
    x = rng.uniform(-1, 1, (5, 64)).astype(np.float32)
    got = session(path).run(None, {"x": x})[0]
    bound = 64 / 254 if settings.get("method") == "weight_only" else 64 * (1 / 254 + 1 / 127 + 1 / 127 / 254)
    assert np.abs(got - x @ weights).max() <= bound
    if text.startswith("weight_only=16"):
        assert settings["block_size"] == 16 and settings["accuracy_level"] == 4
