"""The per-fold plan: what every classifier of one (encoder, fold) uses, decided on its training part.

One job per (encoder, fold) (rule ``plan``) writes ``results/cv/{encoder}/plans/fold-{k}.json``, a
:class:`Plan`: the fold's feature pipeline (:class:`speech_emotion.train.features.FeatureSpec`), the
only home of what was decided, and beside it the evidence of each decision. One decision step
(:func:`make_plan`) scores every candidate with one probe (:class:`Probe`) on one shared set of inner
splits of the clean training clips (:class:`Candidates`), each candidate once:

- layers (``features.layers: auto``): each layer (with more layers than ``features.probe_finalists``,
  a closed-form ridge screen (:func:`ridge_screen`) scores every layer and the probe only the screen's
  best), then richer candidates, each replacing the choice so far only when it :func:`beats` it: the best run of up to ``probe_max_layers`` ADJACENT layers around
  the best layer, a learned weighting of all layers (:mod:`speech_emotion.train.weighting`) and all
  layers side by side;
- per-speaker standardisation (``features.speaker_norm: auto``): the chosen layers with and without
  :mod:`speech_emotion.train.speaker_norm`, standardised once;
- fusion balance (``features.balance_fusion: auto``, fusion encoders): each member's block of columns
  with the same total variance in the classifiers, or plain;
- copies (``augment.use: auto``): the probe as decided so far, trained with and without the fold's
  augmented copies (the same splits, a held-out clip's copies never train), scored on the same
  held-out clean clips.

Only the training part of the fold is ever read for a decision; the test fold is not opened.

The probe is pluggable (:class:`PlanProbe`): the classification plans' is the logistic :class:`Probe`
scored by balanced accuracy; the regression plans (:mod:`speech_emotion.regress.plan`) pass a ridge
probe scored by the concordance correlation and the clips' values of a continuous target
(``make_plan(..., probe=, values=)``), with the same candidates, decisions and margin.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from .classifiers.base import align_proba
from .classifiers.inner import (InnerSplits, cross_val_proba, inner_cv, log_inner_grouping, out_of_fold,
                                pooled_balanced_accuracy)
from .classifiers.logreg import LogRegClassifier
from .features import POPULATION, FeatureSpec, Member, Shards, load_fold
from .fold_plan import Plan
from .layers import resolve_layers, select
from ..data.splits import build_fold, parse_fold

MIN_GAIN = 0.005
"""A richer choice (a wider layer window, a layer weighting, all layers, per-speaker standardisation,
training with the copies) must beat the plainer one by this much in pooled inner-CV balanced
accuracy ..."""

"""... and the gain must not rest on one inner fold: with the inner fold that favours the richer
choice most left out, the mean of the paired per-inner-fold differences of balanced accuracy must
still be above zero. Otherwise the plainer choice wins the tie."""

SCREEN_ALPHA = 1.0
"""The ridge screen's penalty (:func:`ridge_screen`) on standardised features, relative to the inner
training part's total class weight (its number of rows): a strong penalty, chosen by reasoning and
checked on inner CV only. The screen only has to rank layers, and a strongly penalised least-squares
classifier ranks them with the least variance; on URDU (whisper-tiny.en, the 6 plans) it was the
penalty, among 0.001 to 1, whose ranking agreed best with the logistic probe's (mean Spearman 0.92;
``benchmarks/layer_screen.py``), and at CREMA-D's shape (``benchmarks/scale.py``, fold 0) every penalty
in that range put the logistic probe's best layer first (docs/benchmarks.md#the-layer-screen)."""

ALL_LAYERS_MAX_FEATURES = 16384
""""All layers" is a candidate of ``features.layers: auto`` up to this many features (layers x
width): the logistic probe on WavLM-Large's 25 x 2048 would cost a plan job many times its other
fits; the layer weighting (one layer's width) stands in for it there."""

@dataclass(frozen=True)
class Score:
    """A probe's score of one candidate: its pooled out-of-fold metric (balanced accuracy for the
    classification probe, CCC for the regression one) and the per-inner-fold ones."""

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


class PlanProbe(Protocol):
    """What :func:`make_plan` needs of a probe: its name (the evidence's ``probe``), settings, inner
    splits of the scored rows, the score of a candidate's rows and of a learned layer weighting, and
    the weights themselves (``features.layers: weighted``)."""

    name: ClassVar[str]
    inner_folds: int
    seed: int
    max_layers: int

    def inner_splits(self, y: np.ndarray, groups: np.ndarray | None, clips: np.ndarray) -> InnerSplits: ...

    def score(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits, blocks: Sequence[int] | None = None) -> Score: ...

    def weighted(self, embeddings: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score: ...

    def layer_weights(self, embeddings: np.ndarray, y: np.ndarray) -> tuple[float, ...]: ...

    def finalists_of(self, n_layers: int) -> int:
        """How many layers, the best by :meth:`screen`, the probe itself scores (``n_layers``: every
        layer, no screen)."""
        ...

    def screen(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score: ...


@dataclass(frozen=True)
class Probe:
    """The linear probe behind every decision of a plan (``features.probe*``): a class-balanced
    logistic regression with a fixed ``C``, fitted iteratively (lbfgs, ``max_iter``) on each inner
    split, the inner splits side by side on ``n_jobs`` processes.

    ``finalists`` (``features.probe_finalists``): of an encoder's layers, only the best ``finalists``
    by a closed-form ridge screen (:func:`ridge_screen`, on the same inner splits) are scored by the
    logistic probe; ``None``: every layer is."""

    inner_folds: int = 5
    seed: int = 0
    C: float = 1.0
    max_iter: int = 500
    max_layers: int = 3
    n_jobs: int = 1
    finalists: int | None = None
    name: ClassVar[str] = "logreg"

    @classmethod
    def from_config(cls, features: Mapping[str, Any], seed: int, n_jobs: int = 1) -> Probe:
        finalists = features["probe_finalists"]
        return cls(inner_folds=int(features["probe_inner_folds"]), seed=seed, C=float(features["probe_C"]),
                   max_iter=int(features["probe_max_iter"]), max_layers=int(features["probe_max_layers"]),
                   n_jobs=int(n_jobs), finalists=None if finalists == "all" else int(finalists))

    def finalists_of(self, n_layers: int) -> int:
        return n_layers if self.finalists is None else min(int(self.finalists), n_layers)

    def screen(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score:
        """The ridge screen's pooled out-of-fold balanced accuracy over ``splits`` (:func:`ridge_screen`)."""
        return score_of(ridge_screen(X, y, splits, n_jobs=self.n_jobs), y, splits)

    def model(self, blocks: Sequence[int] | None = None) -> LogRegClassifier:
        """A fresh probe (``blocks``: a balanced fusion's member widths, as its classifiers will get them)."""
        return LogRegClassifier(C=self.C, max_iter=self.max_iter, seed=self.seed,
                                block_widths=None if blocks is None else tuple(blocks))

    def inner_splits(self, y: np.ndarray, groups: np.ndarray | None, clips: np.ndarray) -> InnerSplits:
        """Speaker-grouped stratified splits (:func:`speech_emotion.train.classifiers.inner.inner_cv`)."""
        return inner_cv(y, groups, self.inner_folds, self.seed, clips=clips, purpose="plan")

    def layer_weights(self, embeddings: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
        """The layer weights learned on all the rows given (:func:`speech_emotion.train.weighting.learn_layer_weights`)."""
        from .weighting import learn_layer_weights

        return tuple(float(w) for w in learn_layer_weights(embeddings, y, C=self.C))

    def score(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits, blocks: Sequence[int] | None = None) -> Score:
        """The probe's pooled out-of-fold balanced accuracy over ``splits`` and its per-split values."""
        probs = cross_val_proba(lambda: self.model(blocks), X, y, None, splits, self.n_jobs)
        return score_of(probs, y, splits)

    def weighted(self, embeddings: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score:
        """The score of a learned layer weighting (:mod:`speech_emotion.train.weighting`): on each inner
        split the weights are learned on its training rows only, then the probe is scored on the
        weighted features, as every other candidate."""
        from .weighting import learn_layer_weights, weighted_sum

        def one(k: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
            weights = learn_layer_weights(embeddings, y, C=self.C, rows=tr)
            X = weighted_sum(embeddings, weights)
            model = self.model().fit(X[tr], y[tr])
            return align_proba(model, model.predict_proba(X[va]), np.unique(y))

        probs = out_of_fold(one, splits, len(y), len(np.unique(y)), self.n_jobs)
        return score_of(probs, y, splits)


def ridge_screen(X: np.ndarray, y: np.ndarray, splits: InnerSplits, alpha: float = SCREEN_ALPHA,
                 n_jobs: int = 1) -> np.ndarray:
    """Out-of-fold decision values (columns: the sorted classes of ``y``; NaN for rows never held out)
    of a class-balanced least-squares classifier in closed form: on each inner training part the
    features are standardised on its rows, each class is a +1/-1 target, each row weighs as in the
    logistic probe (``class_weight="balanced"``), and the ridge solution of penalty ``alpha`` times the
    part's rows is one linear solve. The plans' layer screen: one solve where the logistic probe runs
    hundreds of L-BFGS steps, on one BLAS thread per split (the same numbers on any core count), the
    splits side by side on ``n_jobs`` processes."""
    X, y = np.asarray(X), np.asarray(y)
    classes = np.unique(y)
    targets = np.where(y[:, None] == classes[None, :], 1.0, -1.0)

    def one(_: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
        from scipy.linalg import solve

        from ..devices import single_blas_thread

        with single_blas_thread():
            part = X[tr].astype(np.float32)
            scale = part.std(axis=0, dtype=np.float64)
            scale[scale == 0] = 1.0
            counts = {c: int(n) for c, n in zip(*np.unique(y[tr], return_counts=True))}
            weight = np.array([len(tr) / (len(counts) * counts[c]) for c in y[tr]])
            # scaled by the part's std, centred on its class-weighted mean; float32, as the product
            # below is most of the cost (the penalty keeps the solve well conditioned)
            centre, offset = weight @ part / weight.sum(), weight @ targets[tr] / weight.sum()
            part -= centre.astype(np.float32)
            part /= scale.astype(np.float32)
            weighted = part * weight[:, None].astype(np.float32)
            gram = (weighted.T @ part).astype(np.float64)
            gram[np.diag_indices_from(gram)] += alpha * weight.sum()
            coef = solve(gram, (weighted.T @ (targets[tr] - offset).astype(np.float32)).astype(np.float64),
                         assume_a="pos")
            return ((X[va] - centre) / scale) @ coef + offset

    return out_of_fold(one, splits, len(y), len(classes), n_jobs)


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


@dataclass
class Candidates:
    """The probe on one shared set of inner splits of a fold's clean training rows (``y``, ``groups``:
    speakers, ``clips``: clip ids), each candidate scored once (by its ``key``).

    The splits are speaker-grouped, else clip-grouped (:func:`speech_emotion.train.classifiers.inner.inner_cv`);
    rows with augmented copies use the same splits (:meth:`with_copies`): a copy trains where its clip
    trains and is never held out."""

    probe: PlanProbe
    y: np.ndarray
    groups: np.ndarray | None
    clips: np.ndarray
    splits: InnerSplits = field(init=False)
    scores: dict[Any, Score] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.y, self.clips = np.asarray(self.y), np.asarray(self.clips)
        self.splits = self.probe.inner_splits(self.y, self.groups, self.clips)

    def score(self, key: Any, X: np.ndarray, blocks: Sequence[int] | None = None) -> Score:
        """The probe's score of clean rows ``X`` (computed once per ``key``)."""
        if key not in self.scores:
            self.scores[key] = self.probe.score(X, self.y, self.splits, blocks)
        return self.scores[key]

    def screen(self, key: Any, X: np.ndarray) -> Score:
        """The probe's screen of clean rows ``X`` (computed once per ``key``)."""
        key = ("screen", key)
        if key not in self.scores:
            self.scores[key] = self.probe.screen(X, self.y, self.splits)
        return self.scores[key]

    def weighted(self, key: Any, embeddings: np.ndarray) -> Score:
        """The score of a learned layer weighting of (rows, layers, dim) ``embeddings`` (once per ``key``)."""
        if key not in self.scores:
            self.scores[key] = self.probe.weighted(embeddings, self.y, self.splits)
        return self.scores[key]

    def with_copies(self, train_ids: np.ndarray, clean: np.ndarray) -> tuple[InnerSplits, InnerSplits, np.ndarray]:
        """The shared splits on rows with copies (``train_ids``: each row's clip, ``clean``: its clean
        rows, one per clip of :attr:`clips`): (with the copies training, clean rows only, each
        row's position among the clean rows)."""
        train_ids, clean = np.asarray(train_ids).astype(str), np.asarray(clean, dtype=bool)
        position = {clip: i for i, clip in enumerate(self.clips.astype(str))}
        clean_row = np.array([position[c] for c in train_ids])  # each row -> its clip's clean row
        at = np.empty(len(self.clips), dtype=int)
        at[clean_row[clean]] = np.flatnonzero(clean)  # clean row -> its place among all rows
        with_, without = [], []
        for tr, va in self.splits:
            trains = np.zeros(len(self.clips), dtype=bool)
            trains[tr] = True
            rows = np.flatnonzero(trains[clean_row])
            held = np.sort(at[va])
            with_.append((rows, held))
            without.append((rows[clean[rows]], held))
        return (InnerSplits(with_, self.splits.grouping, self.splits.reason),
                InnerSplits(without, self.splits.grouping, self.splits.reason), clean_row)


def _scores(with_: Score, without: Score) -> dict[str, Any]:
    """A decision's evidence: pooled scores with and without, and the per-inner-fold ones."""
    return {"score_with": with_.pooled, "score_without": without.pooled,
            "per_fold_with": list(with_.per_fold), "per_fold_without": list(without.per_fold)}


def _check_mode(key: str, mode: str, allowed: Sequence[str]) -> None:
    if mode not in allowed:
        raise ValueError(f"{key}: '{mode}' is unknown ({'|'.join(allowed)})")


# --- the decisions ------------------------------------------------------------------------------------


def choose_layers(spec: str | Sequence[int], embeddings: np.ndarray, y: np.ndarray, candidates: Candidates | None,
                  probe: PlanProbe) -> tuple[Member, Score | None, dict[str, Any]]:
    """The layer choice of one encoder (``embeddings``/``y``: its clean training rows, all layers):
    (the member as chosen, named ``""``; the chosen candidate's score on plain features, or None;
    the evidence). ``auto`` scores the candidates with ``candidates`` (:func:`probe_layers`)."""
    embeddings = np.asarray(embeddings)
    n_layers = embeddings.shape[1]
    evidence: dict[str, Any] = {"method": "probe" if spec == "auto" else "config", "score": None,
                                "layer_scores": [], "windows": [], "candidates": []}
    score = None
    if spec == "auto" and n_layers > 1:
        if candidates is None:
            raise ValueError("features.layers: auto needs the probe's inner splits")
        member, score, found = probe_layers(embeddings, candidates, probe)
        evidence |= found | {"probe": probe.name}
    elif spec == "weighted" and n_layers > 1:
        member = Member("", tuple(range(n_layers)), probe.layer_weights(embeddings, y))
    else:
        member = Member("", tuple([0] if spec in ("weighted", "auto") else resolve_layers(spec, n_layers)))
        if spec == "auto":
            evidence |= {"layer_scores": [None], "probe": probe.name}
    return member, score, evidence | {"spec": spec if isinstance(spec, str) else list(spec), "n_layers": int(n_layers)}


def probe_layers(embeddings: np.ndarray, candidates: Candidates, probe: PlanProbe) -> tuple[Member, Score, dict[str, Any]]:
    """Score every layer, then richer candidates, each kept only when it :func:`beats` the choice so
    far: windows of up to ``probe.max_layers`` ADJACENT layers around the best layer, a learned
    weighting of all layers, and all layers side by side (up to :data:`ALL_LAYERS_MAX_FEATURES`).

    With more layers than the probe's finalists (:meth:`PlanProbe.finalists_of`), every layer is first
    screened (:meth:`PlanProbe.screen`) and the probe scores the best ones only; the best layer is the
    finalist the probe scores highest.

    Returns the chosen member (named ``""``), its score and the evidence: ``{"score", "score_per_fold",
    "layer_scores": [per layer: the screen's, else the probe's], "screen": None or {"method", "alpha",
    "finalists": [{layer, score}]}, "windows": [{layers, score}], "candidates": [{name, layers, score}]}``."""
    n_layers, width = embeddings.shape[1], embeddings.shape[2]

    def score(layers: Sequence[int]) -> Score:
        return candidates.score(("layers", tuple(layers)), select(embeddings, layers))

    n_finalists = probe.finalists_of(n_layers)
    screen = None
    if n_finalists < n_layers:
        screen = [candidates.screen(i, select(embeddings, [i])).pooled for i in range(n_layers)]
        finalists = sorted(np.argsort(-np.asarray(screen), kind="stable")[:n_finalists].tolist())
    else:
        finalists = list(range(n_layers))
    probed = {i: score([i]).pooled for i in finalists}
    best = max(finalists, key=lambda i: (probed[i], -i))  # ties: the lower layer, as np.argmax
    layer_scores = screen if screen is not None else [probed[i] for i in range(n_layers)]
    chosen = ("layer", [best], score([best]))
    windows = [{"layers": [best], "score": probed[best]}]
    tried = [{"name": "layer", "layers": [best], "score": probed[best]}]
    for width_ in range(2, min(probe.max_layers, n_layers) + 1):
        best_of_width = None
        for start in range(max(0, best - width_ + 1), min(best, n_layers - width_) + 1):
            layers = list(range(start, start + width_))
            windows.append({"layers": layers, "score": score(layers).pooled})
            if best_of_width is None or score(layers).pooled > score(best_of_width).pooled:
                best_of_width = layers
        if best_of_width is not None:
            tried.append({"name": "window", "layers": best_of_width, "score": score(best_of_width).pooled})
            if beats(score(best_of_width), chosen[2], robust=False):
                chosen = ("window", best_of_width, score(best_of_width))
    everything = list(range(n_layers))
    weighted = candidates.weighted(("weighted", n_layers), embeddings)
    tried.append({"name": "weighted", "layers": everything, "score": weighted.pooled})
    if beats(weighted, chosen[2], robust=False):
        chosen = ("weighted", everything, weighted)
    if n_layers * width <= ALL_LAYERS_MAX_FEATURES:
        tried.append({"name": "all", "layers": everything, "score": score(everything).pooled})
        if beats(score(everything), chosen[2], robust=False):
            chosen = ("all", everything, score(everything))
    name, layers, best_score = chosen
    weights = probe.layer_weights(embeddings, candidates.y) if name == "weighted" else None
    screened = None if screen is None else {"method": "ridge", "alpha": SCREEN_ALPHA,
                                            "finalists": [{"layer": i, "score": probed[i]} for i in finalists]}
    evidence = {"score": best_score.pooled, "score_per_fold": list(best_score.per_fold), "layer_scores": layer_scores,
                "screen": screened,
                "windows": windows, "candidates": tried}
    return Member("", tuple(layers), weights), best_score, evidence


def choose_speaker_norm(mode: str, X: np.ndarray, standardised: np.ndarray, candidates: Candidates,
                        without: Score | None = None) -> tuple[bool, Score | None, dict[str, Any]]:
    """Whether a fold's features are standardised per speaker (``features.speaker_norm``):
    (the decision, the score of the winner or None, the evidence).

    ``X``/``standardised``: the clean training rows on the chosen layers, plain and standardised per
    speaker (a held-out speaker of the speaker-grouped splits is standardised with its own clips only,
    as a test speaker will be); ``without``: the plain rows' score when already known. ``auto``: on
    only when the standardised rows' score :func:`beats` the plain one."""
    _check_mode("features.speaker_norm", mode, ("auto", "on", "off"))
    evidence: dict[str, Any] = {"mode": mode, "score_with": None, "score_without": None}
    if mode != "auto":
        return mode == "on", None if mode == "on" else without, evidence
    with_norm = candidates.score(("speaker_norm", True), standardised)
    without = without or candidates.score(("speaker_norm", False), X)
    use = beats(with_norm, without, robust=False)
    return use, with_norm if use else without, evidence | _scores(with_norm, without)


def choose_balance(mode: str, X: np.ndarray, widths: Sequence[int], candidates: Candidates,
                   plain: Score | None = None) -> tuple[bool, Score | None, dict[str, Any]]:
    """Whether a fusion's member blocks get the same total variance in its classifiers
    (``features.balance_fusion``; :func:`speech_emotion.train.classifiers.base.block_scale`):
    (the decision, the winner's score or None, the evidence).

    ``X``: the clean training rows as the classifiers will see them (members side by side,
    standardised per speaker when so decided); ``widths``: each member's columns; ``plain``: the plain
    rows' score when already known. ``auto``: balanced only when it :func:`beats` plain (the margin)."""
    _check_mode("features.balance_fusion", mode, ("auto", "on", "off"))
    evidence: dict[str, Any] = {"mode": mode, "widths": [int(w) for w in widths], "score_with": None,
                                "score_without": None}
    if mode != "auto":
        return mode == "on", None if mode == "on" else plain, evidence
    balanced = candidates.score(("balance", True), X, blocks=widths)
    plain = plain or candidates.score(("balance", False), X)
    use = beats(balanced, plain, robust=False)
    return use, balanced if use else plain, evidence | _scores(balanced, plain)


def choose_copies(mode: str, X: np.ndarray, y: np.ndarray, train_ids: np.ndarray, clean: np.ndarray,
                  candidates: Candidates, blocks: Sequence[int] | None = None,
                  without: Score | None = None) -> tuple[bool, dict[str, Any]]:
    """Whether a fold's augmented copies train its classifiers (``augment.use``; ``never``: the regression
    plans', whose regressors train on clean clips only): (the decision, the evidence).

    ``X``/``y``/``train_ids``: the fold's training rows as decided so far, copies included; ``clean``
    marks the clean rows (those ``candidates`` were built on); ``without``: the clean rows' score when
    already known. ``always``: they train. ``auto``: the probe on the same splits and the same
    held-out clean clips, trained with and without the copies; the copies train only when training
    with them :func:`beats` training without (the cheaper, plainer model)."""
    _check_mode("augment.use", mode, ("auto", "always", "never"))
    clean = np.asarray(clean, dtype=bool)
    n_copies = int((~clean).sum())
    evidence: dict[str, Any] = {"mode": mode, "copy_rows": n_copies, "score_with": None, "score_without": None}
    if mode != "auto" or n_copies == 0:
        return mode != "never" and n_copies > 0, evidence
    splits, clean_splits, _ = candidates.with_copies(train_ids, clean)
    y = np.asarray(y)
    with_copies = candidates.probe.score(X, y, splits, blocks)
    if without is None:
        without = candidates.probe.score(X, y, clean_splits, blocks)
    return beats(with_copies, without), evidence | _scores(with_copies, without)


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
    probe: PlanProbe | None = None,
    values: pd.Series | None = None,
) -> Plan:
    """The plan of one fold, from its training part only (``shards``: variant -> encoder -> shard
    files, :data:`~speech_emotion.train.features.Shards`; the copies are read on the chosen layers only; ``threads``: the logistic probe's inner splits
    run side by side on that many processes, which changes no number).

    A fusion encoder passes its members' plans of the same fold as (member, plan JSON) pairs in the
    config's member order (``member_plans``): each member's chosen layers are kept, the members stay
    in that order, and the fused features get their own speaker-normalisation, balance and copies
    decisions.

    ``probe``: the probe of every decision (default: the logistic :class:`Probe` of ``features.probe*``);
    ``values``: clip_id -> a continuous target the probe learns in place of the labels (the regression
    plans): only the training clips with a value are scored, every clean training clip still counts
    for its speaker's standardisation statistics, and no copy is read (``augment_use: never``)."""
    from ..embed.embeddings import load_variant

    fold_index = parse_fold(fold)
    probe = probe or Probe.from_config(features, seed, threads)
    if values is not None:
        shards = {"clean": shards["clean"]}
    min_clips = int(features["speaker_norm_min_clips"])
    evidence: dict[str, Any] = {}
    candidates = None
    known: Score | None = None  # the score of the features as decided so far, when the probe already has it
    if member_plans:
        plans = [(m, Plan.from_json(p)) for m, p in member_plans]
        # each member as its own plan chose it (layers, weights), under the fusion's member name
        members = [replace(p.features.members[0], encoder=m) for m, p in plans]
        evidence["layers"] = {"method": "fusion", "members": {m: p.evidence["layers"] for m, p in plans}}
    else:
        if len(shards["clean"]) != 1:
            raise ValueError(f"an encoder that is no fusion has the shards of one encoder, not {sorted(shards['clean'])}")
        encoder, clean_shards = next(iter(shards["clean"].items()))
        data = build_fold(fold_index, folds, manifest, load_variant(list(clean_shards), name="clean"))
        y, scored = _learned(data.train_ids, data.y_train, values)
        if not scored.all():
            data = replace(data, X_train=data.X_train[scored], groups_train=data.groups_train[scored],
                           train_ids=data.train_ids[scored])
        if features["layers"] == "auto" and data.X_train.shape[1] > 1:
            candidates = Candidates(probe, y[scored], data.groups_train, data.train_ids)
        member, known, evidence["layers"] = choose_layers(features["layers"], data.X_train, y[scored], candidates,
                                                          probe)
        if member.weights is not None:
            known = None  # the weights learned on every training row are not those of the inner splits
        members = [replace(member, encoder=encoder)]
        del data
    spec = FeatureSpec.of(members, min_clips=min_clips)
    rows = load_fold(fold_index, shards, manifest, folds, spec)
    clean = rows.train_variants == "clean"
    y, has_value = _learned(rows.train_ids, rows.y_train, values)
    scored = clean & has_value  # the rows the probe scores; the standardisation reads every clean row
    if candidates is None:
        candidates = Candidates(probe, y[scored], rows.groups_train[scored], rows.train_ids[scored])
    X = rows.X_train
    standardised = None
    if features["speaker_norm"] != "off":  # one standardisation, read by the decision and the copies
        fitted = replace(spec, speaker_norm=True).fit_population(X[clean])
        standardised, whose, _ = fitted.standardise(X, rows.groups_train, stats_rows=clean)
    use, known, evidence["speaker_norm"] = choose_speaker_norm(
        features["speaker_norm"], X[scored], None if standardised is None else standardised[scored], candidates, known)
    spec = replace(spec, speaker_norm=use)
    if features["speaker_norm"] == "auto":
        speakers = rows.groups_train[clean][np.asarray(whose)[clean] == POPULATION]
        evidence["speaker_norm"]["population_speakers"] = sorted({str(s) for s in speakers})
    if use:
        X = standardised
    evidence["balance"] = None
    if len(spec.members) > 1:
        use, known, evidence["balance"] = choose_balance(features["balance_fusion"], X[scored],
                                                         spec.widths(shards["clean"]), candidates, known)
        spec = replace(spec, blocks=tuple(evidence["balance"]["widths"]) if use else None)
    use, evidence["copies"] = choose_copies(augment_use, X, rows.y_train, rows.train_ids, clean, candidates,
                                            spec.blocks, known)
    spec = replace(spec, copies=use)
    used = candidates.scores or evidence["copies"]["score_with"] is not None
    evidence["inner"] = candidates.splits.record() if used else None
    log_inner_grouping(f"fold {fold}", {"plan": evidence["inner"]})
    return Plan(fold=str(fold), features=spec, evidence=evidence, n_train_clips=int(len(set(rows.train_ids[scored]))))


def _learned(ids: np.ndarray, labels: np.ndarray, values: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """What the probe learns of each training row and which rows it may score: the labels and every
    row, or (``values``: clip_id -> a continuous target) each row's value and the rows that have one."""
    if values is None:
        return np.asarray(labels), np.ones(len(ids), dtype=bool)
    found = values.reindex(pd.Index(np.asarray(ids).astype(str)))
    return found.to_numpy(dtype=float), found.notna().to_numpy()
