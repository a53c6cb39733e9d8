"""What a model folder says about itself (issue 26 items 3-6): the library versions it was made with
(and a warning when they differ), a model card with the Hub's metadata, `speech-emotion info`, plain
`--help`, and README / card examples that run as written on the demo's models."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, shared_path
from speech_emotion.train import classifiers as C
from speech_emotion.predict.cli import main
from speech_emotion.train.features import FeatureSpec
from speech_emotion.io import versions as V
from speech_emotion.io.versions import library_versions
from speech_emotion.train.final_model import final_model_info, load_final_model

LABELS = ["ANG", "HAP", "NEU", "SAD"]


def parse_front_matter(text: str) -> dict:
    """The YAML front matter of a model card as a dict ({} when it has none)."""
    import yaml

    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    return yaml.safe_load(match.group(1)) if match else {}


def metrics_of(protocol: str = "speaker", folds: int = 5) -> dict:
    """A CV metrics.json of the shape speech_emotion.evaluate.metrics writes (the fields the card reads)."""
    def score(pooled: float) -> dict:
        return {"mean": pooled - 0.01234, "std": 0.05, "pooled": pooled}

    per_class = {label: {"recall": 0.5, "precision": 0.5, "f1": 0.5, "support": 6} for label in LABELS}
    return {"protocol": protocol, "n_folds": folds, "n_clips": 24, "speaker_overlap": {"n_speakers": 0},
            "balanced_accuracy": score(0.61234), "accuracy": score(0.62345), "f1_macro": score(0.60123),
            "f1_weighted": score(0.6), "chance": {"balanced_accuracy": 0.25, "accuracy": 0.25},
            "per_class": per_class, "confusion": {"labels": LABELS, "counts": [[3, 1, 1, 1]] * 4}}


@pytest.fixture
def model_folder(tmp_path) -> Path:
    """A small eGeMAPS + logreg model folder standardising per speaker, CV scores in model.json."""
    from speech_emotion.evaluate.metrics import cv_summary

    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 6)).astype(np.float32)
    y = np.array(LABELS * 6)
    X[np.arange(24), np.arange(24) % 4] += 3
    model = C.make_classifier("logreg", {"Cs": [1.0]}).fit(X, y, np.array([f"s{i % 3}" for i in range(24)]))
    out = tmp_path / "results/models/egemaps/logreg"
    out.mkdir(parents=True)
    C.save_model(model, out / "model.zip")
    FeatureSpec.of([0], "egemaps", speaker_norm=True, min_clips=3).fit_population(X).write(out / "features.json")
    record = {"classifier": "logreg", "layers": [0], "labels": LABELS, "params": {"Cs": [1.0]}, "seed": 0,
              "speaker_norm": {"use": True, "min_clips": 3}, "n_train_clips": 24, "n_features": 6}
    spec = {"kind": "opensmile", "feature_set": "eGeMAPSv02"}
    metrics = metrics_of()
    info = final_model_info(record, {"name": "egemaps", "spec": spec, "model_dir": None},
                            {"sample_rate": 16000, "max_seconds": 30.0, "batch_seconds": 10.0},
                            cv_summary(metrics) | {"protocol": "speaker"})
    (out / "model.json").write_text(json.dumps(info))
    (out / "metrics.json").write_text(json.dumps(metrics))
    return out


# --- 3. versions ------------------------------------------------------------------------------------------


def test_model_records_versions_and_warns_once_naming_them(model_folder, caplog, monkeypatch):
    """model.json and model.zip record Python, numpy, scikit-learn, XGBoost, torch, transformers and
    speech-emotion; a model made under other versions warns once, naming them, and a load failure names them."""
    info = json.loads((model_folder / "model.json").read_text())
    here = library_versions()
    assert info["versions"] == here
    assert {"python", "numpy", "scikit-learn", "xgboost", "torch", "transformers", "speech-emotion"} <= set(here)
    assert C.read_manifest(model_folder / "model.zip")["extra"]["versions"] == here

    monkeypatch.setattr(V, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="speech_emotion.model"):
        load_final_model(model_folder)
    assert not caplog.records, "the same versions: no warning"

    info["versions"] |= {"scikit-learn": "0.1.0", "xgboost": "0.2.0"}
    (model_folder / "model.json").write_text(json.dumps(info))
    with caplog.at_level(logging.WARNING, logger="speech_emotion.model"):
        load_final_model(model_folder)
        load_final_model(model_folder)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1, messages
    assert f"scikit-learn 0.1.0 (here {here['scikit-learn']})" in messages[0]
    assert f"xgboost 0.2.0 (here {here['xgboost']})" in messages[0] and "numpy" not in messages[0]

    (model_folder / "model.zip").write_bytes(b"not a zip")
    with pytest.raises(C.ModelFileError, match="the model was made with scikit-learn 0.1.0"):
        load_final_model(model_folder)


def test_versions_are_read_without_importing_the_libraries():
    code = ("import sys; from speech_emotion.io.versions import library_versions; v = library_versions(); "
            "assert 'torch' in v and 'xgboost' in v, v; "
            "print(sorted(m for m in ('torch', 'xgboost', 'transformers', 'sklearn') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(REPO / "workflow")))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# --- 4. model card ------------------------------------------------------------------------------------------


def check_front_matter(card: str, info: dict, metrics: dict, corpus: dict) -> dict:
    """The card's YAML front matter, parsed by huggingface_hub, against the model: licence, tags, datasets,
    metrics, pipeline_tag, library_name and the model-index's CV results."""
    from huggingface_hub import ModelCard

    from speech_emotion.evaluate.model_card import dataset_facts

    assert card.startswith("---\n")
    data = parse_front_matter(card)
    hub = ModelCard(card).data  # the Hub's own parser: model-index -> eval_results
    facts = dataset_facts(corpus)
    assert data["license"] == facts["licence_id"] and hub.license == data["license"]
    assert data["pipeline_tag"] == "audio-classification" and data["library_name"] == "speech-emotion"
    members = info["encoder"].get("members") or [info["encoder"]]
    assert {"speech-emotion-recognition", "audio-classification", info["classifier"],
            *(m["name"] for m in members)} <= set(data["tags"])
    assert data["datasets"] == [facts["id"]]
    assert set(data["metrics"]) == {"accuracy", "recall", "f1"}
    results = {(r.metric_type, r.metric_name.split(", ")[-1].split(" ")[0]): r for r in hub.eval_results}
    for name, metric_id in (("balanced_accuracy", "recall"), ("accuracy", "accuracy"), ("f1_macro", "f1")):
        pooled, mean = results[(metric_id, "pooled")], results[(metric_id, "mean")]
        assert pooled.metric_value == round(info["cv"][name]["pooled"], 4) == round(metrics[name]["pooled"], 4)
        assert mean.metric_value == round(info["cv"][name]["mean"], 4)
        assert pooled.task_type == "audio-classification" and pooled.dataset_name == facts["name"]
        assert pooled.dataset_args["protocol"] == metrics["protocol"] and pooled.dataset_args["folds"] == metrics["n_folds"]
    assert len(hub.eval_results) == 6
    return data


def test_model_card_has_the_hubs_metadata_licences_citation_versions_and_own_files(model_folder):
    from speech_emotion.evaluate.model_card import archive_files, model_card

    info = json.loads((model_folder / "model.json").read_text())
    metrics = json.loads((model_folder / "metrics.json").read_text())
    manifest = pd.DataFrame({"path": [f"data/AudioWAV/10{i % 3}1_IEO_{l}_HI.wav" for i, l in enumerate(LABELS * 3)],
                             "label": LABELS * 3, "speaker": [f"10{i % 3}1" for i in range(12)]})
    corpus = {"kind": "cremad", "source": "/data/CREMA-D/AudioWAV", "name": "main"}
    files = archive_files(model_folder / "model.zip")
    assert files == ["logreg.sklearn", "scaler.sklearn"]
    card = model_card(info, metrics, manifest, corpus, None, files)
    data = check_front_matter(card, info, metrics, corpus)
    assert data["license"] == "odbl" and data["datasets"] == ["CREMA-D"] and data["language"] == "en"
    assert "Open Database License" in card and "audEERING" in card and "MIT" in card
    assert "```bibtex" in card and "@article{cao2014cremad" in card and "@inproceedings{eyben2010opensmile" in card
    assert f"scikit-learn {info['versions']['scikit-learn']}" in card.split("## Versions")[1]
    files_line = next(line for line in card.splitlines() if line.startswith("- Files:"))
    assert "`logreg.sklearn`" in files_line and "XGBoost" not in files_line and "torch" not in files_line
    usage = card.split("## How to use")[1]
    assert "--speaker-regex '^(\\d+)_' data/AudioWAV/1001_* > labels.tsv" in usage
    assert "--speaker-regex '^(\\d+)_' --segment vad --summary shares.tsv data/AudioWAV/1001_IEO_ANG_HI.wav" in usage
    assert "speech-emotion enrol --model results/models/egemaps/logreg --speaker 1001" in usage
    assert "--enrolment 1001.json" in usage

    other = model_card(info, metrics, manifest.drop(columns="path"), {"kind": "manifest", "name": "urdu"}, None, files)
    data = check_front_matter(other, info, metrics, {"kind": "manifest", "name": "urdu"})
    assert data["license"] == "other" and data["datasets"] == ["urdu"]
    assert "unknown: set by the user" in other and "--speakers speakers.csv" in other


def test_encoder_licences_come_from_one_table():
    from speech_emotion.evaluate.model_card import encoder_facts

    assert encoder_facts({"kind": "hf", "model": "microsoft/wavlm-large"})["licence"] == "MIT"
    assert encoder_facts({"kind": "hf", "model": "openai/whisper-large-v3"})["licence"] == "Apache-2.0"
    assert "FunASR Model Open Source License" in encoder_facts({"kind": "emotion2vec", "model": "emotion2vec/x"})["licence"]
    assert "audEERING" in encoder_facts({"kind": "opensmile", "feature_set": "ComParE_2016"})["licence"]
    assert "random" in encoder_facts({"kind": "hf", "model": "tiny", "init_config": "c.json"})["licence"]
    assert "not known" in encoder_facts({"kind": "hf", "model": "someone/else"})["licence"]


# --- 5. speech-emotion info ---------------------------------------------------------------------------------


def test_info_names_labels_encoder_speakers_scores_and_versions(model_folder, capsys):
    assert main(["info", str(model_folder)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) <= 8, out
    assert "ANG, HAP, NEU, SAD" in out and "egemaps (openSMILE eGeMAPSv02 functionals), layers [0]" in out
    assert "NEEDED" in out and "--speaker-regex" in out and "--enrolment" in out and "speech-emotion enrol" in out
    assert "UA 0.612 pooled, 0.600 ± 0.050 fold mean" in out and "5 folds (speaker)" in out
    assert f"scikit-learn {library_versions()['scikit-learn']}" in out and "DIFFERENT" not in out
    assert main(["info", str(model_folder.parent)]) == 2
    assert "not a model folder" in capsys.readouterr().err


# --- 6. help and runnable examples --------------------------------------------------------------------------


def test_help_is_plain_text_with_columns_and_exit_codes(capsys):
    for argv in (["--help"], ["predict", "--help"], ["info", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0
        text = capsys.readouterr().out
        assert "``" not in text and ":mod:" not in text and "`" not in text, text
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = capsys.readouterr().out
    for column in ("file", "speaker", "label", "prob_<label>", "speaker_norm", "speaker_clips", "error"):
        assert re.search(rf"^  {re.escape(column)} ", text, re.M), column
    assert "exit codes:" in text
    for code in "012":
        assert re.search(rf"^  {code}  ", text, re.M), code


def bash_commands(text: str) -> list[str]:
    """The speech-emotion commands of a markdown text's ```bash blocks (comments cut off)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith("speech-emotion "):
                commands.append(line)
    return commands


@pytest.mark.slow
def test_readme_help_and_card_examples_run_on_the_demo_models(demo_run, tmp_path):
    """On a fresh clone after the demo, the README's speech-emotion commands, predict --help's examples and
    every demo model card's "How to use" commands run as written (exit code 0) in the workflow folder;
    each card's front matter matches its model."""
    from speech_emotion.predict.cli import PREDICT_EPILOG

    work = tmp_path / "work"
    for part in ("results/models", "results/demo", "resources/models"):
        shutil.copytree(demo_run / part, work / part)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "speech-emotion").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m speech_emotion.predict.cli "$@"\n')
    (bindir / "speech-emotion").chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(REPO / "workflow"),
               HF_HUB_OFFLINE="1")

    readme = bash_commands((REPO / "README.md").read_text(encoding="utf-8"))
    assert sum(c.startswith("speech-emotion predict") for c in readme) >= 2 and "speech-emotion info" in " ".join(readme), readme
    helps = [line.strip() for line in PREDICT_EPILOG.splitlines() if line.strip().startswith("speech-emotion ")]
    cards = sorted((work / "results/models").glob("*/*/MODEL_CARD.md"))
    assert len(cards) == 10
    commands = {c: "README.md" for c in readme} | {c: "predict --help" for c in helps}
    commands |= {f"speech-emotion info {path.parent.relative_to(work)}": "every model" for path in cards}
    needs, templates = 0, set()
    for path in cards:
        text = path.read_text(encoding="utf-8")
        info = json.loads((path.parent / "model.json").read_text())
        metrics = json.loads((demo_run / f"results/cv/{info['encoder']['name']}/{info['classifier']}/metrics.json").read_text())
        check_front_matter(text, info, metrics, {"kind": "cremad", "source": "demo"})
        assert parse_front_matter(text)["license"] == "mit"  # the synthetic corpus: made by the workflow's code
        norm = FeatureSpec.read(path.parent / "features.json").speaker_norm
        needs += norm
        usage = bash_commands(text.split("## How to use")[1])
        assert any(c.startswith("speech-emotion predict") for c in usage)
        if norm:  # every predict example gives the speakers; enrolment is shown
            assert all("--speaker-regex" in c for c in usage if c.startswith("speech-emotion predict")), usage
            assert any(c.startswith("speech-emotion enrol") for c in usage), usage
        # cards whose commands differ only in the model folder: run the first one's (the others' folders load above)
        template = tuple(c.replace(f"results/models/{info['encoder']['name']}/{info['classifier']}", "MODEL") for c in usage)
        if template not in templates:
            templates.add(template)
            commands |= {c: str(path.relative_to(work)) for c in usage}
    failures = []
    for command, where in commands.items():
        run = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            failures.append(f"{where}: {command}\n  exit {run.returncode}: {run.stderr[-800:]}")
    assert not failures, "\n".join(failures)
    print(f"{len(commands)} commands ran; {needs} of {len(cards)} demo models standardise per speaker")
