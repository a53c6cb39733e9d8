"""benchmarks/scale.py: the corpus it plans, and a tiny end-to-end run of the tool."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO


def _scale_module():
    spec = importlib.util.spec_from_file_location("scale_benchmark", REPO / "benchmarks" / "scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_full_scale_plan_has_cremad_shape():
    scale = _scale_module()
    plan = scale.plan_corpus(1.0)
    assert len(plan) == 7442
    assert plan["speaker"].nunique() == 91
    assert plan["label"].value_counts().to_dict() == {
        "ANG": 1271, "DIS": 1271, "FEA": 1271, "HAP": 1271, "SAD": 1271, "NEU": 1087,
    }  # fmt: skip
    assert plan["clip_id"].is_unique
    # IEO carries LO/MD/HI for the five emotions, NEU and every other sentence XX only
    assert set(plan.loc[plan["label"] == "NEU", "intensity"]) == {"XX"}
    assert set(plan.loc[plan["sentence"] != "IEO", "intensity"]) == {"XX"}
    # what scales is the number of speakers; clips per speaker stay CREMA-D's (82 before the gaps)
    tenth = scale.plan_corpus(0.1)
    assert tenth["speaker"].nunique() == 9
    assert len(tenth) == 9 * 82  # round(0.1 x 3) = round(0.1 x 5) = 0 clips missing
    assert scale.plan_corpus(0.01)["speaker"].nunique() == 5  # at least one speaker per fold


def test_features_are_class_and_speaker_structured():
    """Class signal peaks in a middle layer (the probe has something to find), speakers dominate."""
    scale = _scale_module()
    plan = scale.plan_corpus(0.01)
    model = scale.FeatureModel()
    X = model.features(plan["clip_id"].tolist(), plan["speaker"].tolist(), plan["label"].tolist())
    assert X.shape == (len(plan), 25, 2048)
    again = model.features(plan["clip_id"][:3].tolist(), plan["speaker"][:3].tolist(), plan["label"][:3].tolist())
    np.testing.assert_array_equal(again, X[:3])  # a clip's features depend on its id only

    def share(layer: int, by: str) -> float:
        """Fraction of the layer's total variance explained by the group means of ``by``."""
        x = X[:, layer].astype(np.float64)
        means = pd.DataFrame(x).groupby(plan[by].to_numpy()).transform("mean").to_numpy()
        return float(((means - x.mean(0)) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())

    assert share(15, "label") > 3 * share(0, "label") and share(15, "label") > 0.1
    assert share(15, "speaker") > share(15, "label")  # a strong per-speaker offset, as in real embeddings
    copy = model.copy(X[:2], plan["clip_id"][:2].tolist(), 1)
    assert 0 < np.abs(copy - X[:2]).mean() < 0.2 * np.abs(X[:2]).mean()  # a copy: its clip plus small noise


@pytest.mark.slow
def test_tiny_scale_run_prints_rule_table_and_writes_benchmark_files(tmp_path):
    """The tool at 5 speakers with logreg only, fixed layer/C/copies, 2 shards and 2 folds (about 1-2 min)."""
    overrides = ['features={"layers":"last"}', 'augment={"use":"always"}', 'classifiers={"logreg":{"C":1.0}}',
                 'embed={"shards":2}', 'cv={"folds":2}']  # fmt: skip
    cmd = [sys.executable, str(REPO / "benchmarks" / "scale.py"), "--scale", "0.01", "--workdir", str(tmp_path),
           "--cores", "2", "--classifiers", "logreg", "--", "--config", *overrides]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "status: complete" in out
    section = out.split("Per rule", 1)[1].split("Per job", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in ("rule", "all jobs"):
            rows[cells[0]] = cells
    # every post-embedding rule of the run is listed, every job finished and measured (kernel peak RSS)
    assert set(rows) == {"train (logreg)", "plan", "final_model", "aggregate", "plot_umap",
                         "classifier_figures", "layer_probe_table", "plot_comparison", "plot_fold_scores",
                         "summary", "leaderboard", "clip_levels", "explain", "explain_summary"}  # fmt: skip
    assert rows["train (logreg)"][1:3] == ["3", "3"] and rows["plan"][1:3] == ["3", "3"]
    for rule, cells in rows.items():
        assert cells[1] == cells[2] and float(cells[3]) > 0 and float(cells[7]) > 50, (rule, cells)
    work = tmp_path / "scale-0.01"
    bench = work / "results" / "benchmarks"
    found = sorted(p.relative_to(bench).as_posix() for p in bench.rglob("*.tsv"))
    assert found == sorted(
        [f"plan/wavlm-large/fold-{k}.tsv" for k in ("0", "1", "all")]
        + [f"train/wavlm-large/logreg/fold-{k}.tsv" for k in ("0", "1", "all")]
        + ["final_model/wavlm-large/logreg.tsv", "aggregate/wavlm-large/logreg.tsv", "plot_umap/wavlm-large.tsv",
           "explain/wavlm-large/logreg.tsv"]
    )  # no embed/augment files: those outputs were written directly, never run
    for path in bench.rglob("*.tsv"):
        row = pd.read_csv(path, sep="\t").iloc[-1]
        assert row["s"] > 0 and row["max_rss"] > 50, path  # a python process with numpy loaded
    # the real data rules ran; the embeddings have WavLM-Large's shape in the workflow's shard format
    manifest = pd.read_csv(work / "results/data/manifest.tsv", sep="\t", dtype=str)
    assert len(manifest) == 410 and manifest["speaker"].nunique() == 5
    sys.path.insert(0, str(REPO / "workflow"))
    from speech_emotion.embed.embeddings import load_shard
    from speech_emotion.embed.shards import shard_of

    for variant in ("clean", "aug1", "aug2"):
        ids = []
        for shard in (0, 1):
            data = load_shard(work / f"results/embeddings/wavlm-large/{variant}/shard-{shard}.npz")
            assert data.embeddings.shape[1:] == (25, 2048) and data.embeddings.dtype == np.float16
            assert all(shard_of(c, 2) == shard for c in data.clip_ids)
            ids += list(data.clip_ids)
        assert sorted(ids) == sorted(manifest["clip_id"])
    # every post-embedding output of rule all exists
    assert (work / "results/summary.tsv").exists() and (work / "results/models/wavlm-large/logreg/model.zip").exists()


def test_full_scale_plan_matches_the_real_cremad_file_list():
    """Same actors, sentences, emotions and intensity levels as the 7,442 official names; only which
    20 clips are missing differs (the tool drops seeded random ones: 3 per emotion, 5 NEU)."""
    from conftest import shared_path

    names = pd.read_csv(shared_path("data", "cremad-meta", "SentenceFilenames.csv"))["Filename"].str.strip()
    real = set(names)
    plan = set(_scale_module().plan_corpus(1.0)["clip_id"])
    assert len(real) == len(plan) == 7442
    assert len(real - plan) == len(plan - real) == 20
    everything = real | plan  # the 91 x 82 full design
    assert len(everything) == 91 * 82


def test_config_yaml_overrides_keep_types_and_the_corpus(tmp_path):
    """--config-yaml: typed values (a list of layer indices, which --config would hand over as strings)."""
    import yaml

    extra = tmp_path / "extra.yaml"
    extra.write_text("features: {layers: [14, 15, 16]}\ndataset: {perception: null}\n")
    written = yaml.safe_load(_scale_module().write_config(tmp_path, ["svm"], extra).read_text())
    assert written["features"] == {"layers": [14, 15, 16]}
    assert written["run"] == {"classifiers": ["svm"]}
    assert written["dataset"]["source"] == "corpus/AudioWAV" and written["dataset"]["perception"] is None
