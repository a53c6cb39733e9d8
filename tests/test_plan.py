"""The per-fold plan (speech_emotion.train.plan, rule plan): the layer choice (the probe, its candidates,
the layer weighting), the decisions on augmented copies, per-speaker standardisation and fusion balance,
and the margin a richer candidate needs.

Two plan tests stay where docs/leakage.md cites them: test_train.py::test_plan_uses_training_fold_only
and test_classifiers.py::test_copies_decision_is_not_fooled_by_copies_of_held_out_clips."""

from __future__ import annotations

import numpy as np
import pytest

from speech_emotion.train.classifiers import inner as I
from speech_emotion.train.classifiers.logreg import LogRegClassifier
from speech_emotion.train.features import FeatureSpec
from speech_emotion.train.fold_plan import Plan, probe_table
from speech_emotion.train.fold import train_fold
from speech_emotion.train.plan import (
    SCREEN_ALPHA, Candidates, Probe, choose_copies, choose_layers, choose_speaker_norm, make_plan, probe_layers,
    ridge_screen,
)
from synthetic import DIM, LABELS, N_LAYERS, SIGNAL_LAYER, plan_json, speaker_corpus, synthetic_corpus, write_embeddings


def candidates(y, groups, probe, clips=None):
    """The probe on the one shared set of inner splits of clean rows (clips: each row its own clip)."""
    y = np.asarray(y)
    return Candidates(probe, y, None if groups is None else np.asarray(groups),
                      np.arange(len(y)).astype(str) if clips is None else np.asarray(clips))


def layers_of(emb, y, groups, probe):
    """probe_layers on the rows given: (member, score, evidence)."""
    return probe_layers(emb, candidates(y, groups, probe), probe)


FEATURES = {"layers": "auto", "probe_max_layers": 2, "probe_inner_folds": 5, "probe_C": 1.0, "probe_max_iter": 500,
            "probe_finalists": 3,
            "speaker_norm": "off", "speaker_norm_min_clips": 5}


# --- what the plan reads ---------------------------------------------------------------------------
def test_plan_uses_training_fold_only(tmp_path, monkeypatch):
    frame, emb = synthetic_corpus()
    paths = write_embeddings(tmp_path, frame, emb)
    seen = []
    import speech_emotion.train.plan as P

    original = P.Candidates.__post_init__

    def spy(self):
        seen.append(set(self.groups))
        original(self)

    monkeypatch.setattr(P.Candidates, "__post_init__", spy)
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    result = make_plan("1", paths, manifest, folds, FEATURES, "auto", seed=0)
    test_speakers = set(frame.loc[frame["fold"] == 1, "speaker"])
    assert len(seen) == 1 and not seen[0] & test_speakers, "one shared set of inner splits, of training speakers"
    assert SIGNAL_LAYER in result.layers and result.fold == "1"
    n_train = int((frame["fold"] != 1).sum())
    copies = result.evidence["copies"]
    assert copies["mode"] == "auto" and copies["copy_rows"] == n_train  # one copy each
    assert "use" not in copies and copies["score_without"] is not None, "the decision lives in the pipeline only"
    assert isinstance(result.features.copies, bool)
    table = probe_table([result])
    assert list(table.columns) == ["fold", "layer", "score", "chosen", "scored_by"]
    assert len(table) == N_LAYERS and table["chosen"].sum() == len(result.layers)
    assert set(table["scored_by"]) == {"ridge screen"}  # 5 layers, 3 finalists: every layer screened
    assert table["score"].tolist() == result.evidence["layers"]["layer_scores"]
    assert Plan.from_json(result.to_json()) == result



# --- layers: the probe, its candidates and the layer weighting -------------------------------------------
def test_probe_picks_the_informative_layer():
    frame, emb = synthetic_corpus()
    member, _, result = layers_of(emb, frame["label"].to_numpy(), frame["speaker"].to_numpy(),
                                  Probe(max_layers=3, inner_folds=3))
    layers = list(member.layers)
    assert int(np.argmax(result["layer_scores"])) == SIGNAL_LAYER
    assert SIGNAL_LAYER in layers
    assert layers == list(range(layers[0], layers[-1] + 1)), "layers must be adjacent"
    assert len(layers) <= 3
    assert result["layer_scores"][SIGNAL_LAYER] > 0.8 > max(s for i, s in enumerate(result["layer_scores"]) if i != SIGNAL_LAYER)
    fixed, _, evidence = choose_layers("last", emb, frame["label"], None, Probe())
    assert fixed.layers == (N_LAYERS - 1,) and evidence["method"] == "config"


def test_the_ridge_screen_is_scikit_learns_balanced_ridge_classifier_on_each_inner_training_part():
    from sklearn.linear_model import RidgeClassifier
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    y = np.array(["ang"] * 30 + ["hap"] * 12 + ["neu"] * 18)  # unbalanced: the class weights matter
    X = rng.normal(size=(len(y), 7)).astype(np.float32)
    X[:, 2] += (y == "ang") * 1.5
    X[:, 5] = 3.0  # a constant column
    splits = candidates(y, np.arange(len(y)) % 6, Probe(inner_folds=3)).splits
    values = ridge_screen(X, y, splits)
    for tr, va in splits:
        scaler = StandardScaler().fit(X[tr])
        reference = RidgeClassifier(alpha=SCREEN_ALPHA * len(tr), class_weight="balanced").fit(scaler.transform(X[tr]), y[tr])
        assert list(reference.classes_) == ["ang", "hap", "neu"]
        assert values[va] == pytest.approx(reference.decision_function(scaler.transform(X[va])), abs=1e-6)
    assert np.array_equal(ridge_screen(X, y, splits, n_jobs=2), values), "the splits side by side: the same numbers"


def test_only_the_screens_finalists_are_fitted_by_the_logistic_probe():
    frame, emb = synthetic_corpus()
    y, groups = frame["label"].to_numpy(), frame["speaker"].to_numpy()
    shared = candidates(y, groups, Probe(max_layers=1, inner_folds=3, finalists=2))
    member, _, result = probe_layers(emb, shared, shared.probe)
    fitted = sorted(key[1] for key in shared.scores if key[0] == "layers" and len(key[1]) == 1)
    screened = sorted(key[1] for key in shared.scores if key[0] == "screen")
    assert screened == list(range(N_LAYERS)) and len(result["layer_scores"]) == N_LAYERS
    finalists = [f["layer"] for f in result["screen"]["finalists"]]
    assert fitted == [(i,) for i in finalists] and len(finalists) == 2
    top_two = sorted(np.argsort(result["layer_scores"])[::-1][:2].tolist())
    assert finalists == top_two and member.layers == (SIGNAL_LAYER,)
    # every layer through the probe: the same choice, no screen
    every = candidates(y, groups, Probe(max_layers=1, inner_folds=3))
    same, _, unscreened = probe_layers(emb, every, every.probe)
    assert same == member and unscreened["screen"] is None
    assert sorted(key[1] for key in every.scores if key[0] == "layers" and len(key[1]) == 1) == \
        [(i,) for i in range(N_LAYERS)]
    assert [f["score"] for f in result["screen"]["finalists"]] == [unscreened["layer_scores"][i] for i in finalists]


def spread_corpus(n_speakers=12, per_label=4, seed=0):
    """Each layer carries a weak, independent view of the label: no single layer is enough, the
    layers together are (the case for all layers or a layer weighting)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(LABELS)), per_label)[None, :].repeat(n_speakers, 0).ravel()
    groups = np.repeat(np.arange(n_speakers), len(LABELS) * per_label)
    emb = rng.normal(size=(len(y), N_LAYERS, DIM)).astype(np.float32)
    for layer in range(N_LAYERS):
        emb[np.arange(len(y)), layer, y] += 0.9
    return emb, np.asarray(LABELS)[y], groups


def test_the_probe_takes_all_layers_or_their_weighting_when_no_layer_suffices():
    emb, y, groups = spread_corpus()
    member, _, result = layers_of(emb, y, groups, Probe(max_layers=2, inner_folds=4))
    names = [c["name"] for c in result["candidates"]]
    assert names == ["layer", "window", "weighted", "all"]
    assert member.layers == tuple(range(N_LAYERS))
    best_single = max(result["layer_scores"])
    assert result["score"] > best_single + 0.1
    # explicit layers: weighted learns the weights on the rows given, one per layer
    fixed, _, _ = choose_layers("weighted", emb, y, None, Probe())
    assert fixed.layers == tuple(range(N_LAYERS)) and len(fixed.weights) == N_LAYERS
    assert all(w > 0 for w in fixed.weights)


def test_the_layer_weighting_finds_the_informative_layer_and_the_pipeline_applies_it():
    from speech_emotion.train.features import Member
    from speech_emotion.train.weighting import layer_scales, learn_layer_weights

    frame, emb = synthetic_corpus()
    weights = learn_layer_weights(emb, frame["label"].to_numpy())
    share = weights * layer_scales(emb)[1]  # the softmax weights before the scales were folded in
    assert share.argmax() == SIGNAL_LAYER and share[SIGNAL_LAYER] > 0.5 and share.sum() == pytest.approx(1.0)
    member = Member("enc", tuple(range(N_LAYERS)), tuple(weights))
    by_hand = sum(weights[layer] * emb[:, layer, :] for layer in range(N_LAYERS))
    np.testing.assert_allclose(member.features(emb), by_hand, rtol=1e-5, atol=1e-6)
    spec = FeatureSpec.of([member])
    assert FeatureSpec.from_json(spec.to_json()) == spec and spec.select({"enc": emb}).shape == (len(emb), DIM)


def test_the_layer_weights_do_not_depend_on_the_blas_threads():
    """The weighting solves on one BLAS thread, whatever train.threads gave the job: with WavLM-Large's
    width, two BLAS threads summed the products in another order (the weights moved in their last bits,
    a plan's weighted score by 0.002 at 738 clips) and cost about twice the CPU time."""
    from threadpoolctl import threadpool_limits

    from speech_emotion.train.weighting import learn_layer_weights

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 25, 2048)).astype(np.float16)
    y = rng.integers(0, 6, len(X))
    X[np.arange(len(X)), 3, y] += 1.0
    found = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            found.append(learn_layer_weights(X, y, max_iter=30))
    np.testing.assert_array_equal(found[0], found[1])


def test_the_layer_weighting_holds_one_float32_copy_of_the_layers():
    """Memory of a plan at full shape: the weighting reads an inner split's rows of the fold's float16
    layers straight into one float32 copy and reads that in blocks of rows (numpy's allocations,
    traced: 2.2 copies when the loss read two layouts, 0.5 more for the split's float16 rows)."""
    import tracemalloc

    from speech_emotion.train.weighting import learn_layer_weights

    rows, layers, dim = 600, 25, 1024
    emb = np.random.default_rng(0).normal(size=(rows, layers, dim)).astype(np.float16)
    split = np.arange(0, rows, 2)  # 300 rows: 31 MB in float32, 6 blocks of rows
    tracemalloc.start()
    try:
        learn_layer_weights(emb, np.arange(rows) % 3, max_iter=5, rows=split)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (len(split) * layers * dim * 4) < 1.35


def test_a_weighted_sum_is_the_same_for_a_row_alone_and_reads_float16_in_blocks():
    """A clip's weighted features do not depend on the rows computed with it (CV computes a fold at
    once, predict one recording), and the float16 layers are not converted to float32 all at once."""
    import tracemalloc

    from speech_emotion.train.weighting import weighted_sum

    rng = np.random.default_rng(2)
    emb = rng.normal(size=(400, 25, 768)).astype(np.float16)  # 31 MB in float32
    weights = rng.uniform(size=25)
    tracemalloc.start()
    try:
        together = weighted_sum(emb, weights)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.4 * emb.size * 4
    assert all(np.array_equal(weighted_sum(emb[i:i + 1], weights)[0], together[i]) for i in range(0, 400, 3))
    by_hand = np.einsum("l,nld->nd", weights, emb.astype(np.float64))
    np.testing.assert_allclose(together, by_hand, rtol=1e-5, atol=1e-5)
    some = weighted_sum(emb, weights[:3], layers=(4, 0, 7))
    np.testing.assert_allclose(some, np.einsum("l,nld->nd", weights[:3], emb[:, [4, 0, 7]].astype(np.float64)),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("continuous", [False, True])
def test_the_weighting_loss_read_in_blocks_of_rows_is_the_loss_of_all_rows(continuous):
    """The blocked loss and gradient equal the formula on all rows at once (written out here), and the
    gradient is the loss's (finite differences)."""
    from scipy.special import log_softmax, softmax

    from speech_emotion.train.weighting import weighting_loss

    rng = np.random.default_rng(3)
    n, n_layers, dim, k = 23, 4, 5, 1 if continuous else 3
    Z = rng.normal(size=(n, n_layers, dim)).astype(np.float32)
    if continuous:
        Y, sw = rng.normal(size=(n, 1)).astype(np.float32), None
    else:
        Y = np.eye(k, dtype=np.float32)[np.arange(n) % k]
        sw = rng.uniform(0.5, 2.0, n).astype(np.float32)
    theta = rng.normal(size=n_layers + dim * k + k)
    a, W, b = theta[:n_layers], theta[n_layers:n_layers + dim * k].reshape(dim, k), theta[n_layers + dim * k:]
    H = np.einsum("l,nld->nd", softmax(a), Z.astype(np.float64))
    out = H @ W + b
    if continuous:
        expected = 0.5 * ((out - Y) ** 2).sum() / n + 0.5 * 0.1 * (W ** 2).sum()
    else:
        expected = -(sw * (log_softmax(out, axis=1) * Y).sum(axis=1)).sum() / n + 0.5 * 0.1 * (W ** 2).sum()
    row_bytes = n_layers * dim * 4
    blocked = weighting_loss(Z, Y, sw, penalty=0.1, chunk_bytes=3 * row_bytes)  # 8 blocks, the last of 2 rows
    whole = weighting_loss(Z, Y, sw, penalty=0.1, chunk_bytes=n * row_bytes)
    value, grad = blocked(theta)
    assert value == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(grad, whole(theta)[1], rtol=1e-5, atol=1e-7)
    step = 1e-3 * np.eye(len(theta))  # central differences (the loss computes in float32)
    numeric = np.array([(blocked(theta + e)[0] - blocked(theta - e)[0]) / 2e-3 for e in step])
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-3)


def test_a_richer_candidate_needs_a_consistent_gain_over_the_inner_folds():
    from speech_emotion.train.plan import Score, beats

    plain = Score(0.70, (0.70, 0.70, 0.70, 0.70, 0.70))
    assert beats(Score(0.74, (0.74, 0.73, 0.75, 0.74, 0.74)), plain)
    assert not beats(Score(0.704, (0.704,) * 5), plain), "below the 0.005 margin"
    # the same pooled gain carried by one inner fold: noise, the plainer choice wins
    assert not beats(Score(0.74, (0.90, 0.66, 0.67, 0.69, 0.77)), plain)
    # inner folds at the ceiling for both do not hide a gain the others share
    at_ceiling = Score(0.944, (0.98, 0.75, 1.0, 1.0, 0.96))
    assert beats(Score(0.993, (1.0, 0.96, 1.0, 1.0, 1.0)), at_ceiling)


# --- augmented copies (augment.use) -----------------------------------------------------------------
def copies_corpus(kind: str, seed: int, n_speakers=8, per=2, dim=20):
    """Clean rows (4 classes, weak signal) + 2 copies each: ``helpful`` copies are further draws
    of the clip's class, ``harmful`` ones look like the next class (as a bad augmentation would)."""
    rng = np.random.default_rng(seed)
    X, y, g, clean, clips = [], [], [], [], []
    for s in range(n_speakers):
        for c in range(4):
            for i in range(per):
                for copy in range(3):
                    x = rng.normal(size=dim)
                    if copy == 0 or kind == "helpful":
                        x[c] += 1.5
                    else:
                        x[(c + 1) % 4] += 3.0
                    X.append(x)
                    y.append(c)
                    g.append(s)
                    clean.append(copy == 0)
                    clips.append(f"{s}-{c}-{i}")
    return np.array(X, np.float32), np.array(y), np.array(g), np.array(clean), np.array(clips)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_augmented_copies_train_only_when_the_probe_says_they_help(seed):
    for kind, expected in (("harmful", False), ("helpful", True)):
        X, y, g, clean, clips = copies_corpus(kind, seed)
        shared = candidates(y[clean], g[clean], Probe(inner_folds=4, seed=0), clips[clean])
        use, choice = choose_copies("auto", X, y, clips, clean, shared)
        assert use is expected, (kind, choice)
        assert choice["copy_rows"] == 128
        # the shared splits with the copies are those inner CV makes on all the rows (every clip has 2 copies)
        splits = I.inner_cv(y, g, 4, 0, clean)
        assert [(list(a), list(b)) for a, b in shared.with_copies(clips, clean)[0]] == \
            [(list(a), list(b)) for a, b in splits]
        # scored on the same held-out clean clips: "without" is the probe trained on clean rows only
        probs = I.cross_val_proba(lambda: LogRegClassifier(C=1.0, max_iter=500, seed=0), X, y, g,
                                  [(tr[clean[tr]], va) for tr, va in splits])
        assert choice["score_without"] == pytest.approx(I.pooled_balanced_accuracy(probs, y))
        # and equal to the score of the clean rows alone on the shared splits (reused by the plan)
        assert choice["score_without"] == shared.score("clean", X[clean]).pooled
    X, y, g, clean, clips = copies_corpus("harmful", seed)
    shared = candidates(y[clean], g[clean], Probe(), clips[clean])
    assert choose_copies("always", X, y, clips, clean, shared)[0] is True
    assert choose_copies("auto", X[clean], y[clean], clips[clean], clean[clean], shared)[0] is False
    with pytest.raises(ValueError, match="augment.use"):
        choose_copies("sometimes", X, y, clips, clean, shared)


# --- per-speaker standardisation (features.speaker_norm) ---------------------------------------------
def speaker_norm_choice(mode, X, y, groups, probe, min_clips=5):
    """choose_speaker_norm on clean rows X as the plan calls it: the rows standardised once beforehand."""
    spec = FeatureSpec.of([0], encoder="enc", speaker_norm=True, min_clips=min_clips)
    groups = np.asarray(groups)
    standardised = spec.fit_population(X).standardise(X, groups)[0]
    use, _, evidence = choose_speaker_norm(mode, X, standardised, candidates(y, groups, probe))
    return use, evidence


SPEAKER_NORM_FEATURES = {"layers": "all", "probe_max_layers": 1, "probe_inner_folds": 4, "probe_C": 1.0,
                         "probe_finalists": 3,
                         "probe_max_iter": 500, "speaker_norm": "auto", "speaker_norm_min_clips": 5}


def test_speaker_norm_auto_turns_it_on_where_every_speaker_has_every_emotion_and_it_raises_ua(tmp_path):
    frame, X = speaker_corpus(every_emotion=True)
    train = frame["fold"] != 0
    use, choice = speaker_norm_choice("auto", X[train], frame["label"][train], frame["speaker"][train], Probe(inner_folds=4))
    assert use is True and choice["score_with"] > choice["score_without"] + 0.1, choice
    # through the train job: every classifier of the fold follows the plan, and test UA rises
    paths = write_embeddings(tmp_path, frame, X[:, None, :], variants=("clean",))
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    ua = {}
    for use in (False, True):
        plan = plan_json(FeatureSpec.of([0], encoder="enc", speaker_norm=use, min_clips=5),
                         speaker_norm={"mode": "on" if use else "off", "score_with": None, "score_without": None})
        result = train_fold("enc", "logreg", 0, {"C": 1.0}, paths, manifest, folds, plan, seed=0)
        assert result.record["speaker_norm"]["use"] is use
        ua[use] = result.record["test_balanced_accuracy"]
    assert ua[True] > ua[False] + 0.1, ua


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_speaker_norm_auto_leaves_it_off_where_each_speaker_has_one_emotion(seed):
    # speakers differ less than emotions do here, so the emotion is learnable without standardisation
    frame, X = speaker_corpus(every_emotion=False, seed=seed, speaker_scale=0.5)
    use, choice = speaker_norm_choice("auto", X, frame["label"], frame["speaker"], Probe(inner_folds=4))
    assert use is False and choice["score_with"] < choice["score_without"] - 0.05, choice
    assert speaker_norm_choice("on", X, frame["label"], frame["speaker"], Probe())[0] is True
    assert speaker_norm_choice("off", X, frame["label"], frame["speaker"], Probe())[0] is False
    with pytest.raises(ValueError, match="features.speaker_norm"):
        speaker_norm_choice("sometimes", X, frame["label"], frame["speaker"], Probe())


def test_the_plan_decides_and_records_speaker_norm(tmp_path):
    frame, X = speaker_corpus(every_emotion=True)
    paths = write_embeddings(tmp_path, frame, X[:, None, :])
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    plan = make_plan("1", paths, manifest, folds, SPEAKER_NORM_FEATURES, "auto", seed=0)
    assert plan.features.speaker_norm is True and plan.evidence["speaker_norm"]["mode"] == "auto"
    assert plan.decision("speaker_norm")["use"] is True and plan.decision("speaker_norm")["min_clips"] == 5
    off = make_plan("1", paths, manifest, folds, SPEAKER_NORM_FEATURES | {"speaker_norm": "off"}, "auto", seed=0)
    assert off.features.speaker_norm is False and off.evidence["speaker_norm"]["score_with"] is None


# --- balanced fusion (features.balance_fusion) -----------------------------------------------------
FUSION_FEATURES = FEATURES | {"balance_fusion": "auto"}


def _fused_shards(tmp_path, frame, informative, n_noise, seed=3):
    """Two member encoders: "small" with the label in a few columns, "wide" with n_noise columns of noise."""
    rng = np.random.default_rng(seed)
    small = write_embeddings(tmp_path / "small", frame, informative[:, None, :], variants=("clean",))["clean"]["enc"]
    noise = rng.normal(size=(len(frame), 1, n_noise)).astype(np.float32)
    wide = write_embeddings(tmp_path / "wide", frame, noise, variants=("clean",))["clean"]["enc"]
    return {"clean": {"small": small, "wide": wide}}


def _member_plan(encoder):
    return plan_json(FeatureSpec.of([0], encoder=encoder))


@pytest.mark.parametrize("mode", ["auto", "on", "off"])
def test_the_plan_balances_a_fusion_whose_wide_member_drowns_the_signal(tmp_path, mode):
    """A 2-column member carries the label, a 400-column member is noise: plain, the noise block
    outweighs it; balanced (each block the same total variance), the probe finds it again. auto
    decides by the inner CV; the classifiers of the fold then get the member widths."""
    frame, _ = synthetic_corpus(n_speakers=9, per_label=3, seed=1)
    rng = np.random.default_rng(2)
    informative = rng.normal(size=(len(frame), 2)).astype(np.float32)
    informative[:, 0] += 1.2 * frame["label"].map({"ANG": 1, "HAP": -1, "NEU": 1, "SAD": -1}).to_numpy()
    informative[:, 1] += 1.2 * frame["label"].map({"ANG": 1, "HAP": 1, "NEU": -1, "SAD": -1}).to_numpy()
    shards = _fused_shards(tmp_path, frame, informative, n_noise=400)
    manifest = frame.drop(columns="fold")
    folds = frame[["clip_id", "fold"]]
    features = FUSION_FEATURES | {"balance_fusion": mode}
    plan = make_plan("0", shards, manifest, folds, features, "auto", seed=0,
                     member_plans=[("small", _member_plan("small")), ("wide", _member_plan("wide"))])
    balance = plan.decision("balance")
    assert balance["widths"] == [2, 400]
    if mode == "auto":
        assert balance["use"] is True, balance
        assert balance["score_with"] > balance["score_without"] + 0.005
    else:
        assert balance["use"] is (mode == "on") and balance["score_with"] is None
    spec = plan.features
    assert spec.blocks == ((2, 400) if balance["use"] else None)
    result = train_fold("fused", "logreg", 0, {"Cs": [1.0]}, shards, manifest, folds, plan.to_json(), seed=0)
    assert result.record["params"]["block_widths"] == ([2, 400] if balance["use"] else None)
    assert result.features.blocks == spec.blocks


def test_a_single_encoder_plan_has_no_balance_decision(tmp_path):
    frame, emb = synthetic_corpus()
    shards = write_embeddings(tmp_path, frame, emb, variants=("clean",))
    plan = make_plan("0", shards, frame.drop(columns="fold"), frame[["clip_id", "fold"]], FUSION_FEATURES, "auto", seed=0)
    assert plan.evidence["balance"] is None and plan.features.blocks is None


# --- the plan as one object ----------------------------------------------------------------------------
# Decided by the code before the plan became one object (separate inner splits per decision, each
# decision's own loop); the one decision step on one shared set of inner splits must give the same.
PREVIOUS = {
    "0": {"layers": [3], "speaker_norm": True, "copies": False,
          "layer_scores": [0.2777777777777778, 0.29166666666666663, 0.1527777777777778, 0.9027777777777779,
                           0.3611111111111111],
          "speaker_norm_scores": [0.9722222222222222, 0.9027777777777779], "copies_scores": [0.9722222222222222] * 2},
    "all": {"layers": [3], "speaker_norm": True, "copies": False,
            "layer_scores": [0.28703703703703703, 0.25, 0.18518518518518517, 0.9166666666666666, 0.31481481481481477],
            "speaker_norm_scores": [0.9537037037037036, 0.9166666666666666], "copies_scores": [0.9537037037037036] * 2},
}


@pytest.mark.parametrize("fold", ["0", "all"])
def test_one_decision_step_decides_as_the_previous_code_and_keeps_each_decision_once(tmp_path, fold):
    frame, emb = synthetic_corpus(seed=4)
    paths = write_embeddings(tmp_path, frame, emb)
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    features = FEATURES | {"probe_inner_folds": 3, "speaker_norm": "auto"}
    plan = make_plan(fold, paths, manifest, folds, features, "auto", seed=0)
    before = PREVIOUS[fold]
    assert (plan.layers, plan.features.speaker_norm, plan.features.copies) == \
        (before["layers"], before["speaker_norm"], before["copies"])
    evidence = plan.evidence
    # the ridge screen chose the finalists; the probe scored them as the previous code scored every layer
    finalists = evidence["layers"]["screen"]["finalists"]
    assert len(finalists) == 3 and SIGNAL_LAYER in [f["layer"] for f in finalists]
    assert [f["score"] for f in finalists] == \
        pytest.approx([before["layer_scores"][f["layer"]] for f in finalists], abs=1e-12)
    every = make_plan(fold, paths, manifest, folds, features | {"probe_finalists": "all"}, "auto", seed=0)
    assert every.evidence["layers"]["screen"] is None
    assert every.evidence["layers"]["layer_scores"] == pytest.approx(before["layer_scores"], abs=1e-12)
    assert every.features == plan.features
    assert [evidence["speaker_norm"]["score_with"], evidence["speaker_norm"]["score_without"]] == \
        pytest.approx(before["speaker_norm_scores"], abs=1e-12)
    assert [evidence["copies"]["score_with"], evidence["copies"]["score_without"]] == \
        pytest.approx(before["copies_scores"], abs=1e-12)
    # the file: every decision in the feature pipeline only; the evidence holds scores, modes and the inner grouping
    data = plan.to_json()
    assert set(data) == {"fold", "n_train_clips", "features", "evidence"}
    assert not {"layers", "weights"} & set(evidence["layers"])
    assert all("use" not in (evidence[name] or {}) for name in ("speaker_norm", "balance", "copies"))
    assert evidence["inner"] == {"grouping": "speaker", "reason": None}
    # a reader follows the pipeline: flip a decision there and the train job's record follows it
    flipped = data | {"features": data["features"] | {"copies": True, "speaker_norm": False}}
    record = train_fold("enc", "logreg", 0, {"Cs": [1.0]}, paths, manifest, folds, flipped, seed=0).record
    assert record["copies"]["use"] is True and record["speaker_norm"]["use"] is False
    assert record["n_train_rows"] == 2 * record["n_train_clips"]
