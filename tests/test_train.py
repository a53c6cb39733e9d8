"""Training stage: per-fold training on embedding shards, final model, rerun scope. The plan that
chooses layers, copies and standardisation is tested in test_plan.py, but for
test_plan_uses_training_fold_only (here, where docs/leakage.md cites it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from speech_emotion.train import classifiers as C
from speech_emotion.evaluate.metrics import compute_metrics, cv_summary, read_predictions
from speech_emotion.train.classifiers import base as B
from speech_emotion.train.final_model import final_model_info, load_final_model
from speech_emotion.train.layers import resolve_layers, select
from speech_emotion.train.features import FeatureSpec
from speech_emotion.train.fold import train_fold
from synthetic import LABELS, N_LAYERS, SIGNAL_LAYER, plan_json, synthetic_corpus, write_embeddings

LAYER_CHOICE = {"method": "probe", "spec": "auto", "score": 0.9, "n_layers": N_LAYERS}


def plan_with(layers, copies=True, speaker_norm=False, min_clips=5, evidence=None):
    """A plan as rule plan writes it: the feature pipeline (encoder "enc") and the evidence."""
    spec = FeatureSpec.of(list(layers), encoder="enc", copies=copies, speaker_norm=speaker_norm, min_clips=min_clips)
    return plan_json(spec, layers=LAYER_CHOICE, **(evidence or {}))




def test_resolve_and_select_layers():
    assert resolve_layers("last", 5) == [4]
    assert resolve_layers("all", 3) == [0, 1, 2]
    assert resolve_layers([-1, 0], 5) == [0, 4]
    with pytest.raises(ValueError, match="out of range"):
        resolve_layers([7], 5)
    x = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert select(x, [0, 2]).shape == (2, 8)
    np.testing.assert_array_equal(select(x, [2])[0], x[0, 2])


def test_a_fold_whose_probe_drops_the_copies_trains_on_clean_clips_only(tmp_path):
    frame, emb = synthetic_corpus()
    paths = write_embeddings(tmp_path, frame, emb)
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    evidence = {"mode": "auto", "copy_rows": 72, "score_with": 0.5, "score_without": 0.6}
    choice = plan_with([SIGNAL_LAYER], copies=False, evidence={"copies": evidence})
    result = train_fold("enc", "logreg", 0, {"Cs": [1.0]}, paths, manifest, folds, choice, seed=0)
    assert result.record["n_train_rows"] == result.record["n_train_clips"] == int((frame["fold"] != 0).sum())
    # the decision is read from the pipeline, the scores from the evidence beside it
    assert result.record["copies"] == {"use": False, **evidence}


@pytest.mark.parametrize("classifier", ["logreg", "ensemble"])
def test_train_fold_outputs_and_leakage(tmp_path, monkeypatch, classifier):
    frame, emb = synthetic_corpus()
    paths = write_embeddings(tmp_path, frame, emb)
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    choice = plan_with([SIGNAL_LAYER])
    members = {}
    if classifier == "ensemble":
        for member, cfg in {"logreg": {"Cs": [1.0]}, "svm": {}}.items():
            result = train_fold("enc", member, 0, cfg, paths, manifest, folds, choice, seed=0)
            members[member] = tmp_path / f"{member}.zip"
            C.save_model(result.model, members[member])
    fitted = []
    original = B.StandardScaler.fit
    monkeypatch.setattr(B.StandardScaler, "fit", lambda self, X, *a, **k: (fitted.append(np.asarray(X).copy()), original(self, X, *a, **k))[1])
    # fitted ensemble weights refit the members on inner folds: their scalers must not see the test fold either
    config = {"Cs": [0.1, 1.0]} if classifier == "logreg" else {"members": ["logreg", "svm"], "weights": "fitted"}
    result = train_fold("enc", classifier, 0, config, paths, manifest, folds, choice, seed=0, member_models=members)

    test = frame[frame["fold"] == 0]
    pred = result.predictions
    assert list(pred.columns) == ["clip_id", "fold", "label", "prediction"] + [f"prob_{lab}" for lab in LABELS]
    assert sorted(pred["clip_id"]) == sorted(test["clip_id"]), "exactly the clean clips of the test fold"
    assert (pred["fold"] == 0).all()
    np.testing.assert_allclose(pred[[f"prob_{lab}" for lab in LABELS]].sum(axis=1), 1.0, atol=1e-5)
    assert (pred["label"] == pred["prediction"]).mean() > 0.8
    record = result.record
    assert record["layers"] == [SIGNAL_LAYER]
    assert record["n_train_clips"] == len(frame) - len(test)
    assert record["n_train_rows"] == 2 * record["n_train_clips"], "clean + one augmented copy of training clips only"
    purpose = "C" if classifier == "logreg" else "weights"
    assert record["selected"]["inner_grouping"][purpose]["grouping"] in ("speaker", "clip")
    json.dumps(record)
    # no scaler ever saw a test clip (clean features of the chosen layer)
    test_rows = {row.astype(np.float32).tobytes() for row in select(emb[frame["fold"] == 0].astype(np.float16), [SIGNAL_LAYER])}
    assert fitted
    for X in fitted:
        assert not {row.astype(np.float32).tobytes() for row in X} & test_rows
    if classifier == "ensemble":
        assert set(record["selected"]["weights"]) == {"logreg", "svm"}


def test_final_model_folder_round_trip(tmp_path):
    frame, emb = synthetic_corpus()
    paths = write_embeddings(tmp_path, frame, emb, variants=("clean",))
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    choice = plan_with([SIGNAL_LAYER])
    pred_files = []
    for fold in range(3):
        r = train_fold("enc", "logreg", fold, {"Cs": [1.0]}, paths, manifest, folds, choice, seed=0)
        pred_files.append(tmp_path / f"pred-{fold}.tsv")
        r.predictions.to_csv(pred_files[-1], sep="\t", index=False)
    cv = cv_summary(compute_metrics(read_predictions(pred_files)))
    assert cv["folds"] == 3 and cv["clips"] == len(frame) and cv["chance"]["balanced_accuracy"] == 1 / len(LABELS)
    assert 0.8 < cv["balanced_accuracy"]["mean"] <= 1.0
    final = train_fold("enc", "logreg", "all", {"Cs": [1.0]}, paths, manifest, folds, choice, seed=0)
    assert final.record["n_train_clips"] == len(frame) and len(final.predictions) == 0
    out = tmp_path / "results/models/enc/logreg"
    out.mkdir(parents=True)
    C.save_model(final.model, out / "model.zip")
    final.features.write(out / "features.json")
    info = final_model_info(final.record, {"name": "enc", "spec": {"kind": "hf", "model": "x"}, "model_dir": "m"},
                            {"sample_rate": 16000, "max_seconds": 30.0, "batch_seconds": 60.0}, cv)
    (out / "model.json").write_text(json.dumps(info))
    loaded = load_final_model(out)
    assert loaded.features.members[0].layers == (SIGNAL_LAYER,) and loaded.labels == LABELS
    assert loaded.info["cv"]["balanced_accuracy"]["mean"] == cv["balanced_accuracy"]["mean"]
    (out / "model.zip").write_bytes(b"garbage")
    with pytest.raises(C.ModelFileError, match="model.zip"):
        load_final_model(out)


def test_a_logistic_regression_job_never_imports_torch_transformers_umap_or_xgboost():
    """Start-up cost: what a train job of logreg imports (the modules of scripts/train.py, then a
    fit) and what a plan job imports must not pull in the heavy libraries of other rules."""
    code = (
        "import sys, numpy as np\n"
        "from speech_emotion.io.files import read_json, write_json_atomic, write_tsv_atomic\n"
        "from speech_emotion.train.classifiers import save_model, make_classifier\n"
        "from speech_emotion.io.tables import read_table\n"
        "from speech_emotion.io.logs import job_log\n"
        "from speech_emotion.train.fold import train_fold\n"
        "from speech_emotion.train.plan import make_plan\n"
        "rng = np.random.default_rng(0)\n"
        "X, y = rng.normal(size=(60, 4)), np.arange(60) % 3\n"
        "make_classifier('logreg', {'Cs': [1.0], 'inner_folds': 2}, seed=0).fit(X, y, np.arange(60) % 6)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'umap', 'xgboost', 'matplotlib') if m in sys.modules))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "workflow"))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_feature_pipeline_keeps_its_member_order_through_json(tmp_path):
    """A fusion's members stay in the given order (a list, never the key order of a mapping): the
    order in which the classifier's columns were stacked in training is the order predict stacks them."""
    a = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    b = -np.arange(2 * 1 * 4, dtype=np.float32).reshape(2, 1, 4)
    spec = FeatureSpec.of([("zeta", [2, 0]), ("alpha", [0])], speaker_norm=True, min_clips=3)
    spec = spec.fit_population(spec.select({"zeta": a, "alpha": b}))
    spec.write(tmp_path / "features.json")
    text = (tmp_path / "features.json").read_text()
    assert text.index('"zeta"') < text.index('"alpha"')
    back = FeatureSpec.read(tmp_path / "features.json")
    assert back.encoders == ["zeta", "alpha"] and back == spec
    np.testing.assert_array_equal(back.select({"alpha": b, "zeta": a}), np.hstack([a[:, 2], a[:, 0], b[:, 0]]))
    np.testing.assert_array_equal(back.population.mean, spec.population.mean)
    with pytest.raises(KeyError, match="alpha"):
        back.select({"zeta": a})


@pytest.mark.parametrize("classifier", ["logreg", "ensemble"])
def test_a_fold_that_standardises_per_speaker_also_labels_each_test_clip_alone(tmp_path, classifier):
    """CV standardises a test speaker with the statistics of its own test clips; ``lone_prediction`` (after
    the contract's columns) is the same model on the same clips each labelled alone: standardised with the
    mean and std of the raw clean training rows (the population the fold model carries), as predict does
    for a file without a speaker. Speakers are large offsets here, so labelling alone costs accuracy."""
    from speech_emotion.train.features import load_fold
    from synthetic import speaker_corpus

    frame, X = speaker_corpus(every_emotion=True, speaker_scale=4.0)
    paths = write_embeddings(tmp_path, frame, X[:, None, :], variants=("clean",))
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    plan = plan_with([0], copies=False, speaker_norm=True)
    members = {}
    if classifier == "ensemble":
        for member, cfg in {"logreg": {"Cs": [1.0]}, "svm": {}}.items():
            members[member] = tmp_path / f"{member}.zip"
            C.save_model(train_fold("enc", member, 0, cfg, paths, manifest, folds, plan, seed=0).model, members[member])
    config = {"Cs": [1.0]} if classifier == "logreg" else {"members": ["logreg", "svm"]}
    result = train_fold("enc", classifier, 0, config, paths, manifest, folds, plan, seed=0, member_models=members)
    pred = result.predictions
    assert list(pred.columns) == (["clip_id", "fold", "label", "prediction"] + [f"prob_{lab}" for lab in LABELS]
                                  + ["lone_prediction"])

    raw = load_fold(0, {"clean": paths["clean"]}, manifest, folds, FeatureSpec.of([0], encoder="enc"))
    assert list(raw.test_ids) == list(pred["clip_id"])
    train_rows = raw.X_train.astype(np.float64)
    mean, std = train_rows.mean(axis=0), train_rows.std(axis=0)
    np.testing.assert_allclose(result.features.population.mean, mean)  # what the fold model's features.json holds
    alone = ((raw.X_test - mean) / std).astype(np.float32)
    np.testing.assert_array_equal(pred["lone_prediction"], result.model.predict(alone))
    # the CV columns: each test speaker with the statistics of its own test clips (unchanged)
    own = np.empty_like(raw.X_test)
    for speaker in set(raw.groups_test):
        rows = raw.groups_test == speaker
        part = raw.X_test[rows].astype(np.float64)
        own[rows] = ((part - part.mean(axis=0)) / part.std(axis=0)).astype(np.float32)
    np.testing.assert_array_equal(pred["prediction"], result.model.predict(own))
    cv, lone = (pred["label"] == pred["prediction"]).mean(), (pred["label"] == pred["lone_prediction"]).mean()
    assert cv > 0.6 and lone < cv - 0.2, (cv, lone)
