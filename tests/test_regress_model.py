"""The final regressor of a continuous target and its model folder (rule regress with fold "all", rule
regress_model; speech_emotion.regress.model): regressor model files, the folder predict loads, model.json,
the card and ``info``, the predict output columns. The whole-workflow parity checks (a final regressor
predicts from audio what it predicts on its training rows) are in tests/test_regress.py, on its demo run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from speech_emotion.data.targets import Target
from speech_emotion.predict.api import EmotionModel
from speech_emotion.regress.fold import regress_fold, regression_model_info
from speech_emotion.regress.card import regression_card
from speech_emotion.regress.model import regression_cv
from speech_emotion.regress.summary import fold_metrics
from speech_emotion.train.classifiers import ModelFileError, load_model, read_manifest, save_model
from speech_emotion.train.features import FeatureSpec
from speech_emotion.train.final_model import load_final_model
from speech_emotion.train.regressors import REGRESSORS, make_regressor
from speech_emotion.train.regressors.modelfile import load_any_model, load_regressor
from synthetic import SIGNAL_LAYER, plan_json, synthetic_corpus, write_embeddings

TARGET = Target("arousal", "arousal", description="how activated the voice sounds", range=(-3.0, 3.0))
ENCODER = {"name": "enc", "spec": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}, "model_dir": None}
AUDIO = {"sample_rate": 16000, "min_seconds": 0.3, "max_seconds": 10, "batch_seconds": 30}


@pytest.mark.parametrize("name", REGRESSORS)
def test_every_regressor_saves_to_the_model_file_and_loads_back_identically(name, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 6)).astype(np.float32)
    y = X @ rng.normal(size=6) + rng.normal(scale=0.1, size=90) + 5.0
    settings = {"max_epochs": 15} if name == "mlp" else {"n_estimators": 20} if name == "xgboost" else {}
    model = make_regressor(name, settings, seed=0).fit(X, y, np.repeat(np.arange(9), 10))
    save_model(model, tmp_path / "a.zip")
    loaded = load_regressor(tmp_path / "a.zip")
    assert type(loaded) is type(model) and type(load_any_model(tmp_path / "a.zip")) is type(model)
    with pytest.raises(ModelFileError, match="a regressor's model file"):  # the classifiers' loader: not theirs
        load_model(tmp_path / "a.zip")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    manifest = read_manifest(tmp_path / "a.zip")
    assert manifest["regressor"] == name and "classifier" not in manifest and "classes" not in manifest
    save_model(loaded, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def _corpus(tmp_path):
    frame, emb = synthetic_corpus()
    rng = np.random.default_rng(3)
    frame["arousal"] = emb[:, SIGNAL_LAYER, :4] @ np.array([1.0, -0.5, 0.8, 0.3]) + rng.normal(scale=0.3, size=len(frame))
    frame.loc[frame["clip_id"] == "s0_ANG_0", "arousal"] = np.nan
    return frame, frame[["clip_id", "fold"]], write_embeddings(tmp_path, frame, emb)


def _folder(tmp_path, speaker_norm=False):
    """A final regressor's folder as rules regress (fold all) and regress_model write it, with the CV metrics."""
    frame, folds, shards = _corpus(tmp_path)
    spec = FeatureSpec.of([SIGNAL_LAYER], "enc", speaker_norm=speaker_norm, copies=True)
    cv = pd.concat([regress_fold("enc", "ridge", TARGET, k, {}, shards, frame, folds, plan_json(spec, k), seed=0).predictions
                    for k in range(3)])
    metrics = {"protocol": "speaker"} | fold_metrics(cv, frame, folds, TARGET)
    result = regress_fold("enc", "ridge", TARGET, "all", {}, shards, frame, folds, plan_json(spec, "all"), seed=0)
    folder = tmp_path / "model"
    folder.mkdir()
    save_model(result.model, folder / "model.zip")
    result.features.write(folder / "features.json")
    info = regression_model_info(result.record, ENCODER, AUDIO) | {"cv": regression_cv(metrics)}
    (folder / "model.json").write_text(json.dumps(info))
    return frame, result, metrics, folder


def test_the_final_regressor_trains_on_every_clean_clip_with_a_value(tmp_path):
    frame, result, metrics, folder = _folder(tmp_path)
    with_value = frame[frame["arousal"].notna()]
    assert result.record["n_train_clips"] == len(with_value)  # clean clips only, s0_ANG_0 (no value) left out
    assert result.record["n_without_value"] == {"train": 1, "test": 0}
    assert result.predictions.empty and result.record["test_speakers"] == []
    assert result.features.copies is False  # the plan's copies decision is not used
    info = json.loads((folder / "model.json").read_text())
    assert info["kind"] == "regression" and info["regressor"] == "ridge"
    assert info["target"] == {"name": "arousal", "column": "arousal", "description": TARGET.description,
                              "range": [-3.0, 3.0], "train_mean": pytest.approx(with_value["arousal"].mean(), abs=1e-6)}
    assert info["cv"]["ccc"]["pooled"] == metrics["ccc"]["pooled"] > 0.8
    assert info["cv"]["chance"]["ccc"]["mean"] == 0 and set(info["cv"]["mae"]) == {"pooled", "mean", "std"}
    final = load_final_model(folder, load_any_model)
    assert final.target == "arousal" and final.labels == []


def test_predict_writes_the_target_column_of_a_regressor(tmp_path):
    _, result, _, folder = _folder(tmp_path, speaker_norm=True)
    model = EmotionModel(load_final_model(folder, load_any_model), {})  # no encoder: the output side only
    assert model.target == "arousal" and model.needs_speakers
    assert model.columns("file", True, True) == ["file", "speaker", "start", "end", "arousal", "speaker_norm",
                                                 "speaker_clips", "error"]
    rows = np.random.default_rng(0).normal(size=(3, result.model.n_features_in_)).astype(np.float32)
    np.testing.assert_array_equal(model.outputs(rows)[:, 0], result.model.predict(rows))
    assert model._values(None) == {"arousal": pytest.approx(np.nan, nan_ok=True)}
    table = pd.DataFrame({"file": ["a", "a", "b"], "start": [0.0, 1.0, 0.0], "end": [1.0, 3.0, 1.0],
                          "arousal": [0.5, -0.25, 1.0], "error": [None, None, None]})
    summary = model.summary(table)
    assert list(summary.columns) == ["file", "seconds", "segments", "mean_arousal", "error"]
    assert summary["mean_arousal"].tolist() == pytest.approx([(0.5 * 1 - 0.25 * 2) / 3, 1.0])


def test_the_card_and_info_say_what_the_target_is_and_its_cv_scores(tmp_path):
    from speech_emotion.evaluate.model_card import archive_files
    from speech_emotion.evaluate.model_info import model_summary

    _, result, metrics, folder = _folder(tmp_path)
    info = json.loads((folder / "model.json").read_text())
    card = regression_card(info, result.features, archive_files(folder / "model.zip"))
    assert "arousal: how activated the voice sounds; range -3 to 3" in card
    assert f"| CCC | {metrics['ccc']['pooled']:.3f} |" in card
    assert f"{metrics['chance']['ccc']['pooled']:.3f} |" in card and "| MAE |" in card and "| Pearson |" in card
    assert "model.sklearn" in card and "--speaker-regex" not in card
    # layers chosen by the regression plan: the card names its probe (a ridge scored by CCC), not the classifiers'
    probed = info | {"encoder": {"name": "enc", "spec": {"kind": "hf", "model": "tiny"}, "model_dir": None},
                     "layer_choice": {"method": "probe", "n_layers": 5, "spec": "auto"},
                     "plan": {"kind": "regression", "metric": "ccc", "rule": "regress_plan"}}
    card = regression_card(probed, result.features, archive_files(folder / "model.zip"))
    assert "chosen by a ridge-regression probe of the target scored by concordance correlation (CCC)" in card, card
    assert "logistic" not in card
    lines = dict(model_summary(folder))
    assert lines["regressor"] == "ridge" and "column 'arousal'" in lines["target"]
    assert f"CCC {metrics['ccc']['pooled']:.3f} pooled" in lines["cv"] and "chance (the training mean) CCC" in lines["cv"]
    assert "labels" not in lines and lines["speakers"].startswith("not needed")


def test_export_refuses_a_regressor(tmp_path):
    from speech_emotion.predict.export import export_model

    *_, folder = _folder(tmp_path)
    with pytest.raises(ModelFileError, match="a regressor's model file"):
        export_model(folder)


# --- the workflow: the demo's arousal (tests/test_regress.py's run, with the final regressors) ---------------------
@pytest.fixture(scope="module")
def models_run(demo_run, tmp_path_factory):
    """tests/test_regress.py's run (egemaps, 3 folds, logreg; ridge and svr on the demo's arousal, with their final
    models), made once per session (conftest.shared_run "regression"); tests only read it."""
    from conftest import shared_run
    from test_regress import make_regression_run

    return shared_run(tmp_path_factory, "regression", make_regression_run(demo_run))


def _clips(workdir):
    manifest = pd.read_csv(workdir / "results/data/manifest.tsv", sep="\t", dtype={"clip_id": str, "speaker": str})
    return manifest.set_index("clip_id")


@pytest.mark.slow
@pytest.mark.parametrize("regressor", ["ridge", "svr"])
def test_the_final_regressor_predicts_from_audio_what_it_predicts_on_its_training_rows(models_run, regressor, capsys,
                                                                                        monkeypatch, tmp_path):
    import io

    from speech_emotion import layout as L
    from speech_emotion import load_model as load_folder
    from speech_emotion.predict.cli import main as cli_main
    from speech_emotion.train.features import load_fold

    monkeypatch.chdir(models_run)
    folder = models_run / L.REGRESSION_MODEL.format(target="arousal", encoder="egemaps", regressor=regressor)
    model = load_folder(folder, device="cpu")
    spec = model.final.features
    assert model.target == "arousal" and model.info["kind"] == "regression" and not spec.copies
    metrics = json.loads((folder.parent / "metrics.json").read_text())
    assert model.info["cv"]["ccc"]["pooled"] == metrics["ccc"]["pooled"] > 0.6
    assert (folder / "MODEL_CARD.md").read_text().startswith("# Speech regression model: arousal from egemaps")

    # the rows it was trained on (every clean clip: each has a value), standardised as the plan says
    manifest = _clips(models_run)
    folds = pd.read_csv(models_run / L.FOLDS, sep="\t", dtype={"clip_id": str})
    shards = {"egemaps": sorted(str(p) for p in (models_run / "results/embeddings/egemaps/clean").glob("shard-*.npz"))}
    data = load_fold(None, {"clean": shards}, manifest.reset_index(), folds, spec)
    assert model.info["n_train_clips"] == len(data.train_ids) == 240
    expected = model.final.model.predict(spec.standardise(data.X_train, data.groups_train)[0])
    files = [str(models_run / manifest.loc[c, "path"]) for c in data.train_ids]
    speakers = manifest.loc[data.train_ids, "speaker"].tolist()
    table = model.predict(files, speakers=speakers)
    assert table["error"].isna().all() and "label" not in table.columns
    np.testing.assert_allclose(table["arousal"].to_numpy(float), expected, atol=1e-4)

    # the command line on every file of two speakers (their statistics from all their files, as above)
    two = sorted(set(speakers))[:2]
    rows = [i for i, s in enumerate(speakers) if s in two]
    speaker_table = tmp_path / "speakers.tsv"
    pd.DataFrame({"file": [files[i] for i in rows], "speaker": [speakers[i] for i in rows]}).to_csv(
        speaker_table, sep="\t", index=False)
    capsys.readouterr()
    assert cli_main(["predict", "--model", str(folder), "--device", "cpu", "--speakers", str(speaker_table),
                     *[files[i] for i in rows]]) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t")
    assert [c for c in printed.columns if c.startswith(("label", "prob_"))] == []
    np.testing.assert_allclose(printed["arousal"].to_numpy(float), expected[rows], atol=1e-4)
    assert cli_main(["predict", "--model", str(folder), "--device", "cpu", "--format", "json", "--speakers",
                     str(speaker_table), *[files[i] for i in rows]]) == 0
    records = json.loads(capsys.readouterr().out)
    assert "label" not in records[0] and "probabilities" not in records[0]
    np.testing.assert_allclose([r["arousal"] for r in records], expected[rows], atol=1e-4)
    assert cli_main(["info", str(folder)]) == 0
    assert "predict writes it as column 'arousal'" in capsys.readouterr().out


@pytest.mark.slow
def test_a_cv_fold_regressor_predicts_its_test_fold_as_predictions_tsv(models_run, monkeypatch):
    from speech_emotion import layout as L
    from speech_emotion import load_model as load_folder

    monkeypatch.chdir(models_run)
    fold = models_run / L.REGRESSION_FOLD.format(target="arousal", encoder="egemaps", regressor="ridge", fold=0)
    written = pd.read_csv(fold / "predictions.tsv", sep="\t", dtype={"clip_id": str, "speaker": str})
    manifest = _clips(models_run)
    files = [str(models_run / manifest.loc[c, "path"]) for c in written["clip_id"]]
    table = load_folder(fold, device="cpu").predict(files, speakers=written["speaker"].tolist())
    np.testing.assert_allclose(table["arousal"].to_numpy(float), written["prediction"].to_numpy(float), atol=1e-4)


@pytest.mark.slow
def test_the_final_regressors_are_default_targets_and_a_regressor_setting_reruns_only_its_own(models_run):
    from conftest import job, planned_jobs
    from speech_emotion import layout as L
    from test_regress import MODELS, REGRESSION, _args

    args = _args(models_run, REGRESSION, "models")
    assert planned_jobs(models_run, *MODELS, *args) == set()
    changed = planned_jobs(models_run, *MODELS, *args, "--config", 'regressors={"svr":{"C":2.0}}')
    svr = {"target": "arousal", "encoder": "egemaps", "regressor": "svr"}
    assert changed == {*(job("regress", **svr, fold=str(k)) for k in (0, 1, 2, "all")), job("regress_aggregate", **svr),
                       job("regress_model", **svr)}
    default = {j for j in planned_jobs(models_run, *args, "--forceall") if j.startswith("regress_model")}
    assert default == {job("regress_model", target="arousal", encoder="egemaps", regressor=r) for r in ("ridge", "svr")}
    assert L.REGRESSION_MODEL.startswith("results/regression/")
