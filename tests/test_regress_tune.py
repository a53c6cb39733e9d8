"""Tuning and the ensemble of the regressors (rule regress_tune, speech_emotion.regress.tune,
speech_emotion.train.regressors.tuning and .ensemble; docs/regression.md), on synthetic embeddings: the
tuned settings reach the regress job's model, tuning never reads the test fold, the ensemble is the mean of
its members and its final model round-trips. Planning (no regress_tune job by default) is in tests/test_regress.py,
on its demo run."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest

from conftest import REPO
from speech_emotion.data.targets import Target
from speech_emotion.regress.fold import regress_fold, regression_model_info
from speech_emotion.regress.tune import tune_fold
from speech_emotion.train.classifiers import save_model
from speech_emotion.train.features import FeatureSpec
from speech_emotion.train.regressors import MEMBERS, TUNABLE, make_regressor, regressor_class
from speech_emotion.train.regressors.modelfile import load_any_model
from speech_emotion.train.regressors.tuning import tune_regressor
from synthetic import SIGNAL_LAYER, plan_json, synthetic_corpus, write_embeddings

TARGET = Target("arousal", "arousal")
SETTINGS = {"space": {"C": {"low": 0.01, "high": 100.0, "log": True}, "epsilon": {"low": 0.01, "high": 1.0, "log": True}},
            "n_trials": 4, "inner_folds": 3}
QUICK = {"ridge": {}, "svr": {}, "xgboost": {"n_estimators": 20}, "mlp": {"max_epochs": 15, "hidden": [16]}}


def _corpus(tmp_path):
    """The synthetic clips (9 speakers in 3 folds) with an arousal that is linear in layer SIGNAL_LAYER plus noise."""
    frame, emb = synthetic_corpus()
    rng = np.random.default_rng(3)
    frame["arousal"] = emb[:, SIGNAL_LAYER, :4] @ np.array([1.0, -0.5, 0.8, 0.3]) + rng.normal(scale=0.3, size=len(frame))
    return frame, frame[["clip_id", "fold"]], write_embeddings(tmp_path, frame, emb)


def _plan(fold=0):
    return plan_json(FeatureSpec.of([SIGNAL_LAYER], "enc", copies=True), fold)


def _tune(tmp_path, frame, folds, shards, name="a"):
    return tune_fold("enc", "svr", TARGET, 0, {}, SETTINGS, shards, frame, folds, _plan(), tmp_path / name / "study.sqlite3",
                     seed=0)


def test_tuned_settings_reach_the_regress_jobs_model_and_record(tmp_path):
    frame, folds, shards = _corpus(tmp_path)
    tuned = _tune(tmp_path, frame, folds, shards)
    assert set(tuned["params"]) == {"C", "epsilon"} and tuned["trials"] == 4 and -1 <= tuned["inner_ccc"] <= 1
    assert tuned["inner"] == {"grouping": "speaker", "reason": None}
    assert tuned["n_train_clips"] == int((frame["fold"] != 0).sum())
    study = optuna.load_study(study_name="arousal-enc-svr-fold-0", storage=f"sqlite:///{tmp_path / 'a/study.sqlite3'}")
    assert max(t.value for t in study.trials) == pytest.approx(tuned["inner_ccc"], abs=1e-6)
    tuned = json.loads(json.dumps(tuned))  # as the regress job reads tuned.json
    result = regress_fold("enc", "svr", TARGET, 0, {"C": 1.0, "kernel": "rbf"}, shards, frame, folds, _plan(), seed=0,
                          tuned=tuned)
    assert result.model.C == tuned["params"]["C"] and result.model.epsilon == tuned["params"]["epsilon"]
    assert result.model.kernel == "rbf"  # the untuned settings are regressors.svr's
    record = result.record
    assert record["params"]["C"] == tuned["params"]["C"] and record["tuned"]["inner_ccc"] == tuned["inner_ccc"]
    assert record["config"] == {"C": 1.0, "kernel": "rbf"}  # regressors.svr as configured, the tuned values beside it
    assert regression_model_info(record, {"name": "enc"}, {})["tuned"] == tuned  # model.json says it too
    untuned = regress_fold("enc", "svr", TARGET, 0, {"C": 1.0}, shards, frame, folds, _plan(), seed=0).record
    assert untuned["tuned"] is None and untuned["params"]["C"] == 1.0


def test_tuning_never_reads_the_test_fold(tmp_path):
    frame, folds, shards = _corpus(tmp_path)
    before = _tune(tmp_path, frame, folds, shards, "before")
    test = frame["fold"] == 0
    changed = frame.assign(arousal=np.where(test, np.random.default_rng(9).normal(size=len(frame)) * 10, frame["arousal"]))
    assert (changed["arousal"] != frame["arousal"]).sum() == test.sum() > 0
    assert _tune(tmp_path, changed, folds, shards, "after") == before
    # the same change in a training fold changes the study: the check above can fail
    train = frame["fold"] == 1
    moved = frame.assign(arousal=np.where(train, -frame["arousal"], frame["arousal"]))
    assert _tune(tmp_path, moved, folds, shards, "moved")["inner_ccc"] != before["inner_ccc"]


def test_tuning_is_scored_by_the_pooled_inner_ccc_and_refuses_the_ensemble(tmp_path):
    from speech_emotion.train.classifiers.inner import out_of_fold
    from speech_emotion.train.regressors.inner import pooled_ccc, regression_inner_cv

    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 5)).astype(np.float32)
    y = X @ rng.normal(size=5) + rng.normal(scale=1.0, size=96)
    groups = np.repeat(np.arange(8), 12)
    result = tune_regressor("ridge", {}, {"alpha": {"choices": [7.0]}}, X, y, groups, tmp_path / "s.sqlite3", "s",
                            n_trials=1, inner_folds=4, seed=2)
    splits = regression_inner_cv(len(y), groups, 4, 2)
    held = out_of_fold(lambda _, tr, va: make_regressor("ridge", {"alpha": 7.0}, seed=2).fit(X[tr], y[tr], groups[tr])
                       .predict(X[va]), splits, len(y), 1)
    assert result["params"] == {"alpha": 7.0} and result["inner_ccc"] == round(pooled_ccc(held, y), 6)
    in_processes = tune_regressor("ridge", {}, {"alpha": {"choices": [7.0]}}, X, y, groups, tmp_path / "p.sqlite3", "s",
                                  n_trials=1, inner_folds=4, seed=2, n_jobs=2)
    assert in_processes == result  # the job's threads run the inner folds in processes: the same study
    with pytest.raises(ValueError, match="'ensemble' cannot be tuned"):
        tune_regressor("ensemble", {}, {"x": {"low": 0, "high": 1}}, X, y, groups, tmp_path / "e.sqlite3", "e")
    with pytest.raises(ValueError, match="tune.regressor_spaces.svr: no search space"):
        tune_regressor("svr", {}, {}, X, y, groups, tmp_path / "e.sqlite3", "e")


def test_the_default_spaces_name_settings_of_their_regressors():
    import yaml

    tune = yaml.safe_load((REPO / "config.yaml").read_text())["tune"]
    assert tune["regressors"] == [] and set(tune["regressor_spaces"]) == set(TUNABLE) == set(MEMBERS)
    for name, space in tune["regressor_spaces"].items():
        settings = regressor_class(name).from_search({key: 2 for key in space})
        assert set(settings) <= set(make_regressor(name).get_params()), name
    assert regressor_class("mlp").from_search({"n_layers": 2, "units": 128}) == {"hidden": [128, 64]}


def _data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = 3.0 + X @ rng.normal(size=6) + rng.normal(scale=0.5, size=120)
    return X, y, np.repeat(np.arange(10), 12)


def test_the_ensemble_predicts_the_mean_of_its_members_fitted_on_the_same_rows():
    X, y, groups = _data()
    ensemble = make_regressor("ensemble", {"member_params": QUICK}, seed=4).fit(X[:96], y[:96], groups[:96])
    members = [make_regressor(name, QUICK[name], seed=4).fit(X[:96], y[:96], groups[:96]) for name in MEMBERS]
    by_hand = np.stack([m.predict(X[96:]) for m in members]).sum(axis=0) / len(members)
    np.testing.assert_allclose(ensemble.predict(X[96:]), by_hand, rtol=0, atol=1e-12)
    assert not np.allclose(by_hand, members[0].predict(X[96:]))  # the members differ: the mean means something
    assert ensemble.weights_.tolist() == [0.25] * 4 and ensemble.chosen_params()["members"]["ridge"]["alpha"] > 0
    with pytest.raises(ValueError, match="weights: 'fitted' is unknown"):
        make_regressor("ensemble", {"weights": "fitted"}).fit(X, y, groups)


def test_the_ensemble_job_averages_its_members_fold_models_with_their_tuned_settings(tmp_path):
    frame, folds, shards = _corpus(tmp_path)
    tuned = {"params": {"C": 7.5, "epsilon": 0.2}, "inner_ccc": 0.5}
    models, predictions = {}, []
    for name in ("ridge", "svr"):
        result = regress_fold("enc", name, TARGET, 0, {}, shards, frame, folds, _plan(), seed=0,
                              tuned=tuned if name == "svr" else None)
        models[name] = tmp_path / f"{name}.zip"
        save_model(result.model, models[name])
        predictions.append(result.predictions.set_index("clip_id")["prediction"])
    result = regress_fold("enc", "ensemble", TARGET, 0, {"members": ["ridge", "svr"], "weights": "equal"}, shards,
                          frame, folds, _plan(), seed=0, member_models=models)
    mean = (predictions[0] + predictions[1]) / 2
    got = result.predictions.set_index("clip_id")["prediction"]
    np.testing.assert_allclose(got.loc[mean.index], mean, atol=2e-6)  # the members' predictions.tsv round to 6 decimals
    member_params = result.record["params"]["member_params"]
    assert member_params["svr"]["C"] == 7.5 and member_params["ridge"]["alpha"] is None
    assert result.record["tuned"] is None and result.record["selected"]["members"]["ridge"]["alpha"] > 0
    with pytest.raises(ValueError, match=r"no trained model given for member\(s\) \['svr'\]"):
        regress_fold("enc", "ensemble", TARGET, 0, {"members": ["ridge", "svr"]}, shards, frame, folds, _plan(), seed=0,
                     member_models={"ridge": models["ridge"]})


def test_the_final_ensemble_round_trips_through_its_model_folder(tmp_path):
    from speech_emotion.predict.api import EmotionModel
    from speech_emotion.train.final_model import load_final_model

    frame, folds, shards = _corpus(tmp_path)
    result = regress_fold("enc", "ensemble", TARGET, "all", {"member_params": QUICK}, shards, frame, folds,
                          _plan("all"), seed=0)
    folder = tmp_path / "model"
    folder.mkdir()
    save_model(result.model, folder / "model.zip")
    result.features.write(folder / "features.json")
    info = regression_model_info(result.record, {"name": "enc", "spec": {"kind": "opensmile"}, "model_dir": None},
                                 {"sample_rate": 16000, "min_seconds": 0.3, "max_seconds": 10, "batch_seconds": 30})
    (folder / "model.json").write_text(json.dumps(info))
    loaded = load_any_model(folder / "model.zip")
    assert type(loaded).__name__ == "EnsembleRegressor" and list(loaded.members_) == list(MEMBERS)
    rows = np.random.default_rng(0).normal(size=(7, result.model.n_features_in_)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(rows), result.model.predict(rows))
    save_model(loaded, tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == (folder / "model.zip").read_bytes()
    model = EmotionModel(load_final_model(folder, load_any_model), {})  # what predict --model loads (no encoder here)
    assert model.target == "arousal"
    np.testing.assert_array_equal(model.outputs(rows)[:, 0], result.model.predict(rows))
