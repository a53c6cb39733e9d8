"""Classifiers: estimator contract, probabilities, fold-local scaling, inner splits, safe model files."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from sklearn.base import clone

from speech_emotion import classifiers as C

LABELS = np.array(["ANG", "HAP", "NEU", "SAD"])

SMALL = {
    "logreg": {"Cs": [0.01, 1.0]},
    "svm": {},
    "xgboost": {"n_estimators": 40, "max_depth": 3},
    "mlp": {"hidden": [32, 16], "max_epochs": 60, "patience": 10},
    "ensemble": {
        "members": ["logreg", "xgboost", "mlp"],
        "member_params": {
            "logreg": {"Cs": [1.0]},
            "xgboost": {"n_estimators": 30, "max_depth": 3},
            "mlp": {"hidden": [32], "max_epochs": 40, "patience": 8},
        },
    },
}


def separable(n_per_class=40, n_speakers=8, dim=12, seed=0, shift=4.0):
    """Four well-separated classes; speakers spread over classes."""
    rng = np.random.default_rng(seed)
    k = len(LABELS)
    y_idx = np.repeat(np.arange(k), n_per_class)
    X = rng.normal(size=(len(y_idx), dim)).astype(np.float32)
    X[np.arange(len(y_idx)), y_idx] += shift
    X += 100.0  # far from zero: a missing scaler would hurt the MLP
    groups = np.array([f"spk{i % n_speakers}" for i in range(len(y_idx))])
    perm = rng.permutation(len(y_idx))
    return X[perm], LABELS[y_idx][perm], groups[perm]


@pytest.mark.parametrize("name", C.CLASSIFIERS)
def test_fits_separable_data_and_probabilities_sum_to_one(name):
    X, y, g = separable(seed=1)
    X_test, y_test, _ = separable(n_per_class=15, seed=2)
    model = C.make_classifier(name, SMALL[name], seed=0).fit(X, y, g)
    assert list(model.classes_) == sorted(LABELS)
    probs = model.predict_proba(X_test)
    assert probs.shape == (len(X_test), len(LABELS))
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    accuracy = np.mean(model.predict(X_test) == y_test)
    assert accuracy >= 0.9, f"{name}: accuracy {accuracy:.2f} on separable data"
    # scikit-learn contract: get_params/clone round trip
    twin = clone(model)
    assert twin.get_params() == model.get_params()


@pytest.mark.parametrize("name", C.CLASSIFIERS)
def test_model_zip_round_trip(tmp_path, name):
    X, y, g = separable(seed=3)
    model = C.make_classifier(name, SMALL[name], seed=0).fit(X, y, g)
    path = tmp_path / "model.zip"
    C.save_model(model, path)
    loaded = C.load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    names = zipfile.ZipFile(path).namelist()
    assert "manifest.json" in names
    assert not any(n.endswith((".pkl", ".pickle", ".joblib")) for n in names)


def test_mlp_is_deterministic():
    X, y, g = separable(seed=4)
    a = C.make_classifier("mlp", SMALL["mlp"], seed=7).fit(X, y, g).predict_proba(X)
    b = C.make_classifier("mlp", SMALL["mlp"], seed=7).fit(X, y, g).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_corrupt_model_zip_names_the_file(tmp_path):
    X, y, g = separable(seed=5)
    path = tmp_path / "model.zip"
    C.save_model(C.make_classifier("logreg", {"Cs": [1.0]}).fit(X, y, g), path)
    data = path.read_bytes()
    (tmp_path / "truncated.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(C.ModelFileError, match="truncated.zip"):
        C.load_model(tmp_path / "truncated.zip")
    # a member file swapped inside an otherwise valid zip fails its checksum
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in src.namelist():
            payload = src.read(name)
            dst.writestr(name, payload + b"x" if name.endswith(".skops") else payload)
    with pytest.raises(C.ModelFileError, match="tampered.zip.*checksum"):
        C.load_model(tampered)
    with pytest.raises(C.ModelFileError, match="does not exist"):
        C.load_model(tmp_path / "absent.zip")


def test_unknown_setting_is_rejected():
    with pytest.raises(ValueError, match="classifiers.svm: unknown setting"):
        C.make_classifier("svm", {"CC": 1.0})


def test_scaler_sees_only_the_rows_given_to_fit(monkeypatch):
    """Spy on StandardScaler.fit: no test row is ever used to fit a scaler."""
    X, y, g = separable(seed=6)
    X_test, _, _ = separable(n_per_class=10, seed=7)
    seen = []
    original = C.StandardScaler.fit

    def spy(self, data, *args, **kwargs):
        seen.append(np.asarray(data).copy())
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(C.StandardScaler, "fit", spy)
    for name in ("logreg", "mlp"):
        model = C.make_classifier(name, SMALL[name], seed=0).fit(X, y, g)
        model.predict_proba(X_test)
    assert seen
    train_rows = {row.tobytes() for row in X}
    for fitted in seen:
        assert {row.tobytes() for row in fitted} <= train_rows


@pytest.mark.parametrize("name", ["mlp", "xgboost"])
def test_inner_validation_is_speaker_disjoint_part_of_training_rows(name):
    X, y, g = separable(seed=8)
    model = C.make_classifier(name, SMALL[name], seed=0).fit(X, y, g)
    val = model.validation_rows_
    assert 0 < len(val) < len(X) and val.max() < len(X)
    inner_train = np.setdiff1d(np.arange(len(X)), val)
    assert not set(g[val]) & set(g[inner_train]), "a speaker is on both sides of the inner split"


def test_ensemble_weights_come_from_speaker_disjoint_inner_folds_covering_every_row():
    X, y, g = separable(seed=8)
    model = C.make_classifier("ensemble", {**SMALL["ensemble"], "weights": "fitted"}, seed=0).fit(X, y, g)
    held_out = np.concatenate([va for _, va in model.inner_splits_])
    assert sorted(held_out) == list(range(len(X))), "every training row is held out exactly once"
    for tr, va in model.inner_splits_:
        assert not set(g[va]) & set(g[tr]), "a speaker is on both sides of an inner split"


def test_cross_val_proba_and_pooled_balanced_accuracy_by_hand():
    # 3 speaker-grouped folds of 2 classes; a "model" that always predicts its training majority
    class Majority(C._Base):
        def fit(self, X, y, groups=None):
            self.classes_, counts = np.unique(y, return_counts=True)
            self.top_ = int(np.argmax(counts))
            return self

        def predict_proba(self, X):
            out = np.zeros((len(X), len(self.classes_)))
            out[:, self.top_] = 1.0
            return out

    y = np.array(["A", "A", "A", "B", "A", "B", "B", "B", "B"])
    X = np.zeros((len(y), 1))
    splits = [(np.array([3, 4, 5, 6, 7, 8]), np.array([0, 1, 2])),   # train majority B
              (np.array([0, 1, 2, 6, 7, 8]), np.array([3, 4, 5])),   # train A, A, A, B, B, B: tie -> A
              (np.array([0, 1, 2, 3, 4, 5]), np.array([6, 7, 8]))]   # train majority A
    probs = C.cross_val_proba(Majority, X, y, None, splits)
    predicted = np.array(["A", "B"])[probs.argmax(1)]
    assert list(predicted) == ["B", "B", "B", "A", "A", "A", "A", "A", "A"]
    # pooled recalls: A 1/4 (row 4), B 0/5 -> 0.125; the mean of the per-fold scores would differ
    assert C.pooled_balanced_accuracy(probs, y) == pytest.approx(0.125)


def test_ensemble_is_not_worse_than_its_best_member_on_inner_folds():
    # one informative member (logreg) and one that only sees noise (an MLP too small to learn)
    X, y, g = separable(seed=12, shift=1.5)
    params = {"members": ["logreg", "mlp"], "weights": "fitted",
              "member_params": {"logreg": {"Cs": [1.0]}, "mlp": {"hidden": [2], "max_epochs": 1, "lr": 1e-6}}}
    model = C.make_classifier("ensemble", params, seed=0).fit(X, y, g)
    scores = model.inner_scores_
    assert set(scores) == {"logreg", "mlp", "blend"}
    assert scores["logreg"] > scores["mlp"]
    # on these rows the noisy member drags the blend below logreg: the ensemble is logreg alone
    assert scores["blend"] < scores["logreg"], scores
    assert list(model.weights_) == [1.0, 0.0]


def test_logreg_picks_C_by_inner_cv():
    X, y, g = separable(seed=9)
    model = C.make_classifier("logreg", {"Cs": [1e-4, 1.0]}, seed=0).fit(X, y, g)
    assert set(model.cv_scores_) == {repr(1e-4), repr(1.0)}
    assert model.C_ in (1e-4, 1.0)
    assert C.make_classifier("logreg", {"C": 0.5}).fit(X, y, g).C_ == 0.5


def test_ensemble_weights_prefer_the_informative_member():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    good = np.eye(3)[y] * 0.8 + 0.2 / 3
    noise = rng.dirichlet(np.ones(3), size=len(y))
    weights = C.fit_weights([noise, good], y)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[1] > 0.5


def test_equal_weight_ensemble_is_the_mean_of_its_members_probabilities(monkeypatch):
    X, y, g = separable(seed=11, shift=1.0)
    member_params = SMALL["ensemble"]["member_params"]
    members = {name: C.make_classifier(name, member_params[name]).fit(X, y, g) for name in ("logreg", "xgboost", "mlp")}
    ens = C.make_classifier("ensemble", {"members": list(members), "member_params": member_params})
    assert ens.weights == "equal"  # the default
    monkeypatch.setattr(C, "cross_val_proba", lambda *a, **k: pytest.fail("equal weights need no inner CV"))
    ens.fit(X, y, g, fitted_members=members)
    np.testing.assert_allclose(ens.weights_, [1 / 3] * 3)
    by_hand = sum(m.predict_proba(X[:20]) for m in members.values()) / 3
    np.testing.assert_allclose(ens.predict_proba(X[:20]), by_hand, atol=1e-12)
    assert ens.inner_scores_ == {}
    with pytest.raises(ValueError, match="classifiers.ensemble.weights"):
        C.make_classifier("ensemble", {"members": ["logreg"], "weights": "median"}).fit(X, y, g)


def test_ensemble_reuses_fitted_members():
    X, y, g = separable(seed=10)
    members = {name: C.make_classifier(name, SMALL["ensemble"]["member_params"][name]).fit(X, y, g)
               for name in ("logreg", "xgboost")}
    ens = C.make_classifier("ensemble", {"members": ["logreg", "xgboost"],
                                         "member_params": SMALL["ensemble"]["member_params"]})
    ens.fit(X, y, g, fitted_members=members)
    assert ens.members_["logreg"] is members["logreg"]
    np.testing.assert_allclose(ens.predict_proba(X).sum(1), 1.0)


def test_inner_cv_groups_speakers():
    y = np.repeat([0, 1], 30)
    g = np.array([f"s{i % 6}" for i in range(60)])
    for tr, va in C.inner_cv(y, g, 3, seed=0):
        assert not set(g[tr]) & set(g[va])


def test_cuda_request_without_a_gpu_names_the_config_key():
    import torch

    from speech_emotion.devices import resolve_device

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert resolve_device("auto", "embed.device") == "cpu"
    with pytest.raises(RuntimeError, match=r"classifiers\.mlp\.device is 'cuda'"):
        C.make_classifier("mlp", {"device": "cuda", "max_epochs": 1}).fit(*separable(seed=3))


# --- augmented copies only train: inner splits hold out and score clean rows only -----------------


def with_copies(X, y, g, n_copies=2, seed=0, shift=3.0):
    """Clean rows, then ``n_copies`` copies of each (same label and speaker, shifted features, as
    augmentation moves them); returns X, y, groups and the clean-row mask."""
    rng = np.random.default_rng(seed)
    copies = [X + shift + rng.normal(scale=1.0, size=X.shape).astype(np.float32) for _ in range(n_copies)]
    clean = np.r_[np.ones(len(X), bool), np.zeros(n_copies * len(X), bool)]
    return np.concatenate([X, *copies]), np.tile(y, n_copies + 1), np.tile(g, n_copies + 1), clean


def test_inner_splits_hold_out_clean_rows_only_and_keep_held_out_copies_out_of_training():
    Xa, ya, ga, clean = with_copies(*separable(seed=3))
    splits = C.inner_cv(ya, ga, 4, seed=0, score_mask=clean)
    held_out = np.concatenate([va for _, va in splits])
    assert sorted(held_out) == list(np.flatnonzero(clean)), "every clean row held out once, no copy"
    for tr, va in splits:
        # a held-out clip's copies share its speaker, so they are on neither side
        assert not set(ga[tr]) & set(ga[va])
    tr, va = C.inner_split(ya, ga, 0.25, 0, clean)
    assert len(va) and clean[va].all() and not set(ga[tr]) & set(ga[va])
    assert (~clean[tr]).any(), "copies of inner-training clips still train"


@pytest.mark.parametrize("name", ["mlp", "xgboost"])
def test_early_stopping_watches_clean_rows_only(name):
    Xa, ya, ga, clean = with_copies(*separable(seed=8))
    model = C.make_classifier(name, SMALL[name], seed=0).fit(Xa, ya, ga, clean)
    assert len(model.validation_rows_) and clean[model.validation_rows_].all()


def test_logreg_and_ensemble_score_inner_folds_on_clean_rows_only():
    Xa, ya, ga, clean = with_copies(*separable(seed=5, shift=1.0))
    logreg = C.make_classifier("logreg", {"Cs": [0.01, 1.0]}, seed=0).fit(Xa, ya, ga, clean)
    splits = C.inner_cv(ya, ga, 5, 0, clean)
    for c in (0.01, 1.0):
        probs = C.cross_val_proba(lambda c=c: C.LogRegClassifier(C=c, max_iter=2000, seed=0), Xa, ya, ga, splits)
        assert np.isnan(probs[~clean]).all()
        assert logreg.cv_scores_[repr(c)] == pytest.approx(C.pooled_balanced_accuracy(probs, ya))
    # the copies would change the scores if they were held out too (so the check above can fail)
    unmasked = C.make_classifier("logreg", {"Cs": [0.01, 1.0]}, seed=0).fit(Xa, ya, ga)
    assert unmasked.cv_scores_ != logreg.cv_scores_

    params = {"members": ["logreg", "xgboost"], "weights": "fitted", "member_params": SMALL["ensemble"]["member_params"]}
    ens = C.make_classifier("ensemble", params, seed=0).fit(Xa, ya, ga, clean)
    held_out = np.concatenate([va for _, va in ens.inner_splits_])
    assert sorted(held_out) == list(np.flatnonzero(clean))
    probs = C.cross_val_proba(lambda: C.LogRegClassifier(C=1.0, max_iter=2000, seed=0), Xa, ya, ga, ens.inner_splits_)
    assert ens.inner_scores_["logreg"] == pytest.approx(C.pooled_balanced_accuracy(probs, ya), abs=1e-6)
