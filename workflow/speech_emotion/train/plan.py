"""The per-fold plan: what every classifier of one (encoder, fold) uses, decided on its training part.

One job per (encoder, fold) (rule ``plan``) writes ``results/cv/{encoder}/plans/fold-{k}.json``:

- ``layers``: the encoder layers the classifiers read. ``features.layers: auto`` scores each layer
  with a class-balanced logistic-regression probe (balanced accuracy of its out-of-fold
  predictions pooled over inner folds of the clean training clips), then tries richer candidates
  in turn: the best run of up to ``probe_max_layers`` ADJACENT layers around the best layer, a
  learned weighting of all layers (:mod:`speech_emotion.train.weighting`) and all layers side by side;
  each replaces the choice so far only when it :func:`beats` it;
- ``speaker_norm``: whether features are standardised per speaker (``features.speaker_norm: auto``:
  the same probe on the chosen layers, with and without :mod:`speech_emotion.train.speaker_norm`, on the
  same inner splits of the clean training clips);
- ``balance`` (fusion encoders; None otherwise): whether each member's block of columns gets the
  same total variance in the classifiers (``features.balance_fusion: auto``: the same probe on the
  same inner splits, balanced and plain);
- ``copies``: whether the fold's augmented copies train (``augment.use: auto``: the same probe on
  the chosen layers, speaker-normalised when so decided, trained with and without the copies, scored
  on the same held-out clean clips).

``plan["features"]`` holds the outcome as the fold's feature pipeline
(:class:`speech_emotion.train.features.FeatureSpec`). Only the training part of the fold is ever read for a decision; the test fold is not opened.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .classifiers.base import align_proba
from .classifiers.inner import (InnerSplits, cross_val_proba, inner_cv, log_inner_grouping, out_of_fold,
                                pooled_balanced_accuracy)
from .classifiers.logreg import LogRegClassifier
from .features import FeatureSpec, Member, Shards, load_fold, plan_spec
from .layers import resolve_layers, select
from ..data.splits import build_fold, parse_fold

MIN_GAIN = 0.005
"""A richer choice (a wider layer window, a layer weighting, all layers, per-speaker standardisation,
training with the copies) must beat the plainer one by this much in pooled inner-CV balanced
accuracy ..."""

"""... and the gain must not rest on one inner fold: with the inner fold that favours the richer
choice most left out, the mean of the paired per-inner-fold differences of balanced accuracy must
still be above zero. Otherwise the plainer choice wins the tie."""

ALL_LAYERS_MAX_FEATURES = 16384
""""All layers" is a candidate of ``features.layers: auto`` up to this many features (layers x
width): the logistic probe on WavLM-Large's 25 x 2048 would cost a plan job many times its other
fits; the layer weighting (one layer's width) stands in for it there."""


@dataclass(frozen=True)
class Score:
    """A probe's score of one candidate: pooled out-of-fold balanced accuracy and the per-inner-fold ones."""

    pooled: float
    per_fold: tuple[float, ...]


def beats(new: Score, old: Score, robust: bool = True) -> bool:
    """Whether ``new`` beats the plainer ``old`` on the same inner splits: a pooled gain above
    :data:`MIN_GAIN` that (``robust``) survives leaving out the inner fold most in its favour.

    Only the copies decision uses the robust rule (docs/how-it-works.md#the-per-fold-plan): copies
    triple the training rows, so a tie should go to leaving them out. Layers and per-speaker
    standardisation keep the margin alone."""
    if new.pooled <= old.pooled + MIN_GAIN:
        return False
    if not robust:
        return True
    diff = np.sort(np.asarray(new.per_fold) - np.asarray(old.per_fold))
    if len(diff) < 3:
        return True
    return bool(diff[:-1].mean() > 1e-9)  # above zero beyond float rounding


@dataclass(frozen=True)
class Probe:
    """The linear probe behind every decision of a plan (``features.probe*``): a class-balanced
    logistic regression with a fixed ``C``, fitted iteratively (lbfgs, ``max_iter``) on each inner
    split, the inner splits side by side on ``n_jobs`` processes."""

    inner_folds: int = 5
    seed: int = 0
    C: float = 1.0
    max_iter: int = 500
    max_layers: int = 3
    n_jobs: int = 1

    @classmethod
    def from_config(cls, features: Mapping[str, Any], seed: int, n_jobs: int = 1) -> Probe:
        return cls(inner_folds=int(features["probe_inner_folds"]), seed=seed, C=float(features["probe_C"]),
                   max_iter=int(features["probe_max_iter"]), max_layers=int(features["probe_max_layers"]),
                   n_jobs=int(n_jobs))

    def best(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits, blocks: Sequence[int] | None = None) -> Score:
        """The probe's pooled out-of-fold balanced accuracy over ``splits`` and its per-split values
        (``blocks``: a balanced fusion's member widths, as its classifiers will get them)."""
        widths = None if blocks is None else tuple(blocks)
        probs = cross_val_proba(
            lambda: LogRegClassifier(C=self.C, max_iter=self.max_iter, seed=self.seed, block_widths=widths),
            X, y, None, splits, self.n_jobs)
        return score_of(probs, y, splits)

    def score(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, splits: InnerSplits,
              blocks: Sequence[int] | None = None) -> Score:
        """:meth:`best` (``groups`` unused: the splits carry the grouping)."""
        return self.best(X, y, splits, blocks)

    def weighted(self, embeddings: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score:
        """The score of a learned layer weighting (:mod:`speech_emotion.train.weighting`): on each inner
        split the weights are learned on its training rows only, then the probe is scored on the
        weighted features, as every other candidate."""
        from .weighting import learn_layer_weights, weighted_sum

        def one(k: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
            weights = learn_layer_weights(embeddings[tr], y[tr], C=self.C)
            X = weighted_sum(embeddings, weights)
            model = LogRegClassifier(C=self.C, max_iter=self.max_iter, seed=self.seed).fit(X[tr], y[tr])
            return align_proba(model, model.predict_proba(X[va]), np.unique(y))

        probs = out_of_fold(one, splits, len(y), len(np.unique(y)), self.n_jobs)
        return score_of(probs, y, splits)


def score_of(probs: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score:
    """A :class:`Score` from out-of-fold probabilities (columns: the sorted classes of ``y``)."""
    from sklearn.metrics import balanced_accuracy_score

    classes = np.unique(y)
    per_fold = []
    for _, va in splits:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
            per_fold.append(float(balanced_accuracy_score(y[va], classes[np.argmax(probs[va], axis=1)])))
    return Score(pooled_balanced_accuracy(probs, y), tuple(per_fold))


# --- layers ---------------------------------------------------------------------------------------


def probe_layers(embeddings: np.ndarray, y: np.ndarray, groups: np.ndarray | None, probe: Probe) -> dict[str, Any]:
    """Score every layer, then richer candidates, each kept only when it :func:`beats` the choice so
    far: windows of up to ``probe.max_layers`` ADJACENT layers around the best layer, a learned
    weighting of all layers, and all layers side by side (up to :data:`ALL_LAYERS_MAX_FEATURES`).

    Result: ``{"layers": [...], "weights": [...] or None, "score": s, "layer_scores": [per layer],
    "windows": [{layers, score}], "candidates": [{name, layers, score, chosen}], "inner": how the
    inner splits were grouped}``.
    """
    embeddings = np.asarray(embeddings)
    n_layers, width = embeddings.shape[1], embeddings.shape[2]
    y = np.asarray(y)
    if n_layers == 1:
        return {"layers": [0], "weights": None, "score": None, "layer_scores": [None], "windows": [],
                "candidates": [], "inner": None}
    splits = inner_cv(y, groups, probe.inner_folds, probe.seed, purpose="layer probe")
    scores: dict[tuple[int, ...], Score] = {}

    def score(layers: Sequence[int]) -> Score:
        key = tuple(layers)
        if key not in scores:
            scores[key] = probe.best(select(embeddings, layers), y, splits)
        return scores[key]

    layer_scores = [score([i]).pooled for i in range(n_layers)]
    best = int(np.argmax(layer_scores))
    chosen = {"name": "layer", "layers": [best], "weights": None, "score": score([best])}
    windows = [{"layers": [best], "score": layer_scores[best]}]
    candidates = [{"name": "layer", "layers": [best], "score": layer_scores[best]}]
    for width_ in range(2, min(probe.max_layers, n_layers) + 1):
        best_of_width = None
        for start in range(max(0, best - width_ + 1), min(best, n_layers - width_) + 1):
            layers = list(range(start, start + width_))
            windows.append({"layers": layers, "score": score(layers).pooled})
            if best_of_width is None or score(layers).pooled > score(best_of_width).pooled:
                best_of_width = layers
        if best_of_width is not None:
            candidates.append({"name": "window", "layers": best_of_width, "score": score(best_of_width).pooled})
            if beats(score(best_of_width), chosen["score"], robust=False):
                chosen = {"name": "window", "layers": best_of_width, "weights": None, "score": score(best_of_width)}
    everything = list(range(n_layers))
    weighted = probe.weighted(embeddings, y, splits)
    candidates.append({"name": "weighted", "layers": everything, "score": weighted.pooled})
    if beats(weighted, chosen["score"], robust=False):
        from .weighting import learn_layer_weights

        weights = [float(w) for w in learn_layer_weights(embeddings, y, C=probe.C)]
        chosen = {"name": "weighted", "layers": everything, "weights": weights, "score": weighted}
    if n_layers * width <= ALL_LAYERS_MAX_FEATURES:
        candidates.append({"name": "all", "layers": everything, "score": score(everything).pooled})
        if beats(score(everything), chosen["score"], robust=False):
            chosen = {"name": "all", "layers": everything, "weights": None, "score": score(everything)}
    for entry in candidates:
        entry["chosen"] = entry["name"] == chosen["name"] and entry["layers"] == chosen["layers"]
    return {
        "layers": chosen["layers"],
        "weights": chosen["weights"],
        "candidate": chosen["name"],
        "score": chosen["score"].pooled,
        "score_per_fold": list(chosen["score"].per_fold),
        "layer_scores": layer_scores,
        "windows": windows,
        "candidates": candidates,
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
        result["probe"] = "logreg"
    elif spec == "weighted" and n_layers > 1:
        from .weighting import learn_layer_weights

        weights = [float(w) for w in learn_layer_weights(np.asarray(embeddings), np.asarray(y), C=probe.C)]
        result = {"layers": list(range(n_layers)), "weights": weights, "candidate": "weighted", "score": None,
                  "layer_scores": [], "windows": [], "candidates": [], "inner": None, "method": "config"}
    else:
        result = {"layers": [0] if spec == "weighted" else resolve_layers(spec, n_layers), "weights": None,
                  "score": None, "layer_scores": [],
                  "windows": [], "candidates": [], "inner": None, "method": "config"}
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
    standardisation; it is used only when it :func:`beats` the score without.
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
    return result | {"use": beats(with_norm, without, robust=False), **_scores(with_norm, without), "inner": splits.record(),
                     "population_speakers": fallback}


def _scores(with_: Score, without: Score) -> dict[str, Any]:
    """A decision's record: pooled scores with and without, and the per-inner-fold ones."""
    return {"score_with": with_.pooled, "score_without": without.pooled,
            "per_fold_with": list(with_.per_fold), "per_fold_without": list(without.per_fold)}


# --- fusion balance -------------------------------------------------------------------------------


def choose_balance(
    mode: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, widths: Sequence[int], probe: Probe,
) -> dict[str, Any]:
    """Whether a fusion's member blocks get the same total variance in its classifiers
    (``features.balance_fusion``; :func:`speech_emotion.train.classifiers.base.block_scale`).

    ``X``/``y``/``groups``: the fold's clean training rows as the classifiers will see them (members
    side by side, standardised per speaker when so decided); ``widths``: each member's columns.
    ``on``/``off``: as said. ``auto``: the probe is scored on the same inner splits balanced and
    plain; balanced only when it :func:`beats` plain (the margin, as for the layers).
    """
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"features.balance_fusion: '{mode}' is unknown (auto|on|off)")
    result: dict[str, Any] = {"mode": mode, "widths": [int(w) for w in widths], "score_with": None,
                              "score_without": None, "inner": None}
    if mode != "auto":
        return result | {"use": mode == "on"}
    splits = inner_cv(y, groups, probe.inner_folds, probe.seed, purpose="fusion balance decision")
    balanced = probe.score(X, y, groups, splits, blocks=widths)
    plain = probe.score(X, y, groups, splits)
    return result | {"use": beats(balanced, plain, robust=False), **_scores(balanced, plain), "inner": splits.record()}


# --- augmented copies -----------------------------------------------------------------------------


def choose_copies(
    mode: str,
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    clean: np.ndarray,
    clips: np.ndarray,
    probe: Probe,
    blocks: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Whether a fold's augmented copies train its classifiers (``augment.use``).

    ``X``/``y``/``groups``/``clips``: the fold's training rows on the chosen layers, copies included;
    ``clean`` marks the clean rows. ``always``: they train. ``auto``: the probe is scored twice on
    the same inner folds (speaker-grouped, else clip-grouped: a held-out clip's copies never train)
    and the same held-out clean clips, trained with and without the copies; the copies train only
    when training with them :func:`beats` training without (the cheaper, plainer model).
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
    with_copies = probe.score(X, y, groups, splits, blocks)
    without = probe.score(X, y, groups, without_copies, blocks)
    return {"mode": mode, "use": beats(with_copies, without), "copy_rows": n_copies,
            **_scores(with_copies, without), "inner": splits.record()}


# --- the plan of one fold -------------------------------------------------------------------------


def make_plan(
    fold: str | int,
    shards: Shards,
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    features: Mapping[str, Any],
    augment_use: str,
    seed: int,
    member_plans: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """The plan of one fold, from its training part only (``shards``: variant -> encoder -> shard
    files, :data:`~speech_emotion.train.features.Shards`; the copies are read on the chosen layers only; ``threads``: the logistic probe's inner splits
    run side by side on that many processes, which changes no number).

    ``plan["features"]`` is the fold's feature pipeline (:class:`speech_emotion.train.features.FeatureSpec`):
    what every classifier of the fold reads. A fusion encoder passes its members' plans of the same
    fold as (member, plan) pairs in the config's member order (``member_plans``): each member's
    chosen layers are kept, the members stay in that order, and the fused features get their own
    speaker-normalisation and copies decisions.
    """
    from ..embed.embeddings import load_variant

    fold_index = parse_fold(fold)
    probe = Probe.from_config(features, seed, threads)
    min_clips = int(features["speaker_norm_min_clips"])
    if member_plans:
        # each member as its own plan chose it (layers, weights), under the fusion's member name
        members = [replace(plan_spec(p).members[0], encoder=m) for m, p in member_plans]
        layer_choice = {"method": "fusion", "layers": {m.encoder: list(m.layers) for m in members},
                        "members": {m: p["layer_choice"] for m, p in member_plans}, "inner": None}
    else:
        if len(shards["clean"]) != 1:
            raise ValueError(f"an encoder that is no fusion has the shards of one encoder, not {sorted(shards['clean'])}")
        encoder, clean_shards = next(iter(shards["clean"].items()))
        data = build_fold(fold_index, folds, manifest, load_variant(list(clean_shards), name="clean"))
        layer_choice = choose_layers(features["layers"], data.X_train, data.y_train, data.groups_train, probe)
        weights = layer_choice.pop("weights", None)
        members = [Member(encoder, tuple(layer_choice["layers"]), None if weights is None else tuple(weights))]
    spec = FeatureSpec.of(members, min_clips=min_clips)
    with_copies = load_fold(fold_index, shards, manifest, folds, spec)
    clean = with_copies.train_variants == "clean"
    X = with_copies.X_train
    speaker_norm = choose_speaker_norm(features["speaker_norm"], X[clean], with_copies.y_train[clean],
                                       with_copies.groups_train[clean], probe, min_clips)
    spec = replace(spec, speaker_norm=bool(speaker_norm["use"]))
    if spec.speaker_norm:
        X = spec.fit_population(X[clean]).standardise(X, with_copies.groups_train, stats_rows=clean)[0]
    balance = None
    if len(spec.members) > 1:
        balance = choose_balance(features["balance_fusion"], X[clean], with_copies.y_train[clean],
                                 with_copies.groups_train[clean], spec.widths(shards["clean"]), probe)
        spec = replace(spec, blocks=tuple(balance["widths"]) if balance["use"] else None)
    copies = choose_copies(augment_use, X, with_copies.y_train, with_copies.groups_train, clean,
                           with_copies.train_ids, probe, spec.blocks)
    spec = replace(spec, copies=bool(copies["use"]))
    log_inner_grouping(f"fold {fold}", {"layer probe": layer_choice["inner"], "speaker normalisation decision":
                                        speaker_norm["inner"], "fusion balance decision": (balance or {}).get("inner"),
                                        "copies decision": copies["inner"]})
    return {
        "fold": str(fold),
        "n_train_clips": int(len(set(with_copies.train_ids))),
        "layers": layer_choice.pop("layers"),
        "layer_choice": layer_choice,
        "speaker_norm": speaker_norm,
        "balance": balance,
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
