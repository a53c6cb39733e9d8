"""The regression plans (speech_emotion.regress.plan, rule regress_plan): the classification plan's
decisions taken on a continuous target by a ridge probe scored by pooled inner CCC, on hand-built
synthetic corpora (docs/regression.md#the-regression-plan)."""

from __future__ import annotations

import numpy as np
import pytest

from speech_emotion.data.targets import Target
from speech_emotion.embed.embeddings import write_shard
from speech_emotion.regress.plan import make_regression_plan
from speech_emotion.train.plan import MIN_GAIN, make_plan
from synthetic import SIGNAL_LAYER, synthetic_corpus, write_embeddings

TARGET = Target("arousal", "arousal")
TARGET_LAYER = 1  # the layer that carries the target; SIGNAL_LAYER carries the class
FEATURES = {"layers": "auto", "probe_max_layers": 2, "probe_inner_folds": 3, "probe_C": 1.0, "probe_max_iter": 500,
            "probe_finalists": 3,
            "speaker_norm": "off", "speaker_norm_min_clips": 5}


def _target_corpus(seed=3):
    """synthetic_corpus (the class shows in SIGNAL_LAYER only) with an arousal made from TARGET_LAYER only."""
    frame, emb = synthetic_corpus()
    rng = np.random.default_rng(seed)
    frame["arousal"] = emb[:, TARGET_LAYER, :4] @ np.array([1.0, -0.5, 0.8, 0.3]) + rng.normal(scale=0.3, size=len(frame))
    return frame, emb


def _tables(frame):
    return frame[["clip_id", "speaker", "label", "arousal"]], frame[["clip_id", "fold"]]


def test_the_regression_plan_picks_the_targets_layer_and_the_classification_plan_the_class_layer(tmp_path):
    frame, emb = _target_corpus()
    shards = write_embeddings(tmp_path, frame, emb)
    manifest, folds = _tables(frame)
    regression = make_regression_plan("0", TARGET, shards, manifest, folds, FEATURES, seed=0)
    classification = make_plan("0", shards, manifest, folds, FEATURES, "auto", seed=0)
    assert TARGET_LAYER in regression.layers and SIGNAL_LAYER not in regression.layers, regression.evidence["layers"]
    assert SIGNAL_LAYER in classification.layers and TARGET_LAYER not in classification.layers
    layers = regression.evidence["layers"]
    assert int(np.argmax(layers["layer_scores"])) == TARGET_LAYER and layers["probe"] == "ridge"
    assert layers["layer_scores"][TARGET_LAYER] > 0.8  # pooled inner CCC
    assert {c["name"] for c in layers["candidates"]} == {"layer", "window", "weighted", "all"}
    assert regression.evidence["probe"]["name"] == "ridge" and regression.evidence["inner"]["grouping"] == "speaker"
    # copies: never, and the augmented shards are not read (the classification plan had a copy per clip)
    assert regression.features.copies is False
    assert regression.evidence["copies"]["mode"] == "never" and regression.evidence["copies"]["copy_rows"] == 0
    assert "clean clips only" in regression.evidence["copies"]["why"]
    assert classification.evidence["copies"]["copy_rows"] > 0


def test_the_test_fold_is_never_read(tmp_path):
    """Every test-fold clip's value and features changed: the same regression plan."""
    frame, emb = _target_corpus()
    test = (frame["fold"] == 2).to_numpy()
    plans = []
    for name, (values, features) in {"original": (frame["arousal"], emb), "changed": (
            frame["arousal"].where(~test, -frame["arousal"] * 7 + 100),
            np.where(test[:, None, None], np.random.default_rng(9).normal(size=emb.shape), emb).astype(np.float32))}.items():
        shards = write_embeddings(tmp_path / name, frame, features)
        manifest, folds = _tables(frame.assign(arousal=values))
        plans.append(make_regression_plan("2", TARGET, shards, manifest, folds,
                                          FEATURES | {"speaker_norm": "auto"}, seed=0).to_json())
    assert plans[0] == plans[1]
    assert plans[0]["n_train_clips"] == int((~test).sum())
    # the check can fail: the training clips' values shuffled change the evidence
    shuffled = np.random.default_rng(1).permutation(frame["arousal"].to_numpy())
    changed = frame.assign(arousal=frame["arousal"].where(test, shuffled))
    shards = write_embeddings(tmp_path / "train-changed", frame, emb)
    other = make_regression_plan("2", TARGET, shards, *_tables(changed), FEATURES | {"speaker_norm": "auto"}, seed=0)
    assert other.to_json()["evidence"] != plans[0]["evidence"]


def _speaker_offset_corpus(root, offsets: bool, n_speakers=12, per=16, dim=8, seed=0):
    """One-layer embeddings whose target is a direction of the clip's own features; with ``offsets``,
    each speaker adds a large offset to those features (not to the target): per-speaker
    standardisation removes it."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows, X, y = [], [], []
    for s in range(n_speakers):
        offset = rng.normal(scale=3.0, size=dim) if offsets else np.zeros(dim)
        for i in range(per):
            x = rng.normal(size=dim)
            y.append(x[:3] @ np.array([1.0, -0.7, 0.5]) + rng.normal(scale=0.3))
            X.append(x + offset)
            rows.append({"clip_id": f"s{s}_{i}", "speaker": f"s{s}", "label": "NEU", "fold": s % 3})
    frame = pd.DataFrame(rows).assign(arousal=y)
    frame.loc[frame.index % 7 == 0, "arousal"] = np.nan  # no value: out of the scores, in the speakers' statistics
    emb = np.asarray(X, dtype=np.float32)[:, None, :]
    path = root / "shard-0.npz"
    write_shard(path, frame["clip_id"], emb, "enc", "synthetic", "test")
    return frame, {"clean": {"enc": [str(path)]}}


@pytest.mark.parametrize("offsets", [True, False])
def test_speaker_norm_auto_is_decided_by_ccc(tmp_path, offsets):
    frame, shards = _speaker_offset_corpus(tmp_path, offsets)
    manifest, folds = frame[["clip_id", "speaker", "label", "arousal"]], frame[["clip_id", "fold"]]
    plan = make_regression_plan("0", TARGET, shards, manifest, folds, FEATURES | {"speaker_norm": "auto"}, seed=0)
    evidence = plan.evidence["speaker_norm"]
    assert plan.features.speaker_norm is offsets, evidence
    if offsets:
        assert evidence["score_with"] > evidence["score_without"] + MIN_GAIN
        assert evidence["score_with"] > 0.8
    training = frame[frame["fold"] != 0]
    assert plan.n_train_clips == int(training["arousal"].notna().sum()) < len(training)


def test_weighted_layers_of_a_regression_plan_weigh_the_targets_layer_most(tmp_path):
    frame, emb = _target_corpus()
    shards = write_embeddings(tmp_path, frame, emb, variants=("clean",))
    plan = make_regression_plan("0", TARGET, shards, *_tables(frame), FEATURES | {"layers": "weighted"}, seed=0)
    weights = plan.features.members[0].weights
    assert weights is not None and int(np.argmax(weights)) == TARGET_LAYER
    assert plan.evidence["layers"]["method"] == "config" and len(weights) == emb.shape[1]


def test_a_fusion_keeps_its_members_regression_layers(tmp_path):
    frame, emb = _target_corpus()
    members, shards = [], {"clean": {}}
    for name, layers in (("a", emb), ("b", emb[:, ::-1].copy())):
        path = tmp_path / name / "shard-0.npz"
        write_shard(path, frame["clip_id"], layers, name, "synthetic", "test")
        shards["clean"][name] = [str(path)]
        members.append((name, make_regression_plan("0", TARGET, {"clean": {name: [str(path)]}}, *_tables(frame),
                                                   FEATURES, seed=0).to_json()))
    fused = make_regression_plan("0", TARGET, shards, *_tables(frame), FEATURES | {"balance_fusion": "auto"}, seed=0,
                                 member_plans=members)
    assert fused.layers == {"a": [TARGET_LAYER], "b": [4 - TARGET_LAYER]}
    assert fused.evidence["layers"]["method"] == "fusion" and fused.evidence["balance"]["score_without"] > 0.8


def test_a_regressor_clips_a_feature_to_its_training_range(tmp_path):
    """A test clip whose feature lies far beyond the training rows (an eGeMAPS stddevNorm of a near-zero mean
    was 20,000 training SDs out on the demo) is predicted as at the edge of that range, also after loading."""
    from speech_emotion.train.classifiers import save_model
    from speech_emotion.train.regressors.modelfile import load_regressor
    from speech_emotion.train.regressors.ridge import RidgeRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = X @ np.array([1.0, 0.5, 0.0, -0.5]) + rng.normal(scale=0.1, size=200)
    model = RidgeRegressor(alpha=1.0).fit(X, y)
    far, edge = X[:1].copy(), X[:1].copy()
    far[0, 0], edge[0, 0] = 2e4, X[:, 0].max()
    assert model.predict(far) == pytest.approx(model.predict(edge))
    assert abs(model.predict(far)[0]) < 2 * np.abs(y).max()
    save_model(model, tmp_path / "model.zip")
    assert load_regressor(tmp_path / "model.zip").predict(far) == pytest.approx(model.predict(far), abs=1e-6)
