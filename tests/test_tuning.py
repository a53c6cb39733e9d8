"""Nested tuning: Optuna TPE on speaker-grouped inner CV, SQLite study per fold, MLP pruning."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from conftest import REPO

from speech_emotion.train.tuning import suggest, to_params, tune


def data(seed=0, n_per_class=24, n_speakers=6):
    rng = np.random.default_rng(seed)
    y_idx = np.repeat(np.arange(3), n_per_class)
    X = rng.normal(size=(len(y_idx), 10)).astype(np.float32)
    X[np.arange(len(y_idx)), y_idx] += 2.5
    groups = np.array([f"s{i % n_speakers}" for i in range(len(y_idx))])
    return X, np.array(["A", "B", "C"])[y_idx], groups


@pytest.mark.parametrize("classifier,space,base", [
    ("svm", {"C": {"low": 0.1, "high": 100.0, "log": True}, "gamma": {"low": 1e-4, "high": 1e-1, "log": True}}, {}),
    ("mlp", {"lr": {"low": 1e-4, "high": 1e-2, "log": True}, "batch_size": {"choices": [16, 32]},
             "n_layers": {"low": 2, "high": 3}, "units": {"low": 32, "high": 64}, "dropout": {"low": 0.1, "high": 0.5}},
     {"max_epochs": 15, "patience": 5}),
])
def test_three_trials_write_the_sqlite_study(tmp_path, classifier, space, base):
    X, y, g = data()
    path = tmp_path / "fold-0" / "study.sqlite3"
    result = tune(classifier, base, space, X, y, g, path, "enc-x-fold-0", n_trials=3, inner_folds=3, seed=0,
                  pruner={"n_startup_trials": 1, "n_warmup_steps": 2})
    assert path.is_file()
    study = optuna.load_study(study_name="enc-x-fold-0", storage=f"sqlite:///{path}")
    assert len(study.trials) == 3
    assert 0.0 <= result["value"] <= 1.0 and result["trials"] == 3
    if classifier == "mlp":
        assert "hidden" in result["params"] and "units" not in result["params"]
        assert 2 <= len(result["params"]["hidden"]) <= 3
        # the MLP reports one validation score per epoch (what the MedianPruner compares)
        assert all(t.intermediate_values for t in study.trials)
    else:
        assert 0.1 <= result["params"]["C"] <= 100.0
    # rerun: the study is replaced, not appended to, and gives the same best value (seeded)
    again = tune(classifier, base, space, X, y, g, path, "enc-x-fold-0", n_trials=3, inner_folds=3, seed=0,
                 pruner={"n_startup_trials": 1, "n_warmup_steps": 2})
    assert len(optuna.load_study(study_name="enc-x-fold-0", storage=f"sqlite:///{path}").trials) == 3
    assert again["value"] == pytest.approx(result["value"])


def test_inner_cv_scores_only_clean_rows(tmp_path, monkeypatch):
    """Rows masked out (augmented copies) train but are never scored."""
    import speech_emotion.train.tuning as T

    X, y, g = data(seed=1)
    mask = (np.arange(len(y)) // 6) % 2 == 0  # every speaker has masked and unmasked rows
    scored = []
    original = T.pooled_balanced_accuracy
    monkeypatch.setattr(T, "pooled_balanced_accuracy",
                        lambda p, t: (scored.append(int((~np.isnan(p).any(axis=1)).sum())), original(p, t))[1])
    tune("logreg", {}, {"C": {"low": 0.01, "high": 10.0, "log": True}}, X, y, g, tmp_path / "s.sqlite3", "s",
         n_trials=1, inner_folds=3, seed=0, clean=mask, clips=np.arange(len(y)))
    assert scored == [mask.sum()]


def test_trials_are_scored_like_every_other_inner_choice(tmp_path):
    """The objective is the pooled out-of-fold balanced accuracy (as the layer probe and the logreg C
    choice), not the mean of per-inner-fold scores, which differs on these rows."""
    from sklearn.metrics import balanced_accuracy_score

    from speech_emotion.train.classifiers.inner import cross_val_proba, inner_cv, pooled_balanced_accuracy
    from speech_emotion.train.classifiers.logreg import LogRegClassifier

    X, y, g = data(seed=2, n_per_class=10)
    X = X + np.random.default_rng(5).normal(scale=3.0, size=X.shape).astype(np.float32)  # a hard problem
    result = tune("logreg", {}, {"C": {"choices": [0.1]}}, X, y, g, tmp_path / "s.sqlite3", "s",
                  n_trials=1, inner_folds=3, seed=0)
    splits = inner_cv(y, g, 3, 0)
    probs = cross_val_proba(lambda: LogRegClassifier(C=0.1, seed=0), X, y, g, splits)
    pooled = pooled_balanced_accuracy(probs, y)
    per_fold = np.mean([balanced_accuracy_score(y[va], np.unique(y)[probs[va].argmax(1)]) for _, va in splits])
    assert abs(pooled - per_fold) > 1e-3, "the two scoring rules must differ here for the test to mean anything"
    assert result["value"] == pytest.approx(pooled)
    assert result["inner"] == {"grouping": "speaker", "reason": None}


def test_space_types_and_mlp_mapping():
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
    trial = study.ask()
    values = suggest(trial, {"a": {"choices": [16, 32]}, "b": {"low": 2, "high": 5}, "c": {"low": 0.1, "high": 0.5}})
    assert values["a"] in (16, 32) and isinstance(values["b"], int) and isinstance(values["c"], float)
    assert to_params("mlp", {"n_layers": 3, "units": 256, "lr": 0.01}) == {"hidden": [256, 128, 64], "lr": 0.01}
    assert to_params("mlp", {"n_layers": 5, "units": 128})["hidden"] == [128, 64, 32, 32, 32]
    with pytest.raises(ValueError, match="cannot be tuned"):
        tune("ensemble", {}, {"x": {"low": 0, "high": 1}}, *data(), "x.sqlite3", "x")


def test_the_tune_job_sees_the_data_the_train_job_fits(tmp_path):
    """Both read the fold through features.planned_fold: with a plan that standardises per speaker,
    the tune job's rows are the standardised ones (before, the tune script loaded them raw)."""
    from speech_emotion.train.features import FeatureSpec, planned_fold
    from synthetic import synthetic_corpus, write_embeddings

    frame, emb = synthetic_corpus()
    paths = write_embeddings(tmp_path, frame, emb)
    manifest, folds = frame[["clip_id", "speaker", "label"]], frame[["clip_id", "fold"]]
    spec = FeatureSpec.of([1, 3], encoder="enc", speaker_norm=True, min_clips=3, copies=False)
    data, fitted, _ = planned_fold(0, paths, manifest, folds, spec)
    assert fitted.population is not None and set(data.train_variants) == {"clean"}
    speaker = data.groups_train[0]
    rows = data.X_train[data.groups_train == speaker]
    np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-5)  # each speaker standardised on its own clips
    script = (REPO / "workflow/scripts/tune.py").read_text()
    assert "planned_fold(" in script and "load_fold(" not in script
