"""Continuous targets cross-validated in the workflow (rules regress, regress_aggregate, regress_summary;
speech_emotion.regress): one fold's job on synthetic embeddings, the metrics and summary rows, and a
small demo run with the synthetic corpus's arousal (docs/regression.md)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import DEMO, REPO, job, planned_jobs, run_snakemake, tails
from speech_emotion import layout as L
from speech_emotion.data.targets import Target
from speech_emotion.regress.fold import PREDICTION_COLUMNS, regress_fold
from speech_emotion.regress.summary import fold_metrics, summary_row, summary_table
from speech_emotion.train.features import FeatureSpec
from synthetic import SIGNAL_LAYER, plan_json, synthetic_corpus, write_embeddings

TARGET = Target("arousal", "arousal")


def _corpus(tmp_path, missing=()):
    """Synthetic clips whose arousal is a linear function of layer SIGNAL_LAYER plus noise (NaN for ``missing``)."""
    frame, emb = synthetic_corpus()
    rng = np.random.default_rng(3)
    frame["arousal"] = emb[:, SIGNAL_LAYER, :4] @ np.array([1.0, -0.5, 0.8, 0.3]) + rng.normal(scale=0.3, size=len(frame))
    frame.loc[frame["clip_id"].isin(missing), "arousal"] = np.nan
    shards = write_embeddings(tmp_path, frame, emb)
    return frame, frame[["clip_id", "fold"]], shards


def _fold(tmp_path, fold=0, missing=(), speaker_norm=False, copies=True):
    frame, folds, shards = _corpus(tmp_path, missing)
    spec = FeatureSpec.of([SIGNAL_LAYER], "enc", speaker_norm=speaker_norm, copies=copies)
    return frame, folds, regress_fold("enc", "ridge", TARGET, fold, {}, shards, frame, folds, plan_json(spec, fold), seed=0)


def test_one_fold_trains_on_its_training_clips_with_a_value_and_predicts_its_test_clips(tmp_path):
    frame, folds, result = _fold(tmp_path, missing=["s0_ANG_0", "s1_HAP_1"])
    predictions, record = result.predictions, result.record
    assert list(predictions.columns) == list(PREDICTION_COLUMNS)
    test = set(frame["clip_id"][(frame["fold"] == 0) & frame["arousal"].notna()])
    assert set(predictions["clip_id"]) == test  # s0_ANG_0 (fold 0, no value) is left out
    assert not set(record["train_speakers"]) & set(record["test_speakers"])
    train = frame[(frame["fold"] != 0) & frame["arousal"].notna()]
    assert record["n_train_clips"] == len(train)  # clean clips only, s1_HAP_1 left out
    assert record["n_without_value"] == {"train": 1, "test": 1}
    assert predictions["train_mean"].unique() == pytest.approx([train["arousal"].mean()], abs=1e-6)
    assert record["copies"]["use"] is False and record["copies"]["plan"]["use"] is True
    assert record["test_scores"]["ccc"] > 0.8
    assert json.loads(json.dumps(record)) == record


def test_per_speaker_standardisation_of_the_plan_is_applied(tmp_path):
    _, _, result = _fold(tmp_path, speaker_norm=True)
    assert result.record["speaker_norm"]["use"] is True
    assert result.record["test_scores"]["ccc"] > 0.5


def test_metrics_and_summary_row_from_the_folds(tmp_path):
    frame, folds, shards = _corpus(tmp_path)
    spec = FeatureSpec.of([SIGNAL_LAYER], "enc")
    predictions = pd.concat([regress_fold("enc", "ridge", TARGET, k, {}, shards, frame, folds, plan_json(spec, k),
                                          seed=0).predictions for k in range(3)])
    metrics = fold_metrics(predictions, frame, folds, TARGET)
    assert metrics["n_folds"] == 3 and metrics["n_clips"] == len(frame)
    assert metrics["ccc"]["pooled"] > 0.8 > metrics["chance"]["ccc"]["pooled"]
    assert metrics["chance"]["ccc"]["mean"] == 0
    row = summary_row({"target": "arousal", "encoder": "enc", "regressor": "ridge", "protocol": "speaker"} | metrics)
    assert row["ccc_pooled"] == metrics["ccc"]["pooled"] and row["chance_mae_pooled"] == metrics["chance"]["mae"]["pooled"]
    assert list(summary_table([row, row | {"encoder": "a"}])["encoder"]) == ["a", "enc"]
    stale = predictions.assign(train_mean=predictions["train_mean"] + 0.1)
    with pytest.raises(ValueError, match="training mean"):
        fold_metrics(stale, frame, folds, TARGET)


def test_run_regressors_follow_the_registry_and_need_a_declared_target(tmp_path):
    import yaml

    from speech_emotion.config import ConfigError, check_config, load_schema
    from speech_emotion.train.regressors import REGRESSORS

    run = load_schema(REPO / "workflow/schemas/config.schema.yaml")["properties"]["run"]["properties"]["regressors"]
    assert run["items"]["enum"] == list(REGRESSORS) and run["default"] == []
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert config["run"]["regressors"] == []
    config["run"]["regressors"] = ["ridge"]
    with pytest.raises(ConfigError, match=r"run\.regressors: ridge given, but dataset\.targets declares no"):
        check_config(config, tmp_path)


# --- the workflow ----------------------------------------------------------------------------------------------
REGRESSION = {
    "dataset": {"targets": {"arousal": {"column": "arousal", "table": "results/demo/targets.csv", "range": [-1, 1],
                                        "description": "the synthetic clip's arousal (loudness and rate)"}}},
    "run": {"encoders": ["egemaps"], "classifiers": ["logreg"], "regressors": ["ridge", "svr"]},
}


def _args(workdir, config, name="regression"):
    (workdir / f"{name}.yaml").write_text(json.dumps(config))
    return (*DEMO, "--configfile", str(REPO / "profiles/demo/demo-config.yaml"), str(workdir / f"{name}.yaml"))


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("regression")
    result = run_snakemake(workdir, L.REGRESSION_SUMMARY, *_args(workdir, REGRESSION))
    assert result.returncode == 0, tails(result)
    return workdir


def _metrics(workdir, regressor):
    path = workdir / L.REGRESSION_METRICS.format(target="arousal", encoder="egemaps", regressor=regressor)
    return json.loads(path.read_text())


@pytest.mark.slow
def test_the_demo_arousal_is_learned_well_above_chance(regression_run):
    for regressor in ("ridge", "svr"):
        metrics = _metrics(regression_run, regressor)
        assert metrics["n_folds"] == 3 and metrics["n_clips"] == 240
        assert metrics["ccc"]["pooled"] > 0.6 and metrics["ccc"]["mean"] > 0.5, metrics["ccc"]
        assert metrics["chance"]["ccc"]["pooled"] < 0.1
        assert metrics["mae"]["pooled"] < metrics["chance"]["mae"]["pooled"]
    summary = pd.read_csv(regression_run / L.REGRESSION_SUMMARY, sep="\t")
    assert list(summary["regressor"]) == ["ridge", "svr"] and set(summary["target"]) == {"arousal"}
    assert summary.loc[0, "ccc_pooled"] == _metrics(regression_run, "ridge")["ccc"]["pooled"]


@pytest.mark.slow
def test_no_test_clip_of_a_fold_trains_its_regressor(regression_run):
    folds = pd.read_csv(regression_run / L.FOLDS, sep="\t", dtype={"clip_id": str})
    fold_of = folds.set_index("clip_id")["fold"]
    for k in range(3):
        where = regression_run / L.REGRESSION_FOLD.format(target="arousal", encoder="egemaps", regressor="ridge", fold=k)
        record = json.loads((where / "record.json").read_text())
        predictions = pd.read_csv(where / "predictions.tsv", sep="\t", dtype={"clip_id": str, "speaker": str})
        assert (fold_of.loc[predictions["clip_id"]] == k).all()  # every predicted clip is a test clip of fold k
        assert record["n_train_clips"] == int((fold_of != k).sum())  # clean clips only, every one has a value
        assert set(predictions["speaker"]) == set(record["test_speakers"])
        assert not set(record["test_speakers"]) & set(record["train_speakers"])
        assert record["copies"]["use"] is False


@pytest.mark.slow
def test_regression_is_off_by_default_and_a_regressor_setting_reruns_only_its_jobs(regression_run):
    args = _args(regression_run, REGRESSION)
    assert planned_jobs(regression_run, L.REGRESSION_SUMMARY, *args) == set()
    off = _args(regression_run, {**REGRESSION, "run": {**REGRESSION["run"], "regressors": []}}, "off")
    assert not {j for j in planned_jobs(regression_run, *off) if j.startswith("regress")}
    changed = planned_jobs(regression_run, L.REGRESSION_SUMMARY, *args, "--config", 'regressors={"ridge":{"inner_folds":3}}')
    ridge = {"target": "arousal", "encoder": "egemaps", "regressor": "ridge"}
    assert changed == {*(job("regress", **ridge, fold=str(k)) for k in range(3)), job("regress_aggregate", **ridge),
                       job("regress_summary")}
