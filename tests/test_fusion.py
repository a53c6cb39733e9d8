"""Encoder fusion (encoders.<name>: {kind: fusion, members: [...]}): the members' features on their own
per-fold layers, side by side, without embedding anything again; one more row of summary.tsv."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import shared_path
from speech_emotion.embed.embeddings import write_shard
from speech_emotion.train.features import FeatureSpec



def test_fused_variant_aligns_clips_and_concatenates_each_members_layers(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4, 2))  # encoder a: 4 layers of 2 dims
    b = rng.normal(size=(3, 1, 5))  # encoder b: 1 layer of 5 dims
    pa = tmp_path / "results/embeddings/a/clean/shard-0.npz"
    pb = tmp_path / "results/embeddings/b/clean/shard-0.npz"
    write_shard(pa, ["x", "y", "z"], a, "a", "m", "r", dtype="float32")
    write_shard(pb, ["z", "x", "y"], b[[2, 0, 1]], "b", "m", "r", dtype="float32")  # another clip order
    fused = FeatureSpec.of([("a", [1, 3]), ("b", [0])]).read_variant("clean", {"a": [pa], "b": [pb]})
    assert list(fused.clip_ids) == ["x", "y", "z"] and fused.features.shape == (3, 2 * 2 + 5)
    np.testing.assert_allclose(fused.features[1], np.r_[a[1, 1], a[1, 3], b[1, 0]], rtol=1e-6)
    with pytest.raises(ValueError, match="member encoder"):
        FeatureSpec.of([("a", [0]), ("b", [0])]).read_variant("clean", {"a": [pa]})


@pytest.mark.slow
def test_fusion_of_the_demo_encoders_reuses_their_embeddings_and_plans(extended_run):
    """The session's extended run (conftest.extended_config) fuses the demo's two encoders on a copy of the demo run."""
    workdir = extended_run
    planned = set(json.loads((workdir / "planned.json").read_text()))  # what it planned before it started
    embedded = {j for j in planned if j.startswith(("embed[", "augment[", "check_clips["))}
    assert embedded and all("encoder=tiny-emotion2vec" in j or "corpus_dir=corpora/copy/" in j for j in embedded), (
        f"nothing of the main corpus is embedded again but the new emotion2vec encoder: {sorted(embedded)}")
    assert {j for j in planned if j.startswith("plan[encoder=fused")}, "the fusion plans its own folds"
    for fold in ("0", "1", "2", "all"):
        plan = json.loads((workdir / f"results/cv/fused/plans/fold-{fold}.json").read_text())
        for i, member in enumerate(("tiny-wavlm", "egemaps")):
            own = json.loads((workdir / f"results/cv/{member}/plans/fold-{fold}.json").read_text())
            assert plan["features"]["members"][i] == own["features"]["members"][0] | {"encoder": member}
        evidence = plan["evidence"]
        assert evidence["layers"]["method"] == "fusion" and evidence["layers"]["members"]["egemaps"]
        assert "use" not in evidence["speaker_norm"] and "use" not in evidence["copies"]  # the pipeline holds them
    record = json.loads((workdir / "results/cv/fused/logreg/fold-0/record.json").read_text())
    wavlm = json.loads((workdir / "results/cv/tiny-wavlm/logreg/fold-0/record.json").read_text())
    egemaps = json.loads((workdir / "results/cv/egemaps/logreg/fold-0/record.json").read_text())
    assert record["n_features"] == wavlm["n_features"] + egemaps["n_features"]
    metrics = json.loads((workdir / "results/cv/fused/logreg/metrics.json").read_text())
    assert metrics["encoder"] == "fused" and metrics["n_clips"] == 240

    from speech_emotion import load_model

    model = load_model(workdir / "results/models/fused/logreg", device="cpu")
    assert set(model.encoders) == {"tiny-wavlm", "egemaps"}
    clip = shared_path("data", "cremad-sample", "AudioWAV", "1001_DFA_ANG_XX.wav")
    table = model.predict([clip], speakers=["1001"] if model.needs_speakers else None)
    assert table["error"].isna().all() and table["label"].iloc[0] in model.labels
    card = (workdir / "results/models/fused/logreg/MODEL_CARD.md").read_text()
    assert "`tiny-wavlm`" in card and "`egemaps`" in card


# --- balanced fusion (features.balance_fusion; the plan's decision: test_plan.py) ------------------
def test_block_scale_gives_every_block_the_same_total_variance():
    from speech_emotion.train.classifiers.base import block_scale

    # widths 3 and 1 of 4 columns: factors sqrt(2*3/4) and sqrt(2*1/4); variances 1/1.5 (x3) and 1/0.5
    np.testing.assert_allclose(block_scale((3, 1), 4), [1.5 ** 0.5] * 3 + [0.5 ** 0.5])
    with pytest.raises(ValueError, match=r"block widths \[3, 2\] do not add up to the 4 feature columns"):
        block_scale((3, 2), 4)
    from speech_emotion.train.classifiers.logreg import LogRegClassifier
    from speech_emotion.train.classifiers import model_bytes, model_from_bytes

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)) * [1, 2, 3, 4] + 5, np.arange(60) % 3
    model = LogRegClassifier(C=1.0, block_widths=(3, 1)).fit(X, y)
    scaled = model._scale(X)
    np.testing.assert_allclose(scaled.var(axis=0), [2 / 3] * 3 + [2], rtol=1e-4)  # each block sums to 2
    again = model_from_bytes(model_bytes(model))  # the scaled scaler travels in the model file
    np.testing.assert_allclose(again.predict_proba(X), model.predict_proba(X))
    plain = LogRegClassifier(C=1.0).fit(X, y)
    np.testing.assert_allclose(plain._scale(X).var(axis=0), 1, rtol=1e-4)
