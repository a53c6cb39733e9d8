"""Cross-corpus runs: label mapping, the configuration checks, training on one corpus and predicting
another (library, synthetic embeddings), summary rows and the leaderboard; then a real run through the
DAG between URDU clips and the CREMA-D sample from ../shared (slow)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, job_counts, planned_jobs, run_snakemake, shared_path

from speech_emotion.config import ConfigError, check_config
from speech_emotion.cross.pairs import (
    check_disjoint,
    common_labels,
    cross_metrics,
    cross_plan,
    cross_train,
    map_labels,
    predict_corpus,
)
from speech_emotion.embed.embeddings import write_shard
from speech_emotion.evaluate.leaderboard import leaderboard_html, sections
from speech_emotion.evaluate.metrics import summary_row, summary_table

LABEL_MAP = {"Angry": "ANG", "Happy": "HAP", "Neutral": "NEU", "Sad": "SAD"}


def test_map_labels_maps_keeps_common_labels_and_counts_the_dropped():
    manifest = pd.DataFrame({"clip_id": list("abcdefg"), "speaker": "s",
                             "label": ["Angry", "ANG", "DIS", "Happy", "FEA", "DIS", "Sad"]})
    mapped, dropped = map_labels(manifest, LABEL_MAP)
    assert mapped["clip_id"].tolist() == ["a", "b", "d", "g"]
    assert mapped["label"].tolist() == ["ANG", "ANG", "HAP", "SAD"]  # CREMA-D's ANG is already common
    assert mapped["corpus_label"].tolist() == ["Angry", "ANG", "Happy", "Sad"]
    assert dropped == {"DIS": 2, "FEA": 1}
    assert common_labels(LABEL_MAP) == ["ANG", "HAP", "NEU", "SAD"]
    # an explicit key wins over the identity of common labels
    assert map_labels(manifest, {"ANG": "HAP", "Happy": "HAP"})[0]["label"].tolist() == ["HAP", "HAP"]
    with pytest.raises(ValueError, match="label_map is empty"):
        map_labels(manifest, {})


def _config(tmp_path: Path) -> dict:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    (tmp_path / "db" / "Angry").mkdir(parents=True)
    config["corpora"] = {"urdu": {"kind": "folder", "root": "db", "speaker_regex": "^(S[MF]\\d+)_"}}
    config["cross"] = [{"train": "main", "test": "urdu"}]
    config["label_map"] = dict(LABEL_MAP)
    return config


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["cross"].append({"train": "main", "test": "nope"}), "cross[1].test: unknown corpus 'nope'"),
        (lambda c: c["cross"].append({"train": "urdu", "test": "urdu"}), "cross[1]: train and test are both"),
        (lambda c: c["cross"].append({"train": "main", "test": "urdu"}), "cross[1]: the pair main -> urdu is listed twice"),
        (lambda c: c.update(label_map={}), "label_map: required with cross pairs"),
        (lambda c: c["corpora"].update(main={"kind": "folder", "root": "db", "speaker_regex": "(x)"}),
         "corpora.main: the name is taken"),
        (lambda c: c["corpora"]["urdu"].update(root="missing"), "corpora.urdu.root: folder 'missing' does not exist"),
        (lambda c: c["corpora"]["urdu"].update(speaker_regex="^S"), "corpora.urdu.speaker_regex: '^S' needs a group"),
        (lambda c: c["corpora"].update(crema={"kind": "cremad", "source": "download"}),
         "corpora.crema.source: an extra cremad corpus needs a local folder"),
    ],
)
def test_cross_configuration_errors_name_the_key(tmp_path, change, message):
    config = _config(tmp_path)
    check_config(config, tmp_path)  # the valid base
    change(config)
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_config(config, tmp_path)


# --- library: train on one corpus, predict another (synthetic embeddings) ----------------------------


def _corpus(prefix: str, labels: list[str], speakers: int, per: int, rng, shift: float = 0.0) -> pd.DataFrame:
    rows = []
    for s in range(speakers):
        for label in labels:
            for i in range(per):
                rows.append({"clip_id": f"{prefix}{s}_{label}_{i}", "path": f"{prefix}/{s}_{label}_{i}.wav",
                             "speaker": f"{prefix}{s}", "label": label})
    return pd.DataFrame(rows)


CENTRES = {"ANG": 0, "HAP": 1, "NEU": 2, "SAD": 3, "DIS": 4}


def _features(labels, rng, scale: float = 6.0) -> np.ndarray:
    """(clips, 2 layers, 8): layer 1 separates the common classes, layer 0 is noise."""
    common = [CENTRES[{"Angry": "ANG", "Happy": "HAP", "Neutral": "NEU", "Sad": "SAD"}.get(l, l)] for l in labels]
    out = rng.normal(size=(len(labels), 2, 8))
    out[np.arange(len(labels)), 1, common] += scale
    return out


def _write(folder: Path, name: str, clip_ids, features) -> dict[str, list[str]]:
    """One variant's shard of encoder "enc": {encoder: [shard file]}."""
    path = folder / name / "shard-0.npz"
    write_shard(path, list(clip_ids), features, "enc", "enc", "none", dtype="float32")
    return {"enc": [str(path)]}


def test_cross_train_uses_only_the_train_corpus_and_predicts_every_mapped_test_clip(tmp_path):
    rng = np.random.default_rng(0)
    train = _corpus("tr", ["ANG", "HAP", "NEU", "SAD", "DIS"], speakers=5, per=3, rng=rng)  # CREMA-D-like
    test = _corpus("te", ["Angry", "Happy", "Neutral", "Sad", "Calm"], speakers=3, per=2, rng=rng)  # URDU-like
    train_paths = {"clean": _write(tmp_path / "train", "clean", train["clip_id"], _features(train["label"], rng)),
                   "aug1": _write(tmp_path / "train", "aug1", train["clip_id"], _features(train["label"], rng))}
    test_clean = _write(tmp_path / "test", "clean", test["clip_id"],
                        _features(test["label"].replace({"Calm": "NEU"}), rng))
    features = {"layers": "auto", "probe_max_layers": 2, "probe_inner_folds": 3, "probe_C": 1.0, "probe_max_iter": 500,
                "probe_finalists": 3,
                "speaker_norm": "off", "speaker_norm_min_clips": 5}

    plan = cross_plan(train_paths, train, LABEL_MAP, features, "always", seed=0)
    assert plan["fold"] == "all" and plan["n_train_clips"] == 5 * 4 * 3  # DIS dropped
    assert plan["dropped"] == {"DIS": 15} and plan["labels"] == ["ANG", "HAP", "NEU", "SAD"]
    assert 1 in plan["features"]["members"][0]["layers"]  # the informative layer
    assert plan["evidence"]["inner"]["grouping"] == "speaker"  # inner CV on the train corpus's speakers
    result = cross_train("enc", "logreg", {"Cs": [0.1, 1.0]}, train_paths, train, LABEL_MAP, plan, seed=0)
    record = result.record
    # every mapped train clip, once clean and once as its copy; no copy of a dropped (DIS) clip
    assert record["n_train_clips"] == 60 and record["n_train_rows"] == 120 and record["n_test_clips"] == 0
    assert record["labels"] == ["ANG", "HAP", "NEU", "SAD"] and record["dropped"] == {"DIS": 15}
    assert len(result.predictions) == 0

    predictions, dropped = predict_corpus(result.model, result.features, test_clean, test, train, LABEL_MAP, tmp_path)
    mapped = test[test["label"] != "Calm"]
    assert dropped == {"Calm": 6}
    assert sorted(predictions["clip_id"]) == sorted(mapped["clip_id"]) and (predictions["fold"] == 0).all()
    assert set(predictions["label"]) == {"ANG", "HAP", "NEU", "SAD"}
    assert [c for c in predictions.columns if c.startswith("prob_")] == [f"prob_{l}" for l in ["ANG", "HAP", "NEU", "SAD"]]
    assert "lone_prediction" not in predictions.columns  # no standardisation: a clip alone is labelled the same
    correct = (predictions["label"] == predictions["prediction"]).mean()
    assert correct > 0.9  # separable classes: the model transfers

    metrics = cross_metrics(predictions, test, train, LABEL_MAP, {"train": "crema", "test": "urdu"}, "enc", "logreg")
    recall = np.mean([(g["prediction"] == l).mean() for l, g in predictions.groupby("label")])
    assert metrics["balanced_accuracy"]["pooled"] == pytest.approx(recall, abs=1e-6)
    assert metrics["balanced_accuracy"]["mean"] == metrics["balanced_accuracy"]["pooled"]
    assert metrics["protocol"] == "cross: crema -> urdu" and metrics["n_folds"] == 1 and metrics["n_clips"] == 24
    assert metrics["chance"]["balanced_accuracy"] == 0.25 and metrics["chance"]["accuracy"] == 0.25
    assert metrics["cross"]["test"]["dropped"] == {"Calm": 6} and metrics["cross"]["train"]["dropped"] == {"DIS": 15}
    assert metrics["cross"]["train"]["n_speakers"] == 5 and metrics["per_speaker"]["n_speakers"] == 3
    assert metrics["cross"]["shared_speaker_ids"] == []
    row = summary_row(metrics, "enc", "logreg", metrics["protocol"])
    assert (row["train_corpus"], row["test_corpus"], row["n_folds"]) == ("crema", "urdu", 1)


def test_a_cross_pair_standardises_the_test_corpus_per_speaker_as_a_cv_test_fold(tmp_path):
    """speaker_norm on: a test corpus that is a copy of the training clips (other clip ids, other paths)
    scores what the model scores on its own training rows, and its rows are standardised per test
    speaker exactly as a CV test fold's. Before the feature pipeline, cross predictions fed the raw
    features to a model trained on standardised ones (chance-level scores)."""
    from speech_emotion.train.features import load_fold

    rng = np.random.default_rng(3)
    train = _corpus("tr", ["ANG", "HAP", "NEU", "SAD"], speakers=6, per=4, rng=rng)
    X = _features(train["label"], rng, scale=4.0)
    offsets = {s: rng.normal(scale=25.0, size=8) for s in train["speaker"].unique()}  # speaker identity dominates
    X = X + np.stack([offsets[s] for s in train["speaker"]])[:, None, :]
    test = train.assign(clip_id="copy-" + train["clip_id"], path="copy/" + train["path"])
    train_paths = {"clean": _write(tmp_path / "train", "clean", train["clip_id"], X)}
    test_clean = _write(tmp_path / "test", "clean", test["clip_id"], X)
    features = {"layers": [1], "probe_max_layers": 1, "probe_inner_folds": 3, "probe_C": 1.0, "probe_finalists": 3,
                "probe_max_iter": 500, "speaker_norm": "on", "speaker_norm_min_clips": 5}
    plan = cross_plan(train_paths, train, LABEL_MAP, features, "always", seed=0)
    result = cross_train("enc", "logreg", {"C": 1.0}, train_paths, train, LABEL_MAP, plan, seed=0)
    assert result.features.speaker_norm and result.features.population is not None
    predictions, _ = predict_corpus(result.model, result.features, test_clean, test, train, LABEL_MAP, tmp_path)
    # the model on its own (standardised) training rows
    own = load_fold(None, train_paths, train, pd.DataFrame({"clip_id": train["clip_id"], "fold": 0}), result.features)
    X_own = result.features.standardise(own.X_train, own.groups_train)[0]
    expected = result.model.predict(X_own)
    got = predictions.set_index("clip_id").loc["copy-" + own.train_ids, "prediction"].to_numpy()
    np.testing.assert_array_equal(got, expected)
    own_accuracy = (expected == own.y_train).mean()
    assert own_accuracy > 0.9 and (predictions["label"] == predictions["prediction"]).mean() == own_accuracy
    # raw features (what cross_predict fed before) land near chance on this corpus
    raw = result.model.predict(own.X_train)
    assert (raw == own.y_train).mean() < 0.6


def test_a_test_speakers_statistics_come_from_all_its_clips_not_only_the_mapped_ones(tmp_path):
    """speaker_norm on, a test corpus whose speakers also recorded Calm (outside label_map, never scored)
    far from their other clips. predict standardises a speaker with all of that speaker's clips (labels
    unused), so the pair does too: each mapped clip's row is FeatureSpec.standardise over every clip of
    its speaker. Before, only the clips with a mapped label made the statistics (the test labels chose
    the normalisation set). Each clip labelled alone (lone_prediction) gets the population's statistics."""
    rng = np.random.default_rng(5)
    train = _corpus("tr", ["ANG", "HAP", "NEU", "SAD"], speakers=6, per=4, rng=rng)
    X_train = _features(train["label"], rng, scale=4.0)
    offsets = {s: rng.normal(scale=25.0, size=8) for s in train["speaker"].unique()}
    X_train = X_train + np.stack([offsets[s] for s in train["speaker"]])[:, None, :]
    test = _corpus("te", ["Angry", "Happy", "Neutral", "Sad", "Calm"], speakers=3, per=4, rng=rng)
    X_test = _features(test["label"].replace({"Calm": "NEU"}), rng, scale=4.0)
    offsets = {s: rng.normal(scale=25.0, size=8) for s in test["speaker"].unique()}
    X_test = X_test + np.stack([offsets[s] for s in test["speaker"]])[:, None, :]
    X_test[(test["label"] == "Calm").to_numpy()] += 15.0  # the unmapped clips move each speaker's mean
    train_paths = {"clean": _write(tmp_path / "train", "clean", train["clip_id"], X_train)}
    test_clean = _write(tmp_path / "test", "clean", test["clip_id"], X_test)
    features = {"layers": [1], "probe_max_layers": 1, "probe_inner_folds": 3, "probe_C": 1.0, "probe_finalists": 3,
                "probe_max_iter": 500, "speaker_norm": "on", "speaker_norm_min_clips": 5}
    plan = cross_plan(train_paths, train, LABEL_MAP, features, "always", seed=0)
    result = cross_train("enc", "logreg", {"C": 1.0}, train_paths, train, LABEL_MAP, plan, seed=0)
    spec, model = result.features, result.model
    predictions, dropped = predict_corpus(model, spec, test_clean, test, train, LABEL_MAP, tmp_path)
    assert dropped == {"Calm": 12} and len(predictions) == 48

    every = spec.read_variant("clean", test_clean)  # every test clip, in stored order (the test table's)
    assert list(every.clip_ids) == list(test["clip_id"])
    rows, _, clips = spec.standardise(every.features, test["speaker"].tolist())
    assert set(clips) == {20}  # 16 mapped + 4 Calm clips per speaker
    scored = test["label"] != "Calm"
    order = predictions.set_index("clip_id").loc[test.loc[scored, "clip_id"]]
    probs = order[[f"prob_{label}" for label in ["ANG", "HAP", "NEU", "SAD"]]].to_numpy()
    np.testing.assert_allclose(probs, model.predict_proba(rows[scored.to_numpy()]), atol=1e-6)
    mapped_only = spec.standardise(every.features[scored.to_numpy()], test.loc[scored, "speaker"].tolist())[0]
    assert not np.allclose(probs, model.predict_proba(mapped_only), atol=1e-3), "the Calm clips must count"
    # each clip alone: the population's statistics (what predict gives a file without a speaker)
    alone = spec.population.apply(every.features[scored.to_numpy()])
    np.testing.assert_array_equal(order["lone_prediction"], model.predict(alone))
    metrics = cross_metrics(predictions, test, train, LABEL_MAP, {"train": "main", "test": "urdu"}, "enc", "logreg")
    lone = metrics["lone_clip"]
    assert lone["folds_standardised"] == ["0"] and lone["n_folds"] == 1
    assert lone["balanced_accuracy"]["pooled"] == pytest.approx(
        np.mean([(g["lone_prediction"] == label).mean() for label, g in order.groupby("label")]), abs=1e-6)
    assert summary_row(metrics, "enc", "logreg", metrics["protocol"])["lone_clip_balanced_accuracy_pooled"] == (
        lone["balanced_accuracy"]["pooled"])


def test_a_file_in_both_corpora_stops_the_prediction(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.wav").write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "a")
    train = pd.DataFrame({"path": ["a/x.wav", "a/y.wav"]})
    check_disjoint(train, pd.DataFrame({"path": ["b/x.wav"]}), tmp_path)
    with pytest.raises(ValueError, match=r"1 audio file\(s\) are in both .*link/x.wav"):
        check_disjoint(train, pd.DataFrame({"path": ["link/x.wav"]}), tmp_path)  # the same file through a link


# --- summary.tsv and the leaderboard -------------------------------------------------------------------


def _row(encoder, classifier, ua, chance=0.25, protocol="speaker", train=None, test=None, folds=5):
    metrics = {name: {"mean": ua - 0.01, "std": 0.02, "pooled": ua}
               for name in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")}
    metrics.update(chance={"balanced_accuracy": chance, "balanced_accuracy_mean": chance}, n_clips=40, n_folds=folds)
    if train:
        metrics.update(train_corpus=train, test_corpus=test)
    return summary_row(metrics, encoder, classifier, protocol)


def test_summary_puts_cross_rows_after_the_cross_validation_and_the_leaderboard_ranks_by_pooled_ua():
    rows = [_row("w", "svm", 0.61, train="main", test="urdu", protocol="cross: main -> urdu", folds=1),
            _row("w", "svm", 0.70), _row("e", "mlp", 0.72), _row("e", "logreg", 0.65),
            _row("w", "logreg", 0.40, train="main", test="urdu", protocol="cross: main -> urdu", folds=1)]
    table = summary_table(rows)
    assert table["protocol"].tolist() == ["speaker"] * 3 + ["cross: main -> urdu"] * 2
    assert table[["encoder", "classifier"]].values.tolist()[:3] == [["e", "logreg"], ["e", "mlp"], ["w", "svm"]]
    assert table["train_corpus"].isna().sum() == 3
    titles = [(title, rows["classifier"].tolist()) for title, rows in sections(table, "crema")]
    assert titles == [("In-corpus cross-validation on crema (protocol: speaker)", ["mlp", "svm", "logreg"]),
                      ("Cross-corpus: trained on main, tested on urdu", ["svm", "logreg"])]
    page = leaderboard_html(table, "crema")
    assert page.count("<table>") == 2 and "<td>0.720</td>" in page and "<td>0.250</td>" in page
    # a summary without cross rows (every default run) has no corpus columns and one table
    plain = summary_table(rows[1:4])
    assert "train_corpus" not in plain.columns and leaderboard_html(plain, "main").count("<table>") == 1


# --- the DAG on real corpora -----------------------------------------------------------------------------


def _urdu_subset(folder: Path) -> pd.DataFrame:
    """Two clips per (speaker, label) of six URDU speakers that together cover the four emotions (16 clips)."""
    root = shared_path("data", "urdu")
    rows = []
    for label_dir in sorted(root.iterdir()):
        for wav in sorted(label_dir.glob("*.wav")):
            rows.append({"path": str(wav), "label": label_dir.name, "speaker": wav.name.split("_")[0]})
    frame = pd.DataFrame(rows)
    keep = frame["speaker"].isin(["SM1", "SM2", "SM5", "SM6", "SM24", "SM25"])
    frame = frame[keep].groupby(["speaker", "label"], sort=False).head(2).reset_index(drop=True)
    frame.to_csv(folder / "urdu.csv", index=False)
    return frame


def _chromium_shows_leaderboard(report: Path, out: Path) -> str:
    """Open the report in headless Chromium, click 1. Overview and the leaderboard; the page title
    then says what was found and the DOM holds the shown iframe."""
    html = report.read_text(encoding="utf-8")
    script = """<script>
function leaf(t) { return [...document.querySelectorAll('*')].filter(e => e.children.length === 0 && e.textContent.trim() === t); }
window.addEventListener('load', () => { setTimeout(() => {
  const cat = leaf('1. Overview'); if (cat.length) cat[0].click();
  setTimeout(() => {
    const rows = [...document.querySelectorAll('tr')].filter(r => r.textContent.includes('leaderboard'));
    if (rows.length && rows[0].querySelector('a')) rows[0].querySelector('a').click();
    setTimeout(() => {
      const items = [...document.querySelectorAll('tr')].filter(r => r.querySelector('a'));
      const f = document.querySelector('iframe');
      const shown = f ? atob(f.src.split(',')[1]) : '';
      document.title = 'first=' + (items.length ? items[0].textContent.trim().slice(0, 14) : 'none')
        + ' iframe=' + (shown.includes('<h1>Leaderboard</h1>') && shown.includes('<table>')); }, 500);
  }, 500); }, 500); });
</script>"""
    end = html.rfind("</body>")
    page = out / "report-driven.html"
    page.write_text(html[:end] + script + html[end:], encoding="utf-8")
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={tempfile.mkdtemp(dir=out)}",
           "--virtual-time-budget=6000", "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    return re.search(r"<title>([^<]*)</title>", dom).group(1)


@pytest.mark.slow
@pytest.mark.shared
def test_cross_corpus_run_between_urdu_and_the_cremad_sample(tmp_path):
    """URDU clips (primary corpus, in-corpus CV) and the 12 real CREMA-D clips (extra corpus) both ways."""
    clips = _urdu_subset(tmp_path)
    cremad = shared_path("data", "cremad-sample", "AudioWAV")
    config = {
        "dataset": {"name": "urdu", "kind": "manifest", "manifest": "urdu.csv"},
        "corpora": {"cremad": {"kind": "cremad", "source": str(cremad),
                               "demographics": str(shared_path("data", "cremad-meta", "VideoDemographics.csv"))}},
        "cross": [{"train": "urdu", "test": "cremad"}, {"train": "cremad", "test": "urdu"}],
        "label_map": LABEL_MAP,
        "cv": {"folds": 3},
        "augment": {"copies": 0},
        "embed": {"shards": 2, "threads": 1},
        "train": {"threads": 1},
        "run": {"encoders": ["egemaps"], "classifiers": ["logreg"]},
    }
    (tmp_path / "cross.yaml").write_text(yaml.safe_dump(config))
    pairs = ["urdu__cremad", "cremad__urdu"]
    targets = ["results/summary.tsv", "results/leaderboard.html"] + [
        f"results/cross/{p}/egemaps/logreg/{name}" for p in pairs for name in ("metrics.json", "confusion.png", "per_class.png")]
    args = (*targets, "--cores", "2", "--configfile", str(tmp_path / "cross.yaml"))
    # each corpus embedded once: the primary's shards serve its CV and both pairs, the extra one has its own
    counts = job_counts(planned_jobs(tmp_path, *args))
    assert (counts.get("embed"), counts.get("cross_train")) == (4, 2), counts
    run = run_snakemake(tmp_path, *args, timeout=1800)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    results = tmp_path / "results"

    assert sorted(p.relative_to(results).as_posix() for p in results.rglob("shard-*.npz")) == [
        "corpora/cremad/embeddings/egemaps/clean/shard-0.npz", "corpora/cremad/embeddings/egemaps/clean/shard-1.npz",
        "embeddings/egemaps/clean/shard-0.npz", "embeddings/egemaps/clean/shard-1.npz"]
    assert len(pd.read_csv(results / "corpora/cremad/data/manifest.tsv", sep="\t")) == 12

    plans = {t: json.loads((results / f"cross/models/{t}/egemaps/plan.json").read_text()) for t in ("urdu", "cremad")}
    assert plans["urdu"]["n_train_clips"] == len(clips) and plans["cremad"]["n_train_clips"] == 8
    assert plans["cremad"]["dropped"] == {"DIS": 2, "FEA": 2}
    log = (results / "logs/cross/urdu__cremad/egemaps/logreg/predict.log").read_text()
    assert "corpus cremad: 8 of 12 clips have a label in the common set" in log and "dropped 4" in log

    summary = pd.read_csv(results / "summary.tsv", sep="\t")
    assert summary["protocol"].tolist() == ["speaker", "cross: cremad -> urdu", "cross: urdu -> cremad"]
    for pair, n_test in (("urdu__cremad", 8), ("cremad__urdu", len(clips))):
        train, test = pair.split("__")
        predictions = pd.read_csv(results / f"cross/{pair}/egemaps/logreg/predictions.tsv", sep="\t")
        assert len(predictions) == n_test and set(predictions["label"]) == {"ANG", "HAP", "NEU", "SAD"}
        metrics = json.loads((results / f"cross/{pair}/egemaps/logreg/metrics.json").read_text())
        recall = np.mean([(g["prediction"] == l).mean() for l, g in predictions.groupby("label")])
        assert metrics["balanced_accuracy"]["pooled"] == pytest.approx(recall, abs=1e-6)
        row = summary[summary["protocol"] == f"cross: {train} -> {test}"].iloc[0]
        assert row["balanced_accuracy_pooled"] == pytest.approx(recall, abs=1e-6)
        assert (row["train_corpus"], row["test_corpus"], row["n_clips"], row["chance_balanced_accuracy_pooled"]) == (
            train, test, n_test, 0.25)
    record = json.loads((results / "cross/models/urdu/egemaps/logreg/record.json").read_text())
    assert record["n_train_clips"] == len(clips) and record["labels"] == ["ANG", "HAP", "NEU", "SAD"]
    page = (results / "leaderboard.html").read_text()
    assert page.count("<table>") == 3 and "Cross-corpus: trained on urdu, tested on cremad" in page

    assert planned_jobs(tmp_path, *args) == set()

    # the report: the leaderboard is the first item of the first category, an HTML table
    report = run_snakemake(tmp_path, *args, "--report", "results/report.html", timeout=600)
    assert report.returncode == 0, report.stderr[-3000:]
    html = (results / "report.html").read_text(encoding="utf-8")
    uris = re.findall(r"data:text/html;[^,\"]*base64,([A-Za-z0-9+/=]+)", html)
    assert any("<h1>Leaderboard</h1>" in base64.b64decode(u).decode() for u in uris)
    if shutil.which("chromium"):
        title = _chromium_shows_leaderboard(results / "report.html", tmp_path)
        assert title == "first=1. leaderboard iframe=true", title
