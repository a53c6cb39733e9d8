"""Configuration: type coercion against the JSON Schema and checks the schema cannot express.

Snakemake merges nested ``--config`` overrides into the config but hands nested values over as
strings (``classifiers={"svm":{"C":3.0}}`` arrives as ``C: '3.0'``). :func:`coerce_to_schema`
turns such strings into the type the schema asks for before validation, so overrides work instead
of failing.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration problem; the message names the key."""


def _parse_scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    return [kind] if isinstance(kind, str) else list(kind)


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node[part]
        return _resolve(node, root)
    return schema


def _coerce(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    schema = _resolve(schema, root)
    if "oneOf" in schema or "anyOf" in schema:
        options = schema.get("oneOf", schema.get("anyOf"))
        if isinstance(value, str):
            parsed = _parse_scalar(value)
            for option in options:
                option = _resolve(option, root)
                if _matches_type(parsed, _types(option)) and not (isinstance(parsed, str) and parsed != value):
                    return _coerce(parsed, option, root)
        return value
    types = _types(schema)
    if isinstance(value, str) and types and "string" not in types:
        parsed = _parse_scalar(value)
        if _matches_type(parsed, types):
            value = parsed
            if "number" in types and "integer" not in types and type(parsed) is int:
                value = float(parsed)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            out[key] = _coerce(item, sub, root) if sub is not None else _coerce_untyped(item)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_coerce(item, schema["items"], root) for item in value]
    return value


def _coerce_untyped(value: Any) -> Any:
    """Free-form sections (classifier parameters): numbers and booleans given as strings."""
    if isinstance(value, dict):
        return {key: _coerce_untyped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce_untyped(item) for item in value]
    if isinstance(value, str):
        parsed = _parse_scalar(value)
        if isinstance(parsed, (int, float, bool, list)) or parsed is None:
            return parsed
    return value


def _matches_type(value: Any, types: list[str]) -> bool:
    checks = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "string": lambda v: isinstance(v, str),
    }
    return any(checks[t](value) for t in types if t in checks)


def coerce_to_schema(config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``config`` with string values converted to the types ``schema`` asks for."""
    return _coerce(config, schema, schema)


def load_schema(path: str | Path) -> dict[str, Any]:
    """Read the YAML JSON-Schema file."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def check_config(config: dict[str, Any], workdir: str | Path = ".") -> None:
    """Checks beyond the schema; raise :class:`ConfigError` naming the key."""
    encoders = config.get("encoders", {})
    for name in config["run"]["encoders"]:
        if name not in encoders:
            raise ConfigError(
                f"run.encoders: unknown encoder '{name}'; define it under 'encoders:' "
                f"(known: {', '.join(sorted(encoders))})"
            )
    for name, spec in encoders.items():
        if spec["kind"] == "hf" and "model" not in spec:
            raise ConfigError(f"encoders.{name}.model: a Hugging Face id or local folder is required for kind hf")
        if spec["kind"] == "opensmile" and "feature_set" not in spec:
            raise ConfigError(f"encoders.{name}.feature_set: eGeMAPSv02 or ComParE_2016 is required for kind opensmile")
    members = config.get("classifiers", {}).get("ensemble", {}).get("members", [])
    for member in members:
        if member not in {"logreg", "svm", "xgboost", "mlp"}:
            raise ConfigError(f"classifiers.ensemble.members: unknown classifier '{member}'")
    audio = config["audio"]
    if audio["min_seconds"] >= audio["max_seconds"]:
        raise ConfigError("audio.min_seconds must be smaller than audio.max_seconds")
    for section, low, high in (
        ("time_stretch", "min_rate", "max_rate"),
        ("pitch_shift", "min_semitones", "max_semitones"),
        ("noise", "min_snr_db", "max_snr_db"),
        ("gain", "min_factor", "max_factor"),
    ):
        spec = config["augment"].get(section, {})
        if low in spec and high in spec and spec[low] > spec[high]:
            raise ConfigError(f"augment.{section}.{low} must not exceed augment.{section}.{high}")
    _check_dataset(config["dataset"], Path(workdir))
    _check_cv(config["cv"], config["dataset"], Path(workdir))


def _check_dataset(dataset: dict[str, Any], workdir: Path) -> None:
    kind = dataset["kind"]

    def existing(key: str, want_dir: bool) -> None:
        value = dataset.get(key)
        if not value:
            raise ConfigError(f"dataset.{key}: required when dataset.kind is '{kind}'")
        path = Path(value) if Path(value).is_absolute() else workdir / value
        ok = path.is_dir() if want_dir else path.is_file()
        if not ok:
            what = "folder" if want_dir else "file"
            raise ConfigError(f"dataset.{key}: {what} '{value}' does not exist (resolved to {path})")

    if kind == "cremad":
        source = dataset.get("source") or "download"
        if source not in ("download", "demo"):
            existing("source", want_dir=True)
        for key in ("demographics", "perception"):
            if dataset.get(key):
                existing(key, want_dir=False)
    elif kind == "manifest":
        existing("manifest", want_dir=False)
    elif kind == "folder":
        existing("root", want_dir=True)
        regex = dataset.get("speaker_regex")
        if not regex:
            raise ConfigError("dataset.speaker_regex: required when dataset.kind is 'folder' (first group = speaker)")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise ConfigError(f"dataset.speaker_regex: invalid regular expression '{regex}': {exc}") from exc
        if compiled.groups < 1:
            raise ConfigError(f"dataset.speaker_regex: '{regex}' needs a group, e.g. '^(S[MF]\\d+)_'")


def _check_cv(cv: dict[str, Any], dataset: dict[str, Any], workdir: Path) -> None:
    """cv.protocol predefined needs a fold for every clip: cv.fold_table or a manifest CSV column."""
    if cv["protocol"] != "predefined":
        return
    table = cv.get("fold_table")
    if table:
        path = Path(table) if Path(table).is_absolute() else workdir / table
        if not path.is_file():
            raise ConfigError(f"cv.fold_table: file '{table}' does not exist (resolved to {path})")
        return
    if dataset["kind"] != "manifest":
        raise ConfigError(
            f"cv.protocol: predefined needs the fold of every clip: set cv.fold_table (a clip_id,fold CSV) "
            f"or use dataset.kind: manifest with a '{cv.get('fold_column', 'fold')}' column (dataset.kind is "
            f"'{dataset['kind']}')"
        )
    column = cv.get("fold_column", "fold")
    manifest = Path(dataset["manifest"])
    with open(manifest if manifest.is_absolute() else workdir / manifest, encoding="utf-8", newline="") as handle:
        header = [c.strip() for c in next(csv.reader(handle), [])]
    if column not in header:
        raise ConfigError(
            f"cv.fold_column: dataset.manifest '{dataset['manifest']}' has no column '{column}' "
            f"(columns: {', '.join(header)}); cv.protocol predefined reads each clip's fold from it"
        )
