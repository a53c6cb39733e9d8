"""The per-fold plan: what every classifier of one (encoder, fold) uses, decided on its training part.

One job per (encoder, fold) (rule ``plan``) writes ``results/cv/{encoder}/plans/fold-{k}.json``:

- ``layers``: the encoder layers the classifiers read. ``features.layers: auto`` scores each layer
  with a class-balanced linear probe (``features.probe``: logistic regression, or the closed-form
  ridge classifier of :mod:`speech_emotion.probe`; balanced accuracy of its out-of-fold
  predictions pooled over inner folds of the clean training clips), then keeps the best layer or,
  when it scores better, the best run of up to ``probe_max_layers`` ADJACENT layers around it;
- ``speaker_norm``: whether features are standardised per speaker (``features.speaker_norm: auto``:
  the same probe on the chosen layers, with and without :mod:`speech_emotion.speaker_norm`, on the
  same inner splits of the clean training clips);
- ``copies``: whether the fold's augmented copies train (``augment.use: auto``: the same probe on
  the chosen layers, speaker-normalised when so decided, trained with and without the copies, scored
  on the same held-out clean clips).

Only the training part of the fold is ever read for a decision; the test fold is not opened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .classifiers.inner import InnerSplits, cross_val_proba, inner_cv, log_inner_grouping, pooled_balanced_accuracy
from .classifiers.logreg import LogRegClassifier
from .features import FeatureSpec, load_fold
from .layers import resolve_layers, select
from .probe import ridge_out_of_fold
from .splits import build_fold, parse_fold

MIN_GAIN = 0.005
"""A wider layer window, or training with the copies, must beat the plainer choice by this much
(parsimony against inner-CV noise)."""


@dataclass(frozen=True)
class Probe:
    """The linear probe behind every decision of a plan (``features.probe*``).

    ``kind`` ``logreg`` (default): a class-balanced logistic regression with a fixed ``C``, fitted
    iteratively (lbfgs, ``max_iter``) on each inner split, the inner splits side by side on
    ``n_jobs`` processes. ``ridge``: the closed-form class-balanced ridge classifier of
    :mod:`speech_emotion.probe`, its penalty chosen from ``alphas`` by the same inner CV; a plan
    job at full CREMA-D shape took 5.5 min with it, about as long as with ``logreg`` (6 min), and on
    URDU it picked layers that every classifier did worse with (docs/results.md), so it stays an
    option.
    """

    inner_folds: int = 5
    seed: int = 0
    kind: str = "logreg"
    C: float = 1.0
    max_iter: int = 500
    alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
    max_layers: int = 3
    n_jobs: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("logreg", "ridge"):
            raise ValueError(f"features.probe: '{self.kind}' is unknown (logreg|ridge)")

    @classmethod
    def from_config(cls, features: Mapping[str, Any], seed: int, n_jobs: int = 1) -> Probe:
        return cls(inner_folds=int(features["probe_inner_folds"]), seed=seed, kind=str(features["probe"]),
                   C=float(features["probe_C"]), max_iter=int(features["probe_max_iter"]),
                   alphas=tuple(float(a) for a in features["probe_alphas"]),
                   max_layers=int(features["probe_max_layers"]), n_jobs=int(n_jobs))

    def best(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits) -> tuple[float, float | None]:
        """(score, penalty): the pooled out-of-fold balanced accuracy of the probe over ``splits``;
        for the ridge probe at its best penalty of ``alphas`` (the same inner CV picks it; ties go
        to the larger penalty), and that penalty (None for logreg)."""
        if self.kind == "logreg":
            probs = cross_val_proba(lambda: LogRegClassifier(C=self.C, max_iter=self.max_iter, seed=self.seed),
                                    X, y, None, splits, self.n_jobs)
            return pooled_balanced_accuracy(probs, y), None
        values = ridge_out_of_fold(X, y, splits, self.alphas)
        scores = [pooled_balanced_accuracy(per_alpha, y) for per_alpha in values]
        k = max(range(len(scores)), key=lambda i: (round(scores[i], 10), self.alphas[i]))
        return scores[k], float(self.alphas[k])

    def score(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, splits: InnerSplits) -> float:
        """The score of :meth:`best` (``groups`` unused: the splits carry the grouping)."""
        return self.best(X, y, splits)[0]

    def with_alpha(self, alpha: float | None) -> Probe:
        """The same probe with its ridge penalty fixed (``None``: unchanged)."""
        return self if alpha is None else replace(self, alphas=(float(alpha),))


# --- layers ---------------------------------------------------------------------------------------


def probe_layers(embeddings: np.ndarray, y: np.ndarray, groups: np.ndarray | None, probe: Probe) -> dict[str, Any]:
    """Score every layer, then adjacent windows around the best one; return the choice and scores.

    Result: ``{"layers": [...], "score": s, "alpha": its penalty, "layer_scores": [per layer],
    "windows": [{layers, score, alpha}],
    "inner": how the inner splits were grouped}``.
    """
    embeddings = np.asarray(embeddings)
    n_layers = embeddings.shape[1]
    y = np.asarray(y)
    if n_layers == 1:
        return {"layers": [0], "score": None, "alpha": None, "layer_scores": [None], "windows": [], "inner": None}
    splits = inner_cv(y, groups, probe.inner_folds, probe.seed, purpose="layer probe")

    def score(layers: Sequence[int], probe: Probe = probe) -> dict[str, Any]:
        value, alpha = probe.best(select(embeddings, layers), y, splits)
        return {"layers": list(layers), "score": value, "alpha": alpha}

    singles = [score([i]) for i in range(n_layers)]
    layer_scores = [entry["score"] for entry in singles]
    best = int(np.argmax(layer_scores))
    # windows are scored with the best layer's penalty (the comparison with it is at equal penalty)
    wide = probe.with_alpha(singles[best]["alpha"])
    windows = [singles[best]]
    chosen = windows[0]
    for width in range(2, min(probe.max_layers, n_layers) + 1):
        best_of_width = None
        for start in range(max(0, best - width + 1), min(best, n_layers - width) + 1):
            entry = score(range(start, start + width), wide)
            windows.append(entry)
            if best_of_width is None or entry["score"] > best_of_width["score"]:
                best_of_width = entry
        if best_of_width is not None and best_of_width["score"] > chosen["score"] + MIN_GAIN:
            chosen = best_of_width
    return {
        "layers": chosen["layers"],
        "score": chosen["score"],
        "alpha": chosen["alpha"],
        "layer_scores": layer_scores,
        "windows": windows,
        "inner": splits.record(),
    }


def choose_layers(
    spec: str | Sequence[int], embeddings: np.ndarray, y: np.ndarray, groups: np.ndarray | None, probe: Probe,
) -> dict[str, Any]:
    """The layer choice for one fold (``embeddings``/``y``/``groups``: its clean training rows only)."""
    n_layers = np.asarray(embeddings).shape[1]
    if spec == "auto":
        result = probe_layers(embeddings, y, groups, probe)
        result["method"] = "probe"
        result["probe"] = probe.kind
    else:
        result = {"layers": resolve_layers(spec, n_layers), "score": None, "alpha": None, "layer_scores": [],
                  "windows": [], "inner": None, "method": "config"}
    result["spec"] = spec if isinstance(spec, str) else list(spec)
    result["n_layers"] = int(n_layers)
    return result


# --- per-speaker standardisation ------------------------------------------------------------------


def choose_speaker_norm(
    mode: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray, probe: Probe, min_clips: int,
) -> dict[str, Any]:
    """Whether a fold's features are standardised per speaker (``features.speaker_norm``).

    ``X``/``y``/``groups``: the fold's clean training rows on the chosen layers. ``on``/``off``: as
    said. ``auto``: the probe is scored on the same inner splits (speaker-grouped, so a held-out
    speaker is standardised with its own clips only, as a test speaker will be) with and without
    standardisation; it is used only when it raises that score by more than :data:`MIN_GAIN`.
    """
    from .speaker_norm import Stats, standardise

    if mode not in ("auto", "on", "off"):
        raise ValueError(f"features.speaker_norm: '{mode}' is unknown (auto|on|off)")
    result: dict[str, Any] = {"mode": mode, "min_clips": int(min_clips), "score_with": None, "score_without": None,
                              "inner": None}
    if mode != "auto":
        return result | {"use": mode == "on"}
    splits = inner_cv(y, groups, probe.inner_folds, probe.seed, purpose="speaker normalisation decision")
    normalised, fallback = standardise(X, groups, np.ones(len(y), bool), Stats.of(X), min_clips)
    with_norm = probe.score(normalised, y, groups, splits)
    without = probe.score(X, y, groups, splits)
    return result | {"use": bool(with_norm > without + MIN_GAIN), "score_with": with_norm, "score_without": without,
                     "inner": splits.record(), "population_speakers": fallback}


# --- augmented copies -----------------------------------------------------------------------------


def choose_copies(
    mode: str,
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    clean: np.ndarray,
    clips: np.ndarray,
    probe: Probe,
) -> dict[str, Any]:
    """Whether a fold's augmented copies train its classifiers (``augment.use``).

    ``X``/``y``/``groups``/``clips``: the fold's training rows on the chosen layers, copies included;
    ``clean`` marks the clean rows. ``always``: they train. ``auto``: the probe is scored twice on
    the same inner folds (speaker-grouped, else clip-grouped: a held-out clip's copies never train)
    and the same held-out clean clips, trained with and without the copies; the copies train only
    when they raise that score by more than :data:`MIN_GAIN` (without them is the cheaper, plainer
    model).
    """
    clean = np.asarray(clean, dtype=bool)
    n_copies = int((~clean).sum())
    if mode not in ("auto", "always"):
        raise ValueError(f"augment.use: '{mode}' is unknown (auto|always)")
    if mode == "always" or n_copies == 0:
        return {"mode": mode, "use": n_copies > 0, "copy_rows": n_copies, "score_with": None, "score_without": None,
                "inner": None}
    splits = inner_cv(y, groups, probe.inner_folds, probe.seed, clean, clips, purpose="copies decision")
    without_copies = InnerSplits([(tr[clean[tr]], va) for tr, va in splits], splits.grouping, splits.reason)
    with_copies = probe.score(X, y, groups, splits)
    without = probe.score(X, y, groups, without_copies)
    return {"mode": mode, "use": bool(with_copies > without + MIN_GAIN), "copy_rows": n_copies,
            "score_with": with_copies, "score_without": without, "inner": splits.record()}


# --- the plan of one fold -------------------------------------------------------------------------


def make_plan(
    fold: str | int,
    paths: Mapping[str, Sequence[str | Path]],
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    features: Mapping[str, Any],
    augment_use: str,
    seed: int,
    member_plans: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
    threads: int = 1,
    encoder: str = "",
) -> dict[str, Any]:
    """The plan of one fold, from its training part only (``paths``: "clean", "aug1", ... -> shards;
    the copies are read on the chosen layers only; ``threads``: the logistic probe's inner splits
    run side by side on that many processes, which changes no number).

    ``plan["features"]`` is the fold's feature pipeline (:class:`speech_emotion.features.FeatureSpec`):
    what every classifier of the fold reads. A fusion encoder passes its members' plans of the same
    fold as (member, plan) pairs in the config's member order (``member_plans``): each member's
    chosen layers are kept, the members stay in that order, and the fused features get their own
    speaker-normalisation and copies decisions.
    """
    from .embeddings import load_variant

    fold_index = parse_fold(fold)
    probe = Probe.from_config(features, seed, threads)
    min_clips = int(features["speaker_norm_min_clips"])
    if member_plans:
        members = [(m, list(p["layers"])) for m, p in member_plans]
        layer_choice = {"method": "fusion", "layers": dict(members),
                        "members": {m: p["layer_choice"] for m, p in member_plans}, "inner": None}
    else:
        data = build_fold(fold_index, folds, manifest, load_variant(list(paths["clean"]), name="clean"))
        layer_choice = choose_layers(features["layers"], data.X_train, data.y_train, data.groups_train, probe)
        members = [(encoder, layer_choice["layers"])]
    spec = FeatureSpec.of(members, min_clips=min_clips)
    with_copies = load_fold(fold_index, paths, manifest, folds, spec)
    clean = with_copies.train_variants == "clean"
    X = with_copies.X_train
    # the penalty the layer probe chose for the chosen layers serves the two decisions on them
    probe = probe.with_alpha(layer_choice.get("alpha"))
    speaker_norm = choose_speaker_norm(features["speaker_norm"], X[clean], with_copies.y_train[clean],
                                       with_copies.groups_train[clean], probe, min_clips)
    spec = replace(spec, speaker_norm=bool(speaker_norm["use"]))
    if spec.speaker_norm:
        X = spec.fit_population(X[clean]).standardise(X, with_copies.groups_train, stats_rows=clean)[0]
    copies = choose_copies(augment_use, X, with_copies.y_train, with_copies.groups_train, clean,
                           with_copies.train_ids, probe)
    spec = replace(spec, copies=bool(copies["use"]))
    log_inner_grouping(f"fold {fold}", {"layer probe": layer_choice["inner"], "speaker normalisation decision":
                                        speaker_norm["inner"], "copies decision": copies["inner"]})
    return {
        "fold": str(fold),
        "n_train_clips": int(len(set(with_copies.train_ids))),
        "layers": layer_choice.pop("layers"),
        "layer_choice": layer_choice,
        "speaker_norm": speaker_norm,
        "copies": copies,
        "features": spec.to_json(),
    }


def probe_table(plans: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """layer_probe.tsv: fold, layer, score (balanced accuracy; empty unless probed), chosen (0/1)."""
    rows = []
    for plan in plans:
        choice = plan["layer_choice"]
        scores = choice.get("layer_scores") or [None] * choice["n_layers"]
        for layer in range(choice["n_layers"]):
            rows.append({"fold": str(plan["fold"]), "layer": layer, "score": scores[layer],
                         "chosen": int(layer in plan["layers"])})
    return pd.DataFrame(rows, columns=["fold", "layer", "score", "chosen"])
