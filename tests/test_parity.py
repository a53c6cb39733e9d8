"""The model that predicts is the model that was evaluated (issue: one feature pipeline).

For every encoder kind (a tiny Hugging Face model, openSMILE, and a fusion whose members are listed in
a non-alphabetical order) and per-speaker standardisation on and off, a demo-sized workflow run (the
session's extended run for on, a run of its own for off) feeds the same audio to two paths that must agree:

- the final model: the features the public API builds from the training audio equal the rows the
  final model was trained on, and ``speech-emotion predict`` on the training files (with their
  speakers) reproduces the final model's own predictions of those rows;
- a CV fold: its predictions.tsv equals the fold model's predictions through the public API on the
  test fold's files;
- a cross pair whose test corpus is a copy of the training clips (same audio in another folder): its
  predictions equal ``predict`` with the cross model on those files, and it scores what the model
  scores on its own training rows.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from conftest import (EXTENDED_ENCODERS, EXTENDED_LABELS, EXTENDED_TARGETS, copy_run, extended_args,
                      extended_config, run_snakemake)
from speech_emotion import load_model
from speech_emotion.train.features import FeatureSpec, load_fold
from speech_emotion.predict.cli import main as cli_main

ENCODERS = EXTENDED_ENCODERS
LABELS = EXTENDED_LABELS
ATOL = 2e-3  # float16 storage of the hf embeddings, batches of other sizes at predict time


def _probs(frame: pd.DataFrame) -> np.ndarray:
    return frame[[f"prob_{label}" for label in LABELS]].to_numpy(dtype=float)


@pytest.fixture(scope="module", params=[pytest.param("on", marks=pytest.mark.xdist_group("parity-on")),
                                        pytest.param("off", marks=pytest.mark.xdist_group("parity-off"))],
                ids=["speaker_norm-on", "speaker_norm-off-weighted-layers"])
def parity_run(request, tmp_path_factory):
    """The demo's embeddings, three encoders (fusion members in the order [tiny-wavlm, egemaps]),
    logistic regression, features.speaker_norm on or off, and a cross pair main -> copy.

    on: the session's extended run (conftest.extended_run, which also holds an emotion2vec encoder);
    off: a run of its own on a copy of the extended run less its models and results (the embeddings of
    both corpora are read, not made again), with a learned weighting of the tiny-wavlm layers, so the
    pipeline's layer weights are checked too."""
    extended = request.getfixturevalue("extended_run")
    if request.param == "on":
        return extended, "on"
    workdir = copy_run(extended, tmp_path_factory.mktemp("parity-off"), *(f"results/{d}" for d in ("cv", "models", "cross", "plots")))
    config = extended_config() | {"features": {"speaker_norm": "off", "layers": "weighted"},
                                  "run": {"encoders": ENCODERS, "classifiers": ["logreg"]}}
    targets = [t for t in EXTENDED_TARGETS if "emotion2vec" not in t]
    result = run_snakemake(workdir, *targets, *extended_args(workdir, config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    for encoder in ("tiny-wavlm", "egemaps"):
        for shard in (f"results/embeddings/{encoder}/clean/shard-0.npz", f"results/corpora/copy/embeddings/{encoder}/clean/shard-0.npz"):
            assert (workdir / shard).stat().st_mtime == (extended / shard).stat().st_mtime, f"{shard} was made again"
    return workdir, "off"


def _training_rows(workdir, encoder: str, spec: FeatureSpec):
    """The rows the final model (fold "all") was trained on: the pipeline's clean rows, standardised."""
    manifest = pd.read_csv(workdir / "results/data/manifest.tsv", sep="\t", dtype=str)
    folds = pd.read_csv(workdir / "results/data/folds.tsv", sep="\t", dtype={"clip_id": str})
    members = spec.encoders
    shards = {m: sorted(str(p) for p in (workdir / f"results/embeddings/{m}/clean").glob("shard-*.npz")) for m in members}
    data = load_fold(None, {"clean": shards}, manifest, folds, spec)
    X = spec.standardise(data.X_train, data.groups_train)[0]
    return data, X, manifest.set_index("clip_id")


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ENCODERS)
def test_the_final_model_predicts_what_it_was_trained_on(parity_run, encoder, capsys, monkeypatch, tmp_path):
    workdir, norm = parity_run
    monkeypatch.chdir(workdir)
    folder = workdir / f"results/models/{encoder}/logreg"
    model = load_model(folder, device="cpu")
    spec = model.final.features
    assert spec.speaker_norm is (norm == "on")
    if encoder == "fused":
        assert spec.encoders == ["tiny-wavlm", "egemaps"], "the config's member order, not the sorted one"
    if norm == "off" and encoder != "egemaps":
        assert spec.members[0].weights is not None, "features.layers weighted: the tiny-wavlm member is weighted"
    data, X_trained, manifest = _training_rows(workdir, encoder, spec)
    files = [str(workdir / manifest.loc[c, "path"]) for c in data.train_ids]
    speakers = manifest.loc[data.train_ids, "speaker"].tolist()

    from speech_emotion.predict.segments import FileSource

    built = model.features([FileSource(f).load(model.sample_rate) for f in files])
    np.testing.assert_allclose(built, data.X_train, rtol=ATOL, atol=ATOL)

    expected = model.final.model.predict_proba(X_trained)
    table = model.predict(files, speakers=speakers)
    assert table["error"].isna().all()
    assert list(table["label"]) == list(np.asarray(model.final.model.classes_)[expected.argmax(1)])
    np.testing.assert_allclose(_probs(table), expected, atol=ATOL)
    if spec.speaker_norm:
        assert set(table["speaker_norm"]) == {"speaker"}

    # the command line, with the speakers as a table, on every file of two speakers (each speaker's
    # statistics come from all its files, as in the API's call above)
    two = sorted(set(speakers))[:2]
    rows = [i for i, s in enumerate(speakers) if s in two]
    speaker_table = tmp_path / "speakers.tsv"
    pd.DataFrame({"file": [files[i] for i in rows], "speaker": [speakers[i] for i in rows]}).to_csv(
        speaker_table, sep="\t", index=False)
    capsys.readouterr()
    assert cli_main(["predict", "--model", str(folder), "--device", "cpu", "--speakers", str(speaker_table),
                     *[files[i] for i in rows]]) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t")
    assert list(printed["label"]) == list(table["label"].iloc[rows])


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_cv_fold_model_predicts_its_test_fold_as_predictions_tsv(parity_run, encoder, monkeypatch):
    workdir, _ = parity_run
    monkeypatch.chdir(workdir)
    fold = workdir / f"results/cv/{encoder}/logreg/fold-0"
    written = pd.read_csv(fold / "predictions.tsv", sep="\t", dtype={"clip_id": str})
    manifest = pd.read_csv(workdir / "results/data/manifest.tsv", sep="\t", dtype=str).set_index("clip_id")
    files = [str(workdir / manifest.loc[c, "path"]) for c in written["clip_id"]]
    table = load_model(fold, device="cpu").predict(files, speakers=manifest.loc[written["clip_id"], "speaker"].tolist())
    assert list(table["label"]) == list(written["prediction"])
    np.testing.assert_allclose(_probs(table), _probs(written), atol=ATOL)


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ENCODERS)
def test_a_cross_pair_on_a_copy_of_its_training_clips(parity_run, encoder, monkeypatch):
    workdir, _ = parity_run
    monkeypatch.chdir(workdir)
    written = pd.read_csv(workdir / f"results/cross/main__copy/{encoder}/logreg/predictions.tsv", sep="\t",
                          dtype={"clip_id": str})
    copy = pd.read_csv(workdir / "results/corpora/copy/data/manifest.tsv", sep="\t", dtype=str).set_index("clip_id")
    files = [str(workdir / copy.loc[c, "path"]) for c in written["clip_id"]]
    folder = workdir / f"results/cross/models/main/{encoder}/logreg"
    model = load_model(folder, device="cpu")
    table = model.predict(files, speakers=copy.loc[written["clip_id"], "speaker"].tolist())
    assert list(table["label"]) == list(written["prediction"])
    np.testing.assert_allclose(_probs(table), _probs(written), atol=ATOL)
    # the copy scores what the cross model scores on its own training rows
    data, X_trained, _ = _training_rows(workdir, encoder, model.final.features)
    own = pd.Series(model.final.model.predict(X_trained), index=data.train_ids)
    assert (written["prediction"].to_numpy() == own.loc[written["clip_id"]].to_numpy()).all()
