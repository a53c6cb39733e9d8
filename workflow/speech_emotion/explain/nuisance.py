"""Nuisance checks: how much clip duration, loudness and speaker identity a model's decisions carry.

On each CV fold's test clips, a probe (nearest class mean of the standardised outputs: linear, closed
form, no setting to tune, unaffected by how many clips each class has) reads the model's outputs (log-probabilities of the classes) and predicts a nuisance target:

- ``duration``: the clip's duration tercile among the fold's test clips (chance 1/3);
- ``loudness``: the clip's RMS level (dBFS) tercile among them (chance 1/3);
- ``speaker``: the clip's speaker (chance 1/speakers; speakers with fewer than two test clips are
  left out; a fold of one speaker, e.g. under ``loso``, has no speaker check).

The probe is scored by balanced accuracy over an inner stratified K-fold of the test clips (each
clip one row, so the inner folds are grouped by clip). A probe well above chance means the decision
separates clips by that nuisance. Emotions themselves differ in duration, loudness and speaker
(a speaker may have recorded one emotion only), so the same probe is also run on the true labels
(one-hot) of the same clips: ``labels_ua``, what a perfect emotion classifier's decision would carry.
A model's ``probe_ua`` above ``labels_ua`` is nuisance the emotions do not explain.

The model is never refitted; the probes fit the model's outputs to the nuisance targets. The true
labels enter only the reference probe (:func:`label_reference`), a description of the test clips
that says nothing about the model, computed after and apart from everything else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

NUISANCES = ("duration", "loudness", "speaker")
LEVELS_COLUMNS = ("clip_id", "duration_s", "rms_dbfs")
MIN_SPEAKER_CLIPS = 2
INNER_FOLDS = 5


def rms_dbfs(signal: np.ndarray) -> float:
    """Root-mean-square level of a clip in dB relative to full scale (a full-scale sine: -3.01)."""
    signal = np.asarray(signal, dtype=np.float64)
    return float(20.0 * np.log10(max(np.sqrt(np.mean(signal**2)) if signal.size else 0.0, 1e-10)))


def clip_levels(manifest: pd.DataFrame, sample_rate: int = 16000) -> pd.DataFrame:
    """clip_id, duration_s (the manifest's), rms_dbfs (read from each clip's audio) of every clip."""
    from ..data.audio import load_audio

    rows = []
    for clip_id, path, duration in zip(manifest["clip_id"], manifest["path"], manifest["duration_s"]):
        rows.append({"clip_id": str(clip_id), "duration_s": float(duration),
                     "rms_dbfs": round(rms_dbfs(load_audio(path, sample_rate)), 4)})
    return pd.DataFrame(rows, columns=list(LEVELS_COLUMNS))


def terciles(values: np.ndarray) -> np.ndarray:
    """0, 1, 2: the tercile of each value among ``values`` (ties broken by order)."""
    ranks = pd.Series(np.asarray(values, dtype=float)).rank(method="first").to_numpy()
    return np.minimum((3 * (ranks - 1) / max(len(values), 1)).astype(int), 2)


def outputs(probs: np.ndarray) -> np.ndarray:
    """A model's outputs as the probes read them: log-probabilities (clipped at 1e-6)."""
    return np.log(np.clip(np.asarray(probs, dtype=float), 1e-6, 1.0))


def nuisance_targets(duration: Sequence[float], loudness: Sequence[float],
                     speakers: Sequence[str]) -> dict[str, np.ndarray]:
    """The probes' targets of a fold's test clips (module docstring); labels are never among them."""
    return {"duration": terciles(np.asarray(duration)), "loudness": terciles(np.asarray(loudness)),
            "speaker": np.asarray(speakers, dtype=str)}


def probe_score(X: np.ndarray, target: np.ndarray, seed: int) -> tuple[float, float, int]:
    """(balanced accuracy of the probe X -> target over inner stratified folds, chance, clips used);
    NaN when fewer than two target values have at least two clips."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neighbors import NearestCentroid
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    target = np.asarray(target)
    values, counts = np.unique(target, return_counts=True)
    keep = np.isin(target, values[counts >= MIN_SPEAKER_CLIPS])
    X, target = np.asarray(X, dtype=float)[keep], target[keep]
    values, counts = np.unique(target, return_counts=True)
    if len(values) < 2:
        return np.nan, np.nan, int(keep.sum())
    splits = StratifiedKFold(n_splits=int(min(INNER_FOLDS, counts.min())), shuffle=True, random_state=seed)
    predicted = np.empty_like(target)
    for train, test in splits.split(X, target):
        if np.ptp(X[train], axis=0).max() == 0:
            # inputs that carry nothing here (e.g. the one-hot labels of a fold whose test clips share one
            # label): a constant guess, the training part's most frequent value (NearestCentroid refuses them)
            kinds, n = np.unique(target[train], return_counts=True)
            predicted[test] = kinds[n.argmax()]
        else:
            predicted[test] = make_pipeline(StandardScaler(), NearestCentroid()).fit(X[train], target[train]).predict(X[test])
    return float(balanced_accuracy_score(target, predicted)), 1.0 / len(values), int(len(target))


def probe_outputs(probs: np.ndarray, targets: Mapping[str, np.ndarray], seed: int) -> pd.DataFrame:
    """One row per nuisance: the probe on the model's outputs (``probe_ua``), its chance and clips."""
    rows = []
    for name in NUISANCES:
        ua, chance, n = probe_score(outputs(probs), targets[name], seed)
        rows.append({"nuisance": name, "probe_ua": ua, "chance": chance, "n_clips": n})
    return pd.DataFrame(rows)


def label_reference(y: Sequence[str], labels: Sequence[str], targets: Mapping[str, np.ndarray],
                    seed: int) -> dict[str, float]:
    """Per nuisance: the same probe on the true labels (one-hot) of the same clips (``labels_ua``)."""
    labels = sorted(labels)
    onehot = (np.asarray(y, dtype=str)[:, None] == np.asarray(labels)[None, :]).astype(float)
    return {name: probe_score(onehot, targets[name], seed)[0] for name in NUISANCES}


def read_levels(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype={"clip_id": str}).set_index("clip_id")
