"""Classifiers: estimator contract, probabilities, fold-local scaling, inner splits, safe model files."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from sklearn.base import clone

from speech_emotion.train import classifiers as C
from speech_emotion.train.classifiers import base as B
from speech_emotion.train.classifiers import inner as I
from speech_emotion.train.classifiers.logreg import LogRegClassifier
from speech_emotion.train.classifiers.svm import platt_apply, platt_fit
from speech_emotion.train.classifiers.ensemble import fit_weights

LABELS = np.array(["ANG", "HAP", "NEU", "SAD"])

SMALL = {
    "logreg": {"Cs": [0.01, 1.0]},
    "svm": {},
    # early stopping on: the tests of held-out rows and refit need it (the default trains without,
    # test_xgboost_without_early_stopping_trains_every_row)
    "xgboost": {"n_estimators": 40, "max_depth": 3, "early_stopping_rounds": 20},
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
    assert not any(n.endswith((".pkl", ".pickle", ".joblib", ".skops")) for n in names)
    assert "scaler.sklearn" in names or name == "ensemble"
    C.save_model(model, tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == path.read_bytes(), "the same model, the same bytes"


def test_model_files_of_the_skops_era_are_refused_with_a_message(tmp_path):
    """Model files of earlier versions held skops archives; they are refused, naming the member."""
    X, y, g = separable(seed=3)
    model = C.make_classifier("logreg", {"Cs": [1.0]}, seed=0).fit(X, y, g)
    path = tmp_path / "model.zip"
    C.save_model(model, path)
    old = tmp_path / "old.zip"
    with zipfile.ZipFile(path) as src:
        manifest = json.loads(src.read("manifest.json"))
    files = {"scaler.skops": b"old", "logreg.skops": b"old"}
    manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    with zipfile.ZipFile(old, "w") as dst:
        dst.writestr("manifest.json", json.dumps(manifest))
        for n, d in files.items():
            dst.writestr(n, d)
    with pytest.raises(C.ModelFileError, match=r"old.zip: .*skops.*rerun the workflow"):
        C.load_model(old)


def test_sklearn_state_refuses_other_classes_and_keeps_every_fitted_attribute():
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    from speech_emotion.train.classifiers.modelfile import ModelFileError, sklearn_dumps, sklearn_loads

    X, y, _ = separable(seed=2)
    svc = SVC(C=3.0, gamma=0.1, class_weight="balanced").fit(X, y)
    twin = sklearn_loads(sklearn_dumps(svc), "svm.sklearn")
    assert twin.get_params() == svc.get_params()
    assert sorted(vars(twin)) == sorted(vars(svc))
    np.testing.assert_array_equal(twin.decision_function(X), svc.decision_function(X))
    assert twin.shape_fit_ == svc.shape_fit_ and isinstance(twin.shape_fit_, tuple)
    with pytest.raises(TypeError, match="DecisionTreeClassifier"):
        sklearn_dumps(DecisionTreeClassifier().fit(X, y))
    with zipfile.ZipFile(io.BytesIO(sklearn_dumps(svc))) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["object.json"] = members["object.json"].replace(b"sklearn.svm._classes.SVC", b"sklearn.svm._classes.NuSVC")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n, d in members.items():
            archive.writestr(n, d)
    forged = buffer.getvalue()
    with pytest.raises(ModelFileError, match="refusing to load unexpected type"):
        sklearn_loads(forged, "svm.sklearn")


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
            dst.writestr(name, payload + b"x" if name.endswith(".sklearn") else payload)
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
    original = B.StandardScaler.fit

    def spy(self, data, *args, **kwargs):
        seen.append(np.asarray(data).copy())
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(B.StandardScaler, "fit", spy)
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
    class Majority(B.Classifier):
        def fit(self, X, y, groups=None, clean=None, clips=None):
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
    probs = I.cross_val_proba(Majority, X, y, None, splits)
    predicted = np.array(["A", "B"])[probs.argmax(1)]
    assert list(predicted) == ["B", "B", "B", "A", "A", "A", "A", "A", "A"]
    # pooled recalls: A 1/4 (row 4), B 0/5 -> 0.125; the mean of the per-fold scores would differ
    assert I.pooled_balanced_accuracy(probs, y) == pytest.approx(0.125)


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
    weights = fit_weights([noise, good], y)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[1] > 0.5


def test_equal_weight_ensemble_is_the_mean_of_its_members_probabilities(monkeypatch):
    X, y, g = separable(seed=11, shift=1.0)
    member_params = SMALL["ensemble"]["member_params"]
    members = {name: C.make_classifier(name, member_params[name]).fit(X, y, g) for name in ("logreg", "xgboost", "mlp")}
    ens = C.make_classifier("ensemble", {"members": list(members), "member_params": member_params})
    assert ens.weights == "equal"  # the default
    from speech_emotion.train.classifiers import ensemble as E

    monkeypatch.setattr(E, "cross_val_proba", lambda *a, **k: pytest.fail("equal weights need no inner CV"))
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
    for tr, va in I.inner_cv(y, g, 3, seed=0):
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
    """Clean rows, then ``n_copies`` copies of each (same label, speaker and clip id, shifted features,
    as augmentation moves them); returns X, y, groups, the clean-row mask and the clip ids."""
    rng = np.random.default_rng(seed)
    copies = [X + shift + rng.normal(scale=1.0, size=X.shape).astype(np.float32) for _ in range(n_copies)]
    clean = np.r_[np.ones(len(X), bool), np.zeros(n_copies * len(X), bool)]
    clips = np.tile(np.array([f"clip{i}" for i in range(len(X))]), n_copies + 1)
    return np.concatenate([X, *copies]), np.tile(y, n_copies + 1), np.tile(g, n_copies + 1), clean, clips


def test_inner_splits_hold_out_clean_rows_only_and_keep_held_out_copies_out_of_training():
    Xa, ya, ga, clean, clips = with_copies(*separable(seed=3))
    splits = I.inner_cv(ya, ga, 4, seed=0, clean=clean, clips=clips)
    assert splits.grouping == "speaker" and splits.reason is None
    held_out = np.concatenate([va for _, va in splits])
    assert sorted(held_out) == list(np.flatnonzero(clean)), "every clean row held out once, no copy"
    for tr, va in splits:
        # a held-out clip's copies share its speaker, so they are on neither side
        assert not set(ga[tr]) & set(ga[va])
    (tr, va), = I.inner_split(ya, ga, 0.25, 0, clean, clips)
    assert len(va) and clean[va].all() and not set(ga[tr]) & set(ga[va])
    assert (~clean[tr]).any(), "copies of inner-training clips still train"


def one_speaker_class(n_copies=2, seed=0, informative=True, n_speakers=10):
    """Speaker s0 records only class D (12 clips); s1, s2, ... record A, B and C (4 clips each).

    A speaker-grouped split cannot keep D in every inner training part. Copies are their clip's
    features plus a little noise (as augmentation leaves a clip close to itself). With
    ``informative=False`` the features carry no label information at all."""
    rng = np.random.default_rng(seed)
    labels, speakers = ["D"] * 12, ["s0"] * 12
    for s in range(1, n_speakers):
        for label in "ABC":
            labels += [label] * 4
            speakers += [f"s{s}"] * 4
    y, g = np.array(labels), np.array(speakers)
    X = rng.normal(size=(len(y), 16)).astype(np.float32)
    if informative:
        X[np.arange(len(y)), np.searchsorted(["A", "B", "C", "D"], y)] += 3.0
    copies = [X + rng.normal(scale=0.05, size=X.shape).astype(np.float32) for _ in range(n_copies)]
    clean = np.r_[np.ones(len(y), bool), np.zeros(n_copies * len(y), bool)]
    clips = np.tile(np.array([f"c{i}" for i in range(len(y))]), n_copies + 1)
    return np.concatenate([X, *copies]), np.tile(y, n_copies + 1), np.tile(g, n_copies + 1), clean, clips


def assert_no_clip_on_both_sides(splits, clips, clean, y):
    for tr, va in splits:
        assert len(va) and clean[va].all(), "held-out rows are clean clips only"
        assert not set(clips[tr]) & set(clips[va]), "a held-out clip or one of its copies trains"
        assert set(y[tr]) == set(y), "an inner training part lacks a class"


def test_inner_splits_fall_back_to_clip_groups_never_to_rows(caplog):
    Xa, ya, ga, clean, clips = one_speaker_class()
    with caplog.at_level("WARNING"):
        splits = I.inner_cv(ya, ga, 5, 0, clean, clips, purpose="test choice")
    assert splits.grouping == "clip" and "class D comes from 1 speaker" in splits.reason
    assert "test choice: inner splits grouped by clip" in caplog.text
    assert_no_clip_on_both_sides(splits, clips, clean, ya)
    assert sorted(np.concatenate([va for _, va in splits])) == list(np.flatnonzero(clean))
    # one split: any speaker-grouped split that keeps s0 in training will do ...
    one = I.inner_split(ya, ga, 0.15, 0, clean, clips)
    assert one.grouping == "speaker"
    assert_no_clip_on_both_sides(one, clips, clean, ya)
    # ... unless there are fewer speakers than the 1/0.15 splits
    Xa, ya, ga, clean, clips = one_speaker_class(n_speakers=5)
    one = I.inner_split(ya, ga, 0.15, 0, clean, clips)
    assert one.grouping == "clip" and "5 speakers for 7 inner folds" in one.reason
    assert_no_clip_on_both_sides(one, clips, clean, ya)
    with pytest.raises(ValueError, match="needs the clip id of every row"):
        I.inner_cv(ya, ga, 5, 0, clean)  # copies without clip ids cannot be grouped


@pytest.mark.parametrize("name,purpose", [("logreg", "C"), ("svm", "calibration"), ("xgboost", "early_stopping"),
                                          ("mlp", "early_stopping"), ("ensemble", "weights")])
def test_every_inner_choice_keeps_a_clip_and_its_copies_on_one_side(name, purpose):
    Xa, ya, ga, clean, clips = one_speaker_class(n_speakers=5)
    params = {**SMALL[name], "weights": "fitted"} if name == "ensemble" else SMALL[name]
    model = C.make_classifier(name, params, seed=0).fit(Xa, ya, ga, clean, clips)
    assert model.inner_grouping_[purpose]["grouping"] == "clip"
    assert_no_clip_on_both_sides(model.inner_splits_, clips, clean, ya)
    model = C.make_classifier(name, params, seed=0).fit(*separable(seed=3))
    assert model.inner_grouping_[purpose] == {"grouping": "speaker", "reason": None}


def test_svm_calibrates_on_clean_rows_only():
    Xa, ya, ga, clean, clips = with_copies(*separable(seed=3))
    model = C.make_classifier("svm", {}, seed=0).fit(Xa, ya, ga, clean, clips)
    assert model.n_calibration_rows_ == clean.sum()  # before: every row, copies included (2 of 3)
    probs = model.predict_proba(Xa[:20])
    np.testing.assert_allclose(probs.sum(1), 1.0)


def test_platt_fit_by_hand():
    # symmetric, perfectly separated decision values: P(positive | f=0) is 1/2 (b = 0), the slope is
    # negative, and P(f) + P(-f) = 1
    f = np.array([-2.0, -1.0, 1.0, 2.0])
    a, b = platt_fit(f, np.array([False, False, True, True]))
    assert a < 0 and b == pytest.approx(0.0, abs=1e-6)
    p = platt_apply(np.array([0.0, 1.0, -1.0]), a, b)
    assert p[0] == pytest.approx(0.5) and p[1] + p[2] == pytest.approx(1.0)
    # Platt's smoothed targets ((2+1)/(2+2) = 0.75 for positives, 0.25 for negatives) keep the slope
    # finite: the fitted probabilities stay near them instead of going to 0 and 1
    assert 0.65 < p[1] < 0.85
    # the same fit as scikit-learn's sigmoid calibration on noisy data
    from sklearn.calibration import _sigmoid_calibration

    rng = np.random.default_rng(0)
    f = rng.normal(size=200)
    positive = rng.random(200) < 1 / (1 + np.exp(-2 * f))
    np.testing.assert_allclose(platt_fit(f, positive), _sigmoid_calibration(f, positive), atol=1e-4)


def test_copies_decision_is_not_fooled_by_copies_of_held_out_clips():
    """Features without label information: copies cannot help, and they must not look as if they did.

    Before, the fallback split rows without grouping: held-out clips had their own near-identical
    copies in inner training and the decision scored 0.61 with copies against 0.28 without."""
    from speech_emotion.train.plan import Candidates, Probe, choose_copies

    Xa, ya, ga, clean, clips = one_speaker_class(informative=False)
    shared = Candidates(Probe(inner_folds=5, seed=0), ya[clean], ga[clean], clips[clean])
    _, result = choose_copies("auto", Xa, ya, clips, clean, shared)
    assert shared.splits.grouping == "clip"
    assert result["score_with"] < 0.45, result  # chance is 0.25 (4 classes)
    assert result["score_with"] - result["score_without"] < 0.1, result


@pytest.mark.parametrize("name", ["mlp", "xgboost"])
def test_early_stopping_watches_clean_rows_only(name):
    Xa, ya, ga, clean, clips = with_copies(*separable(seed=8))
    model = C.make_classifier(name, SMALL[name], seed=0).fit(Xa, ya, ga, clean, clips)
    assert len(model.validation_rows_) and clean[model.validation_rows_].all()


def test_logreg_and_ensemble_score_inner_folds_on_clean_rows_only():
    Xa, ya, ga, clean, clips = with_copies(*separable(seed=5, shift=1.0))
    logreg = C.make_classifier("logreg", {"Cs": [0.01, 1.0]}, seed=0).fit(Xa, ya, ga, clean, clips)
    splits = I.inner_cv(ya, ga, 5, 0, clean, clips)
    for c in (0.01, 1.0):
        probs = I.cross_val_proba(lambda c=c: LogRegClassifier(C=c, max_iter=2000, seed=0), Xa, ya, ga, splits)
        assert np.isnan(probs[~clean]).all()
        assert logreg.cv_scores_[repr(c)] == pytest.approx(I.pooled_balanced_accuracy(probs, ya))
    # the copies would change the scores if they were held out too (so the check above can fail)
    unmasked = C.make_classifier("logreg", {"Cs": [0.01, 1.0]}, seed=0).fit(Xa, ya, ga)
    assert unmasked.cv_scores_ != logreg.cv_scores_

    params = {"members": ["logreg", "xgboost"], "weights": "fitted", "member_params": SMALL["ensemble"]["member_params"]}
    ens = C.make_classifier("ensemble", params, seed=0).fit(Xa, ya, ga, clean, clips)
    held_out = np.concatenate([va for _, va in ens.inner_splits_])
    assert sorted(held_out) == list(np.flatnonzero(clean))
    probs = I.cross_val_proba(lambda: LogRegClassifier(C=1.0, max_iter=2000, seed=0), Xa, ya, ga, ens.inner_splits_)
    assert ens.inner_scores_["logreg"] == pytest.approx(I.pooled_balanced_accuracy(probs, ya), abs=1e-6)


def test_mlp_results_do_not_depend_on_threads():
    """train.threads / --cores must not change a number: the MLP trains on one torch thread."""
    import torch

    X, y, g = separable(seed=4, dim=300)
    previous = torch.get_num_threads()
    try:
        probs = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            model = C.make_classifier("mlp", {"hidden": [256, 128], "max_epochs": 15}, seed=0, n_jobs=threads)
            probs.append(model.fit(X, y, g).predict_proba(X))
            assert torch.get_num_threads() == threads, "the caller's thread setting is restored"
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(probs[0], probs[1])


def test_greedy_selection_by_hand():
    """Three members on 4 rows of 2 classes (balanced, so the loss is the plain mean -log p(true)):
    `good` starts (0.164 vs 0.371 and 1.498); adding `other` gives (good + other) / 2 with 0.256, adding
    `good` again leaves 0.164, adding `noise` is worse still: no addition lowers the loss, good alone."""
    from speech_emotion.train.classifiers.ensemble import select_members

    y = np.array([0, 0, 1, 1])
    good = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    other = np.array([[0.6, 0.4], [0.7, 0.3], [0.1, 0.9], [0.4, 0.6]])
    noise = np.array([[0.1, 0.9], [0.5, 0.5], [0.9, 0.1], [0.5, 0.5]])
    assert select_members([noise, good, other], y).tolist() == [0.0, 1.0, 0.0]
    # a member surer on every row starts instead; the noise is never added
    helper = np.array([[0.99, 0.01], [0.99, 0.01], [0.01, 0.99], [0.01, 0.99]])
    weights = select_members([noise, good, helper], y)
    assert weights[0] == 0 and weights[2] > 0 and weights.sum() == pytest.approx(1.0)
    assert select_members([good], y).tolist() == [1.0]


def test_select_weights_drop_a_member_that_only_adds_noise():
    X, y, g = separable(seed=12, shift=1.5)
    params = {"members": ["logreg", "mlp"], "weights": "select",
              "member_params": {"logreg": {"Cs": [0.1, 1.0]}, "mlp": {"hidden": [2], "max_epochs": 1, "lr": 1e-6}}}
    members = {"logreg": C.make_classifier("logreg", params["member_params"]["logreg"]).fit(X, y, g)}
    model = C.make_classifier("ensemble", params, seed=0).fit(X, y, g, fitted_members=members)
    assert list(model.weights_) == [1.0, 0.0], model.inner_scores_
    assert model.members_["logreg"] is members["logreg"]


def test_svm_on_a_precomputed_kernel_is_scikit_learns_rbf_svc():
    """The kernel computed once and the support vectors kept: the same decision values as
    scikit-learn's SVC(kernel="rbf") on the same standardised rows and gamma."""
    from sklearn.svm import SVC

    X, y, g = separable(seed=13)
    X_test, _, _ = separable(n_per_class=10, seed=14)
    # C=10: few bounded multipliers, so both solvers stop at the same point to 1e-6 (at C=1 they agree
    # to 1e-4, libsvm's stopping tolerance being 1e-3)
    model = C.make_classifier("svm", {"C": 10.0}, seed=0).fit(X, y, g)
    Xs = model._scale(X)
    gamma = 1.0 / (Xs.shape[1] * Xs.astype(np.float64).var())
    assert model.gamma_ == pytest.approx(gamma)
    reference = SVC(C=model.C, gamma=gamma, class_weight="balanced").fit(Xs, y)
    np.testing.assert_allclose(model.decision_function(X_test), reference.decision_function(model._scale(X_test)),
                               atol=1e-6)
    assert len(model.support_vectors_) == len(reference.support_)


def test_svm_chooses_C_by_inner_cv_when_C_is_null(tmp_path):
    """C: null picks C among Cs on the calibration folds (the best pooled inner UA, ties to the smaller
    C); the chosen C's out-of-fold values calibrate, the final SVC uses it, and the model file keeps it."""
    X, y, g = separable(seed=21)
    model = C.make_classifier("svm", {"C": None, "Cs": [0.1, 1.0, 10.0]}, seed=0).fit(X, y, g)
    assert set(model.cv_scores_) == {"0.1", "1.0", "10.0"}
    best = max(model.cv_scores_.values())
    assert model.C_ == min(float(c) for c, score in model.cv_scores_.items() if round(score, 10) == round(best, 10))
    assert model.model_.C == model.C_ and model.chosen_params() == {"C": model.C_}
    fixed = C.make_classifier("svm", {"C": model.C_}, seed=0).fit(X, y, g)
    np.testing.assert_allclose(model.predict_proba(X[:15]), fixed.predict_proba(X[:15]), atol=1e-10)
    assert fixed.cv_scores_ == {} and fixed.C_ == model.C_
    path = tmp_path / "svm.zip"
    C.save_model(model, path)
    loaded = C.load_model(path)
    assert loaded.C_ == model.C_ and loaded.cv_scores_ == model.cv_scores_
    np.testing.assert_allclose(loaded.predict_proba(X[:15]), model.predict_proba(X[:15]))


def test_xgboost_without_early_stopping_trains_every_row():
    """The default (early_stopping_rounds 0): n_estimators rounds on every row given, no held-out rows;
    the same trees as XGBoost's own classifier on those rows with balanced weights."""
    import xgboost as xgb
    from sklearn.utils.class_weight import compute_sample_weight

    X, y, g = separable(seed=22)
    model = C.make_classifier("xgboost", {"n_estimators": 15, "max_depth": 3}, seed=0).fit(X, y, g)
    assert model.early_stopping_rounds == 0 and model.validation_rows_ is None and model.inner_grouping_ == {}
    assert model.best_iteration_ == 14 and model.model_.get_booster().num_boosted_rounds() == 15
    yi = np.unique(y, return_inverse=True)[1]
    reference = model._booster().fit(model._scale(X), yi, sample_weight=compute_sample_weight("balanced", yi))
    assert isinstance(reference, xgb.XGBClassifier)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(model._scale(X)))


def test_logreg_solves_with_blas_on_one_thread(monkeypatch):
    """lbfgs alternates numpy's and scipy's BLAS; with two threads in each the fit ran 3 to 9 times
    slower on 2 cores (benchmarks/blas_threads.py). Every fit, inner and final, must see one thread."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info, threadpool_limits

    seen: list[int] = []
    fit = LogisticRegression.fit

    def spy(self, *args, **kwargs):
        seen.append(max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"))
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", spy)
    X, y, g = separable()
    with threadpool_limits(2, user_api="blas"):
        LogRegClassifier(Cs=(0.1, 1.0), inner_folds=2, seed=0).fit(X, y, g)
        after = max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")
    assert len(seen) == 2 * 2 + 1 and set(seen) == {1}
    assert after == 2  # restored


def test_xgboost_max_bin_reaches_the_booster():
    X, y, g = separable()
    model = C.make_classifier("xgboost", {"max_bin": 16, "n_estimators": 5}, seed=0).fit(X, y, g)
    assert '"max_bin":"16"' in model.model_.get_booster().save_config()


def test_single_blas_thread_covers_the_solvers_blas_even_when_it_is_loaded_later():
    """The controller lists the libraries once per process: scipy's own OpenBLAS (its L-BFGS-B)
    must be among them even if nothing imported scipy.optimize before the first fit."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "from speech_emotion.devices import single_blas_thread\n"
        "with single_blas_thread():\n"
        "    import scipy.optimize\n"
        "    from threadpoolctl import threadpool_info\n"
        "    print(max(lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas'))\n"
    )
    workflow = Path(__file__).resolve().parents[1] / "workflow"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "PYTHONPATH": str(workflow)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


# --- refit: the final model trains on every row for the rounds / epochs early stopping found -----


def _rows_per_training_run(monkeypatch, name: str) -> list[int]:
    """Rows of each XGBoost fit (``name="xgboost"``) or of each MLP epoch (``"mlp"``) from now on."""
    seen: list[int] = []
    if name == "xgboost":
        import xgboost as xgb

        fit = xgb.XGBClassifier.fit

        def spy(self, X, y, **kwargs):
            seen.append(len(X))
            return fit(self, X, y, **kwargs)

        monkeypatch.setattr(xgb.XGBClassifier, "fit", spy)
    else:
        from speech_emotion.train.classifiers.mlp import MLPClassifier

        epoch = MLPClassifier._epoch

        def spy(self, net, opt, loss_fn, X_tr, y_tr, *args):
            seen.append(len(y_tr))
            return epoch(self, net, opt, loss_fn, X_tr, y_tr, *args)

        monkeypatch.setattr(MLPClassifier, "_epoch", spy)
    return seen


@pytest.mark.parametrize("name", ["xgboost", "mlp"])
def test_refit_trains_on_every_row_for_what_early_stopping_found(monkeypatch, name):
    """refit=True (the final model of fold all): early stopping on the held-out rows as before, then a
    fit on every row given (clean clips, copies and the held-out rows) for exactly the rounds/epochs
    it found; before, the final model never saw the held-out rows (85 % of the clips)."""
    Xa, ya, ga, clean, clips = with_copies(*separable(seed=8, shift=1.5))
    params = {**SMALL[name], "n_estimators": 100} if name == "xgboost" else SMALL[name]
    plain = C.make_classifier(name, params, seed=0).fit(Xa, ya, ga, clean, clips)
    seen = _rows_per_training_run(monkeypatch, name)
    calls = []
    model = C.make_classifier(name, {**params, "refit": True}, seed=0)
    assert model.get_params()["refit"] is True and clone(model).get_params()["refit"] is True
    model.fit(Xa, ya, ga, clean, clips, **({"epoch_callback": lambda *a: calls.append(a)} if name == "mlp" else {}))
    assert plain.refit_rows_ is None and model.refit_rows_ == len(Xa)
    np.testing.assert_array_equal(model.validation_rows_, plain.validation_rows_)
    (tr, va), = plain.inner_splits_
    n_early = len(tr)  # the held-out clips' copies are on neither side of the early-stopping split
    assert n_early + len(va) < len(Xa)
    if name == "xgboost":
        assert model.best_iteration_ == plain.best_iteration_  # what early stopping found is kept
        assert seen == [n_early, len(Xa)]  # the early-stopping fit, then the refit on every row
        assert model.model_.get_booster().num_boosted_rounds() == model.best_iteration_ + 1
        assert plain.model_.get_booster().num_boosted_rounds() == plain.best_iteration_ + 1 + plain.early_stopping_rounds
    else:
        assert model.best_epoch_ == plain.best_epoch_ and model.history_ == plain.history_
        early = len(plain.history_)  # epochs run by early stopping
        assert seen == [n_early] * early + [len(Xa)] * (model.best_epoch_ + 1)
        assert early == plain.best_epoch_ + 1 + plain.patience  # early stopping did stop
        assert len(calls) == early  # the refit has no validation rows: no more scores for pruning
    assert not np.allclose(model.predict_proba(Xa), plain.predict_proba(Xa))


@pytest.mark.parametrize("name", ["xgboost", "mlp"])
def test_refit_gives_the_held_out_rows_back(name):
    """Noisy classes: a model that also trained on the early-stopping rows fits them better."""
    from sklearn.metrics import log_loss

    X, y, g = separable(seed=8, shift=1.0)
    plain = C.make_classifier(name, SMALL[name], seed=0).fit(X, y, g)
    refit = C.make_classifier(name, {**SMALL[name], "refit": True}, seed=0).fit(X, y, g)
    va = plain.validation_rows_
    probs = [m.predict_proba(X[va]) for m in (plain, refit)]
    losses = [log_loss(y[va], p / p.sum(1, keepdims=True), labels=plain.classes_) for p in probs]
    assert losses[1] < losses[0] - 0.2, losses  # 1.31 -> 0.69 (XGBoost), 1.28 -> 0.98 (MLP)


@pytest.mark.parametrize("name", ["xgboost", "mlp"])
def test_refit_model_zip_round_trip(tmp_path, name):
    X, y, g = separable(seed=3)
    for refit in (False, True):
        model = C.make_classifier(name, {**SMALL[name], "refit": refit}, seed=0).fit(X, y, g)
        path = tmp_path / f"{refit}.zip"
        C.save_model(model, path)
        loaded = C.load_model(path)
        assert C.read_manifest(path)["params"]["refit"] is refit
        assert loaded.get_params() == model.get_params() and loaded.refit is refit
        assert loaded.refit_rows_ == (len(X) if refit else None)
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-6)
    # a model file written before refit existed (no "refit" parameter, no "refit_rows_") still loads
    manifest = C.read_manifest(tmp_path / "False.zip")
    del manifest["params"]["refit"]
    with zipfile.ZipFile(tmp_path / "False.zip") as src:
        files = {n: src.read(n) for n in src.namelist() if n != "manifest.json"}
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as dst:
        dst.writestr("manifest.json", json.dumps(manifest))
        for n, d in files.items():
            dst.writestr(n, d)
    old = C.load_model(tmp_path / "old.zip")
    assert old.refit is False and old.refit_rows_ is None
