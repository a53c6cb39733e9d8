"""Continuous targets cross-validated in the workflow (rules regress, regress_aggregate, regress_summary;
speech_emotion.regress): one fold's job on synthetic embeddings, the metrics and summary rows, and a
small demo run with the synthetic corpus's arousal (docs/regression.md)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import DEMO, REPO, copy_run, job, jobs_of, planned_jobs, planned_outputs, run_snakemake, shared_run, tails
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
REGRESSION = {  # over the demo's config, which declares the arousal target (profiles/demo/demo-config.yaml)
    "run": {"encoders": ["egemaps"], "classifiers": ["logreg"], "regressors": ["ridge", "svr"]},
}


def _args(workdir, config, name="regression"):
    (workdir / f"{name}.yaml").write_text(json.dumps(config))
    return (*DEMO, "--configfile", str(REPO / "profiles/demo/demo-config.yaml"), str(workdir / f"{name}.yaml"))


def make_regression_run(demo_run):
    """A copy of the finished demo run (which declares arousal and cross-validates ridge on both encoders) with svr
    added on egemaps: the CV of ridge and svr, their figures and their final models. The jobs planned before it started are in planned.json (planned_jobs form)."""
    def make(workdir):
        copy_run(demo_run, workdir)
        args = (*_args(workdir, REGRESSION), "--", L.REGRESSION_SUMMARY, *FIGURES, *MODELS)
        (workdir / "planned.json").write_text(json.dumps(sorted(planned_jobs(workdir, *args))))
        result = run_snakemake(workdir, *args)
        assert result.returncode == 0, tails(result)

    return make


@pytest.fixture(scope="module")
def regression_run(demo_run, tmp_path_factory):
    """Made once per session (conftest.shared_run: tests/test_regress_model.py reads it too); tests only read it."""
    return shared_run(tmp_path_factory, "regression", make_regression_run(demo_run))


def _without_targets(workdir):
    """The demo's arguments with its config declaring no continuous target and no regressor."""
    import yaml

    config = yaml.safe_load((REPO / "profiles/demo/demo-config.yaml").read_text())
    assert config["dataset"].pop("targets") and config["run"]["regressors"] == ["ridge"]
    config["run"]["regressors"] = []
    (workdir / "no-targets.yaml").write_text(json.dumps(config))
    return (*DEMO, "--configfile", str(workdir / "no-targets.yaml"))  # replaces the profile's configfile


@pytest.mark.slow
def test_declaring_a_target_on_a_finished_run_reruns_no_classification_job(demo_run, regression_run, tmp_path):
    """The target's values are a table of their own (rule target_values), not a manifest column. The demo was made
    with arousal declared; with no target declared the same finished run has nothing to do, so no classification
    job's params or inputs depend on the targets, and declaring one plans only the regression's jobs. On the
    finished demo (arousal and ridge), adding svr planned only svr's jobs, on the demo's regression plans."""
    work = copy_run(demo_run, tmp_path / "run")
    assert planned_jobs(work, *_without_targets(work)) == set()
    planned = json.loads((regression_run / "planned.json").read_text())
    assert {name.split("[", 1)[0] for name in planned} == {
        "regress", "regress_aggregate", "regress_summary", "regress_figures", "regress_leaderboard", "regress_model"}, planned
    svr = {"target": "arousal", "encoder": "egemaps", "regressor": "svr"}
    assert {name for name in planned if name.startswith("regress[")} == {
        job("regress", **svr, fold=k) for k in ("0", "1", "2", "all")}
    assert not [name for name in planned if "regressor=ridge" in name]


@pytest.mark.slow
def test_the_regress_jobs_follow_their_regression_plan(regression_run):
    """Each fold's regressors read the fold's regression plan (rule regress_plan, scored by CCC), not the
    classification plan; record.json and the final model's model.json say so."""
    from speech_emotion.train.fold_plan import Plan

    for fold in ("0", "1", "2", "all"):
        plan = Plan.read(regression_run / L.REGRESSION_PLAN.format(target="arousal", encoder="egemaps", fold=fold))
        assert plan.evidence["probe"]["name"] == "ridge" and plan.evidence["copies"]["mode"] == "never"
        assert plan.features.copies is False and plan.evidence["speaker_norm"]["score_without"] is not None
        for regressor in ("ridge", "svr"):
            where = regression_run / L.REGRESSION_FOLD.format(target="arousal", encoder="egemaps", regressor=regressor,
                                                              fold=fold)
            record = json.loads((where / "record.json").read_text())
            assert record["plan"]["kind"] == "regression" and record["plan"]["metric"] == "ccc"
            assert record["layers"] == plan.layers and record["speaker_norm"]["use"] == plan.features.speaker_norm
            assert record["speaker_norm"]["score_with"] == plan.evidence["speaker_norm"]["score_with"]
    info = json.loads((regression_run / MODELS[0]).read_text())
    assert info["plan"]["kind"] == "regression" and info["plan"]["probe"]["name"] == "ridge"


FIGURES = [L.REGRESSION_LEADERBOARD, *(pattern.format(target="arousal", encoder="egemaps", regressor=r)
                                     for pattern in (L.REGRESSION_SCATTER, L.REGRESSION_RESIDUALS) for r in ("ridge", "svr"))]
MODELS = [L.REGRESSION_MODEL.format(target="arousal", encoder="egemaps", regressor=r) + "/model.json" for r in ("ridge", "svr")]


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


@pytest.mark.slow
def test_a_new_description_of_the_target_reruns_its_regressors_but_not_its_values_or_plans(regression_run):
    """The description is the model card's and model.json's (rule regress writes them); it decides no value and no plan."""
    config = {**REGRESSION, "dataset": {"targets": {"arousal": {"description": "how activated the voice sounds"}}}}
    planned = planned_jobs(regression_run, L.REGRESSION_SUMMARY, *_args(regression_run, config, "described"))
    assert {name.split("[", 1)[0] for name in planned} == {"regress", "regress_aggregate", "regress_summary"}, planned


@pytest.mark.slow
def test_only_tuned_regressors_get_regress_tune_jobs_and_the_ensemble_reads_its_members_models(regression_run):
    """A dry run on the finished run: tune.regressors empty (the default) plans no regress_tune job; tuning svr plans
    its study in every fold ("all" too) and reruns only svr's jobs (ridge reads no tuned.json); an ensemble of ridge
    and svr reads their fold models, which are up to date, and plans only its own jobs."""
    folds = [*map(str, range(3)), "all"]
    svr = {"target": "arousal", "encoder": "egemaps", "regressor": "svr"}

    def regression_jobs(config, name):
        return {j for j in planned_jobs(regression_run, *_args(regression_run, config, name)) if j.startswith("regress")}

    assert regression_jobs(REGRESSION, "default") == set()
    tuned = regression_jobs({**REGRESSION, "tune": {"regressors": ["svr"]}}, "tuned")
    assert {j for j in tuned if j.startswith("regress_tune")} == {job("regress_tune", **svr, fold=k) for k in folds}
    assert {j for j in tuned if j.startswith("regress[")} == {job("regress", **svr, fold=k) for k in folds}
    assert not {j for j in tuned if "regressor=ridge" in j}
    run = {**REGRESSION["run"], "regressors": ["ridge", "svr", "ensemble"]}
    ensemble = regression_jobs({**REGRESSION, "run": run, "regressors": {"ensemble": {"members": ["ridge", "svr"]}}},
                               "ensemble")
    assert {j for j in ensemble if j.startswith("regress[")} == {
        job("regress", **svr | {"regressor": "ensemble"}, fold=k) for k in folds}
    assert not {j for j in ensemble if "regressor=ridge" in j or "regressor=svr" in j or j.startswith("regress_tune")}


# --- figures and the report's table (rules regress_figures, regress_leaderboard) ---------------------------------
def _hand_made():
    """Two folds of three clips. Pooled by hand: mean rating 2, mean prediction 23/12, variances 5/3 and 185/144,
    covariance 17/12: CCC = 2 (17/12) / (5/3 + 185/144 + (1/12)^2) = 68/71 = 0.958; MAE = (0.5 + 0 + 0.5 + 0 + 0.5
    + 0) / 6 = 0.250. Chance (fold 0's training mean 3, fold 1's 1): CCC -2 / (5/3 + 1) = -0.750, MAE 2.000."""
    from speech_emotion.evaluate.regression import regression_metrics

    predictions = pd.DataFrame({
        "clip_id": [f"c{i}" for i in range(6)], "fold": [0, 0, 0, 1, 1, 1], "speaker": ["a", "a", "b", "c", "c", "d"],
        "target": [0.0, 1.0, 2.0, 2.0, 3.0, 4.0], "prediction": [0.5, 1.0, 1.5, 2.0, 2.5, 4.0],
        "train_mean": [3.0, 3.0, 3.0, 1.0, 1.0, 1.0]})
    metrics = {"target": "arousal"} | regression_metrics(predictions, {0: 3.0, 1: 1.0})
    return predictions, metrics


def test_scatter_and_residual_plots_write_pngs_with_the_pooled_scores(tmp_path):
    from PIL import Image

    from speech_emotion.regress.plots import plot_residuals, plot_scatter

    predictions, metrics = _hand_made()
    scores = "pooled over 2 folds, 6 clips: CCC 0.958, Pearson 0.968, MAE 0.250 (chance: CCC -0.750, MAE 2.000)"
    for plot, name in ((plot_scatter, "scatter.png"), (plot_residuals, "residuals.png")):
        path = tmp_path / name
        title = plot(predictions.sample(frac=1, random_state=0), metrics, path, "arousal: enc + ridge")
        assert path.stat().st_size > 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            assert image.text["Title"] == title  # what the figure's title says, in the file
        assert title.startswith(f"arousal: enc + ridge\n{scores}")
    assert "mean residual -0.083" in title  # (0.5 + 0 - 0.5 + 0 - 0.5 + 0) / 6
    with pytest.raises(ValueError, match="counts 6 clips, the predictions 5"):
        plot_scatter(predictions.iloc[:5], metrics, tmp_path / "stale.png")
    with pytest.raises(ValueError, match="pooled CCC"):
        plot_scatter(predictions.assign(prediction=predictions["target"]), metrics, tmp_path / "stale.png")


def test_the_report_table_ranks_each_target_by_pooled_ccc():
    from speech_emotion.regress.summary import summary_html

    _, metrics = _hand_made()
    row = summary_row({"encoder": "enc", "regressor": "ridge", "protocol": "speaker"} | metrics)
    better = row | {"regressor": "svr", "ccc_pooled": 0.99}
    page = summary_html(summary_table([row, better, row | {"target": "valence"}]))
    assert page.count("<table>") == 2 and "<h2>arousal (protocol: speaker)</h2>" in page
    arousal = page.split("<h2>valence")[0]
    assert arousal.index(">svr<") < arousal.index(">ridge<")  # best pooled CCC first
    assert "<td>0.958</td>" in arousal and "<td>-0.750</td>" in arousal


def test_figures_are_planned_once_per_target_encoder_and_regressor(tmp_path):
    encoders = ["egemaps", "tiny-wavlm"]
    config = {**REGRESSION, "run": {"encoders": encoders, "classifiers": ["logreg"], "regressors": ["ridge"]}}
    outputs = planned_outputs(tmp_path, *_args(tmp_path, config))  # the default target's
    figures = jobs_of({(rule, path) for rule, path in outputs if rule == "regress_figures"})
    assert figures == {job("regress_figures", target="arousal", encoder=e, regressor="ridge") for e in encoders}
    assert {path for rule, path in outputs if rule == "regress_leaderboard"} == {L.REGRESSION_LEADERBOARD}
    off = _args(tmp_path, {**config, "run": {**config["run"], "regressors": []}}, "off")
    assert not {rule for rule, _ in planned_outputs(tmp_path, *off) if rule.startswith("regress")}


@pytest.mark.slow
def test_the_demo_figures_and_report_show_the_regressions(regression_run, tmp_path):
    import base64
    import re

    from PIL import Image

    from conftest import copy_run
    from speech_emotion.regress.plots import scores_text

    for regressor in ("ridge", "svr"):
        where = regression_run / L.REGRESSOR.format(target="arousal", encoder="egemaps", regressor=regressor)
        for name in ("scatter.png", "residuals.png"):
            with Image.open(where / name) as image:
                assert scores_text(_metrics(regression_run, regressor)) in image.text["Title"]
    work = copy_run(regression_run, tmp_path / "run")  # the report is written into the run: a copy
    report = run_snakemake(work, *_args(work, REGRESSION), "--report", "results/report.html", "--",
                           L.REGRESSION_SUMMARY, *FIGURES)
    assert report.returncode == 0, tails(report)
    html = (work / "results/report.html").read_text(encoding="utf-8")
    assert "5. Regression" in html and "predicted vs rated" in html and "residuals vs prediction" in html
    assert "Continuous targets (arousal) are cross-validated" in html  # the front page (workflow.rst)
    pages = [base64.b64decode(u).decode() for u in re.findall(r"data:text/html;[^,\"]*base64,([A-Za-z0-9+/=]+)", html)]
    assert any("<h1>Continuous targets</h1>" in page for page in pages)
