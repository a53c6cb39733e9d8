"""Configuration: the schema's defaults, type coercion, checks the schema cannot express, and the
generated configuration reference.

workflow/schemas/config.schema.yaml is the one home of every key's meaning and default;
config.yaml repeats the defaults (a test keeps them equal) and ``docs/configuration.md`` is
rendered from the schema by :func:`render_markdown`::

    PYTHONPATH=workflow python -m speech_emotion.config > docs/configuration.md

Snakemake merges nested ``--config`` overrides into the config but hands nested values over as
strings (``classifiers={"svm":{"C":3.0}}`` arrives as ``C: '3.0'``). :func:`coerce_to_schema`
turns such strings into the type the schema asks for before validation, so overrides work instead
of failing.

:func:`schema_errors` then lists every schema problem at once, one line each with the key's path,
what is allowed and a "did you mean" from the schema's names (rules/common.smk raises them before
Snakemake's ``validate``, whose message holds the whole schema and config).

Over 500 lines on purpose: defaults, coercion, the error lines, the checks and the reference all walk
the same schema tree; keeping them together keeps one reading of it.
"""

from __future__ import annotations

import copy
import csv
import difflib
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from .train.classifiers.registry import MEMBERS

from .augment.transforms import transform_config


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
    if isinstance(value, bool) and {"on", "off"} <= set(schema.get("enum", ())):
        value = "on" if value else "off"  # YAML reads an unquoted on/off as a boolean
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


SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
DOCS_COMMAND = "PYTHONPATH=workflow python -m speech_emotion.config > docs/configuration.md"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """Read the YAML JSON-Schema file (by default the workflow's config schema)."""
    with open(path, encoding="utf-8") as handle:  # libyaml's loader when PyYAML has it: the same data, 10x faster
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema_defaults(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The configuration made of the schema's ``default:`` values (what config.yaml holds).

    Object sections are followed through ``properties``; a key with a ``default`` contributes it
    as a whole (free-form maps such as ``encoders`` included); a key without one is left out.
    """
    schema = load_schema() if schema is None else schema
    return _defaults(schema, schema)


def _defaults(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, sub in node.get("properties", {}).items():
        if "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        elif "properties" in _resolve(sub, root):
            out[key] = _defaults(_resolve(sub, root), root)
    return out


# --- the configuration reference (docs/configuration.md) ------------------------------------------
# Placeholder names for the entries of free-form maps, by key path.
_ENTRY_NAMES = {
    "encoders": "name",
    "dataset.targets": "target",
    "label_map": "label",
    "augment.per_class_copies": "label",
    "tune.spaces": "classifier",
    "tune.spaces.<classifier>": "setting",
}


def _merged(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` target filled in (the node's own keywords win)."""
    if "$ref" not in node:
        return node
    target = _merged(_resolve(node, root), root)
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _number(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _allowed(node: dict[str, Any], root: dict[str, Any]) -> str:
    """Short text of a node's type and constraints, e.g. ``integer ≥ 1`` or ```auto` | `cpu```."""
    node = _merged(node, root)
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(_allowed(option, root) for option in node.get("oneOf", node.get("anyOf")))
    if "enum" in node:
        return " | ".join(f"`{_inline(v)}`" for v in node["enum"])
    parts = []
    for kind in _types(node) or ["any value"]:
        if kind in ("integer", "number"):
            low = ("[", node["minimum"]) if "minimum" in node else ("(", node.get("exclusiveMinimum"))
            high = ("]", node["maximum"]) if "maximum" in node else (")", node.get("exclusiveMaximum"))
            if low[1] is not None and high[1] is not None:
                parts.append(f"{kind} in {low[0]}{_number(low[1])}, {_number(high[1])}{high[0]}")
            elif low[1] is not None:
                parts.append(f"{kind} {'≥' if low[0] == '[' else '>'} {_number(low[1])}")
            elif high[1] is not None:
                parts.append(f"{kind} {'≤' if high[0] == ']' else '<'} {_number(high[1])}")
            else:
                parts.append(kind)
        elif kind == "array":
            items = node.get("items")
            what = _allowed(items, root) if isinstance(items, dict) else "values"
            parts.append(f"{'non-empty ' if node.get('minItems', 0) >= 1 else ''}list of {what}")
        elif kind == "object":
            parts.append("mapping")
        elif kind == "boolean":
            parts.append("true or false")
        elif kind == "string":
            parts.append("text")
        else:
            parts.append(kind)
    return " or ".join(parts)


def _inline(value: Any) -> str:
    """A value as YAML on one line."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6).strip()
    return text[: -len("...")].strip() if text.endswith("\n...") else text


def _text(text: str | None) -> str:
    return " ".join((text or "").split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _rows(path: str, node: dict[str, Any], root: dict[str, Any], blocks: list[tuple[str, Any]]) -> list[str]:
    """Table rows for ``node`` (at key ``path``) and everything below it; a non-empty mapping
    default is appended to ``blocks`` (shown as YAML below the table)."""
    node = _merged(node, root)
    default = ""
    if "default" in node:
        value = node["default"]
        if isinstance(value, dict) and value:
            default = "see below"
            blocks.append((path, value))
        else:
            default = f"`{_inline(value)}`"
    entries = node.get("additionalProperties")
    entry = _merged(entries, root) if isinstance(entries, dict) else {}
    structured = "properties" in entry or "additionalProperties" in entry  # entries get rows of their own
    entry_name = _ENTRY_NAMES.get(path, "name")
    if "properties" in node:
        allowed = ""
    elif structured:
        allowed = "mapping"
    elif entry:
        allowed = f"mapping of {entry_name} to {_allowed(entry, root)}"
    else:
        allowed = _allowed(node, root)
    rows = [f"| `{path}` | {_cell(default)} | {_cell(allowed)} | {_cell(_text(node.get('description')))} |"]
    for key, sub in node.get("properties", {}).items():
        rows += _rows(f"{path}.{key}", sub, root, blocks)
    if structured:
        rows += _rows(f"{path}.<{entry_name}>", entry, root, blocks)
    return rows


def render_markdown(schema: dict[str, Any] | None = None) -> str:
    """The configuration reference (docs/configuration.md) rendered from the schema."""
    schema = load_schema() if schema is None else schema
    sections = list(schema["properties"])
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated from workflow/schemas/config.schema.yaml by `{DOCS_COMMAND}`;",
        "     edit the schema, not this file (tests/test_config.py fails when the two differ). -->",
        "",
        "`config.yaml` holds the defaults below; a `--configfile` is merged over it and `--config` overrides",
        "single keys, e.g. `--config 'classifiers={\"svm\":{\"C\":3.0}}'` changes C and keeps the other svm",
        "settings (nested values arrive as strings and are converted to the types below). At start-up the",
        "configuration is checked against `workflow/schemas/config.schema.yaml` and a few checks the schema",
        "cannot express (encoder and classifier names, dataset paths, the speaker regex, augment ranges): a bad",
        "value stops the run before any job, with a message naming the key. Schema problems are all reported",
        "at once, one line each: `config: <key path>: <problem>; allowed: <what the schema allows>; did you",
        "mean '<closest name>'?` (e.g. `config: classifer: unknown key; allowed: seed, dataset, ...; did you",
        "mean 'classifiers'?`); the checks beyond the schema report the first problem they find. Relative",
        "paths are relative to the working directory. Each key says what changing it reruns in a finished run.",
        "",
        "Sections: " + " · ".join(f"[`{name}`](#{name})" for name in sections),
        "",
    ]
    for name in sections:
        node = _merged(schema["properties"][name], schema)
        blocks: list[tuple[str, Any]] = []
        lines += [f"## `{name}`", ""]
        if "properties" in node:
            lines += [_text(node.get("description")), ""]
            rows = []
            for key, sub in node["properties"].items():
                rows += _rows(f"{name}.{key}", sub, schema, blocks)
        else:
            rows = _rows(name, node, schema, blocks)
        lines += ["| key | default | allowed | description |", "|---|---|---|---|", *rows, ""]
        for path, value in blocks:
            lines += [f"Default of `{path}`:", "", "```yaml",
                      yaml.safe_dump({path.split(".")[-1]: value}, default_flow_style=None, sort_keys=False,
                                     width=100).rstrip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


# --- schema errors: every problem at once, one line each ------------------------------------------
def schema_errors(config: dict[str, Any], schema: dict[str, Any] | None = None) -> list[str]:
    """Every schema violation of ``config``, one line each::

        config: <key path>: <problem>; allowed: <what the schema allows>; did you mean '<name>'?

    The config is validated the way Snakemake's ``validate`` does it (Draft 2020-12, the schema's
    defaults filled in first, on a copy here), so an empty list means that ``validate`` passes.
    """
    from jsonschema import Draft202012Validator, validators

    schema = load_schema() if schema is None else schema
    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, node):
        for key, sub in properties.items():
            if "default" in sub and isinstance(instance, dict):
                instance.setdefault(key, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, properties, instance, node)

    validator_class = validators.extend(Draft202012Validator, {"properties": properties_with_defaults})
    lines: list[tuple[str, str]] = []
    for error in validator_class(schema).iter_errors(copy.deepcopy(config)):
        for path, line in _error_lines(error, schema):
            if (path, line) not in lines:
                lines.append((path, line))
    return [line for _, line in sorted(lines, key=lambda item: item[0])]


def _key_path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, str) else _inline(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _allowed_text(node: dict[str, Any], root: dict[str, Any]) -> str:
    node = _merged(node, root)
    text = _allowed(node, root).replace("`", "")
    if "pattern" in node:
        text += f" matching {node['pattern']}"
    if node.get("minLength"):
        text += f" of at least {node['minLength']} character(s)"
    if node.get("uniqueItems"):
        text += " without repeats"
    return text


def _did_you_mean(word: Any, names: Any) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [n for n in names if isinstance(n, str)], n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _enum_values(node: dict[str, Any], root: dict[str, Any]) -> list[Any]:
    """The values a node's ``enum`` allows, its ``oneOf``/``anyOf`` options' included."""
    node = _merged(node, root)
    values = list(node.get("enum", []))
    for option in node.get("oneOf", node.get("anyOf", [])):
        values += _enum_values(option, root)
    return values


_DESCRIBED = {"type", "enum", "oneOf", "anyOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
              "pattern", "minLength", "minItems", "uniqueItems"}


def _error_lines(error: Any, root: dict[str, Any]) -> list[tuple[str, str]]:
    """(key path, line) for one jsonschema ValidationError (an unknown-keys error gives a line per key)."""
    where = list(error.absolute_path)
    node = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        names = list(node.get("properties", {}))
        patterns = list(node.get("patternProperties", {}))
        unknown = [k for k in error.instance if k not in names and not any(re.search(p, str(k)) for p in patterns)]
        allowed = ", ".join(names) if names else "no keys"
        return [(_key_path([*where, key]),
                 f"config: {_key_path([*where, key])}: unknown key; allowed: {allowed}{_did_you_mean(key, names)}")
                for key in unknown]
    if kind == "required" and isinstance(error.instance, dict):
        return [(_key_path([*where, key]), f"config: {_key_path([*where, key])}: missing (required)")
                for key in error.validator_value if key not in error.instance]
    if "propertyNames" in error.absolute_schema_path:  # the name of a free-form map's entry is wrong
        path = _key_path([*where, error.instance])
        names = node.get("enum", [])
        return [(path, f"config: {path}: not an allowed name; allowed: {_allowed_text(node, root)}"
                       f"{_did_you_mean(error.instance, names)}")]
    path = _key_path(where)
    if kind in _DESCRIBED:  # keywords that _allowed_text spells out
        names = _enum_values(node, root) if kind in ("enum", "oneOf", "anyOf") else []
        suggestion = _did_you_mean(error.instance, names)
        return [(path, f"config: {path}: got {_short(error.instance)}; allowed: {_allowed_text(node, root)}"
                       f"{suggestion}")]
    message = " ".join(error.message.split())
    return [(path, f"config: {path}: {message if len(message) <= 200 else message[:197] + '...'}")]


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
        if spec["kind"] == "emotion2vec" and "model" not in spec:
            raise ConfigError(f"encoders.{name}.model: a hub id or local folder is required for kind emotion2vec")
        if spec["kind"] == "opensmile" and "feature_set" not in spec:
            raise ConfigError(f"encoders.{name}.feature_set: eGeMAPSv02 or ComParE_2016 is required for kind opensmile")
        if spec["kind"] == "fusion":
            members = spec.get("members") or []
            if len(members) < 2:
                raise ConfigError(f"encoders.{name}.members: a fusion needs at least two member encoders")
            for member in members:
                if member not in encoders:
                    raise ConfigError(f"encoders.{name}.members: unknown encoder '{member}'")
                if encoders[member]["kind"] == "fusion":
                    raise ConfigError(f"encoders.{name}.members: '{member}' is itself a fusion")
    members = config.get("classifiers", {}).get("ensemble", {}).get("members", [])
    for member in members:
        if member not in MEMBERS:
            raise ConfigError(f"classifiers.ensemble.members: unknown classifier '{member}'")
    audio = config["audio"]
    if audio["min_seconds"] >= audio["max_seconds"]:
        raise ConfigError("audio.min_seconds must be smaller than audio.max_seconds")
    try:
        transform_config(config["augment"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    _check_dataset(config["dataset"], Path(workdir))
    _check_targets(config["dataset"], Path(workdir))
    if config["run"].get("regressors") and not config["dataset"].get("targets"):
        raise ConfigError(f"run.regressors: {', '.join(config['run']['regressors'])} given, but dataset.targets "
                          "declares no continuous target to model (docs/regression.md)")
    _check_cv(config["cv"], config["dataset"], Path(workdir))
    _check_cross(config, Path(workdir))


def _check_dataset(dataset: dict[str, Any], workdir: Path, where: str = "dataset") -> None:
    from .data.datasets import DatasetError, existing_path

    kind = dataset["kind"]

    def existing(key: str, want_dir: bool) -> None:
        try:
            existing_path(dataset, key, workdir, want_dir, where=where)
        except DatasetError as exc:
            raise ConfigError(str(exc)) from None

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
            raise ConfigError(f"{where}.speaker_regex: required when {where}.kind is 'folder' (first group = speaker)")
        speaker_pattern(regex, f"{where}.speaker_regex", "^(S[MF]\\d+)_")


def _check_targets(dataset: dict[str, Any], workdir: Path) -> None:
    """dataset.targets: tables that exist (those the workflow writes, under results/, are checked when the
    manifest is built), `perception` only for CREMA-D, ranges with low < high."""
    from .data.datasets import DatasetError
    from .data.targets import check_targets

    try:
        check_targets(dataset, workdir)
    except DatasetError as exc:
        raise ConfigError(str(exc)) from None


def speaker_pattern(regex: str, name: str, example: str = "^(\\w+?)_") -> re.Pattern[str]:
    """``regex`` compiled, or a :class:`ConfigError` (a ValueError) naming ``name`` (the config key or
    option that gave it): not a regular expression, or no group to take the speaker from."""
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        raise ConfigError(f"{name}: invalid regular expression '{regex}': {exc}") from exc
    if compiled.groups < 1:
        raise ConfigError(f"{name}: '{regex}' needs a group (the speaker), e.g. '{example}'")
    return compiled


def _check_cross(config: dict[str, Any], workdir: Path) -> None:
    """Extra corpora (local files only), cross pairs naming known corpora, and a label map when pairs exist."""
    primary = config["dataset"].get("name", "main")
    corpora = config.get("corpora") or {}
    if primary in corpora:
        raise ConfigError(f"corpora.{primary}: the name is taken by the primary corpus (dataset.name)")
    for name, spec in corpora.items():
        where = f"corpora.{name}"
        if spec["kind"] == "cremad" and (spec.get("source") or "download") in ("download", "demo"):
            raise ConfigError(f"{where}.source: an extra cremad corpus needs a local folder of *.wav files "
                              "(`download` and `demo` are for dataset.source only)")
        _check_dataset(spec, workdir, where)
    names = [primary, *corpora]
    seen = set()
    for i, pair in enumerate(config.get("cross") or []):
        for role in ("train", "test"):
            if pair[role] not in names:
                raise ConfigError(f"cross[{i}].{role}: unknown corpus '{pair[role]}' "
                                  f"(known: {', '.join(names)}; dataset.name and the keys of corpora)")
        if pair["train"] == pair["test"]:
            raise ConfigError(f"cross[{i}]: train and test are both '{pair['train']}'; in-corpus results come "
                              "from the cross-validation of dataset")
        key = (pair["train"], pair["test"])
        if key in seen:
            raise ConfigError(f"cross[{i}]: the pair {pair['train']} -> {pair['test']} is listed twice")
        seen.add(key)
        if not config.get("label_map"):
            raise ConfigError("label_map: required with cross pairs (corpus label -> common label, "
                              "e.g. {Angry: ANG, Happy: HAP, Neutral: NEU, Sad: SAD})")


def _check_cv(cv: dict[str, Any], dataset: dict[str, Any], workdir: Path) -> None:
    """cv.protocol predefined needs a fold for every clip: cv.fold_table or a manifest CSV column."""
    if cv["protocol"] != "predefined":
        return
    table = cv["fold_table"]
    if table:
        path = Path(table) if Path(table).is_absolute() else workdir / table
        if not path.is_file():
            raise ConfigError(f"cv.fold_table: file '{table}' does not exist (resolved to {path})")
        return
    if dataset["kind"] != "manifest":
        raise ConfigError(
            f"cv.protocol: predefined needs the fold of every clip: set cv.fold_table (a clip_id,fold CSV) "
            f"or use dataset.kind: manifest with a '{cv['fold_column']}' column (dataset.kind is "
            f"'{dataset['kind']}')"
        )
    column = cv["fold_column"]
    manifest = Path(dataset["manifest"])
    with open(manifest if manifest.is_absolute() else workdir / manifest, encoding="utf-8", newline="") as handle:
        header = [c.strip() for c in next(csv.reader(handle), [])]
    if column not in header:
        raise ConfigError(
            f"cv.fold_column: dataset.manifest '{dataset['manifest']}' has no column '{column}' "
            f"(columns: {', '.join(header)}); cv.protocol predefined reads each clip's fold from it"
        )


def main() -> None:
    """``python -m speech_emotion.config``: print the configuration reference (Markdown)."""
    sys.stdout.write(render_markdown())


if __name__ == "__main__":
    main()
