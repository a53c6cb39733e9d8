"""Metrics against hand-computed values, order invariance, and the CREMA-D human baseline."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import shared_path

from speech_emotion.evaluate.human import human_baseline, read_perception, vote_to_label
from speech_emotion.evaluate.metrics import (
    MetricsError,
    check_coverage,
    compute_metrics,
    format_summary,
    read_predictions,
    summary_row,
    summary_table,
)

# Two folds, two classes. Fold 0: 3/4 right, fold 1: 2/3 right (hand-computed values below).
ROWS = [
    # clip, fold, label, prediction, speaker, intensity, sex
    ("c1", 0, "ANG", "ANG", "s1", "LO", "Male"),
    ("c2", 0, "ANG", "SAD", "s1", "HI", "Male"),
    ("c3", 0, "SAD", "SAD", "s1", "XX", "Male"),
    ("c4", 0, "SAD", "SAD", "s2", "XX", "Female"),
    ("c5", 1, "ANG", "ANG", "s2", "XX", "Female"),
    ("c6", 1, "SAD", "ANG", "s3", "LO", "Female"),
    ("c7", 1, "SAD", "SAD", "s3", "XX", "Female"),
]


def tables():
    preds = pd.DataFrame(
        [
            {"clip_id": c, "fold": f, "label": y, "prediction": p, "prob_ANG": float(p == "ANG"),
             "prob_SAD": float(p == "SAD")}
            for c, f, y, p, *_ in ROWS
        ]
    )
    manifest = pd.DataFrame(
        [{"clip_id": c, "path": f"audio/{c}.wav", "speaker": s, "label": y, "intensity": i, "Sex": x}
         for c, _, y, _, s, i, x in ROWS]
    )
    return preds, manifest


def test_hand_computed_values():
    preds, manifest = tables()
    m = compute_metrics(preds, manifest)
    assert m["labels"] == ["ANG", "SAD"]
    assert m["n_clips"] == 7 and m["n_folds"] == 2 and m["folds"] == {"0": 4, "1": 3}
    # accuracy: 3/4 and 2/3 per fold, 5/7 pooled
    assert m["accuracy"]["per_fold"] == pytest.approx({"0": 0.75, "1": 2 / 3}, abs=1e-6)
    assert m["accuracy"]["mean"] == pytest.approx((0.75 + 2 / 3) / 2, abs=1e-6)
    assert m["accuracy"]["std"] == pytest.approx((0.75 - 2 / 3) / 2, abs=1e-6)
    assert m["accuracy"]["pooled"] == pytest.approx(5 / 7, abs=1e-6)
    # UA: fold 0 recalls 1/2 and 1 -> 0.75; fold 1 recalls 1 and 1/2 -> 0.75; pooled (2/3 + 3/4) / 2
    assert m["balanced_accuracy"]["per_fold"] == pytest.approx({"0": 0.75, "1": 0.75}, abs=1e-6)
    assert m["balanced_accuracy"]["std"] == 0
    assert m["balanced_accuracy"]["pooled"] == pytest.approx((2 / 3 + 3 / 4) / 2, abs=1e-6)
    # F1 fold 0: ANG 2*1*.5/1.5 = 2/3, SAD 2*(2/3)*1/(5/3) = 0.8; fold 1: both 2/3
    assert m["f1_macro"]["per_fold"] == pytest.approx({"0": (2 / 3 + 0.8) / 2, "1": 2 / 3}, abs=1e-6)
    assert m["f1_weighted"]["per_fold"]["0"] == pytest.approx((2 / 3 + 0.8) / 2, abs=1e-6)
    # pooled per class: ANG P = R = 2/3, SAD P = R = 3/4
    assert m["per_class"]["ANG"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}, abs=1e-6)
    assert m["per_class"]["SAD"] == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}, abs=1e-6)
    assert m["f1_weighted"]["pooled"] == pytest.approx((3 * 2 / 3 + 4 * 0.75) / 7, abs=1e-6)
    assert m["confusion"]["counts"] == [[2, 1], [1, 3]]
    assert m["confusion"]["normalized"][0] == pytest.approx([2 / 3, 1 / 3], abs=1e-6)
    assert m["confusion"]["normalized"][1] == [0.25, 0.75]
    assert m["chance"]["balanced_accuracy"] == 0.5 and m["chance"]["accuracy"] == pytest.approx(4 / 7, abs=1e-6)


def test_macro_f1_averages_over_the_classes_present_in_the_truth():
    """90 clips of two classes, one predicted as a class absent from this subset (a fold without an
    Angry test clip): F1 NEU = 2*1*(44/45)/(1+44/45) = 88/89, F1 SAD = 1; the absent class adds nothing.
    Before, macro-F1 also averaged in F1 = 0 for ANG: (88/89 + 1) / 3 = 0.663 while UA is 0.989."""
    from speech_emotion.evaluate.metrics import scores

    truth = ["NEU"] * 45 + ["SAD"] * 45
    predicted = ["ANG"] + ["NEU"] * 44 + ["SAD"] * 45
    got = scores(truth, predicted)
    assert got["balanced_accuracy"] == pytest.approx((44 / 45 + 1) / 2)
    assert got["f1_macro"] == pytest.approx((88 / 89 + 1) / 2)
    assert got["f1_weighted"] == pytest.approx((88 / 89 + 1) / 2)


def test_chance_per_fold_follows_the_classes_of_each_test_part():
    """Fold 0 tests 4 classes, fold 1 only 2: chance UA 1/4 and 1/2, fold mean 3/8; pooled 1/4."""
    rows = [("a", 0, "ANG"), ("b", 0, "HAP"), ("c", 0, "NEU"), ("d", 0, "SAD"),
            ("e", 1, "NEU"), ("f", 1, "SAD"), ("g", 1, "SAD")]
    preds = pd.DataFrame(rows, columns=["clip_id", "fold", "label"]).assign(prediction="SAD")
    m = compute_metrics(preds)
    assert m["chance"]["balanced_accuracy"] == 0.25
    assert m["chance"]["balanced_accuracy_mean"] == pytest.approx((1 / 4 + 1 / 2) / 2)
    assert m["chance"]["accuracy_mean"] == pytest.approx((1 / 4 + 2 / 3) / 2, abs=1e-6)
    row = summary_row(m, "enc", "clf", "speaker")
    assert row["chance_balanced_accuracy_mean"] == pytest.approx(0.375)
    assert row["chance_balanced_accuracy_pooled"] == 0.25
    assert summary_columns(format_summary(summary_table([row])))[1][4:6] == ["0.250", "0.375"]


def summary_columns(text: str) -> list[list[str]]:
    """format_summary's table rows split into cells (cells are 2+ spaces apart); the legend lines dropped."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()
            if line and not line.startswith(("UA:", "fold-mean chance:"))]


def loso_single_emotion_speakers() -> pd.DataFrame:
    """Leave one speaker out, 4 classes: s1..s4 have one emotion each (2 clips), s5 has ANG and HAP.
    Every clip predicted SAD: recall SAD 1, the rest 0."""
    labels = ["ANG", "HAP", "NEU", "SAD"]
    rows = [("a1", 0, "ANG"), ("a2", 0, "ANG"), ("b1", 1, "HAP"), ("b2", 1, "HAP"), ("c1", 2, "NEU"),
            ("c2", 2, "NEU"), ("d1", 3, "SAD"), ("d2", 3, "SAD"), ("e1", 4, "ANG"), ("e2", 4, "HAP")]
    preds = pd.DataFrame(rows, columns=["clip_id", "fold", "label"]).assign(prediction="SAD")
    return preds.assign(**{f"prob_{k}": float(k == "SAD") for k in labels})


def test_loso_chance_is_one_over_the_model_classes_beside_the_fold_mean():
    """Single-emotion held-out speakers: the fold-mean chance is (1 + 1 + 1 + 1 + 1/2) / 5 = 0.9, above the
    model's 1/4 = 0.25; the summary's UA chance column shows 0.25 (what UA is compared with), 0.9 beside it."""
    preds = loso_single_emotion_speakers()
    m = compute_metrics(preds)
    # the CV numbers themselves: per-fold UA 0, 0, 0, 1, 0 (fold mean 0.2); pooled recall ANG HAP NEU 0, SAD 1
    assert m["balanced_accuracy"]["mean"] == pytest.approx(0.2) and m["balanced_accuracy"]["pooled"] == 0.25
    chance = m["chance"]
    assert chance["balanced_accuracy_model"] == 0.25 and chance["n_model_classes"] == 4
    assert chance["balanced_accuracy_mean"] == pytest.approx(0.9)
    assert chance["balanced_accuracy"] == 0.25
    assert "compare UA (pooled, and the fold mean) with it" in chance["note"]
    row = summary_row(m, "enc", "clf", "loso")
    assert row["chance_balanced_accuracy_model"] == 0.25 and row["chance_balanced_accuracy_mean"] == pytest.approx(0.9)
    text = format_summary(summary_table([row]))
    header, body = summary_columns(text)
    assert header[4:6] == ["UA chance", "fold-mean chance"]
    assert body[2:6] == ["0.200 ± 0.400", "0.250", "0.250", "0.900"]
    assert "UA chance: 1/(classes the model knows)" in text and "compare UA pooled (and UA) with it" in text


def test_chance_counts_the_classes_the_model_knows_not_only_those_tested():
    """One predefined test partition with ANG and SAD clips, a model of 4 classes (its probability columns):
    1/classes in the test clips is 1/2, the model's chance 1/4; the summary and leaderboard show 1/4."""
    from speech_emotion.evaluate.leaderboard import leaderboard_html

    preds = loso_single_emotion_speakers()
    test = preds[preds["label"].isin(["ANG", "SAD"])].assign(fold=0)
    m = compute_metrics(test)
    assert m["chance"]["balanced_accuracy"] == 0.5 and m["chance"]["balanced_accuracy_model"] == 0.25
    table = summary_table([summary_row(m, "enc", "clf", "predefined")])
    assert summary_columns(format_summary(table))[1][4] == "0.250"
    page = leaderboard_html(table, "urdu")
    assert "<th>chance UA</th>" in page and "<td>0.500</td>\n<td>0.250</td>" in page  # UA pooled, chance UA


def test_per_speaker_and_groups():
    preds, manifest = tables()
    m = compute_metrics(preds, manifest)
    sp = m["per_speaker"]
    # s1: 2/3, s2: 2/2, s3: 1/2
    assert sp["accuracy"] == pytest.approx({"s1": 2 / 3, "s2": 1.0, "s3": 0.5}, abs=1e-6)
    assert (sp["min"], sp["max"]) == (0.5, 1.0)
    assert sp["median"] == pytest.approx(2 / 3, abs=1e-6)
    assert [w["speaker"] for w in sp["worst"]] == ["s3", "s1", "s2"]
    assert sp["worst"][0] == {"speaker": "s3", "accuracy": 0.5, "n": 2, "balanced_accuracy": 0.5, "n_clips": 2}
    intensity = m["per_group"]["intensity"]
    assert list(intensity) == ["LO", "HI", "XX"]  # CREMA-D order, absent levels skipped
    assert intensity["LO"]["n"] == 2 and intensity["LO"]["accuracy"] == 0.5
    assert intensity["XX"]["accuracy"] == 1.0 and intensity["HI"]["accuracy"] == 0.0
    sex = m["per_group"]["sex"]  # manifest column "Sex" matched case-insensitively
    assert sex["Male"]["accuracy"] == pytest.approx(2 / 3, abs=1e-6)
    assert sex["Female"]["n"] == 4 and sex["Female"]["accuracy"] == 0.75


def test_per_speaker_has_ua_accuracy_and_clip_count():
    """s1: ANG->ANG, ANG->SAD, SAD->SAD: accuracy 2/3, UA (1/2 + 1) / 2 = 0.75, 3 clips; s2: both right,
    2 clips; s3: SAD->ANG, SAD->SAD: accuracy and UA (SAD's recall) 1/2, 2 clips."""
    preds, manifest = tables()
    sp = compute_metrics(preds, manifest)["per_speaker"]
    assert sp["balanced_accuracy"] == {"s1": 0.75, "s2": 1.0, "s3": 0.5}
    assert sp["accuracy"] == pytest.approx({"s1": 2 / 3, "s2": 1.0, "s3": 0.5}, abs=1e-6)
    assert sp["n_clips"] == {"s1": 3, "s2": 2, "s3": 2}
    assert sp["worst"][1] == pytest.approx({"speaker": "s1", "accuracy": 2 / 3, "n": 3, "balanced_accuracy": 0.75,
                                            "n_clips": 3}, abs=1e-6)


def test_invariant_to_fold_and_row_order(tmp_path):
    preds, manifest = tables()
    paths = []
    for fold, part in preds.groupby("fold"):
        path = tmp_path / f"fold-{fold}.tsv"
        part.iloc[::-1].to_csv(path, sep="\t", index=False)  # rows reversed inside the file
        paths.append(path)
    forward = compute_metrics(read_predictions(paths), manifest)
    backward = compute_metrics(read_predictions(paths[::-1]), manifest.sample(frac=1, random_state=3))
    shuffled = compute_metrics(preds.sample(frac=1, random_state=1), manifest)
    text = json.dumps(forward, sort_keys=True)
    assert json.dumps(backward, sort_keys=True) == text
    assert json.dumps(shuffled, sort_keys=True) == text


def test_bad_predictions_are_reported(tmp_path):
    preds, manifest = tables()
    with pytest.raises(MetricsError, match="more than once"):
        compute_metrics(pd.concat([preds, preds.iloc[:1]]), manifest)
    with pytest.raises(MetricsError, match="not in the manifest"):
        compute_metrics(preds, manifest.iloc[1:])
    path = tmp_path / "p.tsv"
    preds.drop(columns="prediction").to_csv(path, sep="\t", index=False)
    with pytest.raises(MetricsError, match="prediction"):
        read_predictions([path])


def test_vote_to_label():
    assert vote_to_label("A") == "ANG" and vote_to_label("N") == "NEU" and vote_to_label("Sad") == "SAD"
    assert vote_to_label("N:S") is None and vote_to_label(None) is None and vote_to_label("") is None


def test_human_baseline_tiny(tmp_path):
    table = tmp_path / "summaryTable.csv"
    table.write_text(
        '"","FileName","VoiceVote","VoiceLevel"\n'
        '"1","c1","A","60"\n"2","c2","N","50"\n"3","c3","S","70"\n"4","c4","N:S","40"\n'
        '"5","c99","H","80"\n'
    )
    preds, manifest = tables()
    m = compute_metrics(preds, manifest, read_perception(table))
    h = m["human_baseline"]
    # Clips c1..c4 have votes: listeners right on c1 and c3 (c4 is a tie), model wrong only on c2.
    assert h["available"] and h["n_clips"] == 4 and h["n_tied_votes"] == 1
    assert h["human"]["accuracy"] == 0.5 and h["model"]["accuracy"] == 0.75
    assert h["per_class"]["ANG"] == {"n": 2, "human": 0.5, "model": 0.5}
    assert h["per_class"]["SAD"] == {"n": 2, "human": 0.5, "model": 1.0}
    assert h["human"]["balanced_accuracy"] == 0.5 and h["model"]["balanced_accuracy"] == 0.75


def test_human_baseline_absent_is_said():
    preds, manifest = tables()
    m = compute_metrics(preds, manifest, None, "dataset.perception not set")
    assert m["human_baseline"] == {"available": False, "reason": "dataset.perception not set"}


def test_human_baseline_matches_published_crema_d_agreement():
    """On the real summaryTable, a model that is always right vs listeners: 41.6 % (data README)."""
    perception = read_perception(shared_path("data", "cremad-meta", "summaryTable.csv"))
    labels = perception["clip_id"].str.split("_").str[2]
    preds = pd.DataFrame({"clip_id": perception["clip_id"], "fold": 0, "label": labels, "prediction": labels})
    h = human_baseline(preds, perception, sorted(labels.unique()))
    assert h["n_clips"] == 7442
    assert h["human"]["accuracy"] == pytest.approx(0.416, abs=0.001)
    assert h["per_class"]["NEU"]["human"] == pytest.approx(0.957, abs=0.001)
    assert h["per_class"]["SAD"]["human"] == pytest.approx(0.164, abs=0.001)
    assert h["model"]["accuracy"] == 1.0


def test_summary_table_sorted_and_formatted():
    preds, manifest = tables()
    m = compute_metrics(preds, manifest)
    rows = [summary_row(m, "wavlm", "svm", "speaker"), summary_row(m, "egemaps", "svm", "speaker")]
    table = summary_table(rows)
    assert list(table["encoder"]) == ["egemaps", "wavlm"]
    assert list(table.columns[:4]) == ["encoder", "classifier", "accuracy_mean", "accuracy_std"]
    assert table.loc[0, "balanced_accuracy_mean"] == 0.75 and table.loc[0, "n_clips"] == 7
    # pooled UA over both folds' predictions: recalls 2/3 and 3/4 (test_hand_computed_values)
    assert table.loc[0, "balanced_accuracy_pooled"] == pytest.approx((2 / 3 + 3 / 4) / 2, abs=1e-6)
    assert table.loc[0, "accuracy_pooled"] == pytest.approx(5 / 7, abs=1e-6)
    text = format_summary(table)
    assert "0.750 ± 0.000" in text and text.splitlines()[0].startswith("encoder")
    assert "UA pooled" in text.splitlines()[0] and "0.708" in text


def test_coverage_against_folds():
    preds, _ = tables()
    folds = preds[["clip_id", "fold"]]
    check_coverage(preds, folds)  # every clip once, in its own fold
    with pytest.raises(MetricsError, match="never predicted"):
        check_coverage(preds.iloc[1:], folds)
    with pytest.raises(MetricsError, match="another fold"):
        check_coverage(preds.assign(fold=0), folds)


def test_coverage_of_a_train_test_split():
    """Clips of the `train` partition (fold -1) are never predicted; a missing test clip is still caught."""
    preds, _ = tables()
    test = preds[preds["fold"] == 0]
    folds = pd.DataFrame({"clip_id": preds["clip_id"], "fold": [0] * 4 + [-1] * 3,
                          "fold_name": ["test"] * 4 + ["train"] * 3})
    check_coverage(test, folds)
    with pytest.raises(MetricsError, match=r"1 clip\(s\) never predicted \(e.g. \['c1'\]\)"):
        check_coverage(test.iloc[1:], folds)
    with pytest.raises(MetricsError, match=r"3 clip\(s\) of the train partition .* were predicted, e.g. \['c5', 'c6', 'c7'\]"):
        check_coverage(preds, folds)


def test_fold_names_per_fold_table_and_speaker_overlap():
    """LOSO-style names; per-fold UA over the labels of that fold's truth; speakers on both sides counted."""
    preds, manifest = tables()
    # c1-c3 are s1, c4-c5 s2, c6-c7 s3: fold 0 holds s1 and one s2 clip, fold 1 the other s2 clip and s3
    folds = pd.DataFrame({"clip_id": preds["clip_id"], "fold": preds["fold"],
                          "fold_name": ["Ses01"] * 4 + ["Ses02"] * 3})
    m = compute_metrics(preds, manifest, folds=folds)
    assert m["fold_names"] == {"0": "Ses01", "1": "Ses02"}
    assert m["per_fold"]["0"]["name"] == "Ses01" and m["per_fold"]["0"]["speakers"] == ["s1", "s2"]
    assert m["per_fold"]["1"] == pytest.approx(
        {"name": "Ses02", "n_clips": 3, "labels": ["ANG", "SAD"], "speakers": ["s2", "s3"], "accuracy": 2 / 3,
         "balanced_accuracy": 0.75, "f1_macro": 2 / 3, "f1_weighted": 2 / 3}, abs=1e-6)
    overlap = m["speaker_overlap"]
    assert (overlap["n_speakers"], overlap["n_clips"]) == (1, 2)  # s2's c4 (tested in 0) and c5 (tested in 1)
    assert overlap["speakers"] == {"s2": {"folds": ["Ses01", "Ses02"], "test_clips": 2}}
    # one speaker per fold; a fold whose truth has one label: its UA is that label's recall (1/3), not an
    # average with a recall of 0 for the absent label
    loso = preds.assign(fold=[0, 0, 0, 1, 1, 2, 2])
    loso_folds = pd.DataFrame({"clip_id": loso["clip_id"], "fold": loso["fold"],
                               "fold_name": ["s1"] * 3 + ["s2"] * 2 + ["s3"] * 2})
    single = loso.copy()
    single.loc[single["clip_id"] == "c3", "label"] = "ANG"  # s1's fold: truth ANG ANG ANG, predictions ANG SAD SAD
    manifest_single = manifest.assign(label=single["label"].to_numpy())
    m = compute_metrics(single, manifest_single, folds=loso_folds)
    assert m["fold_names"] == {"0": "s1", "1": "s2", "2": "s3"}
    assert m["per_fold"]["0"]["labels"] == ["ANG"] and m["per_fold"]["0"]["speakers"] == ["s1"]
    assert m["balanced_accuracy"]["per_fold"]["0"] == pytest.approx(1 / 3, abs=1e-6)
    assert m["speaker_overlap"] == {"n_speakers": 0, "n_clips": 0, "speakers": {},
                                    "note": "no speaker is on both sides of a fold"}


# --- one clip alone beside each speaker's own clips (features.speaker_norm) ----------------------------


def lone_tables():
    """tables() with fold 0 standardised per speaker: its clips labelled alone are all predicted SAD
    (c1, c2 ANG -> SAD wrong; c3, c4 SAD right). Fold 1 did not standardise: no lone predictions."""
    preds, manifest = tables()
    preds["lone_prediction"] = ["SAD"] * 4 + [None] * 3
    return preds, manifest


def test_lone_clip_scores_hand_computed_beside_unchanged_cv_scores():
    """Fold 0 alone: ANG recall 0, SAD 1 -> UA 0.5, WA 2/4, F1 macro (0 + 2/3) / 2. Fold 1 contributes its
    normal predictions (UA 0.75, WA 2/3). Pooled: ANG recall 1/3 (only c5), SAD 3/4 -> UA 13/24, WA 4/7."""
    from speech_emotion.evaluate.metrics import cv_summary

    preds, manifest = lone_tables()
    m = compute_metrics(preds, manifest)
    lone = m["lone_clip"]
    assert lone["folds_standardised"] == ["0"] and lone["n_folds"] == 2
    assert lone["balanced_accuracy"]["per_fold"] == pytest.approx({"0": 0.5, "1": 0.75}, abs=1e-6)
    assert lone["balanced_accuracy"]["mean"] == pytest.approx(0.625) and lone["balanced_accuracy"]["std"] == 0.125
    assert lone["balanced_accuracy"]["pooled"] == pytest.approx(13 / 24, abs=1e-6)
    assert lone["accuracy"]["per_fold"] == pytest.approx({"0": 0.5, "1": 2 / 3}, abs=1e-6)
    assert lone["accuracy"]["pooled"] == pytest.approx(4 / 7, abs=1e-6)
    assert lone["f1_macro"]["per_fold"]["0"] == pytest.approx(1 / 3, abs=1e-6)
    assert set(lone) == {"accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "folds_standardised", "n_folds",
                         "note"}
    assert "each speaker's own clips" in lone["note"] and "one clip alone" in lone["note"]
    # what CV reports is untouched: every other key is what the same predictions without the column give
    plain = compute_metrics(preds.drop(columns="lone_prediction"), manifest)
    assert {k: v for k, v in m.items() if k != "lone_clip"} == plain and "lone_clip" not in plain

    cv = cv_summary(m)
    assert cv["lone_clip"] == {
        "accuracy": {"mean": pytest.approx((0.5 + 2 / 3) / 2, abs=1e-6), "std": pytest.approx((2 / 3 - 0.5) / 2, abs=1e-6),
                     "pooled": pytest.approx(4 / 7, abs=1e-6)},
        "balanced_accuracy": {"mean": 0.625, "std": 0.125, "pooled": pytest.approx(13 / 24, abs=1e-6)},
        "f1_macro": {k: lone["f1_macro"][k] for k in ("mean", "std", "pooled")},
        "f1_weighted": {k: lone["f1_weighted"][k] for k in ("mean", "std", "pooled")},
        "folds_standardised": ["0"], "n_folds": 2}
    assert "lone_clip" not in cv_summary(plain)

    row = summary_row(m, "enc", "clf", "speaker")
    assert row["lone_clip_balanced_accuracy_pooled"] == pytest.approx(13 / 24, abs=1e-6)
    assert row["lone_clip_balanced_accuracy_mean"] == 0.625
    assert row["lone_clip_accuracy_pooled"] == pytest.approx(4 / 7, abs=1e-6)
    assert row["lone_clip_accuracy_mean"] == pytest.approx((0.5 + 2 / 3) / 2, abs=1e-6)
    # a metrics.json without the block (no fold standardised, or written before it existed): empty cells
    old = summary_row(plain, "enc", "clf", "speaker")
    assert all(old[f"lone_clip_{k}"] is None for k in ("balanced_accuracy_pooled", "balanced_accuracy_mean",
                                                       "accuracy_pooled", "accuracy_mean"))
    table = summary_table([row, summary_row(plain, "enc", "plain", "speaker")])
    header, *body = summary_columns(format_summary(table))
    alone = header.index("UA pooled alone")
    assert [cells[alone] for cells in body] == ["0.542", "-"]  # rows sorted by classifier: clf, plain


def test_lone_predictions_survive_the_predictions_files(tmp_path):
    """predictions.tsv of a standardised fold carries lone_prediction, another fold's does not: read
    together, the lone figure covers every clip (numeric-looking labels stay text)."""
    preds, _ = lone_tables()
    preds = preds.assign(label=preds["label"].map({"ANG": "01", "SAD": "02"}),
                         prediction=preds["prediction"].map({"ANG": "01", "SAD": "02"}),
                         lone_prediction=preds["lone_prediction"].map({"SAD": "02"}))
    preds = preds.rename(columns={"prob_ANG": "prob_01", "prob_SAD": "prob_02"})
    preds[preds["fold"] == 0].to_csv(tmp_path / "fold-0.tsv", sep="\t", index=False)
    preds[preds["fold"] == 1].drop(columns="lone_prediction").to_csv(tmp_path / "fold-1.tsv", sep="\t", index=False)
    m = compute_metrics(read_predictions([tmp_path / "fold-1.tsv", tmp_path / "fold-0.tsv"]))
    assert m["labels"] == ["01", "02"]
    assert m["lone_clip"]["folds_standardised"] == ["0"]
    assert m["lone_clip"]["balanced_accuracy"]["pooled"] == pytest.approx(13 / 24, abs=1e-6)


def test_the_leaderboard_shows_one_clip_alone_beside_each_speakers_own_clips():
    from speech_emotion.evaluate.leaderboard import leaderboard_html

    preds, manifest = lone_tables()
    m = compute_metrics(preds, manifest)
    plain = compute_metrics(preds.drop(columns="lone_prediction"), manifest)
    table = summary_table([summary_row(m, "enc", "clf", "speaker"), summary_row(plain, "enc", "plain", "speaker")])
    page = leaderboard_html(table, "main")
    assert "<th>UA pooled, one clip alone</th>" in page
    assert "<td>0.542</td>" in page and "<td>—</td>" in page
    assert "each speaker's own clips" in page and "one clip alone" in page
    # a summary.tsv written before the columns existed still renders
    old = table.drop(columns=[c for c in table.columns if c.startswith("lone_clip_")])
    assert "<td>—</td>" in leaderboard_html(old, "main")
