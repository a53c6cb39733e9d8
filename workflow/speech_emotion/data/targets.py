"""Continuous targets declared by a corpus (``dataset.targets``): read, checked, joined into the manifest.

A target names a column of numbers: a column of the corpus's own table (a manifest CSV), or of a
``table`` beside it: ``perception`` (CREMA-D's summaryTable.csv, ``dataset.perception``, read by
:func:`speech_emotion.evaluate.human.read_perception`; e.g. ``VoiceLevel``, the listeners' mean
perceived intensity from the audio alone; a tied vote's levels, one per tied emotion, are averaged) or a CSV with a ``clip_id`` column (e.g. the synthetic
demo's ``targets.csv``, column ``arousal``). :func:`attach_targets` makes each declared column a float
column of the manifest.

Bad values are never dropped silently:

- a value that is not a finite number, or outside the declared ``range``: :class:`DatasetError`
  naming the file, the column and the first bad clips (a corrupt or misdeclared column);
- no value (an empty cell, a clip absent from the table): the clip stays in the manifest (the
  classifiers use it) with NaN in that column, the count is logged, and :func:`target_rows` leaves it
  out of that target (logged again where the rows are taken). A column without any value is an error.

Only declared targets are read; without ``dataset.targets`` the manifest is unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..evaluate.human import PerceptionError, read_perception, untie_level
from .datasets import DatasetError, existing_path

log = logging.getLogger(__name__)

PERCEPTION = "perception"
"""``table`` keyword: the corpus's perception table (``dataset.perception``, kind cremad)."""

SHOWN = 5
"""Bad clips named in an error message."""


@dataclass(frozen=True)
class Target:
    """One declared continuous target."""

    name: str
    column: str
    table: str | None = None
    description: str = ""
    range: tuple[float, float] | None = None


def declared_targets(dataset: dict[str, Any], where: str = "dataset") -> list[Target]:
    """The targets of ``dataset.targets`` (none when absent), in the order declared."""
    out = []
    for name, spec in (dataset.get("targets") or {}).items():
        spec = dict(spec or {})
        if not spec.get("column"):
            raise DatasetError(f"{where}.targets.{name}.column: required (the column holding the values)")
        bounds = spec.get("range")
        if bounds is not None:
            if len(bounds) != 2 or not float(bounds[0]) < float(bounds[1]):
                raise DatasetError(f"{where}.targets.{name}.range: {bounds!r} is not [low, high] with low < high")
            bounds = (float(bounds[0]), float(bounds[1]))
        out.append(Target(str(name), str(spec["column"]), spec.get("table"), str(spec.get("description") or ""),
                          bounds))
    return out


def _written_by_workflow(table: str) -> bool:
    return Path(table).parts[:1] == ("results",)


def check_targets(dataset: dict[str, Any], workdir: Path, where: str = "dataset") -> None:
    """Start-up checks of ``dataset.targets`` (a :class:`DatasetError` naming the key): ``perception``
    only for kind cremad with a perception table (or source download, which fetches it), other tables
    exist unless the workflow writes them (under results/; checked when the manifest is built)."""
    for target in declared_targets(dataset, where):
        key = f"{where}.targets.{target.name}.table"
        if target.table == PERCEPTION:
            if dataset["kind"] != "cremad":
                raise DatasetError(f"{key}: 'perception' is CREMA-D's summaryTable.csv; {where}.kind is "
                                   f"'{dataset['kind']}' (give a CSV with a clip_id column instead)")
            if (dataset.get("source") or "download") != "download":
                existing_path(dataset, "perception", workdir, want_dir=False, where=where)
        elif target.table and not _written_by_workflow(target.table):
            path = Path(target.table) if Path(target.table).is_absolute() else workdir / target.table
            if not path.is_file():
                raise DatasetError(f"{key}: file '{target.table}' does not exist (resolved to {path})")


def _table_values(target: Target, dataset: dict[str, Any]) -> tuple[pd.Series, str]:
    """(clip_id -> raw text of the target's column, the file it came from) of the target's table."""
    if target.table == PERCEPTION:
        source = dataset.get("perception")
        if not source:
            raise DatasetError(f"dataset.targets.{target.name}.table: 'perception' needs dataset.perception "
                               "(CREMA-D's summaryTable.csv)")
        try:
            table = read_perception(source, columns=[target.column])
        except PerceptionError as exc:
            raise DatasetError(str(exc)) from None
        tied = table[target.column].str.contains(":", na=False)
        if tied.any():
            log.info("target %s: %d clips of %s have a tied vote; their %s is the mean of the tied emotions' "
                     "levels", target.name, int(tied.sum()), source, target.column)
            table[target.column] = table[target.column].map(untie_level)
    else:
        source = target.table
        if not Path(source).is_file():
            raise DatasetError(f"dataset.targets.{target.name}.table: file '{source}' does not exist")
        table = pd.read_csv(source, dtype=str, keep_default_na=False)
        for column in ("clip_id", target.column):
            if column not in table.columns:
                raise DatasetError(f"{source}: no column '{column}' (target {target.name} reads "
                                   f"'{target.column}' by clip_id; columns: {', '.join(table.columns)})")
        duplicated = table["clip_id"][table["clip_id"].duplicated()]
        if len(duplicated):
            raise DatasetError(f"{source}: clip id(s) listed twice: {', '.join(duplicated.head(SHOWN))}")
    return table.set_index("clip_id")[target.column], str(source)


def _numbers(raw: pd.Series, target: Target, source: str) -> pd.Series:
    """Raw text -> floats (NaN for no value); a :class:`DatasetError` for text that is no finite number
    or a number outside the target's range."""
    text = raw.astype("string").str.strip()
    empty = text.isna() | (text == "")
    values = pd.to_numeric(text.where(~empty), errors="coerce").astype(float)
    bad = ~empty & ~np.isfinite(values)
    what = f"{source}: column '{target.column}' (target {target.name})"
    if bad.any():
        shown = ", ".join(f"{clip} {text[clip]!r}" for clip in bad[bad].index[:SHOWN])
        raise DatasetError(f"{what}: {int(bad.sum())} value(s) are not numbers, e.g. {shown}")
    if target.range is not None:
        low, high = target.range
        outside = ~empty & ((values < low) | (values > high))
        if outside.any():
            shown = ", ".join(f"{clip} {values[clip]:g}" for clip in outside[outside].index[:SHOWN])
            raise DatasetError(f"{what}: {int(outside.sum())} value(s) outside the range [{low:g}, {high:g}], "
                               f"e.g. {shown}")
    return values


def target_values(manifest: pd.DataFrame, dataset: dict[str, Any], name: str) -> pd.DataFrame:
    """clip_id and the values of declared target ``name`` (its column, floats; NaN: no value), every
    clip of the manifest: the table rule target_values writes (results/data/targets/<name>.tsv), kept
    apart from the manifest so that declaring a target reruns no classification job."""
    one = {**dataset, "targets": {name: (dataset.get("targets") or {})[name]}}
    target, = declared_targets(one)
    return attach_targets(manifest.drop(columns=[target.column]) if target.table and target.column in manifest
                          else manifest, one)[["clip_id", target.column]]


def with_target_values(manifest: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """``manifest`` with the columns of a :func:`target_values` table in place of any of the same name
    (what the regress jobs read with :func:`target_rows`)."""
    extra = [c for c in values.columns if c != "clip_id"]
    merged = manifest.drop(columns=[c for c in extra if c in manifest.columns]).merge(values, on="clip_id", how="left")
    if len(merged) != len(manifest):
        raise DatasetError("the target values table lists a clip twice")
    return merged


def target_tables(dataset: dict[str, Any]) -> list[str]:
    """The files the declared targets read besides the corpus table (inputs of rule manifest)."""
    files = {str(dataset.get("perception")) if target.table == PERCEPTION else str(target.table)
             for target in declared_targets(dataset) if target.table}
    return sorted(f for f in files if f and f != "None")


def attach_targets(manifest: pd.DataFrame, dataset: dict[str, Any]) -> pd.DataFrame:
    """``manifest`` with each declared target's column as floats (NaN: no value, counted in the log).

    A column from the corpus table (``table`` absent) is converted in place; one from a table is added
    (an error if the manifest has a column of that name already). Without declared targets the
    manifest is returned as it is.
    """
    targets = declared_targets(dataset)
    if not targets:
        return manifest
    out = manifest.copy()
    for target in targets:
        if target.table:
            if target.column in out.columns:
                raise DatasetError(f"dataset.targets.{target.name}: the manifest has a column '{target.column}' "
                                   f"already; the table's column would replace it")
            raw, source = _table_values(target, dataset)
            raw = raw.reindex(out["clip_id"])
        else:
            source = str(dataset.get("manifest") or "the corpus table")
            if target.column not in out.columns:
                raise DatasetError(f"dataset.targets.{target.name}.column: '{target.column}' is not a column of "
                                   f"{source} (columns: {', '.join(map(str, out.columns))}); "
                                   "give a table holding it")
            raw = pd.Series(out[target.column].to_numpy(), index=out["clip_id"])
        values = _numbers(raw, target, source)
        missing = int(values.isna().sum())
        if missing == len(values):
            raise DatasetError(f"{source}: column '{target.column}' (target {target.name}) has no value for any "
                               f"of the {len(values)} clips (first: {', '.join(values.index[:SHOWN])})")
        if missing:
            log.warning("target %s: %d of %d clips have no value in column '%s' of %s (e.g. %s); they stay in "
                        "the manifest and are left out of this target", target.name, missing, len(values),
                        target.column, source, ", ".join(values.index[values.isna()][:SHOWN]))
        out[target.column] = values.to_numpy()
    return out


def target_rows(manifest: pd.DataFrame, target: Target) -> pd.Series:
    """clip_id -> value of the clips that have one (others left out, their count logged)."""
    values = pd.Series(pd.to_numeric(manifest[target.column]).to_numpy(dtype=float),
                       index=manifest["clip_id"].to_numpy())
    missing = int(values.isna().sum())
    if missing:
        log.info("target %s: %d of %d clips have no value and are left out", target.name, missing, len(values))
    return values.dropna()
