"""The feature pipeline: everything between embeddings and a classifier's input, in one object.

A :class:`FeatureSpec` holds

- the member encoders in a fixed order (a list: one member for an encoder, several for a fusion),
  each with the layers it contributes; the classifier reads the members' layers concatenated in
  that order;
- whether features are standardised per speaker (:mod:`speech_emotion.train.speaker_norm`), with the
  minimum clips a speaker needs for statistics of its own and, once a model is trained, the
  training population's statistics (for speakers with fewer clips, or none given);
- for a fusion, whether each member's block of columns gets the same weight in the classifier's
  scaler (``blocks``: the members' widths; :func:`speech_emotion.train.classifiers.base.block_scale`);
- whether the fold's augmented copies train.

The plan job builds it (:class:`speech_emotion.train.plan.Plan`, the only home of the plan's decisions), the train job fills in the population statistics and
writes it into every model folder (``features.json``: CV fold models, cross-corpus models, final
models), and every path that turns embeddings into classifier input reads it: CV training and
prediction, tuning, the ensemble, cross-corpus training and prediction, the final model, the Python
API and the CLI. That is what makes the model that predicts compute what cross-validation evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .layers import select
from .speaker_norm import MIN_SPEAKER_CLIPS, Stats, standardise
from ..data.splits import FoldData, Variant, build_fold

FEATURES_FILE = "features.json"
"""The feature pipeline's file in every model folder."""

Shards = Mapping[str, Mapping[str, Sequence["str | Path"]]]
"""Where a fold's embeddings are: variant ("clean", "aug1", ...) -> member encoder -> shard files
(the rules pass it as ``params.shards``, built from the results layout)."""

POPULATION, SPEAKER, ENROLLED = "population", "speaker", "enrolled"
"""Whose statistics standardised a row (the ``speaker_norm`` column of predictions)."""


def speaker_name(value: Any) -> str:
    """A row's speaker as a name; "" for no speaker (None, NaN, pandas' NA or an empty string), so
    that rows without a speaker are never pooled into one made-up speaker ("nan", "None")."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


@dataclass(frozen=True)
class Member:
    """One encoder of the pipeline and the layers it contributes (indices into its stored layers):
    side by side, or, with ``weights`` (one per layer, :mod:`speech_emotion.train.weighting`), their
    weighted sum (one layer's width)."""

    encoder: str
    layers: tuple[int, ...]
    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.weights is not None and len(self.weights) != len(self.layers):
            raise ValueError(f"member {self.encoder}: {len(self.weights)} weights for {len(self.layers)} layers")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"encoder": self.encoder, "layers": list(self.layers)}
        if self.weights is not None:
            out["weights"] = list(self.weights)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Member:
        weights = data.get("weights")
        return cls(str(data["encoder"]), tuple(int(i) for i in data["layers"]),
                   None if weights is None else tuple(float(w) for w in weights))

    def features(self, embeddings: np.ndarray) -> np.ndarray:
        """(clips, stored layers, dim) -> this member's columns, float32."""
        if self.weights is None:
            return select(embeddings, self.layers)
        from .weighting import weighted_sum

        return weighted_sum(embeddings, self.weights, self.layers)


@dataclass(frozen=True)
class Enrolment:
    """A speaker's statistics computed once from enrolment clips (``speech-emotion enrol``)."""

    speaker: str
    stats: Stats
    n_clips: int
    path: str | None = None  # the enrolment file it was read from (for messages)


@dataclass(frozen=True)
class FeatureSpec:
    """What turns embeddings into a classifier's input (module docstring)."""

    members: tuple[Member, ...]
    speaker_norm: bool = False
    min_clips: int = 1
    copies: bool = False
    blocks: tuple[int, ...] | None = None  # a balanced fusion: each member's column count (None: plain)
    population: Stats | None = field(default=None, compare=False)
    population_clips: int = 0

    # --- building and files -------------------------------------------------------------------------

    @classmethod
    def of(cls, layers: Sequence[int] | Sequence[tuple[str, Sequence[int]] | Member], encoder: str = "",
           **settings: Any) -> FeatureSpec:
        """From one encoder's layers (``encoder`` names it), or members in order: Member objects or
        (encoder, layers) pairs."""
        if layers and isinstance(layers[0], Member):
            members = tuple(layers)  # type: ignore[arg-type]
        elif layers and not isinstance(layers[0], (int, np.integer)):
            members = tuple(Member(str(e), tuple(int(i) for i in ls)) for e, ls in layers)  # type: ignore[misc]
        else:
            members = (Member(encoder, tuple(int(i) for i in layers)),)  # type: ignore[arg-type]
        return cls(members=members, **settings)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "members": [m.to_json() for m in self.members],
            "speaker_norm": self.speaker_norm,
            "min_clips": self.min_clips,
            "copies": self.copies,
        }
        if self.blocks is not None:
            out["blocks"] = list(self.blocks)
        if self.population is not None:
            out["population"] = self.population.to_json() | {"n_clips": self.population_clips}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureSpec:
        try:
            members = tuple(Member.from_json(m) for m in data["members"])
            population = data.get("population")
            return cls(members=members, speaker_norm=bool(data["speaker_norm"]), min_clips=int(data["min_clips"]),
                       copies=bool(data["copies"]),
                       blocks=None if data.get("blocks") is None else tuple(int(w) for w in data["blocks"]),
                       population=Stats.from_json(population) if population else None,
                       population_clips=int(population.get("n_clips", 0)) if population else 0)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a feature pipeline ({type(exc).__name__}: {exc})") from exc

    def write(self, path: str | Path) -> None:
        from ..io.files import write_json_atomic

        write_json_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: str | Path) -> FeatureSpec:
        path = Path(path)
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"{path}: missing (a model folder keeps its feature pipeline there)") from exc
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def encoders(self) -> list[str]:
        return [m.encoder for m in self.members]

    def member(self, encoder: str) -> Member | None:
        """The member reading ``encoder`` (a model.json encoder record's name), or None; a one-encoder
        pipeline's only member whatever its name."""
        found = [m for m in self.members if m.encoder == encoder]
        return found[0] if found else self.members[0] if len(self.members) == 1 else None

    def describe(self) -> str:
        """One line: members and layers, standardisation, copies."""
        parts = " + ".join(f"{m.encoder} layers {list(m.layers)}{' weighted' if m.weights else ''}" for m in self.members)
        norm = f"per-speaker standardisation (min {self.min_clips} clips)" if self.speaker_norm else "no standardisation"
        balance = f"; members balanced (blocks {list(self.blocks)})" if self.blocks else ""
        return f"{parts}; {norm}{balance}; copies {'train' if self.copies else 'do not train'}"

    def classifier_params(self) -> dict[str, Any]:
        """What a classifier of this pipeline is given besides its own settings: the member blocks of a
        balanced fusion (``block_widths``, :func:`speech_emotion.train.classifiers.base.block_scale`)."""
        return {} if self.blocks is None else {"block_widths": tuple(self.blocks)}

    def widths(self, by_encoder: Mapping[str, Sequence[str | Path]]) -> tuple[int, ...]:
        """Each member's column count, from the first of its shards (``by_encoder``: encoder -> files)."""
        from ..embed.embeddings import load_variant

        out = []
        for member in self.members:
            dim = load_variant(list(by_encoder[member.encoder])[:1], "clean", layers=member.layers[:1]).features.shape[2]
            out.append(dim if member.weights is not None else dim * len(member.layers))
        return tuple(out)

    # --- embeddings -> features ------------------------------------------------------------------------

    def select(self, embeddings: Mapping[str, np.ndarray]) -> np.ndarray:
        """The classifier's input (before standardisation) from each member's (clips, layers, dim)
        embeddings: each member's layers, members side by side in order, float32."""
        missing = [m.encoder for m in self.members if m.encoder not in embeddings]
        if missing:
            raise KeyError(f"no embeddings of member encoder(s) {missing}")
        return np.hstack([m.features(embeddings[m.encoder]) for m in self.members])

    def read_variant(self, name: str, by_encoder: Mapping[str, Sequence[str | Path]]) -> Variant:
        """One variant's features from its embedding shards (``by_encoder``: member encoder -> shard
        files; a fusion passes every member's): only the members' layers are read, clips sorted by id."""
        from ..embed.embeddings import load_variant, warn_mixed_devices

        missing = [m.encoder for m in self.members if m.encoder not in by_encoder]
        if missing:
            raise ValueError(f"variant {name}: no embedding shards of member encoder(s) {missing}")
        parts = [load_variant(by_encoder[m.encoder], name=name, layers=m.layers) for m in self.members]
        # one member: the clips in stored order; several: aligned by sorted clip id
        order = parts[0].clip_ids if len(parts) == 1 else np.sort(parts[0].clip_ids)
        embeddings = {}
        for member, part in zip(self.members, parts):
            if set(part.clip_ids) != set(order):
                raise ValueError(f"variant {name}: encoder {member.encoder} has embeddings of other clips than "
                                 f"{self.members[0].encoder}")
            # the part holds only the member's layers, in order: select all of them
            embeddings[member.encoder] = part.features if len(parts) == 1 else part.features[np.argsort(part.clip_ids)]
        local = replace(self, members=tuple(replace(m, layers=tuple(range(len(m.layers)))) for m in self.members))
        made_with = tuple(sorted({kind for part in parts for kind in part.made_with}))
        warn_mixed_devices(set(made_with), f"variant {name}")
        return Variant(name=name, clip_ids=order, features=local.select(embeddings), made_with=made_with)

    # --- per-speaker standardisation ------------------------------------------------------------------

    def standardise(
        self,
        X: np.ndarray,
        speakers: Sequence[str | None],
        stats_rows: np.ndarray | None = None,
        enrolled: Mapping[str, Enrolment] | None = None,
    ) -> tuple[np.ndarray, list[str], list[int]]:
        """Rows standardised as the pipeline says: each speaker with the statistics of its rows
        among ``stats_rows`` (default: all its rows here), an enrolled speaker with its enrolment's,
        a speaker with fewer than ``min_clips`` such rows (or None) with the training population's.

        Returns (rows, whose statistics each row got: speaker | enrolled | population, and how many
        clips made them). Without standardisation the rows come back unchanged (whose: "")."""
        X = np.asarray(X, dtype=np.float32)
        n = len(X)
        if not self.speaker_norm:
            return X, [""] * n, [0] * n
        if self.population is None:
            raise ValueError("this feature pipeline standardises per speaker but holds no population statistics "
                             "(it is a plan's, not a trained model's)")
        names = np.array([speaker_name(s) for s in speakers], dtype=object)
        if len(names) != n:
            raise ValueError(f"speakers: {len(names)} given for {n} rows")
        stats_rows = np.ones(n, bool) if stats_rows is None else np.asarray(stats_rows, dtype=bool)
        enrolled = dict(enrolled or {})
        out = self.population.apply(X)
        whose = [POPULATION] * n
        clips = [self.population_clips] * n
        for speaker, entry in enrolled.items():
            rows = names == speaker
            if rows.any():
                out[rows] = entry.stats.apply(X[rows])
                for i in np.flatnonzero(rows):
                    whose[i], clips[i] = ENROLLED, entry.n_clips
        own = (names != "") & ~np.isin(names, list(enrolled))
        if own.any():
            idx = np.flatnonzero(own)
            out[idx], fallback = standardise(X[idx], names[idx], stats_rows[idx], self.population, self.min_clips)
            fallback_set = set(fallback)
            for i in idx:
                if names[i] not in fallback_set:
                    whose[i] = SPEAKER
                    clips[i] = int((names == names[i])[stats_rows].sum())
        return out, whose, clips

    def fit_population(self, X_clean: np.ndarray) -> FeatureSpec:
        """The pipeline with the training population's statistics (its clean training rows)."""
        if not self.speaker_norm:
            return self
        return replace(self, population=Stats.of(X_clean), population_clips=int(len(X_clean)))

    def enrol(self, speaker: str, X: np.ndarray) -> Enrolment:
        """A speaker's statistics from the features of its enrolment clips (at least ``min_clips``,
        and never fewer than :data:`~speech_emotion.train.speaker_norm.MIN_SPEAKER_CLIPS`)."""
        if not self.speaker_norm:
            raise ValueError("this model does not standardise per speaker: there is nothing to enrol")
        X = np.asarray(X, dtype=np.float32)
        if len(X) < self.enrol_min_clips:
            raise ValueError(f"speaker {speaker}: {len(X)} usable clip(s); the model needs at least "
                             f"{self.enrol_min_clips}")
        return Enrolment(speaker=str(speaker), stats=Stats.of(X), n_clips=int(len(X)))

    @property
    def enrol_min_clips(self) -> int:
        """The fewest clips an enrolment of this pipeline may hold."""
        return max(self.min_clips, MIN_SPEAKER_CLIPS)

    def enrolment_json(self, entry: Enrolment, encoders: Mapping[str, Any]) -> dict[str, Any]:
        """An enrolment file's content: the speaker, its clip count, the pipeline its statistics fit
        (members and layers, ``min_clips``), each member encoder's identity (``encoders``: encoder ->
        identity, from model.json) and the statistics."""
        return {"speaker": entry.speaker, "n_clips": entry.n_clips, "min_clips": self.min_clips,
                "members": [m.to_json() for m in self.members],
                "encoders": {m.encoder: encoders.get(m.encoder) for m in self.members},
                **entry.stats.to_json()}

    def read_enrolment(self, path: str | Path, encoders: Mapping[str, Any]) -> Enrolment:
        """An enrolment file written for this pipeline, or a ValueError saying why it does not fit:
        other members or layers, another encoder (``encoders``: encoder -> identity, from model.json),
        fewer clips than this model needs, or no record of what it was made with (an older file)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            members = tuple(Member.from_json(m) for m in data["members"])
            entry = Enrolment(speaker=str(data["speaker"]), stats=Stats.from_json(data), n_clips=int(data["n_clips"]),
                              path=str(path))
        except FileNotFoundError as exc:
            raise ValueError(f"{path}: no such enrolment file") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a speaker enrolment file ({type(exc).__name__}: {exc})") from exc
        again = f"enrol speaker {entry.speaker} again with this model (speech-emotion enrol)"
        if members != self.members:
            raise ValueError(f"{path}: enrolled for {[m.to_json() for m in members]}, but this model reads "
                             f"{[m.to_json() for m in self.members]}; {again}")
        if "encoders" not in data:
            raise ValueError(f"{path}: the file does not record which encoder made its statistics (written by an "
                             f"older version); {again}")
        for member in self.members:
            theirs, ours = data["encoders"].get(member.encoder), encoders.get(member.encoder)
            if theirs != ours:
                raise ValueError(f"{path}: enrolled with encoder {member.encoder} = {theirs}, but this model's is "
                                 f"{ours}; {again}")
        if entry.n_clips < self.enrol_min_clips:
            raise ValueError(f"{path}: statistics of {entry.n_clips} clip(s), but this model needs at least "
                             f"{self.enrol_min_clips} per speaker; {again} with more clips")
        if self.population is not None and entry.stats.mean.shape != self.population.mean.shape:
            raise ValueError(f"{path}: statistics of {entry.stats.mean.shape[0]} features, but this model reads "
                             f"{self.population.mean.shape[0]}; {again}")
        return entry


def load_fold(
    fold: int | None,
    shards: Shards,
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    spec: FeatureSpec,
) -> FoldData:
    """A fold's rows on the pipeline's members and layers, before standardisation (``shards``: see
    :data:`Shards`; copies are read when given, and only enter the training part)."""
    if "clean" not in shards:
        raise ValueError("no clean embedding shards among the inputs")
    clean = spec.read_variant("clean", shards["clean"])
    copies = [spec.read_variant(name, by_encoder) for name, by_encoder in shards.items() if name != "clean"]
    return build_fold(fold, folds, manifest, clean, copies)


def planned_fold(
    fold: int | None,
    shards: Shards,
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    spec: FeatureSpec,
) -> tuple[FoldData, FeatureSpec, dict[str, Any]]:
    """The fold as the pipeline says: its copies when they train, standardised per speaker when so
    decided (training speakers from their clean training rows, test speakers from their own test
    rows). Returns the data, the pipeline with the training population's statistics, and what the
    standardisation did (speakers that got the population's statistics)."""
    used = dict(shards) if spec.copies else {"clean": shards["clean"]}
    return standardise_fold(load_fold(fold, used, manifest, folds, spec), spec)


def standardise_fold(data: FoldData, spec: FeatureSpec) -> tuple[FoldData, FeatureSpec, dict[str, Any]]:
    """A fold's rows standardised as ``spec`` says (see :func:`planned_fold`); the population is the
    clean training rows, so nothing of the test fold reaches the training rows."""
    if not spec.speaker_norm:
        return data, spec, {}
    clean = data.train_variants == "clean"
    fitted = spec.fit_population(data.X_train[clean])
    X_train, whose_train, _ = fitted.standardise(data.X_train, data.groups_train, stats_rows=clean)
    X_test, whose_test, _ = fitted.standardise(data.X_test, data.groups_test)
    info = {"population_speakers_train": _population_speakers(data.groups_train, whose_train),
            "population_speakers_test": _population_speakers(data.groups_test, whose_test)}
    return replace(data, X_train=X_train, X_test=X_test), fitted, info


def _population_speakers(speakers: np.ndarray, whose: Sequence[str]) -> list[str]:
    return sorted({str(s) for s, w in zip(speakers, whose) if w == POPULATION})
