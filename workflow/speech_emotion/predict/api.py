"""Python API: a final model folder loaded once, labelling files or signals in memory.

    from speech_emotion import load_model

    model = load_model("results/models/wavlm-large/ensemble")
    model.predict(["a.wav", "b.wav"])                 # DataFrame, one row per file
    model.predict(["interview.wav"], segment="vad")   # one row per speech segment (start, end)
    model.predict_signals([array], sr=16000)          # signals already in memory
    model.summary(table)                              # per recording: share of time per emotion

Columns (the ``speech-emotion predict`` CLI prints the same): ``file`` (``signal``: the index,
for :meth:`EmotionModel.predict_signals`), ``speaker`` (only when ``speakers`` is given),
``start`` and ``end`` in seconds (only when segmenting), ``label``, one ``prob_<label>`` per label
in the order of :attr:`EmotionModel.labels`, ``error`` (None, or why a file could not be labelled;
its label and probabilities are then empty). A regressor's folder (model.json ``kind: regression``,
:mod:`speech_emotion.regress.model`) gives one column named by its target (e.g. ``arousal``: the
predicted value) in place of ``label`` and the ``prob_`` columns; everything else is the same.

Input is checked as the workflow checks its training clips (:func:`speech_emotion.data.audio.check_samples`,
:func:`~speech_emotion.data.audio.open_clip`): a file that is missing, empty, not audio, truncated,
silent, holds NaN samples or is shorter than the model's ``audio.min_seconds`` gets an error row
with that reason and no label, and never stops the other files of the call. So does a signal in
memory, and a segment that is silent or too short.

Over 400 lines on purpose: the file, signal and segment paths share one embedding, per-speaker
standardisation and row-building core in :class:`EmotionModel`; split, they would each need it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.audio import AudioError, check_samples
from .segments import ArraySource, FileSource, SegmentSettings, plan_segments, time_shares
from .speakers import speakers_for, speakers_for_signals
from ..train.final_model import FinalModel, load_final_model

log = logging.getLogger("speech_emotion.predict.api")

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aiff", ".aif", ".opus"}
GROUP_SECONDS = 60.0  # audio seconds of segments embedded together (bounds memory on long files)
MAX_FILE_SECONDS = 60.0
"""Without segmenting, a longer file is refused (error row) instead of read whole: the model learnt
from single utterances, one label for a long recording is an average of many, and reading it whole
costs memory in proportion to its length. Segmenting reads any length in bounded groups."""
DEFAULT_MIN_SECONDS = 0.3  # audio.min_seconds's default, for model folders that do not record theirs
NOT_FINITE = "cannot embed: the encoder gave NaN or infinite features"
# Harmless and not actionable by a user: PyTorch's attention deprecation notice inside WavLM.
QUIET_WARNINGS = ("Support for mismatched key_padding_mask and attn_mask is deprecated",)


def expand_inputs(inputs: Sequence[str | Path], problems: list[str] | None = None) -> list[Path]:
    """Files as given; folders -> their audio files (recursive, sorted). With ``problems`` (a list),
    an input that is neither a file nor a folder, and unless it looks like an audio file (whose
    error row then says it is missing), and a folder without audio files, are appended to it as one
    message each and left out; without it they raise ValueError."""
    out: list[Path] = []
    found: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not files:
                found.append(f"{item}: the folder holds no audio files ({', '.join(sorted(AUDIO_SUFFIXES))})")
            out += files
        elif path.exists() or path.suffix.lower() in AUDIO_SUFFIXES:
            out.append(path)
        else:
            found.append(f"{item}: no such file or folder")
    if found and problems is None:
        raise ValueError("; ".join(found))
    if problems is not None:
        problems += found
    return out


@contextmanager
def quiet_loading(hugging_face: bool = True) -> Iterator[None]:
    """No Hugging Face progress bars while a model loads; the caller's setting is restored. Nothing to
    do (and transformers not imported) when no encoder being loaded is a Hugging Face one."""
    if not hugging_face:
        yield
        return
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def load_model(path: str | Path, device: str = "auto", encoder_dir: str | Path | None = None,
               download: bool = True) -> "EmotionModel":
    """Load a model folder (``results/models/<encoder>/<classifier>``, or a copy of it) and its encoder.

    ``device``: auto | cpu | cuda. The encoder's weights are looked for in ``encoder_dir`` when given,
    else in a copy bundled in the model folder (``speech-emotion bundle``), the folder model.json
    records, the local Hugging Face cache, and last downloaded from the hub (not with
    ``download=False`` or ``HF_HUB_OFFLINE=1``); :attr:`EmotionModel.weights` says which, and it
    is logged (logger ``speech_emotion.predict.api``, level INFO).
    Raises :class:`speech_emotion.train.classifiers.ModelFileError` for a missing or damaged model and
    FileNotFoundError when the encoder weights are not found.

    A folder written by ``speech-emotion export`` runs its ONNX graphs with ONNX Runtime on the CPU,
    without torch (:func:`speech_emotion.predict.onnx_model.load_exported`; ``download`` does not apply).
    """
    from .export import is_export

    if is_export(path):
        from .onnx_model import load_exported

        return EmotionModel(*load_exported(path, device, encoder_dir))  # type: ignore[arg-type]
    from ..embed.embeddings import make_encoder
    from .portable import encoder_records, has_hugging_face_encoder, locate_encoder

    from ..train.regressors.modelfile import load_any_model

    final = load_final_model(path, load_any_model)  # a classifier's folder or a regressor's
    _check_device(device)
    info = final.info
    rate = int(info.get("audio", {}).get("sample_rate", 16000))
    records = encoder_records(info)  # a fusion: every member encoder
    if encoder_dir is not None and len(records) > 1:
        raise ValueError("encoder_dir names one encoder's weights; this model fuses several (see model.json)")
    encoders, weights = {}, []
    with quiet_loading(has_hugging_face_encoder(info)):
        for record in records:
            found = locate_encoder(Path(path), record, encoder_dir, download)
            if found.source != "none":
                log.info("%s", found.describe())
            weights.append(found)
            try:
                encoders[record["name"]] = make_encoder(record["spec"], found.path, device, rate)
            except (OSError, ValueError) as exc:  # a folder without (readable) weights
                raise FileNotFoundError(f"encoder {record['name']}: no usable weights in {found.path} "
                                        f"({found.describe()}): {type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    model = EmotionModel(final, encoders, {record["name"]: record["spec"]["kind"] for record in records})
    model.weights = weights
    return model


def _check_device(device: str) -> None:
    """A ValueError in the API's words for a device this machine does not have."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device {device!r}: use auto, cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("device cuda (--device cuda) was asked for, but no CUDA device is visible here; "
                             "use cpu or auto")


class EmotionModel:
    """A final model with its encoder; see the module docstring for the output columns."""

    def __init__(self, final: FinalModel, encoders: Mapping[str, Any], kinds: Mapping[str, str] | None = None):
        self.final = final
        self.target: str | None = getattr(final, "target", None)  # a regressor's target; exported folders: classifiers
        self.encoders = dict(encoders)  # name -> encoder (several for a fusion)
        self.kinds = dict(kinds or {name: "hf" for name in self.encoders})  # name -> encoder kind (storage rounding)
        self.audio: dict[str, Any] = dict(final.info.get("audio", {}))
        self.sample_rate = int(self.audio.get("sample_rate", 16000))
        # the shortest clip the workflow accepted for training; shorter input gets an error row
        self.min_seconds = float(self.audio.get("min_seconds", DEFAULT_MIN_SECONDS))
        self.enrolled: dict[str, Any] = {}  # speaker -> Enrolment (statistics from enrolment clips)
        self.weights: list[Any] = []  # where each encoder's weights came from (portable.EncoderWeights)
        self._vad: Any = None

    @property
    def labels(self) -> list[str]:
        return self.final.labels

    @property
    def needs_speakers(self) -> bool:
        """True for a model trained with per-speaker standardisation: :meth:`predict` then needs
        the speaker of each file (``speakers=``)."""
        return bool(self.final.speaker_norm)

    @property
    def identities(self) -> dict[str, Any]:
        """Each member encoder's identity (model.json), what an enrolment file must match."""
        from .portable import encoder_records

        return {str(r["name"]): r.get("identity") for r in encoder_records(self.info)}

    @property
    def info(self) -> dict[str, Any]:
        """model.json of the folder (encoder, labels, audio settings, CV metrics, ...); the layers and per-speaker
        standardisation are the feature pipeline's (``self.final.features``, features.json)."""
        return self.final.info

    @property
    def path(self) -> Path:
        return self.final.path

    def __repr__(self) -> str:
        info = self.info
        if self.target:
            return f"EmotionModel({str(self.path)!r}: {info['encoder']['name']} + {info['regressor']}, target {self.target})"
        return f"EmotionModel({str(self.path)!r}: {info['encoder']['name']} + {info['classifier']}, labels {self.labels})"

    # --- core: signals at the model's rate -> probabilities -----------------------------------------

    def features(self, signals: Sequence[np.ndarray]) -> np.ndarray:
        """The classifier's input for mono float32 signals at :attr:`sample_rate`, before any
        per-speaker standardisation: each member encoder's embeddings, rounded as the workflow stores
        them, on the model's layers, through the model's feature pipeline (features.json)."""
        from ..embed.embeddings import as_stored, batch_seconds_for, embed_signals

        embeddings = {}
        for name, encoder in self.encoders.items():
            batch = batch_seconds_for(encoder.device, self.audio["batch_seconds"], self.audio.get("cpu_batch_seconds"))
            with warnings.catch_warnings():
                for message in QUIET_WARNINGS:
                    warnings.filterwarnings("ignore", message=message)
                values = embed_signals(encoder, list(signals), batch, self.audio.get("max_seconds"), progress_every=1e9)
            embeddings[name] = as_stored(values, self.kinds[name])
        return self.final.features.select(embeddings)

    def classify(self, features: np.ndarray) -> np.ndarray:
        """Probabilities (rows, labels) in the order of :attr:`labels`."""
        probs = self.final.model.predict_proba(features)
        if list(self.final.model.classes_) == self.labels:  # nothing to align (an exported model's columns)
            return probs
        from ..train.classifiers.base import align_proba

        return align_proba(self.final.model, probs, np.asarray(self.labels))

    def outputs(self, features: np.ndarray) -> np.ndarray:
        """What the model gives for feature rows: probabilities (rows, labels) of a classifier (:meth:`classify`),
        the predicted values (rows, 1) of a regressor."""
        if self.target:
            return np.asarray(self.final.model.predict(features), dtype=np.float64).reshape(-1, 1)
        return self.classify(features)

    @property
    def output_columns(self) -> list[str]:
        """The columns :meth:`outputs` fill: ``label`` and ``prob_<label>``, or a regressor's target."""
        return [self.target] if self.target else ["label", *[f"prob_{label}" for label in self.labels]]

    def _values(self, output: np.ndarray | None) -> dict[str, Any]:
        """One row's :attr:`output_columns` from its :meth:`outputs` row (None: empty, an error row)."""
        if self.target:
            return {self.target: round(float(output[0]), 6) if output is not None else np.nan}
        values: dict[str, Any] = {"label": self.labels[int(np.argmax(output))] if output is not None else None}
        for j, label in enumerate(self.labels):
            values[f"prob_{label}"] = round(float(output[j]), 6) if output is not None else np.nan
        return values

    def probabilities(self, signals: Sequence[np.ndarray], speakers: Sequence[str | None] | None = None) -> np.ndarray:
        """Probabilities (signals, labels) in the order of :attr:`labels`, for mono float32 signals at
        :attr:`sample_rate`. A model that standardises features per speaker needs ``speakers`` (one
        per signal); each speaker's statistics come from the signals given here, or from its
        enrolment (see :meth:`standardise`)."""
        features = self.features(signals)
        if self.final.speaker_norm:
            features = self.standardise(features, _required_speakers(speakers, len(features)))[0]
        return self.classify(features)

    def standardise(self, features: np.ndarray, speakers: Sequence[str | None]) -> tuple[np.ndarray, list[str], list[int]]:
        """Per-speaker standardisation exactly as in training and in a CV test fold
        (:meth:`speech_emotion.train.features.FeatureSpec.standardise`): an enrolled speaker (:meth:`enrol`,
        :meth:`add_enrolment`) gets its enrolment's statistics; another speaker with at least
        ``min_clips`` rows here its own; the others (and rows without a speaker) the training
        population's. Returns the rows, per row whose statistics it got (``speaker``, ``enrolled``
        or ``population``) and how many clips made them."""
        return self.final.features.standardise(features, speakers, enrolled=self.enrolled)

    def enrol(self, speaker: str, files: Sequence[str | Path]) -> dict[str, Any]:
        """A speaker's statistics from enrolment clips (audio files of that speaker; at least the
        model's ``min_clips``), kept for this model's later calls; returns the enrolment file's
        content (write it with :func:`json.dump`; :meth:`add_enrolment` reads it back). A clip that
        fails the clip check raises :class:`speech_emotion.data.audio.AudioError` naming it."""
        from .segments import FileSource

        signals = [FileSource(Path(p)).checked(self.sample_rate, self.min_seconds) for p in expand_inputs(list(files))]
        entry = self.final.features.enrol(speaker, self.features(signals))
        self.enrolled[entry.speaker] = entry
        return self.final.features.enrolment_json(entry, self.identities)

    def add_enrolment(self, path: str | Path) -> str:
        """Use a speaker enrolment file (``speech-emotion enrol``) from now on; returns its speaker.
        A file made with another encoder, other layers or fewer clips than this model needs is a
        ValueError saying which."""
        entry = self.final.features.read_enrolment(path, self.identities)
        self.enrolled[entry.speaker] = entry
        return entry.speaker

    # --- public API ------------------------------------------------------------------------------------

    def predict(
        self,
        files: str | Path | Sequence[str | Path],
        *,
        segment: str | SegmentSettings | None = None,
        speakers: Sequence[str | None] | Mapping[str, str] | None = None,
        batch_size: int = 16,
        max_file_seconds: float | None = MAX_FILE_SECONDS,
        **segment_options: Any,
    ) -> pd.DataFrame:
        """Label audio files (folders are searched recursively): one row per file, or with
        ``segment="vad"`` / ``"fixed"`` one row per segment (``window=``, ``hop=``, ``min_seconds=``,
        ``max_seconds=`` ... as in :class:`~speech_emotion.predict.segments.SegmentSettings`).

        ``speakers``: a list (one per file, after folder expansion) or a mapping file -> speaker; it
        adds a ``speaker`` column. A model trained with per-speaker standardisation
        (``features.speaker_norm``) needs it: each speaker's features are standardised with the
        statistics of that speaker's files here (all of them are embedded before any is labelled);
        a speaker with fewer than the model's ``min_clips`` files (or segments), or a file whose
        speaker is None, gets the training population's statistics, said in the ``speaker_norm``
        column (files without a speaker are never pooled). A mapping key that names no input is a
        ValueError. A file that cannot be read gets an error row; so does, without ``segment``, a
        file longer than ``max_file_seconds`` (None: no limit; :data:`MAX_FILE_SECONDS`).
        """
        return self._collect(self.iter_predict(files, segment=segment, speakers=speakers, batch_size=batch_size,
                                               max_file_seconds=max_file_seconds, **segment_options),
                             "file", segment, speakers)

    def iter_predict(
        self,
        files: str | Path | Sequence[str | Path],
        *,
        segment: str | SegmentSettings | None = None,
        speakers: Sequence[str | None] | Mapping[str, str] | None = None,
        batch_size: int = 16,
        max_file_seconds: float | None = MAX_FILE_SECONDS,
        **segment_options: Any,
    ) -> Iterator[pd.DataFrame]:
        """:meth:`predict` as a stream of row blocks, in file order, each yielded as soon as it is
        done (a batch of files; with segments, about a minute of one file's segments). Bad options
        raise here, before anything is read."""
        paths = expand_inputs([files] if isinstance(files, (str, Path)) else files)
        names = [str(p) for p in paths]
        who = speakers_for(paths, speakers)
        settings = _settings(segment, segment_options)
        self._check_speakers(who)
        if settings is None:
            chunks = self._whole(names, [lambda p=p: _bounded(FileSource(p), max_file_seconds) for p in paths],
                                 "file", who, batch_size)
        else:
            chunks = (chunk for i, path in enumerate(paths)
                      for chunk in self._segmented(names[i], lambda p=path: FileSource(p), "file", _nth(who, i), settings))
        return self._finish(chunks, "file", settings is not None) if self.final.speaker_norm else chunks

    def predict_signals(
        self,
        signals: np.ndarray | Sequence[np.ndarray],
        sr: int,
        *,
        segment: str | SegmentSettings | None = None,
        speakers: Sequence[str | None] | Mapping[int, str] | None = None,
        **segment_options: Any,
    ) -> pd.DataFrame:
        """Label mono signals (1-D arrays at ``sr`` Hz, resampled to the model's rate); the first
        column, ``signal``, is each signal's index. ``speakers``: one per signal (None: no speaker,
        the training population's statistics) or a mapping index -> speaker. Segmenting works as in
        :meth:`predict`."""
        if isinstance(signals, np.ndarray) and signals.ndim == 1:
            signals = [signals]
        signals = list(signals)
        who = speakers_for_signals(len(signals), speakers)
        sources = [lambda s=s, i=i: ArraySource(s, sr, f"signal {i}") for i, s in enumerate(signals)]
        settings = _settings(segment, segment_options)
        self._check_speakers(who)
        if settings is None:
            chunks = self._whole(list(range(len(signals))), sources, "signal", who, 16)
        else:
            chunks = (c for i, src in enumerate(sources) for c in self._segmented(i, src, "signal", _nth(who, i), settings))
        if self.final.speaker_norm:
            chunks = self._finish(chunks, "signal", settings is not None)
        return self._collect(chunks, "signal", segment, speakers)

    def _check_speakers(self, who: list[Any] | None) -> None:
        if self.final.speaker_norm:
            _required_speakers(who, None)

    def summary(self, table: pd.DataFrame) -> pd.DataFrame:
        """Per recording of a segmented prediction: ``seconds`` covered by segments, ``segments``,
        ``share_<label>`` of that time (a regressor: ``mean_<target>``, weighted by time), ``error`` (see :func:`speech_emotion.predict.segments.time_shares`)."""
        key = "file" if "file" in table.columns else "signal"
        if "start" not in table.columns:
            raise ValueError("summary needs a segmented prediction (segment='vad' or 'fixed')")
        return time_shares(table, self.labels, key, self.target)

    # --- internals -------------------------------------------------------------------------------------

    def columns(self, key: str, segmented: bool, with_speaker: bool, internal: bool = False) -> list[str]:
        """Output columns; a model standardising per speaker adds ``speaker_norm`` (``speaker``,
        ``enrolled`` or ``population``: whose statistics a row got) and ``speaker_clips`` (how many
        clips made them), ``internal`` the features awaiting them."""
        norm = ["speaker_norm", "speaker_clips"] if self.final.speaker_norm else []
        return [key, *(["speaker"] if with_speaker else []), *(["start", "end"] if segmented else []),
                *self.output_columns, *norm, "error",
                *(["_features"] if internal and norm else [])]

    def _collect(self, chunks: Iterator[pd.DataFrame], key: str, segment: Any, speakers: Any) -> pd.DataFrame:
        frames = [c for c in chunks if len(c)]
        columns = self.columns(key, segment is not None, speakers is not None)
        return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)

    def _row(self, key: str, name: Any, speaker: Any, span: tuple[float, float] | None,
             probs: np.ndarray | None = None, error: str | None = None) -> dict[str, Any]:
        row: dict[str, Any] = {key: name}
        if speaker is not _NO_SPEAKER:
            row["speaker"] = speaker
        if span is not None:
            row["start"], row["end"] = (round(span[0], 3), round(span[1], 3)) if span[0] is not None else (np.nan, np.nan)
        row.update(self._values(probs))
        row["error"] = error
        return row

    def _whole(self, names: list[Any], sources: list[Any], key: str, who: list[Any] | None, batch_size: int) -> Iterator[pd.DataFrame]:
        columns = self.columns(key, False, who is not None, internal=True)
        batch_size = max(1, batch_size)
        for start in range(0, len(names), batch_size):
            idx = list(range(start, min(start + batch_size, len(names))))
            rows: dict[int, dict[str, Any]] = {}
            good: list[tuple[int, np.ndarray]] = []
            for i in idx:
                try:
                    good.append((i, sources[i]().checked(self.sample_rate, self.min_seconds)))
                except Exception as exc:  # noqa: BLE001 - an error row, the other files go on
                    rows[i] = self._row(key, names[i], _nth(who, i), None, error=_reason(exc))
            rows.update(self._label(good, names, key, who, None))
            yield pd.DataFrame([rows[i] for i in idx], columns=columns)

    def _label(self, good: list[tuple[int, np.ndarray]], names: list[Any], key: str, who: list[Any] | None,
               spans: list[tuple[float, float]] | None) -> dict[int, dict[str, Any]]:
        """Rows for signals (index into names/who/spans, samples); a batch that fails is retried one
        signal at a time, so one bad signal gets an error row and the others are labelled."""
        def span(i: int) -> Any:
            return spans[i] if spans is not None else None

        def rows_for(batch: list[tuple[int, np.ndarray]]) -> dict[int, dict[str, Any]]:
            features = self.features([s for _, s in batch])
            finite = np.isfinite(features).all(axis=1)
            rows = {i: self._row(key, names[i], _nth(who, i), span(i), error=NOT_FINITE)
                    for (i, _), ok in zip(batch, finite) if not ok}
            batch, features = [b for b, ok in zip(batch, finite) if ok], features[finite]
            if self.final.speaker_norm:  # standardised once every row of every speaker is embedded (_finish)
                return rows | {i: self._row(key, names[i], _nth(who, i), span(i)) | {"_features": f}
                               for (i, _), f in zip(batch, features)}
            probs = self.outputs(features) if len(batch) else []
            return rows | {i: self._row(key, names[i], _nth(who, i), span(i), p) for (i, _), p in zip(batch, probs)}

        if not good:
            return {}
        try:
            return rows_for(good)
        except Exception:  # noqa: BLE001 - one bad signal must not sink the batch
            rows = {}
            for i, signal in good:
                try:
                    rows |= rows_for([(i, signal)])
                except Exception as exc:  # noqa: BLE001
                    rows[i] = self._row(key, names[i], _nth(who, i), span(i), error=f"cannot embed: {_reason(exc)}")
            return rows

    def _finish(self, chunks: Iterator[pd.DataFrame], key: str, segmented: bool) -> Iterator[pd.DataFrame]:
        """A model that standardises features per speaker: every row is embedded first, then each
        speaker's rows are standardised with that speaker's statistics (or the population's, said in
        the ``speaker_norm`` column) and labelled; one block at the end."""
        frames = [c for c in chunks if len(c)]
        columns = self.columns(key, segmented, True)
        if not frames:
            yield pd.DataFrame(columns=columns)
            return
        frame = pd.concat(frames, ignore_index=True)
        done = frame["_features"].notna().to_numpy()
        frame["speaker_norm"] = None
        frame["speaker_clips"] = pd.array([pd.NA] * len(frame), dtype="Int64")
        if done.any():
            features, which, clips = self.standardise(np.stack(frame.loc[done, "_features"].to_list()),
                                                      frame.loc[done, "speaker"].to_list())
            values = pd.DataFrame([self._values(out) for out in self.outputs(features)], columns=self.output_columns)
            for column in self.output_columns:
                frame.loc[done, column] = values[column].to_numpy()
            frame.loc[done, "speaker_norm"] = which
            frame.loc[done, "speaker_clips"] = clips
        yield frame[columns]

    def _segmented(self, name: Any, open_source: Any, key: str, speaker: Any, settings: SegmentSettings) -> Iterator[pd.DataFrame]:
        """Rows of one recording's segments, yielded in groups of about :data:`GROUP_SECONDS` of audio
        (only one group's samples are in memory). ``speaker``: a value or ``_NO_SPEAKER``."""
        has_speaker = speaker is not _NO_SPEAKER
        columns = self.columns(key, True, has_speaker, internal=True)
        try:
            source = open_source()
            if settings.mode == "vad" and self._vad is None:
                from .segments import load_vad

                self._vad = load_vad()
            segments = plan_segments(source, settings, self._vad)
        except Exception as exc:  # noqa: BLE001
            yield pd.DataFrame([self._row(key, name, speaker, (None, None), error=_reason(exc))], columns=columns)
            return
        if not segments:
            error = "no speech found by the voice-activity detector"
            yield pd.DataFrame([self._row(key, name, speaker, (None, None), error=error)], columns=columns)
            return
        group: list[tuple[float, float]] = []
        for index, seg in enumerate(segments):
            group.append(seg)
            if sum(e - s for s, e in group) >= GROUP_SECONDS or index == len(segments) - 1:
                try:
                    signals, failed = [], {}
                    for i, (s, e) in enumerate(group):
                        signal = source.read(s, e, self.sample_rate)
                        try:  # the clip check, on the segment as the model will see it
                            check_samples(f"{name} [{s:.3f}-{e:.3f} s]", signal, self.sample_rate, self.min_seconds)
                            signals.append((i, signal))
                        except AudioError as exc:
                            failed[i] = self._row(key, name, speaker, (s, e), error=f"segment {exc.reason}")
                    rows = failed | self._label(signals, [name] * len(group), key,
                                                [speaker] * len(group) if has_speaker else None, group)
                    yield pd.DataFrame([rows[i] for i in range(len(group))], columns=columns)
                except Exception as exc:  # noqa: BLE001 - e.g. the file changed or broke mid-way
                    yield pd.DataFrame([self._row(key, name, speaker, (None, None), error=_reason(exc))], columns=columns)
                    return
                group = []


_NO_SPEAKER = object()  # sentinel: no speaker column (``None`` is a valid "unknown speaker")


def _nth(who: list[Any] | None, i: int) -> Any:
    return who[i] if who is not None else _NO_SPEAKER


def _bounded(source: FileSource, max_seconds: float | None) -> FileSource:
    """``source`` if it may be labelled whole, else an AudioError that sends the user to segmenting
    (its length comes from the file's header: nothing is read)."""
    if max_seconds is not None and source.seconds > max_seconds:
        raise AudioError(str(source.path), f"{source.seconds:.1f} s long, over the {max_seconds:g} s labelled as one "
                                           "clip: label it in segments (--segment vad|fixed; API: segment=) or raise "
                                           "the limit (--max-file-seconds; API: max_file_seconds=)")
    return source


def _reason(exc: BaseException) -> str:
    from ..data.audio import AudioError

    return exc.reason if isinstance(exc, AudioError) else f"{type(exc).__name__}: {exc}"


def _settings(segment: str | SegmentSettings | None, options: Mapping[str, Any]) -> SegmentSettings | None:
    if isinstance(segment, SegmentSettings):
        if options:
            raise TypeError("pass segment options either in SegmentSettings or as keywords, not both")
        return segment
    if segment is None:
        if options:
            raise TypeError(f"segment options {sorted(options)} need segment='vad' or 'fixed'")
        return None
    return SegmentSettings(mode=str(segment), **options)


def _required_speakers(speakers: Sequence[str | None] | None, count: int | None) -> list[str | None]:
    """The speakers a per-speaker-standardised model needs (one per signal), or a clear error."""
    if speakers is None:
        raise ValueError(
            "this model standardises features per speaker (features.speaker_norm was used in training), so it "
            "needs the speaker of each file: pass speakers= (a list or a mapping file -> speaker; None for a file "
            "without one); on the command line --speaker-regex REGEX (first group of a regex on the file name), "
            "--speaker-from-folder, --speakers TABLE (a CSV/TSV of file,speaker), --enrolment FILE (every file is "
            "the enrolled speaker) or --no-speakers (each file alone, with the training population's statistics)")
    if count is not None and len(speakers) != count:
        raise ValueError(f"speakers: {len(speakers)} given for {count} signals")
    return list(speakers)
