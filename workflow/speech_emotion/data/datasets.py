"""Corpora -> a table of candidate clips -> a validated manifest (+ the rejected clips).

:func:`list_corpus` builds the clip table from file names or a CSV without opening any audio
(it runs when Snakemake starts); :func:`check_shard` opens and checks the clips of one shard;
:func:`build_manifest` joins the shard checks (and CREMA-D's actor table) into the manifest.

Paths are kept as the configuration gives them: a relative ``dataset.root`` yields paths relative
to the working directory, so outputs hold no absolute paths unless the configuration does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .audio import AudioError, inspect_clip


CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
CREMAD_INTENSITIES = ("LO", "MD", "HI", "XX")
CREMAD_DEMOGRAPHICS = {"Age": "age", "Sex": "sex", "Race": "race", "Ethnicity": "ethnicity"}
CHECK_COLUMNS = ["clip_id", "path", "duration_s", "sample_rate", "channels", "reason"]
REJECTED_COLUMNS = ["clip_id", "path", "reason"]
_CREMAD_NAME = re.compile(r"(?P<actor>\d{4})_(?P<sentence>[A-Z]{3})_(?P<emotion>[A-Z]{3})_(?P<intensity>[A-Z]{2})")


class DatasetError(ValueError):
    """A corpus problem; the message names the file (and CSV row) and what is wrong."""


def parse_cremad_name(name: str) -> dict[str, str]:
    """``1001_DFA_ANG_XX[.wav]`` -> {actor, sentence, emotion, intensity} (all strings)."""
    stem = Path(name).stem if str(name).lower().endswith(".wav") else str(name)
    match = _CREMAD_NAME.fullmatch(stem)
    if not match:
        raise DatasetError(
            f"{name}: not a CREMA-D clip name; expected <actor>_<sentence>_<emotion>_<intensity>, "
            "e.g. 1001_DFA_ANG_XX"
        )
    fields = match.groupdict()
    if fields["emotion"] not in CREMAD_EMOTIONS:
        raise DatasetError(f"{name}: unknown emotion code '{fields['emotion']}' (known: {', '.join(CREMAD_EMOTIONS)})")
    if fields["intensity"] not in CREMAD_INTENSITIES:
        raise DatasetError(
            f"{name}: unknown intensity '{fields['intensity']}' (known: {', '.join(CREMAD_INTENSITIES)})"
        )
    return fields


def _on_disk(path: Path, workdir: Path) -> Path:
    return path if path.is_absolute() else workdir / path


def existing_path(dataset: dict[str, Any], key: str, workdir: Path, want_dir: bool, where: str = "dataset") -> Path:
    """``dataset.<key>`` resolved against the working directory; a :class:`DatasetError` naming the
    key (``<where>.<key>``: ``dataset`` or ``corpora.<name>``) when it is not set or the folder/file
    does not exist."""
    value = dataset.get(key)
    if not value:
        raise DatasetError(f"{where}.{key}: required when {where}.kind is '{dataset['kind']}'")
    path = _on_disk(Path(value), workdir)
    if not (path.is_dir() if want_dir else path.is_file()):
        what = "folder" if want_dir else "file"
        raise DatasetError(f"{where}.{key}: {what} '{value}' does not exist (resolved to {path})")
    return path


def _wav_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".wav")


def _list_cremad(dataset: dict[str, Any], workdir: Path, where: str) -> pd.DataFrame:
    source = Path(dataset["source"])
    folder = existing_path(dataset, "source", workdir, want_dir=True, where=where)
    files = _wav_files(folder)
    if not files and (folder / "AudioWAV").is_dir():  # the root of a CREMA-D checkout
        source, files = source / "AudioWAV", _wav_files(folder / "AudioWAV")
    if not files:
        raise DatasetError(f"{where}.source: no *.wav files in '{source}'")
    rows = []
    for file in files:
        fields = parse_cremad_name(file.name)
        rows.append(
            {
                "clip_id": file.stem,
                "path": str(source / file.name),
                "speaker": fields["actor"],
                "label": fields["emotion"],
                "sentence": fields["sentence"],
                "intensity": fields["intensity"],
            }
        )
    return pd.DataFrame(rows)


def _list_folder(dataset: dict[str, Any], workdir: Path, where: str) -> pd.DataFrame:
    root = Path(dataset["root"])
    folder = existing_path(dataset, "root", workdir, want_dir=True, where=where)
    regex = re.compile(dataset["speaker_regex"])
    rows = []
    for label_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for file in _wav_files(label_dir):
            path = root / label_dir.name / file.name
            match = regex.search(file.name)
            if not match or not match.group(1):
                raise DatasetError(
                    f"{path}: {where}.speaker_regex '{regex.pattern}' does not match the file name "
                    "(its first group must capture the speaker)"
                )
            rows.append(
                {"clip_id": f"{label_dir.name}/{file.stem}", "path": str(path), "speaker": match.group(1),
                 "label": label_dir.name}
            )
    if not rows:
        raise DatasetError(f"{where}.root: no <label>/*.wav files under '{root}'")
    return pd.DataFrame(rows)


def _list_manifest(dataset: dict[str, Any], workdir: Path, where: str) -> pd.DataFrame:
    csv = Path(dataset["manifest"])
    on_disk = existing_path(dataset, "manifest", workdir, want_dir=False, where=where)
    try:
        table = pd.read_csv(on_disk, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{csv}: not a readable CSV ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("path", "label", "speaker") if c not in table.columns]
    if missing:
        raise DatasetError(f"{csv}: missing column(s) {', '.join(missing)} (need path,label,speaker)")
    if table.empty:
        raise DatasetError(f"{csv}: no rows")
    table = table.apply(lambda col: col.str.strip())
    line = pd.Series(range(2, len(table) + 2), index=table.index)  # line 1 is the header

    def fail(row: int, problem: str) -> None:
        raise DatasetError(f"{csv}, line {line[row]}: {problem}")

    paths, ids = [], []
    for row, record in table.iterrows():
        for key in ("path", "label", "speaker"):
            if not record[key]:
                fail(row, f"empty {key}")
        rel = Path(record["path"])
        path = rel if rel.is_absolute() else csv.parent / rel
        if not _on_disk(path, workdir).is_file():
            fail(row, f"audio file '{record['path']}' does not exist (resolved to {_on_disk(path, workdir)})")
        paths.append(str(path))
        ids.append(record.get("clip_id") or (rel.with_suffix("").as_posix() if not rel.is_absolute() else rel.stem))
    table["path"], table["clip_id"] = paths, ids
    first_row: dict[str, int] = {}
    for row, clip_id in table["clip_id"].items():
        if clip_id in first_row:
            fail(row, f"duplicate clip id '{clip_id}' (first on line {line[first_row[clip_id]]})")
        first_row[clip_id] = row
    counts = table["speaker"].value_counts()
    for row, speaker in table["speaker"].items():
        if counts[speaker] < 2:
            fail(row, f"speaker '{speaker}' has only this one clip (a typo in the speaker column?)")
    extras = [c for c in table.columns if c not in ("clip_id", "path", "speaker", "label")]
    return table[["clip_id", "path", "speaker", "label", *extras]]


def list_corpus(dataset: dict[str, Any], workdir: Path, where: str = "dataset") -> pd.DataFrame:
    """Candidate clips (clip_id, path, speaker, label, extras) sorted by clip_id; no audio is opened.

    ``dataset`` is config["dataset"] (or an entry of config["corpora"]; ``where`` names its config key
    in messages) with ``source`` resolved to a folder for cremad; relative paths are resolved against
    ``workdir`` only to look at the files.
    """
    kind = dataset["kind"]
    listers = {"cremad": _list_cremad, "folder": _list_folder, "manifest": _list_manifest}
    if kind not in listers:
        raise DatasetError(f"{where}.kind: unknown kind '{kind}' (known: {', '.join(listers)})")
    frame = listers[kind](dataset, Path(workdir), where)
    return frame.sort_values("clip_id", kind="stable").reset_index(drop=True)


def check_shard(clips: pd.DataFrame | Iterable[Sequence[str]], min_seconds: float) -> pd.DataFrame:
    """Open every clip of a shard: CHECK_COLUMNS, ``reason`` empty when the clip is usable.

    ``clips`` is a frame with clip_id, path or an iterable of (clip_id, path) pairs.
    """
    pairs = clips[["clip_id", "path"]].values.tolist() if isinstance(clips, pd.DataFrame) else list(clips)
    rows = []
    for clip_id, path in pairs:
        row = {"clip_id": clip_id, "path": path, "duration_s": None, "sample_rate": None, "channels": None}
        try:
            info = inspect_clip(path, min_seconds)
        except AudioError as exc:
            row["reason"] = exc.reason
        except Exception as exc:  # noqa: BLE001 - any failure to open is a reason, never a crash or a drop
            row["reason"] = f"unreadable audio ({type(exc).__name__}: {exc})"
        else:
            row.update(duration_s=info.duration_s, sample_rate=info.sample_rate, channels=info.channels, reason="")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    return frame.astype({"sample_rate": "Int64", "channels": "Int64"}).sort_values("clip_id").reset_index(drop=True)


def _demographics(path: str | Path) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("ActorID", *CREMAD_DEMOGRAPHICS) if c not in table.columns]
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(missing)} (CREMA-D VideoDemographics.csv)")
    table = table.rename(columns={"ActorID": "speaker", **CREMAD_DEMOGRAPHICS})
    table["speaker"] = table["speaker"].str.strip()
    table["age"] = pd.to_numeric(table["age"], errors="coerce").astype("Int64")
    return table[["speaker", *CREMAD_DEMOGRAPHICS.values()]].drop_duplicates("speaker")


def build_manifest(
    corpus: pd.DataFrame,
    shard_tables: Sequence[pd.DataFrame],
    dataset: dict[str, Any],
    max_rejected_fraction: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(manifest, rejected) from the corpus and its shard checks, both sorted by clip_id.

    Every corpus clip must have exactly one check row; more than ``max_rejected_fraction``
    rejected raises :class:`DatasetError`.
    """
    checks = pd.concat([t for t in shard_tables if len(t)] or [pd.DataFrame(columns=CHECK_COLUMNS)])
    checks["reason"] = checks["reason"].fillna("").astype(str)
    checks = checks.drop_duplicates("clip_id", keep="first").set_index("clip_id")
    unchecked = sorted(set(corpus["clip_id"]) - set(checks.index))
    if unchecked:
        raise DatasetError(
            f"{len(unchecked)} clip(s) have no check result (stale shard tables?), e.g. {', '.join(unchecked[:3])}"
        )
    table = corpus.copy()
    if dataset.get("kind") == "cremad" and dataset.get("demographics"):
        actors = _demographics(dataset["demographics"])
        unknown = sorted(set(table["speaker"]) - set(actors["speaker"]))
        if unknown:
            raise DatasetError(f"{dataset['demographics']}: no row for actor(s) {', '.join(unknown[:10])}")
        table = table.merge(actors, on="speaker", how="left")
    check = checks.loc[table["clip_id"]]
    for column in ("duration_s", "sample_rate", "channels"):
        table[column] = check[column].to_numpy()
    reasons = check["reason"].to_numpy()
    bad = reasons != ""
    rejected = pd.DataFrame({"clip_id": table["clip_id"][bad], "path": table["path"][bad], "reason": reasons[bad]})
    manifest = table[~bad].astype({"sample_rate": int, "channels": int, "duration_s": float})
    fraction = bad.sum() / max(len(table), 1)
    if fraction > max_rejected_fraction:
        examples = "; ".join(f"{r.path}: {r.reason}" for r in rejected.head(5).itertuples())
        raise DatasetError(
            f"{bad.sum()} of {len(table)} clips rejected ({fraction:.1%}), more than "
            f"audio.max_rejected_fraction = {max_rejected_fraction}; e.g. {examples}"
        )
    return (
        manifest.sort_values("clip_id").reset_index(drop=True),
        rejected[REJECTED_COLUMNS].sort_values("clip_id").reset_index(drop=True),
    )
