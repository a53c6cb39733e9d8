"""The plan's ridge probe against scikit-learn's Ridge, and the probe's choice of penalty."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from speech_emotion.classifiers import inner as I
from speech_emotion.plan import Probe
from speech_emotion.probe import ridge_fit_predict, ridge_out_of_fold


def reference(X_train, y_train, X_test, n_classes, alpha):
    """The probe written with scikit-learn: standardise on the training rows, weight each row by
    n / (classes x rows of its class), regress the one-hot labels with Ridge(alpha x sum of weights)."""
    scaler = StandardScaler().fit(X_train)
    counts = np.bincount(y_train, minlength=n_classes)
    weights = len(y_train) / ((counts > 0).sum() * counts[y_train])
    Y = np.eye(n_classes)[y_train]
    model = Ridge(alpha=alpha * weights.sum()).fit(scaler.transform(X_train), Y, sample_weight=weights)
    return model.predict(scaler.transform(X_test))


def unbalanced(n, d, seed):
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + 5.0
    X[:, :3] += 2.0 * np.eye(3)[y]
    return X.astype(np.float32), y


@pytest.mark.parametrize("n, d", [(120, 10), (40, 90)], ids=["more rows (d x d Gram)", "more features (n x n Gram)"])
def test_ridge_probe_equals_scikit_learn_ridge_with_balanced_weights(n, d):
    X, y = unbalanced(n + 30, d, seed=3)
    alphas = [0.1, 1.0, 10.0]
    got = ridge_fit_predict(X[:n], y[:n], X[n:], 3, alphas)
    assert got.shape == (3, 30, 3)
    for k, alpha in enumerate(alphas):
        np.testing.assert_allclose(got[k], reference(X[:n], y[:n], X[n:], 3, alpha), atol=2e-4)
    # the penalties differ enough to change the fit (so the comparison above can fail)
    assert np.abs(got[0] - got[2]).max() > 0.05


def test_probe_score_is_the_best_penalty_of_the_pooled_out_of_fold_predictions():
    X, y = unbalanced(150, 12, seed=4)
    groups = np.repeat(np.arange(10), 15)
    splits = I.inner_cv(y, groups, 5, 0)
    alphas = (0.01, 100.0)
    values = ridge_out_of_fold(X, y, splits, alphas)
    expected = []
    for k, alpha in enumerate(alphas):
        by_hand = np.full((len(y), 3), np.nan)
        for tr, va in splits:
            by_hand[va] = reference(X[tr], y[tr], X[va], 3, alpha)
        np.testing.assert_allclose(values[k], by_hand, atol=2e-4)
        expected.append(I.pooled_balanced_accuracy(by_hand, y))
    assert expected[0] != expected[1]
    assert Probe(kind="ridge", alphas=alphas).score(X, y, groups, splits) == pytest.approx(max(expected))


def test_probe_handles_constant_features_and_a_class_missing_from_training():
    X, y = unbalanced(60, 5, seed=5)
    X[:, 4] = 7.0  # constant: standardised to zero, not NaN
    train = y != 2
    got = ridge_fit_predict(X[train], y[train], X, 3, [1.0])
    assert np.isfinite(got).all()
    assert (np.argmax(got[0], axis=1) != 2).all(), "a class absent from training is never predicted"


def test_unknown_probe_is_refused():
    with pytest.raises(ValueError, match="features.probe"):
        Probe(kind="lasso")


@pytest.mark.parametrize("kind, words", [("logreg", "logistic-regression probe"), ("ridge", "ridge probe")])
def test_plan_and_model_card_name_the_probe_that_chose_the_layers(kind, words):
    from speech_emotion.model_card import _encoder_lines
    from speech_emotion.plan import choose_layers

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    groups = np.tile(np.arange(6), 10)
    embeddings = rng.normal(size=(60, 2, 4)).astype(np.float32)
    choice = choose_layers("auto", embeddings, y, groups, Probe(kind=kind, inner_folds=3))
    assert choice["probe"] == kind
    info = {"encoder": {"name": "enc", "spec": {"kind": "hf", "model": "m"}}, "layers": choice["layers"],
            "layer_choice": choice, "n_features": 4}
    assert f"chosen by a {words} under speaker-grouped inner CV" in " ".join(_encoder_lines(info))
