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
import soundfile as sf

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


def build_model(out: Path, encoder: dict, speaker_norm: bool = True, lone_clip: dict | None = None, dim: int = 6,
                members: list | None = None, layer_choice: dict | None = None) -> Path:
    """A small logreg model folder at ``out`` on ``dim`` features of ``encoder`` (a model.json encoder record), CV
    scores in model.json (``lone_clip``: the cv dict's one-clip-alone figures) and metrics.json beside it; its
    features.json reads ``members`` (FeatureSpec members; default layer 0 of each encoder), and the fold record's
    ``layer_choice`` (Plan.layer_choice) is ``layer_choice``."""
    from speech_emotion.evaluate.metrics import cv_summary

    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, dim)).astype(np.float32)
    y = np.array(LABELS * 6)
    X[np.arange(24), np.arange(24) % 4] += 3
    model = C.make_classifier("logreg", {"Cs": [1.0]}).fit(X, y, np.array([f"s{i % 3}" for i in range(24)]))
    out.mkdir(parents=True)
    C.save_model(model, out / "model.zip")
    members = members or [(m["name"], [0]) for m in encoder.get("members") or [encoder]]
    spec = FeatureSpec.of(members, speaker_norm=speaker_norm, min_clips=3)
    spec.fit_population(X).write(out / "features.json")
    record = {"classifier": "logreg", "layers": [0], "labels": LABELS, "params": {"Cs": [1.0]}, "seed": 0,
              "speaker_norm": {"use": speaker_norm, "min_clips": 3}, "n_train_clips": 24, "n_features": dim,
              "layer_choice": layer_choice}
    metrics = metrics_of()
    cv = cv_summary(metrics) | {"protocol": "speaker"} | ({"lone_clip": lone_clip} if lone_clip else {})
    info = final_model_info(record, encoder, {"sample_rate": 16000, "max_seconds": 10.0, "batch_seconds": 10.0}, cv)
    (out / "model.json").write_text(json.dumps(info))
    (out / "metrics.json").write_text(json.dumps(metrics))
    return out


SMILE = {"name": "egemaps", "spec": {"kind": "opensmile", "feature_set": "eGeMAPSv02"}, "model_dir": None}
TINY = {"name": "tiny", "spec": {"kind": "hf", "model": "tiny", "init_config": "resources/tiny/config.json"},
        "model_dir": "resources/models/tiny", "identity": {"model": "random-init:tiny", "revision": "seed-0", "hub": False}}
CREMAD_MANIFEST = pd.DataFrame({"path": [f"data/AudioWAV/10{i % 3}1_IEO_{l}_HI.wav" for i, l in enumerate(LABELS * 3)],
                                "label": LABELS * 3, "speaker": [f"10{i % 3}1" for i in range(12)]})
CREMAD = {"kind": "cremad", "source": "/data/CREMA-D/AudioWAV", "name": "main"}
DEMO = {"kind": "cremad", "source": "demo"}


def lone_clip_of(shift: float = -0.1) -> dict:
    """model.json's cv.lone_clip as speech_emotion.evaluate.metrics.cv_summary writes it (its contract)."""
    scores = {name: {"mean": round(0.5 + shift, 4), "std": 0.04, "pooled": round(0.51 + shift, 4)}
              for name in ("balanced_accuracy", "accuracy", "f1_macro", "f1_weighted")}
    return scores | {"folds_standardised": ["1", "2", "3"], "n_folds": 5}


@pytest.fixture
def model_folder(tmp_path) -> Path:
    """A small eGeMAPS + logreg model folder standardising per speaker, CV scores in model.json."""
    return build_model(tmp_path / "results/models/egemaps/logreg", SMILE)


@pytest.fixture
def hf_model(tmp_path) -> Path:
    """A workflow folder with a Hugging Face encoder's weights (random-init, recorded relative to it) and a
    final model on them with its MODEL_CARD.md; returns the model folder."""
    from speech_emotion.evaluate.model_card import model_card

    work = tmp_path / "workflow"
    weights = work / "resources/models/tiny"
    weights.mkdir(parents=True)
    (weights / "config.json").write_text("{}")
    (weights / "model.safetensors").write_bytes(b"\0" * 64)
    (weights / "source.json").write_text(json.dumps({"model": "random-init:tiny", "revision": "seed-0"}))
    out = build_model(work / "results/models/tiny/logreg", TINY, speaker_norm=False)
    info = json.loads((out / "model.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    (out / "MODEL_CARD.md").write_text(model_card(info, FeatureSpec.read(out / "features.json"), metrics, CREMAD_MANIFEST, DEMO))
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

    from speech_emotion.evaluate.model_card import card_licence, dataset_facts

    assert card.startswith("---\n")
    data = parse_front_matter(card)
    hub = ModelCard(card).data  # the Hub's own parser: model-index -> eval_results
    facts = dataset_facts(corpus)
    licence = card_licence(info, corpus)
    assert {k: data.get(k) for k in licence} == licence and hub.license == data["license"]
    assert data["pipeline_tag"] == "audio-classification" and data["library_name"] == "speech-emotion"
    members = info["encoder"].get("members") or [info["encoder"]]
    assert {"speech-emotion-recognition", "audio-classification", info["classifier"],
            *(m["name"] for m in members)} <= set(data["tags"])
    assert data["datasets"] == [facts["id"]]
    assert set(data["metrics"]) == {"accuracy", "recall", "f1"}
    results = {(r.metric_type, r.metric_config): r for r in hub.eval_results}
    for name, metric_id in (("balanced_accuracy", "recall"), ("accuracy", "accuracy"), ("f1_macro", "f1")):
        pooled, mean = results[(metric_id, "pooled")], results[(metric_id, "fold-mean")]
        assert pooled.metric_value == round(info["cv"][name]["pooled"], 4) == round(metrics[name]["pooled"], 4)
        assert mean.metric_value == round(info["cv"][name]["mean"], 4)
        assert pooled.task_type == "audio-classification" and pooled.dataset_name == facts["name"]
        assert pooled.dataset_args["protocol"] == metrics["protocol"] and pooled.dataset_args["folds"] == metrics["n_folds"]
    assert len(hub.eval_results) == (12 if info["cv"].get("lone_clip") else 6)
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
    features = FeatureSpec.read(model_folder / "features.json")
    card = model_card(info, features, metrics, manifest, corpus, None, files)
    data = check_front_matter(card, info, metrics, corpus)
    assert data["license"] == "other" and data["license_name"] == "odbl-1.0-and-audeering-opensmile"
    assert data["datasets"] == ["CREMA-D"] and data["language"] == "en"
    assert "Open Database License" in card and "audEERING" in card and "MIT" in card
    assert "```bibtex" in card and "@article{cao2014cremad" in card and "@inproceedings{eyben2010opensmile" in card
    assert f"scikit-learn {info['versions']['scikit-learn']}" in card.split("## Versions")[1]
    files_line = next(line for line in card.splitlines() if line.startswith("- Files:"))
    assert "`logreg.sklearn`" in files_line and "XGBoost" not in files_line and "torch" not in files_line
    usage = card.split("## How to use")[1]
    assert "--speaker-regex '^(\\d+)_' recordings/1001_* > labels.tsv" in usage
    assert "--speaker-regex '^(\\d+)_' --segment vad --summary shares.tsv recordings/1001_IEO_ANG_HI.wav" in usage
    assert "speech-emotion enrol --model . --speaker 1001" in usage
    assert "--enrolment 1001.json" in usage

    other = model_card(info, features, metrics, manifest.drop(columns="path"), {"kind": "manifest", "name": "urdu"}, None, files)
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
    """On a fresh clone after the demo, the README's speech-emotion commands and predict --help's examples run
    as written (exit code 0) in the workflow folder; every demo model card's "How to use" commands run as written
    in the model folder alone, as a Hub download has it: bundled where it was made, copied elsewhere, with
    recordings named like the corpus's in recordings/. Each card's front matter matches its model, and after
    bundling its weights statement names the bundled copy."""
    from speech_emotion.evaluate.model_card import card_licence
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
    # the export lines (speech-emotion export, predict on its /onnx folder) run as written in test_export
    exported = [c for c in readme if c.startswith("speech-emotion export") or "/onnx " in c]
    assert len(exported) == 2, readme
    runs = [(command, work, where) for where, commands in (("README.md", readme), ("predict --help", helps))
            for command in commands if command not in exported]
    for path in cards:  # every model folder reads through `info` (in this process: the command's code, not its start-up)
        assert main(["info", str(path.parent)]) == 0, path
    needs, encoders = 0, set()
    for path in cards:
        text = path.read_text(encoding="utf-8")
        info = json.loads((path.parent / "model.json").read_text())
        metrics = json.loads((demo_run / f"results/cv/{info['encoder']['name']}/{info['classifier']}/metrics.json").read_text())
        corpus = {"kind": "cremad", "source": "demo"}
        check_front_matter(text, info, metrics, corpus)
        assert parse_front_matter(text)["license"] == card_licence(info, corpus)["license"]
        assert parse_front_matter(text)["license"] == ("other" if info["encoder"]["name"] == "egemaps" else "mit")
        norm = FeatureSpec.read(path.parent / "features.json").speaker_norm
        needs += norm
        usage = bash_commands(text.split("## How to use")[1])
        assert any(c.startswith("speech-emotion predict") for c in usage)
        assert all(" --model . " in c or c == "speech-emotion info ." for c in usage), usage
        if norm:  # every predict example gives the speakers; enrolment is shown
            assert all("--speaker-regex" in c or "--enrolment" in c for c in usage if c.startswith("speech-emotion predict")), usage
            assert any(c.startswith("speech-emotion enrol") for c in usage), usage
        if info["encoder"]["name"] in encoders:
            continue  # the same commands as this encoder's first model (the others' folders load through `info` above)
        encoders.add(info["encoder"]["name"])
        assert main(["bundle", "--model", str(path.parent)]) == 0
        bundled = path.read_text(encoding="utf-8")
        assert "**not in this folder**" not in bundled
        if info["encoder"]["name"] != "egemaps":
            assert f"bundled in this folder, `encoder/{info['encoder']['name']}/`" in bundled
        hub = tmp_path / "hub" / info["encoder"]["name"]  # the folder alone, as downloaded
        shutil.copytree(path.parent, hub)
        (hub / "recordings").mkdir()
        for clip in (work / "results/demo/AudioWAV").glob("1001_*"):
            shutil.copy(clip, hub / "recordings" / clip.name)
        runs += [(command, hub, str(path.relative_to(work))) for command in usage]
    assert encoders == {"egemaps", "tiny-wavlm"}
    failures = []
    for command, cwd, where in runs:
        run = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            failures.append(f"{where}: {command}\n  exit {run.returncode}: {run.stderr[-800:]}")
    assert not failures, "\n".join(failures)
    print(f"{len(runs)} commands ran; {needs} of {len(cards)} demo models standardise per speaker")


# --- issue 32 item 8: cards that agree with themselves and survive a Hub upload ------------------------------


def card_of(folder: Path, corpus: dict = CREMAD, manifest: pd.DataFrame = CREMAD_MANIFEST) -> str:
    from speech_emotion.evaluate.model_card import model_card

    info = json.loads((folder / "model.json").read_text())
    return model_card(info, FeatureSpec.read(folder / "features.json"), json.loads((folder / "metrics.json").read_text()),
                      manifest, corpus)


def section(card: str, title: str) -> str:
    """The text of a card's ``## title`` section (up to the next ``## ``)."""
    return card.split(f"\n## {title}\n")[1].split("\n## ")[0]


def test_opensmile_card_says_what_the_code_does_with_long_recordings(tmp_path):
    """openSMILE computes its functionals over the whole recording (embed_signals never cuts it): the card
    of an eGeMAPS model must not say recordings are cut into windows; a Hugging Face encoder's card does,
    at audio.max_seconds; a fusion says each."""
    smile = card_of(build_model(tmp_path / "smile", SMILE))
    model = section(smile, "Model")
    assert "cut into" not in model, model
    assert "whole recording" in model and "however long" in model
    tiny = card_of(build_model(tmp_path / "tiny", TINY))
    assert "longer than 10.0 s are cut into equal windows" in section(tiny, "Model")
    fusion = dict(TINY, name="both", spec={"kind": "fusion", "members": ["tiny", "egemaps"]}, model_dir=None,
                  identity=None, members=[TINY, SMILE])
    model = section(card_of(build_model(tmp_path / "fusion", fusion)), "Model")
    assert "`tiny`: recordings longer than 10.0 s are cut into equal windows" in model
    assert "`egemaps`: openSMILE computes its functionals over the whole recording" in model


def test_front_matter_licence_never_contradicts_the_licences_section(tmp_path):
    """`license: mit` only where the corpus, every encoder and the workflow are MIT; otherwise `other`, with
    `license_name` naming the licences that are not MIT and `license_link` the first one's text. The
    Licences section says which and why."""
    from huggingface_hub import ModelCard

    cases = [  # encoder, corpus -> license, words in license_name, license_link
        (SMILE, DEMO, "other", ["opensmile"], "https://github.com/audeering/opensmile/blob/master/LICENSE"),
        (TINY, DEMO, "mit", [], None),
        (dict(TINY, spec={"kind": "hf", "model": "microsoft/wavlm-large"}), DEMO, "mit", [], None),
        (dict(TINY, spec={"kind": "hf", "model": "microsoft/wavlm-large"}), CREMAD, "other", ["odbl"],
         "https://opendatacommons.org/licenses/odbl/1-0/"),
        (SMILE, CREMAD, "other", ["odbl", "opensmile"], "https://opendatacommons.org/licenses/odbl/1-0/"),
        (dict(TINY, spec={"kind": "hf", "model": "openai/whisper-small"}), DEMO, "other", ["apache-2.0"],
         "https://www.apache.org/licenses/LICENSE-2.0"),
        (TINY, {"kind": "folder", "name": "mine"}, "other", ["unknown"], None),
    ]
    for i, (encoder, corpus, licence, words, link) in enumerate(cases):
        card = card_of(build_model(tmp_path / str(i), encoder), corpus)
        data = parse_front_matter(card)
        assert ModelCard(card).data.license == data["license"] == licence, (encoder, corpus, data)
        licences = section(card, "Licences")
        if licence == "mit":
            assert "license_name" not in data and "license_link" not in data
            assert "commercial" not in licences and "`license: mit`" in licences
        else:
            assert all(w in data["license_name"] for w in words), data["license_name"]
            assert re.fullmatch(r"[a-z0-9.+-]+", data["license_name"]), data["license_name"]
            assert data.get("license_link") == link
            assert f"`license: other` (`license_name: {data['license_name']}`)" in licences
    assert "commercial use needs a licence" in section(card_of(build_model(tmp_path / "s", SMILE), DEMO), "Licences")


def test_model_index_entries_are_distinct():
    """One model-index result per (task, dataset, split); within it no two metrics share (type, config,
    args): pooled and fold mean (and one clip alone) differ by `config`, not only by `name`."""
    from huggingface_hub import ModelCard

    from speech_emotion.evaluate.model_card import model_card

    for lone in (None, lone_clip_of()):
        info = {"encoder": SMILE, "classifier": "logreg", "labels": LABELS, "audio": {},
                "cv": {"lone_clip": lone} if lone else {}}
        features = FeatureSpec.of([0], "egemaps", speaker_norm=True, min_clips=3)
        card = model_card(info, features, metrics_of(), CREMAD_MANIFEST, CREMAD)
        index = parse_front_matter(card)["model-index"]
        assert len(index) == 1
        results = index[0]["results"]
        keys = [(r["task"]["type"], r["dataset"]["type"], r["dataset"].get("split")) for r in results]
        assert len(keys) == len(set(keys)) == 1, keys
        metrics = results[0]["metrics"]
        ids = [(m["type"], m.get("config"), json.dumps(m.get("args"), sort_keys=True)) for m in metrics]
        assert len(ids) == len(set(ids)), ids
        assert len(metrics) == (12 if lone else 6)
        hub = ModelCard(card).data.eval_results  # the Hub's parser reads every one back
        assert {(r.metric_type, r.metric_config) for r in hub} == {(t, c) for t, c, _ in ids}
        if lone:
            recall = {m["config"]: m["value"] for m in metrics if m["type"] == "recall"}
            assert recall["pooled-one-clip-alone"] == lone["balanced_accuracy"]["pooled"]
            assert recall["fold-mean-one-clip-alone"] == lone["balanced_accuracy"]["mean"]


def bibtex_entries(card: str) -> list[dict]:
    """Each entry of the card's ```bibtex block: type, key and fields."""
    block = card.split("```bibtex\n")[1].split("```")[0]
    entries = []
    for match in re.finditer(r"@(\w+)\{([^,]+),\n(.*?)\n\}", block, re.S):
        fields = dict(re.findall(r"^\s*(\w+) = \{(.*?)\},?$", match.group(3).replace("}, ", "},\n  "), re.M))
        entries.append({"type": match.group(1), "key": match.group(2), **fields})
    return entries


def test_software_citation_is_complete_bibtex(tmp_path):
    """Every BibTeX entry has a year; the workflow's is a standard BibTeX @misc (not biblatex's @software)
    with title, author, year, the package name and version in `howpublished` and its licence in `note`."""
    from speech_emotion import __version__

    entries = bibtex_entries(card_of(build_model(tmp_path / "m", SMILE)))
    assert [e["key"] for e in entries] == ["cao2014cremad", "eyben2010opensmile", "eyben2016gemaps",
                                           f"speech_emotion_{__version__.replace('.', '_')}"]
    assert all(re.fullmatch(r"\d{4}", e.get("year", "")) for e in entries), entries
    workflow = entries[-1]
    assert workflow["type"] == "misc" and {"title", "author", "year", "howpublished", "note"} <= set(workflow)
    assert "speech-emotion" in workflow["howpublished"] and __version__ in workflow["howpublished"]
    assert "MIT" in workflow["note"]


def test_card_modules_stay_short():
    """The card code is split (assembly, texts from tables, `info`): no module of it over 450 lines."""
    folder = REPO / "workflow/speech_emotion/evaluate"
    for name in ("model_card.py", "card_text.py", "model_info.py"):
        lines = len((folder / name).read_text(encoding="utf-8").splitlines())
        assert lines <= 450, (name, lines)


def run_in(folder: Path, command: str) -> tuple[int, str]:
    """One card command (``speech-emotion ...``, globs and a ``> file`` redirect) run in-process in ``folder``."""
    import contextlib
    import glob
    import io
    import shlex

    words = shlex.split(command)
    target = None
    if ">" in words:
        target, words = words[words.index(">") + 1], words[: words.index(">")]
    args = [a for w in words[1:] for a in (sorted(glob.glob(w, root_dir=folder)) if "*" in w else [w])]
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out):
            code = main(args)
    finally:
        os.chdir(cwd)
    if target:
        (folder / target).write_text(out.getvalue())
    return code, out.getvalue()


def test_how_to_use_runs_in_the_downloaded_folder(tmp_path):
    """The card's commands name the model folder itself (`--model .`), not the workflow's results/ path a Hub
    download lacks, say which speaker option to pass, and run as written in a copy of the folder with
    recordings named like the corpus's in recordings/."""
    model_folder = build_model(tmp_path / "results/models/egemaps/logreg", SMILE, dim=88)  # eGeMAPSv02: 88 functionals
    card = card_of(model_folder)
    usage = section(card, "How to use")
    commands = bash_commands(usage)
    assert commands and all("results/" not in c for c in commands), commands
    assert all(" --model . " in c or c == "speech-emotion info ." for c in commands), commands
    assert 'load_model(".")' in usage
    assert "**Speakers**: pass `--speaker-regex '^(\\d+)_'`" in usage
    predicts = [c for c in commands if c.startswith("speech-emotion predict")]
    assert predicts and all("--speaker-regex '^(\\d+)_'" in c or "--enrolment" in c for c in predicts)

    hub = tmp_path / "downloaded"  # a Hub download: the folder alone, anywhere, with the user's recordings
    shutil.copytree(model_folder, hub)
    (hub / "MODEL_CARD.md").write_text(card)
    (hub / "recordings").mkdir()
    for i, name in enumerate(sorted({Path(p).name for p in CREMAD_MANIFEST["path"]})):
        sf.write(hub / "recordings" / name, np.sin(np.linspace(0, 900 * (1 + i % 4), 24000)).astype(np.float32) * 0.3, 16000)
    for command in commands:
        if "--segment vad" in command:
            continue  # Silero VAD: the slow test runs it on the demo's models
        code, out = run_in(hub, command)
        assert code == 0, command
    assert (hub / "labels.tsv").read_text().count("\n") == 5  # header + 1001's four recordings

    plain = card_of(build_model(tmp_path / "plain", SMILE, speaker_norm=False))
    usage = section(plain, "How to use")
    assert "**Speakers**: no option needed" in usage
    assert all("--speaker" not in c for c in bash_commands(usage))


def test_bundle_rewrites_the_cards_weights_statement_and_info_reads_the_bundle(hf_model, capsys, monkeypatch):
    """Before bundling the card says the weights are not in the folder (and where predict looks), and `info`
    names the recorded folder; `speech-emotion bundle` rewrites that statement (and nothing else) to the
    bundled copy, `encoder/<name>/`, and `info` then names the bundled copy."""
    from speech_emotion.predict.portable import bundle_model

    monkeypatch.chdir(hf_model.parents[3])  # the workflow folder: the recorded weights are relative to it
    before = (hf_model / "MODEL_CARD.md").read_text()
    assert "**not in this folder**" in before and "`resources/models/tiny`" in before
    assert main(["info", str(hf_model)]) == 0
    out = capsys.readouterr().out
    assert "weights resources/models/tiny (the folder the model records)" in out, out

    bundle_model(hf_model)
    after = (hf_model / "MODEL_CARD.md").read_text()
    assert "not in this folder" not in after and "bundled in this folder, `encoder/tiny/`" in after
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(changed) == 1 and changed[0].startswith("- `tiny`: bundled"), changed
    assert main(["info", str(hf_model)]) == 0
    out = capsys.readouterr().out
    assert f"weights {hf_model / 'encoder/tiny'} (the copy bundled in the model folder)" in out, out
    bundle_model(hf_model)  # again: already bundled, the card stays as it is
    assert (hf_model / "MODEL_CARD.md").read_text() == after
    # the workflow rebuilding the model beside the bundle (rule final_model) writes the same card
    from speech_emotion.evaluate.model_card import model_card
    from speech_emotion.predict.portable import bundled_encoders

    info = json.loads((hf_model / "model.json").read_text())
    assert bundled_encoders(hf_model, info) == ["tiny"]
    metrics = json.loads((hf_model / "metrics.json").read_text())
    features = FeatureSpec.read(hf_model / "features.json")
    assert model_card(info, features, metrics, CREMAD_MANIFEST, DEMO, bundled=bundled_encoders(hf_model, info)) == after


def test_card_and_info_show_the_one_clip_alone_figure(tmp_path, capsys):
    """With cv.lone_clip (some fold standardised per speaker) the card's Evaluation has both rows, each
    speaker's own clips (CV) and one clip alone, and says which a user gets when; `info` prints both.
    Without it (no fold standardised) both say the figures are the same."""
    lone = lone_clip_of()
    folder = build_model(tmp_path / "lone", SMILE, lone_clip=lone)
    evaluation = section(card_of(folder), "Evaluation")
    cv = metrics_of()["balanced_accuracy"]
    assert (f"| each speaker's own clips (what CV reports) | {cv['pooled']:.3f} | {cv['mean']:.3f} ± "
            f"{cv['std']:.3f} |") in evaluation, evaluation
    ua = lone["balanced_accuracy"]
    assert f"| one clip alone (population statistics) | {ua['pooled']:.3f} | {ua['mean']:.3f} ± {ua['std']:.3f} |" in evaluation
    assert "3 of 5 CV folds standardised features per speaker" in evaluation
    assert "several clips of each speaker" in evaluation and "labelled alone or without its speaker" in evaluation
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) <= 8, out
    line = next(l for l in out.splitlines() if l.startswith("one clip alone"))
    assert f"UA {ua['pooled']:.3f} pooled, {ua['mean']:.3f} ± {ua['std']:.3f} fold mean" in line
    assert "several clips of each speaker" in line

    same = build_model(tmp_path / "same", SMILE, speaker_norm=False)
    evaluation = section(card_of(same), "Evaluation")
    assert "one clip alone" in evaluation and "no CV fold standardised features per speaker" in evaluation
    assert main(["info", str(same)]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("one clip alone"))
    assert "as cv" in line


# --- issue 33 item 1: features.json is the one place a model folder states its feature decisions ---------

OLD_KEYS = {"layers": [0], "speaker_norm": {"use": True, "min_clips": 3, "mode": "auto"},
            "layer_choice": {"method": "config", "spec": "last", "score": None, "n_layers": 1}}
"""What model.json said besides features.json before it stopped doing so (an older model folder)."""


def test_model_json_states_no_decision_that_features_json_states(model_folder):
    """features.json (FeatureSpec) states the members' layers and weights, per-speaker standardisation and its
    minimum clips, copies and balance; model.json states none of them again, only the evidence the card cites
    (``layer_choice``: how the layers were chosen, never which)."""
    info = json.loads((model_folder / "model.json").read_text())
    stated = set(json.loads((model_folder / "features.json").read_text())) | {"layers", "weights", "members"}
    assert not stated & set(info), stated & set(info)
    assert not stated & set(info.get("layer_choice") or {})


def test_card_and_info_say_what_features_json_says(tmp_path, capsys):
    """The card and `info` read layers, weights and speaker standardisation from features.json: a folder whose
    model.json has no `layers`/`speaker_norm` (as written now) gives the same card and `info` as an older
    folder whose model.json still has them, and an older model.json contradicting features.json changes
    nothing (its keys are ignored); the older folder loads."""
    def texts(folder: Path) -> tuple[str, str]:
        assert main(["info", str(folder)]) == 0
        return card_of(folder), capsys.readouterr().out.replace(str(folder), "M")

    folders = {}
    for name, extra in (("now", {}), ("older", OLD_KEYS),
                        ("contradicting", {"layers": [7], "speaker_norm": {"use": False, "min_clips": 9}})):
        folder = build_model(tmp_path / name, SMILE, lone_clip=lone_clip_of())
        info = {k: v for k, v in json.loads((folder / "model.json").read_text()).items()
                if k not in ("layers", "speaker_norm")}
        (folder / "model.json").write_text(json.dumps(info | extra))
        folders[name] = folder
    card, out = texts(folders["now"])
    assert "NEEDED" in out and "layers [0]" in out and "several clips of each speaker" in out, out
    assert "- **Features**: the 6 functionals" in card and "Features standardised **per speaker**" in card
    assert "fewer than 3 clips" in card and "at least 3, with a speaker option" in card
    assert "--speaker-regex" in section(card, "How to use")
    for name in ("older", "contradicting"):
        assert texts(folders[name]) == (card, out), name
        loaded = load_final_model(folders[name])
        assert loaded.speaker_norm is True and not {"layers", "speaker_norm"} & set(loaded.info)

    plain = build_model(tmp_path / "plain", SMILE, speaker_norm=False)
    info = json.loads((plain / "model.json").read_text())
    (plain / "model.json").write_text(json.dumps(info | {"speaker_norm": {"use": True, "min_clips": 3}}))
    card, out = texts(plain)
    assert "not needed" in out and "per speaker" not in section(card, "Model")
    assert "**Speakers**: no option needed" in section(card, "How to use")


def test_card_states_each_members_layers_and_weights_from_features_json(tmp_path):
    """A Hugging Face encoder's card names the layers features.json reads and, for a learned weighting, that the
    layers are summed with its weights (not concatenated); how they were chosen comes from model.json's
    layer_choice (evidence). A fusion's card gives each member's layers from features.json."""
    from speech_emotion.train.features import Member
    from speech_emotion.train.fold_plan import Plan

    probed = {"method": "probe", "spec": "auto", "score": 0.5, "n_layers": 5, "layer_scores": [0.5] * 5}
    folder = build_model(tmp_path / "tiny", TINY, members=[Member("tiny", (2, 3))], layer_choice=probed)
    model = section(card_of(folder), "Model")
    assert "- **Layers** [2, 3] of 5 (0 = the convolutional/embedding output), chosen by a logistic-regression " \
           "probe" in model and "chosen layers concatenated (6 features)" in model, model
    weighted = build_model(tmp_path / "weighted", TINY, members=[Member("tiny", (0, 1, 2), (0.5, 0.25, 0.25))])
    model = section(card_of(weighted), "Model")
    assert "- **Layers** [0, 1, 2]" in model and "summed with learned weights 0.50, 0.25, 0.25" in model, model
    assert "concatenated" not in model

    fusion = dict(TINY, name="both", spec={"kind": "fusion", "members": ["tiny", "egemaps"]}, model_dir=None,
                  identity=None, members=[TINY, SMILE])
    members = [Member("tiny", (1,)), Member("egemaps", (0,))]
    evidence = {"layers": {"method": "fusion", "members": {"tiny": probed, "egemaps": {"method": "config", "n_layers": 1}}}}
    plan = Plan("all", FeatureSpec.of(members), evidence, 24)  # the fold-all plan of the fusion: its record's choice
    assert plan.layer_choice["members"]["tiny"] == {k: probed[k] for k in ("method", "spec", "score", "n_layers")}
    folder = build_model(tmp_path / "fusion", fusion, members=members, layer_choice=plan.layer_choice)
    assert not {"layers", "layer_scores"} & set(json.loads((folder / "model.json").read_text())["layer_choice"]["members"]["tiny"])
    model = section(card_of(folder), "Model")
    assert "  - **Layers** [1] of 5 (0 = the convolutional/embedding output), chosen by a logistic-regression" in model, model
    assert "  - **Encoder** `egemaps`" in model


def test_card_says_whether_copies_trained_from_features_json(model_folder):
    """Whether augmented copies trained is features.json's `copies`; the fold-all record's copies entry only
    gives the evidence (how many rows, the probe's scores with and without them)."""
    from dataclasses import replace

    from speech_emotion.evaluate.model_card import model_card

    info = json.loads((model_folder / "model.json").read_text())
    spec = FeatureSpec.read(model_folder / "features.json")
    evidence = {"copy_rows": 40, "score_with": 0.6, "score_without": 0.5, "mode": "auto"}
    for copies, says in ((True, "- Augmented copies trained (40 rows besides the clean clips)."),
                         (False, "- Augmented copies were available but not used: the probe scored 0.500 without and "
                                 "0.600 with them.")):
        card = model_card(info, replace(spec, copies=copies), metrics_of(), CREMAD_MANIFEST, CREMAD, evidence)
        assert says in section(card, "Model"), copies


# --- the card's explanations section (issue 35 item 1) ------------------------------------------------------
def explanation_tables(folder: Path) -> tuple[Path, Path]:
    """A pair's importance.tsv and nuisance.tsv as rule explain writes them, from hand-made per-fold numbers
    (3 folds): pitch drops 0.10/0.15/0.20 (mean 0.150, 95 % t-interval [0.026, 0.274]), the speaker probe
    0.30/0.40/0.50 (0.400 [0.152, 0.648]), the model's UA 0.60 in every fold."""
    from speech_emotion.explain import importance as imp
    from speech_emotion.explain.pair import summarise_nuisance

    drops = {"pitch": (0.10, 0.15, 0.20), "loudness": (0.02, 0.03, 0.04), "spectral": (0.0, 0.01, 0.02),
             "cepstral": (0.05, 0.05, 0.05), "voice quality": (0.0, 0.0, 0.0), "temporal": (-0.01, 0.0, 0.01)}
    columns = {"pitch": 10, "loudness": 11, "spectral": 35, "cepstral": 16, "voice quality": 10, "temporal": 6}
    rows = []
    for fold in range(3):
        for group, values in drops.items():
            rows.append({"fold": fold, "level": "family", "group": group, "class": "all", "drop": values[fold],
                         "n_columns": columns[group]})
            for k, label in enumerate(LABELS):  # ANG's recall suffers most without pitch
                rows.append({"fold": fold, "level": "family", "group": group, "class": label,
                             "drop": values[fold] * (2.0 if label == "ANG" and group == "pitch" else 1.0),
                             "n_columns": columns[group]})
        rows.append({"fold": fold, "level": "feature", "group": "F0semitoneFrom27.5Hz_sma3nz_amean", "class": "all",
                     "drop": (0.04, 0.05, 0.06)[fold], "n_columns": 1})
    importance = imp.summarise(pd.DataFrame(rows), ["0", "1", "2"])
    probes = pd.DataFrame([{"fold": fold, "nuisance": name, "probe_ua": probe[fold], "labels_ua": labels,
                            "chance": chance, "model_ua": 0.6}
                           for fold in range(3)
                           for name, probe, labels, chance in (("duration", (0.3, 0.35, 0.4), 0.5, 1 / 3),
                                                               ("loudness", (0.3, 0.3, 0.3), 0.4, 1 / 3),
                                                               ("speaker", (0.3, 0.4, 0.5), 0.25, 0.25))])
    nuisance = summarise_nuisance(probes, ["0", "1", "2"])
    importance.to_csv(folder / "importance.tsv", sep="\t", index=False)
    nuisance.to_csv(folder / "nuisance.tsv", sep="\t", index=False)
    return folder / "importance.tsv", folder / "nuisance.tsv"


def test_card_has_its_pairs_explanations_after_the_cv_results_and_none_without_them(model_folder, tmp_path):
    """The explanations section (speech_emotion.explain.report.card_section of the pair's importance.tsv and
    nuisance.tsv) sits after the CV results and the human baseline, with the table's numbers, and says that it
    describes the cross-validated recipe, not the final model; a card without explanations has no section."""
    from speech_emotion.evaluate.model_card import explanation_lines, model_card

    info = json.loads((model_folder / "model.json").read_text())
    features = FeatureSpec.read(model_folder / "features.json")
    importance, nuisance = explanation_tables(tmp_path)
    lines = explanation_lines(importance, nuisance)  # what rule final_model passes
    card = model_card(info, features, metrics_of(), CREMAD_MANIFEST, CREMAD, explanations=lines)
    heads = [line for line in card.splitlines() if line.startswith("## ")]
    assert heads.index("## Explanations (cross-validated)") == heads.index("## Evaluation") + 1
    assert heads[heads.index("## Evaluation") + 2] == "## Intended use"
    assert card.index("### Human baseline") < card.index("## Explanations (cross-validated)")
    text = section(card, "Explanations (cross-validated)")
    assert "| pitch | 0.150 [0.026, 0.274] | 10 |" in text
    assert "| cepstral | 0.050 [0.050, 0.050] | 16 |" in text
    assert "Largest by feature: F0semitoneFrom27.5Hz_sma3nz_amean 0.050 [0.025, 0.075]." in text
    assert "Most important per class (drop in its recall): ANG: pitch 0.300; " in text
    assert "the model's UA is 0.600 [0.600, 0.600]" in text
    assert "| speaker identity | 0.400 [0.152, 0.648] | 0.250 | 0.250 |" in text
    assert "the final model was trained on all clips and was not itself explained" in text
    assert "importance.tsv" in card.split("## Model")[0]  # the card names the files it was made from
    check_front_matter(card, info, metrics_of(), CREMAD)

    plain = model_card(info, features, metrics_of(), CREMAD_MANIFEST, CREMAD)
    assert "Explanations" not in plain and "importance.tsv" not in plain and "explained" not in plain
    assert [line for line in card.splitlines() if line.startswith("## ") and "Explanations" not in line] == \
        [line for line in plain.splitlines() if line.startswith("## ")]
