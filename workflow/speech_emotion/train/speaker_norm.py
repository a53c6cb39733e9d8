"""Per-speaker standardisation of features (``features.speaker_norm``).

Speaker identity dominates frozen speech embeddings. Standardising each speaker's features with the
mean and standard deviation of that speaker's own clips (labels unused) leaves how a clip departs
from the speaker's usual voice. It assumes several clips per speaker, not all of one emotion: where
a speaker has a single emotion, the speaker's mean *is* the emotion and subtracting it removes the
signal, so the plan of each fold decides on its training part whether it helps
(:func:`speech_emotion.train.plan.choose_speaker_norm`).

In a fold, training speakers are standardised with statistics of their clean training clips (their
augmented copies with their source speaker's statistics), test speakers with statistics of their own
test clips. A speaker with fewer than ``min_clips`` clips gets the training population's statistics
(all clean training clips) instead, and is listed. Which rows are standardised how is the feature
pipeline's business (:meth:`speech_emotion.train.features.FeatureSpec.standardise`), the same in a CV fold,
a cross-corpus test corpus and at predict time; this module holds the statistics themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


MIN_STD = 1e-6
"""A feature that (nearly) does not vary within a speaker is only centred, not divided."""

MIN_SPEAKER_CLIPS = 3
"""The fewest clips whose statistics may stand for a speaker (``features.speaker_norm_min_clips``'s
minimum, and an enrolment's): standardised with the mean and spread of its own two clips, every
feature of a speaker is exactly -1 or +1, whatever the clips say."""


@dataclass(frozen=True)
class Stats:
    """Mean and standard deviation per feature."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def of(cls, X: np.ndarray) -> Stats:
        X = np.asarray(X, dtype=np.float64)
        std = X.std(axis=0)
        return cls(mean=X.mean(axis=0), std=np.where(std < MIN_STD, 1.0, std))

    def apply(self, X: np.ndarray) -> np.ndarray:
        return ((np.asarray(X, dtype=np.float64) - self.mean) / self.std).astype(np.float32)

    def to_json(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_json(cls, data: dict[str, Sequence[float]]) -> Stats:
        return cls(mean=np.asarray(data["mean"], dtype=np.float64), std=np.asarray(data["std"], dtype=np.float64))


def standardise(
    X: np.ndarray, speakers: Sequence[str], stats_rows: np.ndarray, population: Stats, min_clips: int,
) -> tuple[np.ndarray, list[str]]:
    """Every row standardised with its speaker's statistics over the rows ``stats_rows`` (a mask) of
    that speaker; speakers with fewer than ``min_clips`` such rows use ``population``.

    Returns the standardised rows and the speakers that got the population's statistics."""
    X = np.asarray(X)
    speakers = np.asarray(speakers).astype(str)
    stats_rows = np.asarray(stats_rows, dtype=bool)
    out = np.empty(X.shape, dtype=np.float32)
    fallback = []
    for speaker in sorted(set(speakers)):
        rows = speakers == speaker
        own = rows & stats_rows
        if own.sum() >= min_clips:
            out[rows] = Stats.of(X[own]).apply(X[rows])
        else:
            out[rows] = population.apply(X[rows])
            fallback.append(speaker)
    return out, fallback
