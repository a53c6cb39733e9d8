"""The evaluation rules and the HTML report, run by Snakemake.

``test_evaluation_rules_and_report`` feeds the evaluation stage hand-made upstream files (manifest,
predictions, embeddings, layer choices) and runs only its rules (--allowed-rules), then builds the
report. ``test_demo_end_to_end_report`` runs the whole demo DAG and then the report.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, copy_run, run_snakemake, tails
from synthetic import plan_json

from speech_emotion.train.features import FeatureSpec
from speech_emotion.embed.embeddings import write_shard

pytestmark = pytest.mark.slow

EVAL_RULES = ["aggregate", "classifier_figures", "summary", "leaderboard", "plot_comparison", "plot_fold_scores",
              "plot_umap", "plot_layer_probe"]
LABELS = ["ANG", "DIS", "FEA", "HAP", "NEU", "SAD"]
SENTENCES = ["IEO", "TIE", "IOM"]
ENCODERS = {"tiny": {"kind": "hf", "model": "tiny", "gpu": 0}, "smile": {"kind": "opensmile",
                                                                         "feature_set": "eGeMAPSv02", "gpu": 0}}


def snakemake(workdir: Path, *args: str, timeout: int = 1500) -> subprocess.CompletedProcess:
    """conftest.run_snakemake on 2 cores, which must succeed."""
    result = run_snakemake(workdir, "--cores", "2", *args, timeout=timeout)
    assert result.returncode == 0, f"snakemake --cores 2 {' '.join(args)} in {workdir} failed:\n{tails(result)}"
    return result


def fake_upstream(workdir: Path, folds: int = 3, shards: int = 2) -> dict:
    """A CREMA-D-like manifest, predictions of 2 classifiers x 2 encoders, embeddings, layer choices."""
    rng = np.random.default_rng(0)
    rows = []
    for speaker in ("1001", "1002", "1003", "1004", "1005", "1006"):
        for i, label in enumerate(LABELS * 3):
            sentence = SENTENCES[i // len(LABELS)]
            intensity = ["LO", "MD", "HI"][i // len(LABELS)] if label != "NEU" else "XX"
            rows.append({"clip_id": f"{speaker}_{sentence}_{label}_{intensity}", "speaker": speaker, "label": label,
                         "sentence": sentence, "intensity": intensity,
                         "sex": "Male" if int(speaker) % 2 else "Female"})
    manifest = pd.DataFrame(rows)
    manifest.insert(1, "path", [f"audio/{c}.wav" for c in manifest["clip_id"]])
    (workdir / "results/data").mkdir(parents=True)
    manifest.to_csv(workdir / "results/data/manifest.tsv", sep="\t", index=False)
    manifest["fold"] = manifest["speaker"].astype(int) % folds
    manifest[["clip_id", "fold"]].to_csv(workdir / "results/data/folds.tsv", sep="\t", index=False)
    perception = pd.DataFrame({"FileName": manifest["clip_id"],
                               "VoiceVote": [l[0] if rng.random() < 0.5 else "N" for l in manifest["label"]]})
    perception.to_csv(workdir / "summaryTable.csv")
    for encoder in ENCODERS:
        for classifier in ("logreg", "svm"):
            for fold in range(folds):
                part = manifest[manifest["fold"] == fold]
                pred = np.where(rng.random(len(part)) < 0.6, part["label"], rng.choice(LABELS, len(part)))
                table = part[["clip_id", "fold", "label"]].assign(prediction=pred)
                for label in LABELS:
                    table[f"prob_{label}"] = (pred == label).astype(float)
                out = workdir / f"results/cv/{encoder}/{classifier}/fold-{fold}/predictions.tsv"
                out.parent.mkdir(parents=True)
                table.to_csv(out, sep="\t", index=False)
        n_layers = 4 if ENCODERS[encoder]["kind"] == "hf" else 1
        centers = {l: rng.normal(size=(n_layers, 8)) * 3 for l in LABELS}
        for shard in range(shards):
            part = manifest.iloc[shard::shards]
            emb = np.stack([centers[l] + rng.normal(size=(n_layers, 8)) for l in part["label"]])
            write_shard(workdir / f"results/embeddings/{encoder}/clean/shard-{shard}.npz", part["clip_id"], emb,
                        encoder, encoder, "none")
        layers = [2, 3] if n_layers > 1 else [0]
        (workdir / f"results/cv/{encoder}/plans").mkdir(parents=True)
        spec = FeatureSpec.of(layers, encoder=encoder)  # the final model's feature pipeline, as rule plan writes it
        (workdir / f"results/cv/{encoder}/plans/fold-all.json").write_text(json.dumps(plan_json(spec, fold="all")))
        probe = pd.DataFrame([{"fold": str(f), "layer": l, "score": 0.3 + 0.05 * l + 0.01 * f,
                               "chosen": int(l in layers)} for f in range(folds) for l in range(n_layers)])
        probe.to_csv(workdir / f"results/cv/{encoder}/layer_probe.tsv", sep="\t", index=False)
    config = {
        "dataset": {"kind": "cremad", "source": "audio", "perception": "summaryTable.csv"},
        "cv": {"protocol": "speaker", "folds": folds},
        "embed": {"shards": shards, "device": "cpu", "batch_seconds": 10.0},
        "augment": {"copies": 0},
        "encoders": ENCODERS,
        "run": {"encoders": list(ENCODERS), "classifiers": ["logreg", "svm"]},
    }
    (workdir / "audio").mkdir()
    (workdir / "config.yaml").write_text(json.dumps(config))
    return config


def eval_targets(config: dict) -> list[str]:
    targets = ["results/summary.tsv", "results/leaderboard.html", "results/plots/comparison.png",
               "results/plots/tiny/layer_probe.png"]
    for encoder in config["run"]["encoders"]:
        targets += [f"results/plots/{encoder}/fold_scores.png", f"results/plots/{encoder}/umap.png"]
        for classifier in config["run"]["classifiers"]:
            targets += [f"results/cv/{encoder}/{classifier}/{name}"
                        for name in ("metrics.json", "confusion.png", "per_class.png")]
    return targets


def embedded_images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;[^,\"]*base64,([A-Za-z0-9+/=]+)", html)]


def test_evaluation_rules_and_report(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    config = fake_upstream(work)
    targets = eval_targets(config)
    # One placeholder clip so that the start-up corpus listing works; only the evaluation rules run.
    (work / "audio" / "1001_IEO_ANG_LO.wav").write_bytes(b"")
    run = snakemake(work, "--configfile", str(work / "config.yaml"), "--allowed-rules", *EVAL_RULES, "--", *targets)
    for target in targets:
        path = work / target
        assert path.exists() and path.stat().st_size > 0, target
    # summary: one row per (encoder, classifier), printed to the log and at the end of the run
    summary = pd.read_csv(work / "results/summary.tsv", sep="\t")
    assert len(summary) == 4 and set(summary["protocol"]) == {"speaker"}
    assert list(summary.columns[:4]) == ["encoder", "classifier", "accuracy_mean", "accuracy_std"]
    assert (summary["n_clips"] == 108).all()
    assert "UA" in (work / "results/logs/summary.log").read_text()
    assert "Cross-validation summary" in run.stderr
    metrics = json.loads((work / "results/cv/tiny/svm/metrics.json").read_text())
    assert metrics["encoder"] == "tiny" and metrics["classifier"] == "svm" and metrics["protocol"] == "speaker"
    assert metrics["human_baseline"]["available"] and metrics["human_baseline"]["n_clips"] == 108
    assert set(metrics["per_group"]) == {"intensity", "sex"}
    assert set(metrics["per_group"]["intensity"]) == {"LO", "MD", "HI", "XX"}
    assert str(tmp_path) not in (work / "results/cv/tiny/svm/metrics.json").read_text()  # no absolute paths
    # the leaderboard: one table, the four pairs by pooled UA (best first), each with its chance level
    page = (work / "results/leaderboard.html").read_text()
    ranked = summary.sort_values("balanced_accuracy_pooled", ascending=False, kind="mergesort")
    shown = re.findall(r'<td class="text">([^<]+)</td>\n<td class="text">([^<]+)</td>\n<td>([0-9.]+)</td>', page)
    assert [(e, c) for e, c, _ in shown] == list(zip(ranked["encoder"], ranked["classifier"]))
    assert [float(ua) for _, _, ua in shown] == [round(v, 3) for v in ranked["balanced_accuracy_pooled"]]
    assert page.count("<table>") == 1 and "In-corpus cross-validation on main (protocol: speaker)" in page

    snakemake(work, "--configfile", str(work / "config.yaml"), "--allowed-rules", *EVAL_RULES, "--report", "results/report.html",
              "--", *targets)
    html = (work / "results/report.html").read_text(encoding="utf-8")
    # self-contained: every figure is embedded, nothing points at the results folder on disk
    images = embedded_images(html)
    figures = [t for t in targets if t.endswith(".png")]
    assert len(images) >= len(figures), f"{len(images)} embedded PNGs for {len(figures)} figures"
    assert all(image[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    for caption in ("Confusion matrix of", "human baseline", "UMAP", "linear probe", "Run configuration",
                    "The leaderboard"):
        assert caption in html, caption


def test_demo_end_to_end_report(demo_run, tmp_path):
    """The demo profile runs every stage; then the report shows every figure (minutes on 2 cores)."""
    work = copy_run(demo_run, tmp_path / "run")  # the report is written into the run: a copy, as the run is shared
    summary = pd.read_csv(work / "results/summary.tsv", sep="\t")
    assert len(summary) == len(summary[["encoder", "classifier"]].drop_duplicates()) > 0
    pngs = sorted((work / "results").rglob("*.png"))
    assert pngs and all(p.stat().st_size > 0 for p in pngs)
    snakemake(work, "--workflow-profile", str(REPO / "profiles" / "demo"), "--report", "results/report.html")
    html = (work / "results/report.html").read_text(encoding="utf-8")
    assert len(embedded_images(html)) >= len(pngs)
    assert "synthetic demo corpus" in html
