"""Configuration: coercion of --config strings, schema errors and semantic checks that name the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from speech_emotion.config import ConfigError, check_config, coerce_to_schema, load_schema

SCHEMA = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_default_config_is_valid():
    import jsonschema

    jsonschema.validate(default_config(), SCHEMA)


def test_nested_strings_are_coerced_to_schema_types():
    config = default_config()
    config["classifiers"]["svm"] = {"C": "3.0", "gamma": "scale", "kernel": "rbf"}
    config["cv"]["folds"] = "10"
    config["tune"]["enabled"] = "true"
    config["audio"]["min_seconds"] = "1"
    config["features"]["layers"] = "[3, 4]"
    config["run"]["classifiers"] = ["svm"]
    out = coerce_to_schema(config, SCHEMA)
    assert out["classifiers"]["svm"] == {"C": 3.0, "gamma": "scale", "kernel": "rbf"}
    assert out["cv"]["folds"] == 10 and isinstance(out["cv"]["folds"], int)
    assert out["tune"]["enabled"] is True
    assert out["audio"]["min_seconds"] == 1.0 and isinstance(out["audio"]["min_seconds"], float)
    assert out["features"]["layers"] == [3, 4]
    # a string that is meant to stay a string is left alone
    config["features"]["layers"] = "auto"
    assert coerce_to_schema(config, SCHEMA)["features"]["layers"] == "auto"
    # a value that cannot be coerced stays as it is, for the validator to report
    config["cv"]["folds"] = "five"
    assert coerce_to_schema(config, SCHEMA)["cv"]["folds"] == "five"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda c: c["run"].update(encoders=["nope"]), "run.encoders"),
        (lambda c: c["dataset"].update(kind="folder", root="missing-dir", speaker_regex="^(x)"), "dataset.root"),
        (lambda c: c["dataset"].update(kind="folder", root=".", speaker_regex="^x"), "dataset.speaker_regex"),
        (lambda c: c["dataset"].update(kind="manifest", manifest="nope.csv"), "dataset.manifest"),
        (lambda c: c["dataset"].update(source="no/such/dir"), "dataset.source"),
        (lambda c: c["augment"]["noise"].update(min_snr_db=40), "augment.noise.min_snr_db"),
    ],
)
def test_semantic_errors_name_the_key(tmp_path, change, key):
    config = default_config()
    change(config)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        check_config(config, tmp_path)


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "-n", *args],
        capture_output=True, text=True, timeout=300,
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("cv={'folds': 'many'}", "folds"),
        ("run={'encoders': ['wavlm-large'], 'classifiers': ['knn']}", "knn"),
        ("run={'encoders': ['nope'], 'classifiers': ['svm']}", "run.encoders"),
        ("dataset={'kind': 'folder', 'root': 'missing', 'speaker_regex': '^(.)'}", "dataset.root"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, override, expected):
    result = _snakemake(tmp_path, "--config", override)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_predefined_protocol_needs_a_fold_source(tmp_path):
    (tmp_path / "clips.csv").write_text("path,label,speaker,split\n")
    config = default_config()
    config["cv"]["protocol"] = "predefined"
    config["dataset"] = {"kind": "folder", "root": str(tmp_path), "speaker_regex": "^(x)"}
    with pytest.raises(ConfigError, match=r"cv.protocol: predefined needs the fold of every clip: set cv.fold_table"):
        check_config(config, tmp_path)
    config["cv"]["fold_table"] = "folds.csv"
    with pytest.raises(ConfigError, match=r"cv.fold_table: file 'folds.csv' does not exist"):
        check_config(config, tmp_path)
    (tmp_path / "folds.csv").write_text("clip_id,fold\n")
    check_config(config, tmp_path)
    config["cv"] = {"protocol": "predefined", "folds": 5, "fold_column": "fold"}
    config["dataset"] = {"kind": "manifest", "manifest": "clips.csv"}
    with pytest.raises(ConfigError, match=r"cv.fold_column: dataset.manifest 'clips.csv' has no column 'fold' "
                                          r"\(columns: path, label, speaker, split\)"):
        check_config(config, tmp_path)
    config["cv"]["fold_column"] = "split"
    check_config(config, tmp_path)
    config["cv"]["protocol"] = "loso"
    import jsonschema

    jsonschema.validate(config, SCHEMA)
    with pytest.raises(jsonschema.ValidationError, match="'leave-one-out' is not one of"):
        jsonschema.validate(config | {"cv": {"protocol": "leave-one-out", "folds": 5}}, SCHEMA)
