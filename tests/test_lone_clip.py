"""One clip alone beside each speaker's own clips, on the demo run (its plans standardise per speaker).

A CV fold that standardises per speaker scores its test speakers with the statistics of their own test
clips and records, in ``lone_prediction``, each test clip labelled alone. The same fold model, loaded with
the public API and given one test file without a speaker (the population's statistics), must label it
as recorded; metrics.json, summary.tsv and the leaderboard carry both figures.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from speech_emotion import load_model
from speech_emotion.evaluate.metrics import compute_metrics

ENCODERS = ["tiny-wavlm", "egemaps"]
CLIPS = 4  # per encoder: labelling a file embeds it, so a few clips where alone and own clips disagree, and one where they agree


def _sample(written: pd.DataFrame) -> pd.DataFrame:
    differ = written[written["prediction"] != written["lone_prediction"]]
    same = written[written["prediction"] == written["lone_prediction"]]
    return pd.concat([differ.head(CLIPS - 1), same.head(1)])


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_fold_model_labelling_a_test_clip_alone_gives_the_recorded_lone_prediction(demo_run, encoder, monkeypatch):
    monkeypatch.chdir(demo_run)
    plan = json.loads((demo_run / f"results/cv/{encoder}/plans/fold-0.json").read_text())
    assert plan["features"]["speaker_norm"], "the demo's fold 0 standardises per speaker"
    fold = demo_run / f"results/cv/{encoder}/logreg/fold-0"
    written = pd.read_csv(fold / "predictions.tsv", sep="\t", dtype={"clip_id": str})
    assert written.columns[-1] == "lone_prediction" and written["lone_prediction"].notna().all()
    sample = _sample(written)
    assert (sample["prediction"] != sample["lone_prediction"]).any(), "the two conditions must differ somewhere"
    manifest = pd.read_csv(demo_run / "results/data/manifest.tsv", sep="\t", dtype=str).set_index("clip_id")
    model = load_model(fold, device="cpu")
    for clip, recorded in zip(sample["clip_id"], sample["lone_prediction"]):
        table = model.predict([str(demo_run / manifest.loc[clip, "path"])], speakers=[None])  # one file, no speaker
        assert list(table["speaker_norm"]) == ["population"]
        assert table["label"].iloc[0] == recorded, clip


@pytest.mark.slow
def test_the_demo_reports_one_clip_alone_beside_each_speakers_own_clips(demo_run):
    results = demo_run / "results"
    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    page = (results / "leaderboard.html").read_text()
    assert "<th>UA pooled, one clip alone</th>" in page
    for row in summary.itertuples():
        folder = results / f"cv/{row.encoder}/{row.classifier}"
        metrics = json.loads((folder / "metrics.json").read_text())
        lone = metrics["lone_clip"]
        plans = {k: json.loads((results / f"cv/{row.encoder}/plans/fold-{k}.json").read_text()) for k in range(3)}
        assert lone["folds_standardised"] == [str(k) for k, plan in plans.items() if plan["features"]["speaker_norm"]]
        assert lone["n_folds"] == metrics["n_folds"] == 3
        predictions = pd.concat([pd.read_csv(folder / f"fold-{k}/predictions.tsv", sep="\t") for k in range(3)])
        lone_labels = predictions["lone_prediction"].fillna(predictions["prediction"])
        alone = compute_metrics(predictions.assign(prediction=lone_labels).drop(columns="lone_prediction"))
        assert lone["balanced_accuracy"] == alone["balanced_accuracy"]
        assert row.lone_clip_balanced_accuracy_pooled == pytest.approx(alone["balanced_accuracy"]["pooled"])
        assert f"<td>{row.lone_clip_balanced_accuracy_pooled:.3f}</td>" in page
        info = json.loads((results / f"models/{row.encoder}/{row.classifier}/model.json").read_text())
        assert info["cv"]["lone_clip"]["balanced_accuracy"] == {k: lone["balanced_accuracy"][k] for k in ("mean", "std", "pooled")}
    assert np.isfinite(summary["lone_clip_accuracy_pooled"]).all()
