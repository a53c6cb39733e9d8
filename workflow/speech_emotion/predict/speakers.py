"""Which speaker each file to label belongs to, checked, and said in one line.

A model trained with per-speaker standardisation (``features.speaker_norm``) standardises each file
with the statistics of its speaker's files in the call (or of its enrolment), and a file without a
speaker with the training population's. Who is whose speaker is therefore part of the input, and a
wrong assignment changes labels silently. This module turns the user's options into one speaker
per file and refuses the assignments that cannot be what the user meant:

- a regex or a table that assigns no file (a typo would otherwise put every file on the
  population's statistics); a partial match is allowed, with a warning that counts the files;
- folder names that are the model's labels (``<root>/<label>/*.wav``: the label would choose the
  statistics, i.e. leak into the input);
- a mapping whose keys are not among the inputs (Python API).

:func:`assignment_line` is the one line the CLI ends stderr with: each speaker, its clips and
whose statistics they got, and how many files were labelled on the population's statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..train.features import ENROLLED, POPULATION, SPEAKER, speaker_name

SHOWN_SPEAKERS = 8
"""At most this many speakers are named in the assignment line (then: "and N more")."""


def speakers_of(paths: Sequence[str | Path], regex: str | None = None, from_folder: bool = False,
                table: str | Path | None = None) -> list[str | None]:
    """The speaker of each file: the first group of ``regex`` on the file name, the name of the file's
    folder, or a CSV/TSV ``table`` with columns file,speaker (``file`` as given or the bare file name).
    A file the regex does not match, or the table does not list, gets None (no speaker: the
    population's statistics). Check the result with :func:`check_assignment`."""
    chosen = [regex is not None, from_folder, table is not None]
    if sum(chosen) != 1:
        raise ValueError("give exactly one of: a speaker regex, the parent folder, a speaker table")
    paths = [Path(p) for p in paths]
    if regex is not None:
        from ..config import speaker_pattern

        pattern = speaker_pattern(regex, "--speaker-regex")
        return [m.group(1) if (m := pattern.search(p.name)) else None for p in paths]
    if from_folder:
        return [p.parent.name for p in paths]
    try:
        frame = pd.read_csv(table, sep=None, engine="python", dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise ValueError(f"--speakers {table}: no such file") from exc
    missing = {"file", "speaker"} - set(frame.columns)
    if missing:
        raise ValueError(f"--speakers {table}: needs columns file,speaker (missing {', '.join(sorted(missing))})")
    mapping = {f: s for f, s in zip(frame["file"], frame["speaker"]) if s != ""}
    return [mapping.get(str(p), mapping.get(p.name)) for p in paths]


def check_assignment(option: str, speakers: Sequence[str | None], labels: Sequence[str] = ()) -> str | None:
    """Raise ValueError for an assignment that cannot be what the user meant (module docstring);
    return a warning for a partial one (some files without a speaker), else None. ``option`` names
    how the speakers were given (``--speaker-regex '^(\\d+)_'``)."""
    names = [speaker_name(s) for s in speakers]
    assigned = sum(1 for n in names if n)
    if names and not assigned:
        raise ValueError(f"{option} assigns a speaker to none of the {len(names)} file(s); check it against "
                         "the file names (a file without a speaker is labelled with the training population's "
                         "statistics: --no-speakers says that on purpose)")
    as_labels = sorted({n for n in names if n} & set(labels))
    if option.startswith("--speaker-from-folder") and as_labels:
        raise ValueError(f"--speaker-from-folder: the folders {', '.join(as_labels)} are names of the model's "
                         "labels (a <root>/<label>/*.wav layout?), so each label's files would be standardised "
                         "together and the label would leak into the features; give the speakers with "
                         "--speaker-regex or --speakers instead")
    if assigned < len(names):
        return (f"{option} assigns a speaker to {assigned} of {len(names)} file(s); the other "
                f"{len(names) - assigned} are labelled with the training population's statistics")
    if option.startswith("--speaker-from-folder") and len(names) > 1 and len(set(names)) == 1:
        return (f"--speaker-from-folder puts all {len(names)} files in one folder, {names[0]}: they are standardised "
                "as one speaker; if they are several people's, give --speaker-regex or --speakers")
    return None


def speakers_for(paths: Sequence[Path], speakers: Sequence[str | None] | Mapping[str, str] | None) -> list[Any] | None:
    """One speaker (or None) per file: from a list in file order, or a mapping keyed by the path as
    given / found in a folder, or by the file name. A mapping key that is none of the files, or a
    list of another length, is a ValueError."""
    if speakers is None:
        return None
    if isinstance(speakers, Mapping):
        known = {str(p) for p in paths} | {p.name for p in paths}
        unknown = [str(k) for k in speakers if str(k) not in known]
        if unknown:
            raise ValueError(f"speakers: {len(unknown)} key(s) name no input file, e.g. {unknown[:3]} (keys are the "
                             "paths as given or found in a folder, or bare file names)")
        return [speakers.get(str(p), speakers.get(p.name)) for p in paths]
    if isinstance(speakers, str):
        raise ValueError("speakers: give one speaker per file (a list) or a mapping file -> speaker, not a string")
    speakers = list(speakers)
    if len(speakers) != len(paths):
        raise ValueError(f"speakers: {len(speakers)} given for {len(paths)} files (after searching folders)")
    return speakers


def speakers_for_signals(count: int, speakers: Sequence[str | None] | Mapping[int, str] | None) -> list[Any] | None:
    """One speaker (or None) per signal: a list of ``count`` or a mapping signal index -> speaker
    (an index out of range is a ValueError)."""
    if speakers is None:
        return None
    if isinstance(speakers, Mapping):
        bad = [k for k in speakers if not isinstance(k, int) or not 0 <= k < count]
        if bad:
            raise ValueError(f"speakers: key(s) {bad[:3]} are not indices of the {count} signal(s)")
        return [speakers.get(i) for i in range(count)]
    if isinstance(speakers, str):
        raise ValueError("speakers: give one speaker per signal (a list) or a mapping index -> speaker, not a string")
    speakers = list(speakers)
    if len(speakers) != count:
        raise ValueError(f"speakers: {len(speakers)} given for {count} signals")
    return speakers


def assignment_line(table: pd.DataFrame, key: str = "file", min_clips: int | None = None) -> str:
    """What the labelled rows of a prediction table got: each speaker with its clips and whose
    statistics (own, enrolled, or the population's when it had fewer than ``min_clips``), and how
    many files had no speaker (the population's statistics). Rows with an error are left out. The table
    has a ``speaker`` column: a call with speakers, or a model that refused to run without them."""
    if "error" in table.columns:
        table = table[table["error"].isna() | (table["error"].astype(str) == "")]
    names = [speaker_name(s) for s in table["speaker"]]
    frame = pd.DataFrame({"file": table[key].astype(str).to_numpy(), "speaker": names,
                          "whose": table.get("speaker_norm", pd.Series([""] * len(table))).fillna("").to_numpy(),
                          "clips": table.get("speaker_clips", pd.Series([pd.NA] * len(table))).to_numpy()})
    parts = []
    named = frame[frame["speaker"] != ""]
    speakers = list(dict.fromkeys(named["speaker"]))
    for speaker in speakers[:SHOWN_SPEAKERS]:
        rows = named[named["speaker"] == speaker]
        files = rows["file"].nunique()
        whose = rows["whose"].iloc[0]
        note = {SPEAKER: "own statistics", ENROLLED: f"enrolled, {rows['clips'].iloc[0]} clips",
                POPULATION: f"fewer than {min_clips} clips: the population's statistics"}.get(whose, "")
        parts.append(f"{speaker} ({files} file{'s' if files != 1 else ''}{', ' + note if note else ''})")
    if len(speakers) > SHOWN_SPEAKERS:
        parts.append(f"and {len(speakers) - SHOWN_SPEAKERS} more")
    unassigned = frame.loc[frame["speaker"] == "", "file"].nunique()
    on_population = frame.loc[frame["whose"] == POPULATION, "file"].nunique()
    line = f"{len(speakers)} speaker(s): {', '.join(parts) if parts else 'none'}; {unassigned} file(s) without a speaker"
    if "speaker_norm" in table.columns:
        line += f"; {on_population} file(s) on the training population's statistics"
    else:
        line += " (this model does not standardise per speaker: the speaker column is for your records)"
    return line
