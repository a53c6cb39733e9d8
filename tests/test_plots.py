"""Every figure is written as a non-empty, readable PNG (tiny data)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from speech_emotion.evaluate.human import read_perception
from speech_emotion.evaluate.metrics import compute_metrics, summary_row, summary_table
from speech_emotion.evaluate.plots import (
    plot_comparison,
    plot_confusion,
    plot_fold_scores,
    plot_layer_probe,
    plot_per_class,
    plot_umap,
    umap_2d,
)

LABELS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
PNG = b"\x89PNG\r\n\x1a\n"


def _metrics(seed: int, tmp_path=None):
    rng = np.random.default_rng(seed)
    n = 60
    y = np.array(LABELS * (n // len(LABELS)))
    pred = np.where(rng.random(n) < 0.6, y, rng.choice(LABELS, n))
    preds = pd.DataFrame({"clip_id": [f"10{i % 4:02d}_IEO_{l}_XX_{i}" for i, l in enumerate(y)],
                          "fold": (np.arange(n) // len(LABELS)) % 3, "label": y, "prediction": pred})
    manifest = preds[["clip_id"]].assign(speaker=[f"s{i % 4}" for i in range(n)], label=y)
    perception = None
    if tmp_path is not None:
        table = tmp_path / "summaryTable.csv"
        votes = np.where(rng.random(n) < 0.4, [l[0] for l in y], "N")
        pd.DataFrame({"FileName": preds["clip_id"], "VoiceVote": votes}).to_csv(table)
        perception = read_perception(table)
    return compute_metrics(preds, manifest, perception)


def assert_png(path):
    assert path.exists() and path.stat().st_size > 5000, f"{path} missing or tiny"
    assert path.read_bytes()[:8] == PNG


def test_per_classifier_figures(tmp_path):
    metrics = _metrics(0, tmp_path)
    assert metrics["human_baseline"]["available"]
    plot_confusion(metrics, tmp_path / "confusion.png", "enc + svm")
    plot_per_class(metrics, tmp_path / "per_class.png", "enc + svm")
    assert_png(tmp_path / "confusion.png")
    assert_png(tmp_path / "per_class.png")
    # without the human baseline the figure is still drawn
    plot_per_class(_metrics(1), tmp_path / "per_class_nohuman.png")
    assert_png(tmp_path / "per_class_nohuman.png")


def test_figures_are_deterministic(tmp_path):
    metrics = _metrics(0)
    plot_confusion(metrics, tmp_path / "a.png")
    plot_confusion(metrics, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_fold_scores_and_comparison(tmp_path):
    by_classifier = {"svm": _metrics(0), "mlp": _metrics(1)}
    plot_fold_scores(by_classifier, tmp_path / "folds.png", "enc")
    assert_png(tmp_path / "folds.png")
    summary = summary_table(
        [summary_row(m, enc, clf, "speaker") for enc in ("wavlm", "egemaps") for clf, m in by_classifier.items()]
    )
    plot_comparison(summary, tmp_path / "comparison.png", chance=1 / 6)
    assert_png(tmp_path / "comparison.png")


def test_layer_probe(tmp_path):
    # the format rule layer_probe_table writes: fold, layer, score, chosen
    table = pd.DataFrame([{"fold": str(f), "layer": l, "score": 0.3 + 0.02 * l - 0.001 * l * l + 0.01 * f,
                           "chosen": int(l in (9, 10))} for f in range(3) for l in range(13)])
    chosen = [7, 8]
    plot_layer_probe(table, tmp_path / "probe.png", chosen, "enc")
    assert_png(tmp_path / "probe.png")
    # layers fixed in config: the table has no scores; the figure says so instead of failing
    plot_layer_probe(table.assign(score=None), tmp_path / "unscored.png", [2], "enc")
    assert_png(tmp_path / "unscored.png")


def test_umap(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(LABELS, 10)
    speakers = np.tile(["1001", "1002", "1003"], 20)
    centers = {l: rng.normal(size=16) * 3 for l in LABELS}
    features = np.stack([centers[l] + rng.normal(size=16) for l in labels])
    points = umap_2d(features, seed=1)
    assert points.shape == (60, 2) and np.isfinite(points).all()
    plot_umap(points, labels, speakers, tmp_path / "umap.png", "enc")
    assert_png(tmp_path / "umap.png")


@pytest.mark.parametrize("n_speakers", [40])
def test_umap_many_speakers_has_no_giant_legend(tmp_path, n_speakers):
    points = np.random.default_rng(0).normal(size=(80, 2))
    plot_umap(points, np.repeat(LABELS[:4], 20), [f"s{i % n_speakers}" for i in range(80)], tmp_path / "u.png")
    assert_png(tmp_path / "u.png")
