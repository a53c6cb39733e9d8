"""Command line: ``speech-emotion predict --model results/models/<encoder>/<classifier> a.wav dir/ ...``
and ``speech-emotion enrol --model ... --speaker NAME --out NAME.json clips...``.

A thin layer over :mod:`speech_emotion.predict.api`: loads the encoder and the classifier once, then
prints one row per file (or, with ``--segment vad|fixed``, per segment of each file) as soon as it
is done: the predicted label and the probability of every label (TSV, or JSON with ``--format
json``). stdout carries only that table; errors go to stderr, and progress too when stderr is a
terminal. A file that cannot be read gets an error row naming the problem; the others are still
labelled, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import pandas as pd

from .. import __version__

log = logging.getLogger("speech_emotion.predict")


def _cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value).replace("\t", " ").replace("\n", " ")


class TableWriter:
    """Rows to ``out`` as they come: TSV with a header, or one JSON list written element by element
    (valid JSON once closed). JSON rows: ``{file, [start, end], label, probabilities}`` (a regressor's
    ``target``: ``{file, [start, end], <target>}``) or ``{file, [start, end], error}``."""

    def __init__(self, out: TextIO, fmt: str, columns: Sequence[str], labels: Sequence[str], target: str | None = None):
        self.out, self.fmt, self.columns, self.labels, self.target = out, fmt, list(columns), list(labels), target
        self.first = True
        if fmt == "tsv":
            out.write("\t".join(self.columns) + "\n")
        else:
            out.write("[")
        out.flush()

    def write(self, frame: "pd.DataFrame") -> None:
        for row in frame.to_dict("records"):
            if self.fmt == "tsv":
                cells = [_cell(row[c], 3 if c in ("start", "end") else 6) for c in self.columns]
                self.out.write("\t".join(cells) + "\n")
            else:
                self.out.write(("\n  " if self.first else ",\n  ") + json.dumps(self._record(row)))
                self.first = False
        self.out.flush()

    def _record(self, row: dict[str, Any]) -> dict[str, Any]:
        keep = ("file", "speaker", "start", "end", "speaker_norm", "speaker_clips")
        record = {c: row[c] for c in self.columns if c in keep}
        record = {k: (None if _missing(v) else int(v) if k == "speaker_clips" else v) for k, v in record.items()}
        if isinstance(row.get("error"), str):
            return record | {"error": row["error"]}
        if self.target:
            return record | {self.target: row[self.target]}
        return record | {"label": row["label"], "probabilities": {l: row[f"prob_{l}"] for l in self.labels}}

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n")
        self.out.flush()


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def plot_name(path: str, used: set[str]) -> str:
    """A PNG name from the audio file's stem, made unique within one run."""
    stem = Path(path).stem or "recording"
    name, k = f"{stem}.png", 2
    while name in used:
        name, k = f"{stem}-{k}.png", k + 1
    used.add(name)
    return name


@contextmanager
def quiet_libraries(enabled: bool = True, model: str | Path | None = None) -> Iterator[None]:
    """Keep library chatter out of the output: no Python warnings, Hugging Face errors only (and no
    progress bars); the previous settings are restored afterwards. With ``model`` (a model folder) the
    Hugging Face settings are only touched when that model loads transformers (importing it costs about
    a CPU second that an openSMILE or exported model does not need)."""
    if not enabled:
        yield
        return
    from .export import is_export
    from .portable import uses_transformers

    hf_logging = None
    if model is None or (not is_export(model) and uses_transformers(model)):
        try:
            from transformers.utils import logging as hf_logging
        except ImportError:  # the torch-free predictor of an exported model
            pass
    if hf_logging is None:  # only Python warnings to silence
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
        return

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            yield
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()


def predict_main(args: argparse.Namespace) -> int:
    from ..data.audio import decoder_messages

    with quiet_libraries(not args.verbose, args.model), decoder_messages(args.verbose):
        return _predict(args)


def say_weights(command: str, model: Any) -> None:
    """One stderr line per encoder with weights: where they were found (speech_emotion.predict.portable)."""
    for weights in model.weights:
        if weights.source != "none":
            print(f"speech-emotion {command}: {weights.describe()}", file=sys.stderr)


SPEAKER_OPTIONS = ("--speaker-regex", "--speaker-from-folder", "--speakers", "--no-speakers")


def _say(message: str) -> None:
    print(f"speech-emotion predict: {message}", file=sys.stderr)


def _speaker_option(args: argparse.Namespace) -> str | None:
    """The speaker option given (as the user wrote it, for messages), None for none; two are an error."""
    given = [name for name, value in zip(SPEAKER_OPTIONS, (args.speaker_regex, args.speaker_from_folder,
                                                              args.speakers, args.no_speakers)) if value]
    if len(given) > 1:
        raise ValueError(f"give one speaker option, not {' and '.join(given)}")
    if not given:
        return None
    return {"--speaker-regex": f"--speaker-regex '{args.speaker_regex}'", "--speakers": f"--speakers {args.speakers}"
            }.get(given[0], given[0])


def _assign_speakers(args: argparse.Namespace, option: str | None, paths: list[Path], model: Any) -> list[Any] | None:
    """One speaker (or None) per file from the options, checked (speech_emotion.predict.speakers), or
    None when no option says anything about speakers. Warnings go to stderr; refusals raise ValueError."""
    from .speakers import check_assignment, speakers_of

    enrolled = list(model.enrolled)
    if option is None:
        if not enrolled:
            return None
        if len(enrolled) > 1:
            raise ValueError(f"{len(enrolled)} --enrolment files ({', '.join(enrolled)}) and no speaker option: say "
                             "whose each file is with --speaker-regex, --speakers or --speaker-from-folder")
        _say(f"every file is speaker {enrolled[0]} (the one --enrolment given, and no speaker option)")
        return [enrolled[0]] * len(paths)
    if args.no_speakers:
        speakers: list[Any] = [None] * len(paths)
    else:
        speakers = speakers_of(paths, args.speaker_regex, args.speaker_from_folder, args.speakers)
        warning = check_assignment(option, speakers, model.labels)
        if warning:
            _say(f"warning: {warning}")
    for name in enrolled:
        if name not in speakers:
            _say(f"warning: --enrolment of speaker {name} is unused: {option} gives no file that speaker")
    return speakers


def _predict(args: argparse.Namespace) -> int:
    import pandas as pd

    from .api import MAX_FILE_SECONDS, expand_inputs, load_model
    from .speakers import assignment_line
    from ..train.classifiers import ModelFileError
    from .segments import SegmentSettings

    segmenting = args.segment != "none"
    if not segmenting and (args.summary or args.plot):
        _say("--summary and --plot need --segment vad|fixed")
        return 2
    settings = None
    try:
        option = _speaker_option(args)
        if segmenting:
            settings = SegmentSettings(mode=args.segment, window=args.window, hop=args.hop,
                                       min_seconds=args.min_seconds, max_seconds=args.max_seconds)
    except ValueError as exc:
        _say(str(exc))
        return 2
    problems: list[str] = []
    paths = expand_inputs(args.inputs, problems)
    for problem in problems:
        _say(problem)
    if not paths:
        _say("no audio files found in the inputs: nothing labelled")
        return 2
    try:
        model = load_model(args.model, args.device, args.encoder_dir)
    except (ModelFileError, FileNotFoundError, ValueError) as exc:
        _say(f"cannot load the model: {exc}")
        return 2
    say_weights("predict", model)
    if model.target and args.plot:
        _say(f"--plot draws the labels over time: a regression model ({model.target}) has none (--summary gives "
             f"each file's mean_{model.target})")
        return 2
    try:
        for path in args.enrolment:
            model.add_enrolment(path)
        speakers = _assign_speakers(args, option, paths, model)
        limit = {None: MAX_FILE_SECONDS, 0: None}.get(args.max_file_seconds, args.max_file_seconds)
        chunks = model.iter_predict(paths, segment=settings, speakers=speakers, max_file_seconds=limit)
    except ValueError as exc:
        _say(str(exc))
        return 2

    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    progress = tqdm(total=len(paths), unit="file", file=sys.stderr, disable=not interactive, leave=False)
    writer = TableWriter(sys.stdout, args.format, model.columns("file", segmenting, speakers is not None), model.labels,
                         model.target)
    summaries: list["pd.DataFrame"] = []
    used_names: set[str] = set()
    failed: list[str] = []
    current: list["pd.DataFrame"] = []
    done: list["pd.DataFrame"] = []  # who-got-what columns of every row, for the closing line

    def finish(rows: list["pd.DataFrame"]) -> None:
        """One file is complete: its summary row, figure and error message."""
        table = pd.concat(rows, ignore_index=True)
        name = str(table["file"].iloc[0])
        for error in table["error"].dropna():
            failed.append(name)
            _say(f"{name}: {error}")
        if segmenting:
            shares = model.summary(table)
            summaries.append(shares)
            if interactive and shares["segments"].iloc[0]:
                text = (f"mean {model.target} {shares[f'mean_{model.target}'].iloc[0]:.3f}" if model.target else
                        ", ".join(f"{l} {shares[f'share_{l}'].iloc[0]:.0%}" for l in model.labels))
                progress.write(f"{name}: {shares['seconds'].iloc[0]:.1f} s in {shares['segments'].iloc[0]} segments: {text}",
                               file=sys.stderr)
            if args.plot and shares["segments"].iloc[0]:
                from ..evaluate.plots import plot_emotion_timeline

                Path(args.plot).mkdir(parents=True, exist_ok=True)
                plot_emotion_timeline(table, model.labels, Path(args.plot) / plot_name(name, used_names), title=name)
        progress.update(1)

    keep = ["file", "speaker", "speaker_norm", "speaker_clips", "error"]
    for chunk in chunks:
        writer.write(chunk)
        done.append(chunk[[c for c in keep if c in chunk.columns]])
        for _, rows in chunk.groupby("file", sort=False):
            if current and current[0]["file"].iloc[0] != rows["file"].iloc[0]:
                finish(current)
                current = []
            current.append(rows)
    if current:
        finish(current)
    writer.close()
    progress.close()
    if args.summary and summaries:
        from ..io.files import atomic_path

        with atomic_path(args.summary) as tmp:
            pd.concat(summaries, ignore_index=True).to_csv(tmp, sep="\t", index=False, float_format="%.6f")
    rows = pd.concat(done, ignore_index=True) if done else pd.DataFrame(columns=keep)
    labelled = int(rows["error"].isna().sum())
    if labelled and (model.needs_speakers or speakers is not None):
        _say(assignment_line(rows, "file", model.final.features.min_clips))
    if not labelled:
        _say(f"nothing labelled ({len(set(failed))} file(s) failed)")
        return 2
    return 1 if failed or problems else 0


def enrol_main(args: argparse.Namespace) -> int:
    """Write a speaker's statistics from enrolment clips to a file that predict --enrolment reads."""
    from .api import load_model
    from ..io.files import write_json_atomic
    from ..train.classifiers import ModelFileError

    from ..data.audio import decoder_messages

    with quiet_libraries(not args.verbose, args.model), decoder_messages(args.verbose):
        try:
            model = load_model(args.model, args.device, args.encoder_dir)
            entry = model.enrol(args.speaker, args.clips)
        except (ModelFileError, FileNotFoundError, ValueError) as exc:
            print(f"speech-emotion enrol: {exc}", file=sys.stderr)
            return 2
    write_json_atomic(args.out, entry)
    print(f"speech-emotion enrol: speaker {entry['speaker']}: statistics of {entry['n_clips']} clips -> {args.out}",
          file=sys.stderr)
    return 0


def bundle_main(args: argparse.Namespace) -> int:
    """Copy the encoder weights into the model folder (and optionally write one .zip of it)."""
    from ..train.classifiers import ModelFileError
    from .portable import BUNDLE_DIR, bundle_model

    try:
        found = bundle_model(args.model, args.archive, args.encoder_dir)
    except (ModelFileError, FileNotFoundError, ValueError, OSError) as exc:
        print(f"speech-emotion bundle: {exc}", file=sys.stderr)
        return 2
    for weights in found:
        if weights.source == "none":
            print(f"speech-emotion bundle: encoder {weights.name}: no weights to bundle (openSMILE)", file=sys.stderr)
        elif weights.source == "bundled":
            print(f"speech-emotion bundle: encoder {weights.name}: already bundled ({weights.path})", file=sys.stderr)
        else:
            target = Path(args.model) / BUNDLE_DIR / weights.name
            print(f"speech-emotion bundle: {weights.describe()} -> {target}", file=sys.stderr)
    if args.archive:
        print(f"speech-emotion bundle: wrote {args.archive}", file=sys.stderr)
    return 0


def info_main(args: argparse.Namespace) -> int:
    """A few lines on a model folder: labels, encoder and layers, speakers, CV scores, versions."""
    from ..train.classifiers import ModelFileError
    from ..evaluate.model_card import model_summary

    from .export import is_export, read_export

    try:
        lines = model_summary(args.model)
        if is_export(args.model):  # the encoders are graphs in the folder: no weights to look for
            export = read_export(args.model)
            lines = [(n, t.split("; weights")[0] if n == "encoder" else t) for n, t in lines]
            lines.append(("exported", f"ONNX graphs ({', '.join(f['graph'] for f in export['encoders'].values())}, "
                                      f"features.onnx, classifier.onnx; {export.get('quantize') or 'float32'}): "
                                      "predict runs them with ONNX Runtime, without torch (docs/deploy.md)"))
    except (ModelFileError, KeyError, ValueError) as exc:
        print(f"speech-emotion info: {exc}", file=sys.stderr)
        return 2
    width = max(len(name) for name, _ in lines)
    print("\n".join(f"{name:<{width}}  {text}" for name, text in lines))
    return 0


DESCRIPTION = ("Label speech recordings with emotions using a model folder made by the speech-emotion workflow "
               "(results/models/<encoder>/<classifier>). See docs/predict.md.")
PREDICT_EPILOG = """\
output (stdout; TSV with a header, or with --format json a JSON list of one object per row):
  file           the audio file as given (with --segment: one row per segment, plus start and end in seconds)
  speaker        the file's speaker, when a speaker option or --enrolment gave it (empty: none)
  label          the most probable label
  prob_<label>   the probability of each label (one column per label, sorted; a row sums to 1)
  speaker_norm   per-speaker models only: whose statistics standardised the row (speaker, enrolled, population)
  speaker_clips  per-speaker models only: how many clips made those statistics
  <target>       a regression model's (docs/regression.md) predicted value, e.g. arousal, in place of label and prob_<label>
  error          why the file could not be labelled (its label and probabilities are then empty)
Errors, warnings and, on a terminal, a progress bar go to stderr: stdout holds only the table. For a
model that standardises per speaker (and whenever speakers are given), stderr ends with one line of
what was assigned: each speaker and its files, files without a speaker, files on the training
population's statistics.

speakers (a model trained with per-speaker standardisation needs them; "speech-emotion info MODEL" says):
  each file is standardised with the statistics of its speaker's files in the call (at least the
  model's min_clips), of its --enrolment, or, without a speaker or with fewer files, of the training
  population; files without a speaker are never pooled together. A --speaker-regex or --speakers
  table that assigns no file is refused; a partial match is a warning with the counts. Folder
  names that are the model's labels are refused by --speaker-from-folder. One --enrolment without
  a speaker option: every file is that speaker. --no-speakers: each file alone, on the population's
  statistics (what "one clip alone" in the model card measures).

exit codes:
  0  every file (or segment) was labelled
  1  some inputs could not be labelled: their rows carry the error (a missing or empty folder is
     named on stderr), the others are labelled
  2  nothing was labelled (every file failed, no audio was found), or the call was refused: the
     model cannot be loaded, an option is wrong, or the model standardises per speaker and no
     speaker option was given
Every failure is one line on stderr; --verbose adds library warnings and, for an unexpected error,
the traceback.

examples (in the workflow's folder, after the demo: snakemake --cores 2 --workflow-profile profiles/demo):
  speech-emotion info results/models/tiny-wavlm/logreg
  speech-emotion predict --model results/models/tiny-wavlm/logreg --speaker-regex '^(\\d+)_' results/demo/AudioWAV/ > labels.tsv

exported models (docs/deploy.md): "speech-emotion export --model MODEL" writes MODEL/onnx, ONNX graphs of the
whole path from audio to probabilities; predict --model MODEL/onnx runs them with ONNX Runtime, numpy and
soundfile (no torch, transformers or scikit-learn), with the same options, checks and output (--segment vad
runs Silero VAD's ONNX model: pip install --no-deps silero-vad there):
  speech-emotion export --model results/models/tiny-wavlm/logreg
  speech-emotion predict --model results/models/tiny-wavlm/logreg/onnx --speaker-regex '^(\\d+)_' results/demo/AudioWAV/
"""


MODEL_HELP = ("model folder: results/models/<encoder>/<classifier>, or a folder written by speech-emotion export "
              "(runs with ONNX Runtime, without torch; docs/deploy.md)")


def _model_options(parser: argparse.ArgumentParser, device: bool = True,
                   weights: str = "encoder weights folder (default: the one the model records)") -> None:
    """--model, --device and --encoder-dir: the options of every subcommand that loads a model to embed audio."""
    parser.add_argument("--model", required=True, help=MODEL_HELP)
    if device:
        parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--encoder-dir", default=None, help=weights)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="speech-emotion", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"speech-emotion {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    predict = sub.add_parser("predict", help="label audio files with a trained final model",
                             description="Label audio files with a model folder: one row per file (or segment) "
                                         "with the label and the probability of each label. See docs/predict.md.",
                             epilog=PREDICT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _model_options(predict)
    predict.add_argument("--format", choices=["tsv", "json"], default="tsv")
    seg = predict.add_argument_group("long recordings")
    seg.add_argument("--segment", choices=["none", "vad", "fixed"], default="none",
                     help="none: one row per file (default); vad: one row per speech segment; fixed: windows")
    seg.add_argument("--window", type=float, default=3.0, help="fixed: window length in seconds (3)")
    seg.add_argument("--hop", type=float, default=1.5, help="fixed: seconds between window starts (1.5)")
    seg.add_argument("--min-seconds", type=float, default=1.0, help="vad: shorter speech is widened to this (1)")
    seg.add_argument("--max-seconds", type=float, default=6.0, help="vad: longer speech is cut into equal parts (6)")
    seg.add_argument("--summary", default=None, metavar="PATH",
                     help="write per-file time shares per emotion (a regression model: the time-weighted mean value) "
                          "(TSV) to PATH")
    seg.add_argument("--plot", default=None, metavar="DIR", help="write an emotion-over-time figure per file to DIR")
    seg.add_argument("--max-file-seconds", type=float, default=None, metavar="S",
                     help="without --segment, longer files are not labelled (an error row says so) but never read "
                          "whole (default 60; 0: no limit)")
    who = predict.add_argument_group("speakers (needed by a model trained with per-speaker standardisation; one of)")
    who.add_argument("--speaker-regex", default=None, metavar="REGEX",
                     help="the speaker is the first group of REGEX on the file name, e.g. '^(\\d+)_'")
    who.add_argument("--speaker-from-folder", action="store_true", help="the speaker is the name of the file's folder")
    who.add_argument("--speakers", default=None, metavar="TABLE", help="CSV/TSV with columns file,speaker")
    who.add_argument("--no-speakers", action="store_true",
                     help="no speakers: each file alone, with the training population's statistics")
    who.add_argument("--enrolment", action="append", default=[], metavar="FILE",
                     help="a speaker's statistics from 'speech-emotion enrol' (repeatable): that speaker's files are "
                          "standardised with them, whatever else is in the call; one --enrolment alone: every file "
                          "is that speaker")
    predict.add_argument("--verbose", action="store_true", help="show library warnings and log messages on stderr")
    predict.add_argument("inputs", nargs="+", help="audio files and/or folders (searched recursively)")
    predict.set_defaults(func=predict_main)
    info = sub.add_parser("info", help="describe a model: labels, encoder and layers, speakers, CV scores, versions",
                          description="Print a few lines on a model folder: its labels, encoder and layers, whether "
                                      "it needs the speaker of each file and how to give it, its cross-validated "
                                      "scores and the library versions it was made with (flagging those that differ "
                                      "here). Reads model.json and features.json only. Exit code 2: not a model folder.")
    info.add_argument("model", help=MODEL_HELP)
    info.set_defaults(func=info_main)
    enrol = sub.add_parser("enrol", help="store a speaker's statistics for a per-speaker-standardised model",
                           description="Compute one speaker's feature statistics from enrolment clips once and "
                                       "write them to a file; predict --enrolment FILE then labels that speaker's "
                                       "files the same whatever else is in the call.")
    _model_options(enrol)
    enrol.add_argument("--speaker", required=True, help="the speaker's name (as predict will give it)")
    enrol.add_argument("--out", required=True, help="the enrolment file to write (JSON)")
    enrol.add_argument("--verbose", action="store_true", help="show library warnings on stderr")
    enrol.add_argument("clips", nargs="+", help="audio files and/or folders of that speaker only")
    enrol.set_defaults(func=enrol_main)
    bundle = sub.add_parser("bundle", help="copy the encoder weights into a model folder, so the folder alone predicts",
                            description="Copy each encoder's weights into <model>/encoder/<name>/ (found as predict "
                                        "finds them), so that the model folder, or one archive of it, is all "
                                        "another machine needs; see docs/predict.md.")
    _model_options(bundle, device=False, weights="take the weights from this folder")
    bundle.add_argument("--archive", default=None, metavar="ZIP", help="also write the bundled folder as one .zip")
    bundle.set_defaults(func=bundle_main)
    export = sub.add_parser("export", help="write the model as ONNX graphs that predict runs without torch",
                            description="Write ONNX graphs of the whole path from 16 kHz audio to probabilities "
                                        "(encoder up to the last layer used, pooling, feature pipeline, per-speaker "
                                        "standardisation, scaler, classifier) with export.json, features.json, "
                                        "model.json and MODEL_CARD.md into one folder; predict --model FOLDER runs it "
                                        "with ONNX Runtime. openSMILE encoders cannot be exported. See docs/deploy.md.")
    _model_options(export, device=False, weights="take the encoder weights from this folder")
    export.add_argument("--out", default=None, metavar="DIR", help="the folder to write (default: MODEL/onnx, "
                                                                    "MODEL/onnx-int8 with --quantize int8)")
    export.add_argument("--quantize", choices=["int8"], default=None,
                        help="int8: dynamic int8 quantisation of the encoder graphs' matrix products (smaller, "
                             "faster on most CPUs; the numbers change, docs/deploy.md)")
    export.add_argument("--encoders-from", default=None, metavar="DIR",
                        help="an earlier float32 export of another classifier on the same encoder and layers: copy its "
                             "encoder graph instead of exporting it again")
    export.add_argument("--verbose", action="store_true", help="show library warnings on stderr")
    export.set_defaults(func=export_main)
    return parser


def export_main(args: argparse.Namespace) -> int:
    """Write the ONNX folder of a model (speech_emotion.predict.export)."""
    from ..train.classifiers import ModelFileError
    from .export import export_model

    with quiet_libraries(not args.verbose):
        try:
            out = export_model(args.model, args.out, args.quantize, args.encoder_dir, args.encoders_from)
        except (ModelFileError, FileNotFoundError, ValueError) as exc:
            print(f"speech-emotion export: {exc}", file=sys.stderr)
            return 2
    print(f"speech-emotion export: wrote {out} (predict --model {out} runs it with ONNX Runtime)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:  # noqa: BLE001 - one line for the user; the traceback with --verbose
        if getattr(args, "verbose", False):
            raise
        text = str(exc).splitlines()[0] if str(exc) else ""
        print(f"speech-emotion {args.command}: {type(exc).__name__}: {text} (--verbose shows the traceback)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
