"""Explanations on the CV test folds (speech_emotion.explain, rules clip_levels, explain, explain_summary):
feature groups on the real openSMILE names, permutation importance on hand-computable inputs, the
interval over folds, the nuisance probes, that no label of a test fold is read while fitting, and the
demo run's outputs."""

from __future__ import annotations

import collections
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import DEMO, REPO, copy_run, job, planned_jobs
from speech_emotion.explain import importance as imp
from speech_emotion.explain import nuisance as nui
from speech_emotion.explain.groups import (FAMILIES, Group, check_cover, column_groups, descriptor_of, family_of,
                                           feature_names)
from speech_emotion.explain.pair import FoldFiles, explain_fold, explain_pair
from speech_emotion.explain.report import card_section, explanations_html, plot_importance, run_tables
from speech_emotion.train import classifiers as C
from speech_emotion.train.classifiers.registry import CLASSIFIERS, classifier_class
from speech_emotion.train.features import FeatureSpec, Member
from speech_emotion.train.fold import train_fold
from synthetic import LABELS, SIGNAL_LAYER, plan_json, synthetic_corpus, write_embeddings


# --- groups ------------------------------------------------------------------------------------------------
def test_egemaps_families_on_the_real_feature_names():
    names = feature_names("eGeMAPSv02")
    assert len(names) == 88
    counts = collections.Counter(family_of(n) for n in names)
    assert counts == {"pitch": 10, "loudness": 11, "spectral": 35, "cepstral": 16, "voice quality": 10, "temporal": 6}
    expected = {
        "F0semitoneFrom27.5Hz_sma3nz_percentile50.0": "pitch",
        "loudness_sma3_amean": "loudness",
        "equivalentSoundLevel_dBp": "loudness",
        "loudnessPeaksPerSec": "temporal",  # a rate, not a level
        "MeanVoicedSegmentLengthSec": "temporal",
        "StddevUnvoicedSegmentLength": "temporal",
        "jitterLocal_sma3nz_amean": "voice quality",
        "shimmerLocaldB_sma3nz_stddevNorm": "voice quality",
        "HNRdBACF_sma3nz_amean": "voice quality",
        "logRelF0-H1-A3_sma3nz_amean": "voice quality",
        "mfcc1V_sma3nz_amean": "cepstral",
        "mfcc4_sma3_stddevNorm": "cepstral",
        "alphaRatioUV_sma3nz_amean": "spectral",
        "hammarbergIndexV_sma3nz_amean": "spectral",
        "slopeV500-1500_sma3nz_amean": "spectral",
        "F2bandwidth_sma3nz_amean": "spectral",
        "F3amplitudeLogRelF0_sma3nz_stddevNorm": "spectral",
        "spectralFluxUV_sma3nz_amean": "spectral",
    }
    assert set(expected) <= set(names)
    assert {n: family_of(n) for n in expected} == expected
    descriptors = collections.Counter(descriptor_of(n) for n in names)
    assert descriptors["F0semitoneFrom27.5Hz"] == 10 and descriptors["loudness"] == 10 and len(descriptors) == 42


def test_compare_families_and_descriptors_on_the_real_feature_names():
    names = feature_names("ComParE_2016")
    assert len(names) == 6373
    counts = collections.Counter(family_of(n) for n in names)
    assert counts == {"spectral": 4200, "cepstral": 1400, "voice quality": 390, "loudness": 300, "pitch": 83}
    assert descriptor_of("audSpec_Rfilt_sma_de[3]_amean") == "audSpec_Rfilt"  # bands and deltas together
    assert descriptor_of("pcm_fftMag_mfcc_sma[1]_amean") == "pcm_fftMag_mfcc"
    assert family_of("pcm_fftMag_mfcc_sma[1]_amean") == "cepstral"
    assert family_of("F0final_sma_de_amean") == "pitch" and family_of("logHNR_sma_amean") == "voice quality"
    assert family_of("pcm_RMSenergy_sma_amean") == "loudness" and family_of("pcm_zcr_sma_amean") == "spectral"
    descriptors = collections.Counter(descriptor_of(n) for n in names)
    assert len(descriptors) == 27 and descriptors["audSpec_Rfilt"] == 2600 and descriptors["mfcc"] == 1400
    assert descriptors["F0final"] == 83 and descriptors["pcm_RMSenergy"] == 100
    with pytest.raises(ValueError, match="belongs to no known family"):
        family_of("glottalFlow_sma_amean")


def test_groups_of_an_opensmile_member_cover_its_columns_at_every_level():
    spec = FeatureSpec.of([0], encoder="egemaps")
    groups = column_groups(spec, [88], {"egemaps": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}})
    check_cover(groups, 88)
    by_level = collections.Counter(g.level for g in groups)
    assert by_level == {"family": 6, "descriptor": 42, "feature": 88}
    assert [g.name for g in groups if g.level == "family"] == list(FAMILIES)
    pitch = next(g for g in groups if g.name == "pitch")
    assert pitch.columns == tuple(range(10))  # the first ten functionals are F0's
    few = column_groups(spec, [88], {"egemaps": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}}, max_features=50)
    assert "feature" not in {g.level for g in few}  # a set larger than max_features stops at descriptors
    with pytest.raises(ValueError, match="87 columns, but eGeMAPSv02 has 88"):
        column_groups(spec, [87], {"egemaps": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}})


def test_layer_groups_follow_the_mean_and_std_halves_and_fusion_members():
    spec = FeatureSpec.of([1, 3], encoder="hf")  # 2 layers x 8 columns: mean 4 ++ std 4 each
    groups = {(g.level, g.name): g.columns for g in column_groups(spec, [16], {"hf": {"kind": "hf"}})}
    assert groups == {("layer", "layer 1"): tuple(range(0, 8)), ("layer", "layer 3"): tuple(range(8, 16)),
                      ("statistic", "mean"): (0, 1, 2, 3, 8, 9, 10, 11),
                      ("statistic", "std"): (4, 5, 6, 7, 12, 13, 14, 15)}
    weighted = FeatureSpec(members=(Member("hf", (1, 2, 3), (0.2, 0.3, 0.5)),))
    assert [g.name for g in column_groups(weighted, [8], {"hf": {"kind": "hf"}})] == ["weighted layers [1, 2, 3]",
                                                                                        "mean", "std"]
    fusion = FeatureSpec.of([("hf", [2]), ("egemaps", [0])])
    groups = column_groups(fusion, [8, 88], {"hf": {"kind": "hf"},
                                             "egemaps": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}})
    check_cover(groups, 96)
    members = [(g.name, g.columns) for g in groups if g.level == "member"]
    assert members == [("hf", tuple(range(8))), ("egemaps", tuple(range(8, 96)))]
    assert next(g for g in groups if g.name == "egemaps: pitch").columns == tuple(range(8, 18))
    assert next(g for g in groups if g.name == "hf: layer 2").columns == tuple(range(8))
    with pytest.raises(ValueError, match="a column is in two"):
        check_cover([Group("family", "a", (0, 1)), Group("family", "b", (1,))], 2)


# --- permutation importance on hand-computable inputs ----------------------------------------------------
class OnlyColumn3:
    """A fitted 'model' that reads column 3 only: class A below 0, B above."""

    classes_ = np.array(["A", "B"])

    def predict_proba(self, X):
        b = (np.asarray(X)[:, 3] > 0).astype(float)
        return np.stack([1 - b, b], axis=1)


def _column3_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 5)).astype(np.float32)
    X[:, 3] = [-1, -1, -1, -1, 1, 1, 1, 1]
    return X, np.array(["A"] * 4 + ["B"] * 4)


def test_a_model_that_reads_only_column_3_gets_all_importance_on_its_group():
    X, y = _column3_data()
    groups = [Group("feature", f"c{j}", (j,)) for j in range(5)] + [Group("family", "with 3", (2, 3)),
                                                                     Group("family", "without 3", (0, 1, 4))]
    # repeat 1 reverses the clips: every clip gets the other class's column 3 (UA 0, drop 1);
    # repeat 2 rotates by two: clips 2-5 keep a value of their class (UA 0.5, drop 0.5)
    orders = np.array([[7, 6, 5, 4, 3, 2, 1, 0], [2, 3, 4, 5, 6, 7, 0, 1]])
    base, shuffled = imp.shuffled_predictions(imp.model_proba(OnlyColumn3(), ["A", "B"]), X, groups, orders)
    assert base.tolist() == [0] * 4 + [1] * 4
    drops = imp.score_drops(base, shuffled, y, ["A", "B"], groups).set_index(["group", "class"])
    for name in ("c0", "c1", "c2", "c4", "without 3"):
        assert drops.loc[(name, "all"), "drop"] == 0.0 and drops.loc[(name, "A"), "drop"] == 0.0
    for name in ("c3", "with 3"):
        assert drops.loc[(name, "all"), "drop"] == pytest.approx(0.75)  # mean of 1.0 and 0.5
        assert drops.loc[(name, "all"), "drop_std"] == pytest.approx(0.25)
        assert drops.loc[(name, "A"), "drop"] == pytest.approx(0.75)  # recall A: 1 -> 0, 1 -> 0.5
    assert drops.loc[("c3", "all"), "base"] == 1.0


def test_shuffles_are_chunked_without_changing_the_predictions(monkeypatch):
    X, _ = _column3_data()
    groups = [Group("feature", f"c{j}", (j,)) for j in range(5)]
    orders = imp.permutations(len(X), 4, seed=42)
    assert orders.shape == (4, 8) and (np.sort(orders, axis=1) == np.arange(8)).all()
    np.testing.assert_array_equal(orders, imp.permutations(len(X), 4, seed=42))  # seeded
    proba = imp.model_proba(OnlyColumn3(), ["A", "B"])
    whole = imp.shuffled_predictions(proba, X, groups, orders)[1]
    monkeypatch.setattr(imp, "CHUNK_VALUES", 50)  # one (group, repeat) per call
    np.testing.assert_array_equal(imp.shuffled_predictions(proba, X, groups, orders)[1], whole)


def test_interval_over_folds_and_layers_a_fold_did_not_choose():
    mean, sd, low, high = imp.interval([0.1, 0.2, 0.3])
    half = 4.302653 * 0.1 / np.sqrt(3)  # t(0.975, 2 df)
    assert (mean, sd) == (pytest.approx(0.2), pytest.approx(0.1))
    assert (low, high) == (pytest.approx(0.2 - half, abs=1e-6), pytest.approx(0.2 + half, abs=1e-6))
    assert np.isnan(imp.interval([0.4])[2])
    rows = [{"fold": "0", "level": "layer", "group": "layer 3", "class": "all", "n_columns": 8, "drop": 0.3},
            {"fold": "1", "level": "layer", "group": "layer 3", "class": "all", "n_columns": 8, "drop": 0.6},
            {"fold": "1", "level": "layer", "group": "layer 2", "class": "all", "n_columns": 8, "drop": 0.3},
            {"fold": "0", "level": "family", "group": "pitch", "class": "A", "n_columns": 2, "drop": 0.5}]
    table = imp.summarise(pd.DataFrame(rows), ["0", "1"]).set_index("group")
    assert table.loc["layer 3", "importance"] == pytest.approx(0.45)
    # layer 2 was not chosen in fold 0: it counts 0 there (the model did not read it)
    assert table.loc["layer 2", "importance"] == pytest.approx(0.15) and table.loc["layer 2", "n_folds"] == 2
    assert table.loc["layer 2", "per_fold"] == "0.0000,0.3000"
    assert table.loc["pitch", "n_folds"] == 1  # a class present in one fold is not padded


# --- nuisance --------------------------------------------------------------------------------------------
def test_terciles_rms_and_probes():
    assert nui.terciles(np.array([5.0, 1.0, 3.0, 2.0, 4.0, 6.0])).tolist() == [2, 0, 1, 0, 1, 2]
    t = np.arange(16000) / 16000
    assert nui.rms_dbfs(np.sin(2 * np.pi * 440 * t)) == pytest.approx(-3.0103, abs=1e-3)
    assert nui.rms_dbfs(0.1 * np.sin(2 * np.pi * 440 * t)) == pytest.approx(-23.0103, abs=1e-3)
    rng = np.random.default_rng(0)
    target = np.repeat([0, 1, 2], 20)
    telling = np.eye(3)[target] * 0.9 + 0.05  # outputs that say the tercile
    ua, chance, n = nui.probe_score(nui.outputs(telling), target, seed=0)
    assert (ua, chance, n) == (1.0, pytest.approx(1 / 3), 60)
    ua_random, _, _ = nui.probe_score(rng.normal(size=(60, 3)), target, seed=0)
    assert ua_random < 0.6
    speakers = np.array(["a"] * 10 + ["b"] * 10 + ["c"])  # c has one clip: left out
    ua, chance, n = nui.probe_score(np.r_[np.zeros((10, 2)), np.ones((10, 2)), [[5, 5]]] + rng.normal(0, .01, (21, 2)),
                                    speakers, seed=0)
    assert (ua, chance, n) == (1.0, 0.5, 20)
    assert np.isnan(nui.probe_score(np.zeros((4, 2)), np.array(["a"] * 4), seed=0)[0])  # one speaker: no check



def test_a_probe_on_inputs_that_carry_nothing_scores_as_a_constant_guess():
    """A LOSO fold whose one test speaker recorded one emotion: the one-hot labels are one constant column.
    The reference probe then carries nothing (a constant guess: balanced accuracy = chance) instead of
    stopping the explain job (NearestCentroid refuses features without variance)."""
    durations = nui.terciles(np.arange(12.0))  # 4 clips per tercile
    reference = nui.label_reference(["Angry"] * 12, ["Angry", "Sad"], {"duration": durations, "loudness": durations,
                                                                      "speaker": np.array(["SM1"] * 12)}, seed=0)
    assert reference["duration"] == reference["loudness"] == pytest.approx(1 / 3)
    assert np.isnan(reference["speaker"])  # one speaker: no check
    # constant in a training split only: the two informative rows fall into one inner test split
    X = np.zeros((8, 1))
    X[:2] = 1.0
    ua, chance, n = nui.probe_score(X, np.array([0, 0, 0, 0, 1, 1, 1, 1]), seed=0)
    assert n == 8 and chance == 0.5 and 0.0 <= ua <= 1.0

def test_clip_levels_reads_each_clip(tmp_path):
    t = np.arange(8000) / 16000
    for name, amp in (("quiet", 0.05), ("loud", 0.5)):
        sf.write(tmp_path / f"{name}.wav", amp * np.sin(2 * np.pi * 200 * t), 16000, subtype="FLOAT")
    manifest = pd.DataFrame({"clip_id": ["quiet", "loud"], "path": [str(tmp_path / "quiet.wav"), str(tmp_path / "loud.wav")],
                             "duration_s": [0.5, 0.5]})
    levels = nui.clip_levels(manifest).set_index("clip_id")
    assert levels.loc["loud", "rms_dbfs"] - levels.loc["quiet", "rms_dbfs"] == pytest.approx(20.0, abs=1e-3)
    assert levels.loc["quiet", "duration_s"] == 0.5


# --- one fold end to end, and what it never fits ------------------------------------------------------------
def _fold_folder(tmp_path, classifier="logreg", speaker_norm=True):
    """Fold 0 of the synthetic corpus (the label only in layer SIGNAL_LAYER's first, 'mean', half),
    trained on layers [2, SIGNAL_LAYER] as the train job does, written as a model folder."""
    frame, emb = synthetic_corpus(n_speakers=9, per_label=3)
    paths = write_embeddings(tmp_path, frame, emb)
    manifest = frame[["clip_id", "speaker", "label"]]
    folds = frame[["clip_id", "fold"]]
    spec = FeatureSpec.of([2, SIGNAL_LAYER], encoder="enc", copies=False, speaker_norm=speaker_norm, min_clips=3)
    plan = plan_json(spec)
    result = train_fold("enc", classifier, 0, {"Cs": [1.0]} if classifier == "logreg" else {}, paths, manifest,
                        folds, plan, seed=0)
    folder = tmp_path / "fold-0"
    folder.mkdir()
    C.save_model(result.model, folder / "model.zip")
    result.features.write(folder / "features.json")
    result.predictions.to_csv(folder / "predictions.tsv", sep="\t", index=False)
    rng = np.random.default_rng(3)
    levels = pd.DataFrame({"clip_id": frame["clip_id"], "duration_s": rng.uniform(1, 3, len(frame)),
                           "rms_dbfs": rng.uniform(-30, -10, len(frame))}).set_index("clip_id")
    files = FoldFiles("0", folder / "model.zip", folder / "features.json", folder / "predictions.tsv")
    return files, paths, manifest, folds, levels


ENCODERS = {"enc": {"kind": "hf"}}


def test_a_fold_is_explained_by_the_layer_and_half_that_carry_the_label(tmp_path):
    files, paths, manifest, folds, levels = _fold_folder(tmp_path)
    result = explain_fold(files, paths, manifest, folds, levels, ENCODERS, repeats=5, seed=0)
    drops = result.drops[result.drops["class"] == "all"].set_index("group")["drop"]
    assert drops["layer 3"] > 0.4 and drops["mean"] > 0.4  # the label is in layer 3's mean half only
    assert abs(drops["layer 2"]) < 0.1 and abs(drops["std"]) < 0.1
    assert set(result.probes["nuisance"]) == {"duration", "loudness", "speaker"}
    assert (result.probes["chance"].round(4).tolist() == [0.3333, 0.3333, round(1 / 3, 4)])  # 3 test speakers
    importance, nuisance = explain_pair([files], paths, manifest, folds, levels, ENCODERS, repeats=5, seed=0)
    lines = card_section(importance, nuisance)
    assert lines[0] == "## Explanations (cross-validated)"
    assert any(line.startswith("| layer 3 | ") for line in lines) and any("speaker identity" in line for line in lines)
    plot_importance(importance, nuisance, tmp_path / "importance.png", title="enc / logreg")
    assert (tmp_path / "importance.png").read_bytes()[:4] == b"\x89PNG"
    imp_all, nui_all = run_tables({("enc", "logreg"): (importance, nuisance)})
    page = explanations_html(imp_all, nui_all, "synthetic")
    assert "enc: importance by layer" in page and "<td>logreg</td>" in page


def test_explanations_never_fit_anything_on_a_test_folds_labels(tmp_path, monkeypatch):
    """No classifier is fitted (the fold's model is loaded), no probe is fitted to predict an emotion,
    and permuting the test fold's labels changes nothing computed before scoring: the probabilities,
    the shuffled predictions and the probes on the model's outputs."""
    files, paths, manifest, folds, levels = _fold_folder(tmp_path, classifier="svm")

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"{type(self).__name__}.fit was called while explaining")

    for name in CLASSIFIERS:
        monkeypatch.setattr(classifier_class(name), "fit", refuse)
    from sklearn.neighbors import NearestCentroid

    fitted_targets = []
    original = NearestCentroid.fit
    monkeypatch.setattr(NearestCentroid, "fit",
                        lambda self, X, y: (fitted_targets.append(np.asarray(y).copy()), original(self, X, y))[1])
    first = explain_fold(files, paths, manifest, folds, levels, ENCODERS, repeats=3, seed=0)
    assert fitted_targets, "the probes ran"
    emotions = set(LABELS)
    assert all(not (set(np.asarray(t, dtype=str)) & emotions) for t in fitted_targets), "a probe learnt emotions"

    test = folds.loc[folds["fold"] == 0, "clip_id"]
    permuted = manifest.copy()
    rows = permuted["clip_id"].isin(test)
    permuted.loc[rows, "label"] = np.random.default_rng(1).permutation(permuted.loc[rows, "label"].to_numpy())
    assert (permuted["label"] != manifest["label"]).any()
    second = explain_fold(files, paths, permuted, folds, levels, ENCODERS, repeats=3, seed=0)
    np.testing.assert_array_equal(first.clip_ids, second.clip_ids)
    np.testing.assert_array_equal(first.probs, second.probs)
    np.testing.assert_array_equal(first.base, second.base)
    np.testing.assert_array_equal(first.shuffled, second.shuffled)
    columns = ["nuisance", "probe_ua", "chance", "n_clips"]
    pd.testing.assert_frame_equal(first.probes[columns], second.probes[columns])
    # ... while the scores, which read the labels, do change
    assert not first.drops["base"].equals(second.drops["base"])


def test_explaining_another_model_than_the_scored_one_fails(tmp_path):
    files, paths, manifest, folds, levels = _fold_folder(tmp_path, speaker_norm=False)
    table = pd.read_csv(files.predictions, sep="\t")
    table[f"prob_{LABELS[0]}"] = table[f"prob_{LABELS[0]}"] + 0.01
    table.to_csv(files.predictions, sep="\t", index=False)
    with pytest.raises(ValueError, match="differ from predictions.tsv by up to 0.01"):
        explain_fold(files, paths, manifest, folds, levels, ENCODERS, repeats=2, seed=0)


# --- the workflow ------------------------------------------------------------------------------------------
def test_the_final_models_card_reads_its_pairs_explanations_when_the_stage_is_on(tmp_path):
    """Rule final_model reads its pair's importance.tsv and nuisance.tsv (the card's explanations section)
    when explain.enabled is true, and nothing of the explain stage when it is false: dry runs of one card
    on an empty folder (the demo profile), whose jobs differ by the pair's explain job and clip_levels only."""
    target = "results/models/egemaps/logreg/MODEL_CARD.md"
    on = planned_jobs(tmp_path, target, *DEMO)
    off = planned_jobs(tmp_path, target, *DEMO, "--config", 'explain={"enabled":false}')
    assert job("final_model", encoder="egemaps", classifier="logreg") in off
    assert on - off == {job("explain", encoder="egemaps", classifier="logreg"), job("clip_levels")}, sorted(on)
    assert off <= on


@pytest.mark.slow
def test_demo_run_explains_every_pair(demo_run, tmp_path):
    results = demo_run / "results"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    for row in summary.to_dict("records"):
        folder = results / "cv" / row["encoder"] / row["classifier"]
        importance = pd.read_csv(folder / "importance.tsv", sep="\t")
        nuisance = pd.read_csv(folder / "nuisance.tsv", sep="\t").set_index("nuisance")
        assert (folder / "importance.png").stat().st_size > 0
        overall = importance[importance["class"] == "all"]
        if row["encoder"] == "egemaps":
            families = overall[overall["level"] == "family"]
            assert list(families["group"]) == list(FAMILIES) and (families["n_folds"] == row["n_folds"]).all()
            assert (families["ci_low"] <= families["importance"]).all()
            assert len(overall[overall["level"] == "feature"]) == 88
        else:
            assert set(overall["level"]) == {"layer", "statistic"}
        # the model's UA beside the probes is the CV's fold-mean UA
        assert nuisance.loc["duration", "model_ua"] == pytest.approx(row["balanced_accuracy_mean"], abs=1e-5)
        assert nuisance.loc["duration", "chance"] == pytest.approx(1 / 3)
    page = (results / "explain" / "explanations.html").read_text()
    assert "Nuisance checks beside UA" in page and "egemaps: importance by family" in page
    table = pd.read_csv(results / "explain" / "importance.tsv", sep="\t")
    assert len(table[["encoder", "classifier"]].drop_duplicates()) == len(summary)
    # every final model's card has its pair's section (rule final_model reads the pair's tables)
    for e, c in summary[["encoder", "classifier"]].itertuples(index=False):
        card = (results / "models" / e / c / "MODEL_CARD.md").read_text(encoding="utf-8")
        assert card.count("\n## Explanations (cross-validated)\n") == 1, (e, c)
        assert card.index("\n## Evaluation\n") < card.index("\n## Explanations") < card.index("\n## Intended use\n")
    # explain.* reruns the explain jobs and the cards that show them (rule final_model: seconds) only;
    # explain.enabled false leaves the stage out of the target and rewrites the cards without the section
    stale = copy_run(demo_run, tmp_path / "run")
    pairs = list(summary[["encoder", "classifier"]].itertuples(index=False))
    cards = {job("final_model", encoder=e, classifier=c) for e, c in pairs}
    assert planned_jobs(stale, *DEMO, "--config", 'explain={"repeats":4}') == (
        {job("explain", encoder=e, classifier=c) for e, c in pairs} | {"explain_summary"} | cards)
    shutil.rmtree(stale / "results" / "explain")  # the run's tables (and clip levels, an intermediate now)
    assert planned_jobs(stale, *DEMO) == {"explain_summary"}
    assert planned_jobs(stale, *DEMO, "--config", 'explain={"enabled":false}') == cards
