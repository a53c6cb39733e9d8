"""Configuration: coercion of --config strings, schema errors and semantic checks that name the key."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO, run_snakemake
from speech_emotion.config import (
    DOCS_COMMAND,
    ConfigError,
    check_config,
    coerce_to_schema,
    load_schema,
    render_markdown,
    schema_defaults,
)

SCHEMA_FILE = REPO / "workflow" / "schemas" / "config.schema.yaml"
SCHEMA = load_schema(SCHEMA_FILE)
# Settings with no default on purpose: their absence means something, and a default would enter the
# params of finished jobs (Snakemake's validate fills schema defaults into the config).
NO_DEFAULT = {"classifiers.logreg.C": "absent: C is chosen from Cs by inner CV",
              "dataset.targets": "absent: no continuous target (a default would enter the manifest's params)"}


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_schema_uses_the_draft_snakemake_validates_with():
    from jsonschema import Draft202012Validator

    assert SCHEMA["$schema"] == Draft202012Validator.META_SCHEMA["$schema"]
    assert "definitions" not in SCHEMA  # 2020-12 keeps reusable parts under $defs
    Draft202012Validator.check_schema(SCHEMA)


def test_default_config_is_valid():
    from jsonschema import Draft202012Validator

    Draft202012Validator(SCHEMA).validate(default_config())


def _differences(a, b, path=""):
    """Key paths where a and b differ in value or type (30 vs 30.0 is a difference: params are reprs)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(f"{where}: only in {'config.yaml' if key in a else 'the schema defaults'}")
            else:
                out += _differences(a[key], b[key], where)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    if type(a) is not type(b) or a != b:
        return [f"{path}: config.yaml {a!r}, schema default {b!r}"]
    return []


def test_config_yaml_equals_the_schema_defaults_key_by_key():
    differences = _differences(default_config(), schema_defaults(SCHEMA))
    assert not differences, "config.yaml and the schema's defaults differ:\n" + "\n".join(differences)
    # the comparison sees a difference where there is one
    assert _differences({"a": {"b": 30}}, {"a": {"b": 30.0}}) == ["a.b: config.yaml 30, schema default 30.0"]


def _walk(node, path, in_entry=False):
    """(key path, node, is a free-form map's entry) of every described schema node below ``node``."""
    from speech_emotion.config import _merged

    node = _merged(node, SCHEMA)
    for key, sub in node.get("properties", {}).items():
        yield f"{path}.{key}" if path else key, sub, in_entry
        yield from _walk(sub, f"{path}.{key}" if path else key, in_entry)
    entry = node.get("additionalProperties")
    if isinstance(entry, dict):
        merged = _merged(entry, SCHEMA)
        if "properties" in merged or "additionalProperties" in merged:
            yield f"{path}.<entry>", entry, True
            yield from _walk(entry, f"{path}.<entry>", True)


def test_every_key_has_a_description_and_every_setting_a_default():
    from speech_emotion.config import _merged

    keys = list(_walk(SCHEMA, ""))
    assert len(keys) > 100 and "tune.spaces.<entry>.<entry>.low" in {k for k, _, _ in keys}
    undescribed = [key for key, node, _ in keys if not _merged(node, SCHEMA).get("description", "").strip()]
    assert not undescribed, f"schema keys without description: {undescribed}"
    # a setting (not a section with properties, not a key of a free-form map's entries) has a default
    missing = [key for key, node, in_entry in keys
               if not in_entry and "properties" not in _merged(node, SCHEMA) and "default" not in node]
    assert sorted(missing) == sorted(NO_DEFAULT), f"settings without default: {missing} (expected only {sorted(NO_DEFAULT)})"
    # a default, where given, is valid for its own key
    from jsonschema import Draft202012Validator

    for key, node, _ in keys:
        if "default" in node:
            sub = {"$defs": SCHEMA["$defs"], **{k: v for k, v in node.items() if k != "default"}}
            errors = list(Draft202012Validator(sub).iter_errors(node["default"]))
            assert not errors, f"{key}: default {node['default']!r} is invalid: {errors[0].message}"


def test_classifier_defaults_in_the_schema_equal_the_classes_defaults():
    """config.yaml's classifier settings ARE the classes' defaults; the schema must say the same."""
    from speech_emotion.train.classifiers import make_classifier

    defaults = schema_defaults(SCHEMA)["classifiers"]
    properties = SCHEMA["properties"]["classifiers"]["properties"]
    assert set(properties) == {"logreg", "svm", "xgboost", "mlp", "ensemble"}
    for name, section in properties.items():
        params = make_classifier(name).get_params()
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items() if k not in ("seed", "n_jobs")}
        # every setting the schema allows is a constructor argument (member_params is internal to the ensemble)
        assert set(section["properties"]) <= set(params), (name, set(section["properties"]) - set(params))
        # member_params is internal to the ensemble; refit is set by the train job for the final model,
        # block_widths by the train job from the plan (a balanced fusion)
        assert set(params) - set(section["properties"]) <= {"member_params", "refit", "block_widths"}, name
        for key in section["properties"]:
            expected = defaults[name].get(key)  # absent (NO_DEFAULT) means None in the class
            assert params[key] == expected and type(params[key]) is type(expected), (
                f"classifiers.{name}.{key}: schema default {expected!r}, {name} class default {params[key]!r}"
            )


def test_configuration_reference_is_generated_from_the_schema():
    committed = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render_markdown(SCHEMA), (
        f"docs/configuration.md differs from the schema; regenerate it from the checkout's root with\n    {DOCS_COMMAND}"
    )
    # every key of config.yaml is in it, with its default
    assert "| `classifiers.svm.C` | `1.0` | number > 0 or null |" in committed
    assert "| `augment.noise.min_snr_db` | `10.0` | number |" in committed


def test_snakemake_starts_without_a_schema_draft_warning(tmp_path):
    result = run_snakemake(tmp_path, "-n", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "No validator found for JSON Schema version" not in output
    assert "schema file may not be validated correctly" not in output


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
    result = run_snakemake(tmp_path, "-n", "--config", override, timeout=300)
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
    config["cv"] = {"protocol": "predefined", "folds": 5, "fold_column": "fold", "fold_table": None}
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


def test_schema_names_exactly_the_registered_classifiers():
    """The registry (speech_emotion.train.classifiers.registry) is the one list of classifiers: the schema's
    enums, its classifiers.* blocks, config.yaml's run list and the ensemble's members follow it."""
    from speech_emotion.train.classifiers.registry import CLASSIFIERS, MEMBERS, TUNABLE

    schema = SCHEMA
    props = schema["properties"]
    assert schema["$defs"]["classifier_name"]["enum"] == list(CLASSIFIERS)
    assert list(props["classifiers"]["properties"]) == list(CLASSIFIERS)
    ensemble = props["classifiers"]["properties"]["ensemble"]["properties"]["members"]
    assert ensemble["items"]["enum"] == list(MEMBERS) and ensemble["default"] == list(MEMBERS)
    assert props["tune"]["properties"]["classifiers"]["items"]["enum"] == list(TUNABLE)
    assert props["tune"]["properties"]["spaces"]["propertyNames"]["enum"] == list(TUNABLE)
    assert props["run"]["properties"]["classifiers"]["default"] == list(CLASSIFIERS)


def test_unquoted_on_off_is_read_as_the_setting():
    """YAML 1.1 reads `speaker_norm: off` as false; the setting means the string."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["features"]["speaker_norm"] = yaml.safe_load("off")
    assert config["features"]["speaker_norm"] is False
    assert coerce_to_schema(config, SCHEMA)["features"]["speaker_norm"] == "off"
    config["features"]["speaker_norm"] = True
    assert coerce_to_schema(config, SCHEMA)["features"]["speaker_norm"] == "on"


def test_train_jobs_of_one_thread_classifiers_ask_for_one_thread(tmp_path):
    """xgboost and the MLP train on one thread: their train jobs must not hold train.threads cores."""
    result = run_snakemake(tmp_path, "-n", "--cores", "4", "--workflow-profile", str(REPO / "profiles" / "demo"),
                           "--config", "train={'threads': 3}", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    # a job's threads are in the dry run's job listing only (snakemake --summary has no such column)
    threads = {}
    for block in (result.stdout + result.stderr).split("\nrule ")[1:]:
        if not block.startswith("train:"):
            continue
        fields = dict(line.strip().split(": ", 1) for line in block.splitlines()[1:] if ": " in line)
        classifier = re.search(r"classifier=(\w+)", fields["wildcards"]).group(1)
        threads.setdefault(classifier, set()).add(int(fields.get("threads", 1)))
    assert threads == {"logreg": {3}, "svm": {3}, "ensemble": {3}, "xgboost": {1}, "mlp": {1}}


def test_schema_errors_are_all_listed_one_line_each_with_a_suggestion():
    from speech_emotion.config import schema_errors

    assert schema_errors(default_config(), SCHEMA) == []
    config = default_config()
    config["classifer"] = {"svm": {"C": 3.0}}
    config["augment"]["copise"] = 2
    config["cv"]["protocol"] = "stratifed"
    config["cv"]["folds"] = 1
    config["run"]["classifiers"] = ["svm", "knn"]
    lines = schema_errors(coerce_to_schema(config, SCHEMA), SCHEMA)
    assert all("\n" not in line and line.startswith("config: ") for line in lines)
    by_key = {line.split(": ")[1]: line for line in lines}
    assert sorted(by_key) == ["augment.copise", "classifer", "cv.folds", "cv.protocol", "run.classifiers[1]"]
    assert by_key["classifer"].endswith("unknown key; allowed: " + ", ".join(SCHEMA["properties"])
                                        + "; did you mean 'classifiers'?")
    assert by_key["augment.copise"].endswith("; did you mean 'copies'?")
    assert "allowed: copies, per_class_copies, use," in by_key["augment.copise"]
    assert by_key["cv.protocol"] == ("config: cv.protocol: got 'stratifed'; allowed: speaker | stratified | loso | "
                                     "predefined; did you mean 'stratified'?")
    assert by_key["cv.folds"] == "config: cv.folds: got 1; allowed: integer ≥ 2"
    assert by_key["run.classifiers[1]"] == ("config: run.classifiers[1]: got 'knn'; allowed: logreg | svm | xgboost | "
                                            "mlp | ensemble")  # nothing close: no suggestion
    # a missing section, a wrong type and a bad entry name of a free-form map
    config = default_config()
    del config["cv"]
    config["seed"] = "x"
    config["tune"]["spaces"] = {"svn": {}}
    assert schema_errors(config, SCHEMA) == [
        "config: cv: missing (required)",
        "config: seed: got 'x'; allowed: integer",
        "config: tune.spaces.svn: not an allowed name; allowed: logreg | svm | xgboost | mlp; did you mean 'svm'?",
    ]


def test_a_config_typo_prints_a_few_lines_naming_the_key(tmp_path):
    """Snakemake's validate printed the whole schema and config (3,206 lines for a top-level typo)."""
    (tmp_path / "typo.yaml").write_text("classifer:\n  svm: {C: 3.0}\n")
    result = run_snakemake(tmp_path, "-n", "--configfile", str(tmp_path / "typo.yaml"), timeout=300)
    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode != 0
    assert len(output) <= 5, "\n".join(output[:20])
    assert any("config: classifer: unknown key" in line and "did you mean 'classifiers'?" in line for line in output)
    (tmp_path / "two.yaml").write_text("augment: {copise: 2}\ncv: {protocol: random, folds: 5}\n")
    result = run_snakemake(tmp_path, "-n", "--configfile", str(tmp_path / "two.yaml"), timeout=300)
    output = result.stdout + result.stderr
    assert len(output.strip().splitlines()) <= 6, output[:3000]
    assert "config: augment.copise: unknown key" in output and "did you mean 'copies'?" in output
    assert "config: cv.protocol: got 'random'; allowed: speaker | stratified | loso | predefined" in output
    assert not (tmp_path / "results").exists()


def test_one_speaker_corpus_is_pointed_to_the_stratified_protocol():
    """cv.folds is at least 2, so 'lower cv.folds to 1' was advice the schema rejects."""
    import pandas as pd

    from speech_emotion.data.folds import FoldError, make_folds

    table = pd.DataFrame({"clip_id": [f"c{i}" for i in range(12)], "speaker": "S1", "label": list("ABC") * 4})
    with pytest.raises(FoldError) as info:
        make_folds(table, "speaker", 2, seed=0)
    message = str(info.value)
    assert "cv.protocol: stratified" in message and "cv.folds to 1" not in message
    assert make_folds(table, "stratified", 2, seed=0)["fold"].nunique() == 2  # the advice works
    table["speaker"] = ["S1", "S2"] * 6
    with pytest.raises(FoldError, match=r"lower cv.folds to 2 or less, or set cv.protocol: loso"):
        make_folds(table, "speaker", 3, seed=0)


def test_embed_speedup_keys_are_validated():
    """embed.quantize (null | int8) and embed.max_layer (null | integer >= 1): off by default."""
    import jsonschema
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(SCHEMA)
    assert schema_defaults(SCHEMA)["embed"]["quantize"] is None
    assert schema_defaults(SCHEMA)["embed"]["max_layer"] is None
    config = default_config()
    config["embed"].update(quantize="int8", max_layer="12")  # --config gives strings
    out = coerce_to_schema(config, SCHEMA)
    assert out["embed"]["max_layer"] == 12 and isinstance(out["embed"]["max_layer"], int)
    validator.validate(out)
    for bad in ({"quantize": "int4"}, {"max_layer": 0}, {"max_layer": 2.5}):
        config = default_config()
        config["embed"].update(bad)
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(config)
