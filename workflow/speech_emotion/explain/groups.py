"""The classifier's input columns in groups whose importance a reader can ask about.

A feature pipeline (:class:`~speech_emotion.train.features.FeatureSpec`) puts its members side by
side, each member's chosen layers side by side. Groups, by level:

- openSMILE members (``kind: opensmile``, one stored "layer" of functionals): ``family`` (pitch,
  loudness, spectral, cepstral, voice quality, temporal: :func:`family_of`), ``descriptor`` (the
  low-level descriptor a functional summarises, e.g. ``F0semitoneFrom27.5Hz`` or ``audSpec_Rfilt``
  with its bands and deltas) and ``feature`` (one column each; only for sets of at most
  ``max_features`` columns: eGeMAPS' 88, not ComParE's 6,373);
- encoder members (Hugging Face, emotion2vec): ``layer`` (each chosen layer's columns, or the one
  block of a learned layer weighting) and ``statistic`` (the ``mean`` and ``std`` halves of every
  layer: embeddings are mean ++ std pooled over frames);
- a fusion (several members): ``member`` too, and every other group's name starts with its member's.

A level's groups are disjoint and cover every column, so their importances can be compared.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..train.features import FeatureSpec

FAMILIES = ("pitch", "loudness", "spectral", "cepstral", "voice quality", "temporal")
"""The openSMILE feature families, in the order tables and figures show them."""

COARSE_LEVELS = ("member", "family", "layer")
"""The levels a figure's first panel shows (the first one a pipeline has)."""

# (family, pattern on the low-level descriptor's name), first match wins. eGeMAPS: Eyben et al. (2016),
# "The Geneva Minimalistic Acoustic Parameter Set", table of parameters; ComParE 2016: Schuller et al.
# (2016) / Weninger et al. (2013), the 65 low-level descriptors. Formants are resonances of the vocal
# tract, so spectral; jitter, shimmer, HNR, H1-H2, H1-A3 and voicing probability describe phonation
# (voice quality); the zero-crossing rate tracks the dominant frequency and noisiness (spectral); the
# sum of the auditory spectrum (audspec_lengthL1norm) is ComParE's loudness.
_FAMILY_PATTERNS: tuple[tuple[str, str], ...] = (
    ("temporal", r"PerSec$|SegmentLength"),
    ("voice quality", r"^jitter|^shimmer|HNR|^logRelF0-H1-(H2|A3)|^voicing"),
    ("pitch", r"^F0"),
    ("loudness", r"^loudness$|^equivalentSoundLevel|RMSenergy|^audspec(Rasta)?_lengthL1norm"),
    ("cepstral", r"mfcc"),
    ("spectral", r"^alphaRatio|^hammarbergIndex|^slope|^spectralFlux|^F[1-9](frequency|bandwidth|amplitude)"
                 r"|^audSpec_Rfilt|^pcm_fftMag|^pcm_zcr"),
)
_DESCRIPTOR = re.compile(r"^(?P<lld>.+?)_sma\d*(?:nz)?(?P<de>_de)?(?P<index>\[\d+\])?_")


def descriptor_of(name: str) -> str:
    """The low-level descriptor an openSMILE functional summarises: ``F0semitoneFrom27.5Hz_sma3nz_amean``
    -> ``F0semitoneFrom27.5Hz``; ``audSpec_Rfilt_sma_de[3]_amean`` -> ``audSpec_Rfilt`` (ComParE's
    bands, coefficients and deltas of one descriptor are one group: 27 groups instead of 130, which
    keeps the shuffles of its 6,373 columns affordable); a name without ``_sma`` (eGeMAPS' rates,
    segment lengths and equivalent sound level) is its own descriptor."""
    match = _DESCRIPTOR.match(name)
    return match["lld"] if match else name


def family_of(name: str) -> str:
    """The family (:data:`FAMILIES`) of an eGeMAPS or ComParE feature, by its descriptor's name;
    ValueError for a name no rule knows (another feature set needs its rules here first)."""
    lld = descriptor_of(name)
    for family, pattern in _FAMILY_PATTERNS:
        if re.search(pattern, lld):
            return family
    raise ValueError(f"openSMILE feature {name!r} (descriptor {lld!r}) belongs to no known family; "
                     f"add a rule to speech_emotion.explain.groups._FAMILY_PATTERNS")


@functools.lru_cache(maxsize=4)
def feature_names(feature_set: str) -> tuple[str, ...]:
    """The column names of an openSMILE feature set's functionals (e.g. ``eGeMAPSv02``), in the
    order the embeddings store them (the encoder computes them with the same Smile object)."""
    import opensmile

    smile = opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                            feature_level=opensmile.FeatureLevel.Functionals)
    return tuple(smile.feature_names)


@dataclass(frozen=True)
class Group:
    """Columns of the classifier's input that are shuffled together."""

    level: str
    name: str
    columns: tuple[int, ...]


def _opensmile_groups(names: Sequence[str], offset: int, max_features: int) -> list[Group]:
    out: list[Group] = []
    families = [family_of(n) for n in names]
    for family in FAMILIES:
        cols = tuple(offset + i for i, f in enumerate(families) if f == family)
        if cols:
            out.append(Group("family", family, cols))
    descriptors = [descriptor_of(n) for n in names]
    for name in dict.fromkeys(descriptors):
        out.append(Group("descriptor", name, tuple(offset + i for i, d in enumerate(descriptors) if d == name)))
    if len(names) <= max_features:
        out += [Group("feature", n, (offset + i,)) for i, n in enumerate(names)]
    return out


def _layer_groups(layers: Sequence[int], weighted: bool, width: int, offset: int) -> list[Group]:
    blocks = 1 if weighted else len(layers)
    if width % blocks or (width // blocks) % 2:
        raise ValueError(f"{width} columns do not split into {blocks} mean ++ std layer block(s)")
    size = width // blocks
    names = [f"weighted layers {list(layers)}"] if weighted else [f"layer {layer}" for layer in layers]
    out = [Group("layer", name, tuple(range(offset + b * size, offset + (b + 1) * size))) for b, name in enumerate(names)]
    for half, stat in enumerate(("mean", "std")):
        cols = tuple(c for b in range(blocks) for c in range(offset + b * size + half * size // 2,
                                                              offset + b * size + (half + 1) * size // 2))
        out.append(Group("statistic", stat, cols))
    return out


def column_groups(spec: FeatureSpec, widths: Sequence[int], encoders: Mapping[str, Mapping],
                  max_features: int = 200) -> list[Group]:
    """The groups (module docstring) of a pipeline's columns. ``widths``: each member's column count
    (:meth:`FeatureSpec.widths`); ``encoders``: encoder name -> its config entry (``kind``,
    ``feature_set``)."""
    if len(widths) != len(spec.members):
        raise ValueError(f"{len(widths)} widths for {len(spec.members)} members")
    fusion = len(spec.members) > 1
    out: list[Group] = []
    offset = 0
    for member, width in zip(spec.members, widths):
        entry = encoders.get(member.encoder) or {}
        if entry.get("kind") == "opensmile":
            names = feature_names(str(entry["feature_set"]))
            if len(names) != width:
                raise ValueError(f"{member.encoder}: {width} columns, but {entry['feature_set']} has {len(names)} features")
            groups = _opensmile_groups(names, offset, max_features)
        else:
            groups = _layer_groups(member.layers, member.weights is not None, width, offset)
        if fusion:
            out.append(Group("member", member.encoder, tuple(range(offset, offset + width))))
            groups = [Group(g.level, f"{member.encoder}: {g.name}", g.columns) for g in groups]
        out += groups
        offset += width
    return out


def levels(groups: Sequence[Group]) -> list[str]:
    """The levels present, in the groups' order."""
    return list(dict.fromkeys(g.level for g in groups))


def coarse_level(level_names: Sequence[str]) -> str:
    """The level a figure shows first: member (fusion), family (openSMILE) or layer (encoders)."""
    for level in COARSE_LEVELS:
        if level in level_names:
            return level
    return level_names[0]


def check_cover(groups: Sequence[Group], n_columns: int) -> None:
    """Each level's groups are disjoint; the members, and every level of a single-member pipeline,
    cover all ``n_columns`` columns (ValueError otherwise)."""
    single = "member" not in levels(groups)
    for level in levels(groups):
        cols = [c for g in groups if g.level == level for c in g.columns]
        if len(cols) != len(set(cols)):
            raise ValueError(f"level {level}: a column is in two of its groups")
        if (single or level == "member") and set(cols) != set(range(n_columns)):
            raise ValueError(f"level {level}: its groups do not cover the {n_columns} columns")
