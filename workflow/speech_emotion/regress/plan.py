"""The regression plan of one (target, encoder, fold): the feature pipeline its regressors use, decided
by the concordance correlation (CCC) of a ridge probe on the fold's training clips that have a value.

Rule ``regress_plan`` writes ``results/regression/{target}/{encoder}/plans/fold-{k}.json``, a
:class:`speech_emotion.train.fold_plan.Plan` as rule ``plan`` writes for the classifiers (the same
JSON, read unchanged by :func:`speech_emotion.regress.fold.regress_fold`), decided by the same
:func:`speech_emotion.train.plan.make_plan` (the same candidates, decisions and margin) with
:class:`RidgeProbe` in place of the logistic probe and the clips' values in place of their labels:

- layers (``features.layers: auto``): each layer, windows of adjacent layers, a learned layer
  weighting (:func:`speech_emotion.train.weighting.learn_layer_weights` with ``continuous=True``: the
  weights learned jointly with a ridge head on the squared error) and all layers side by side;
  ``weighted``: that regression weighting learned on every training clip with a value;
- per-speaker standardisation and fusion balance (``auto``): kept when they beat the plainer choice
  by :data:`speech_emotion.train.plan.MIN_GAIN` in pooled inner CCC;
- copies: never (:data:`speech_emotion.regress.COPIES`): the augmented shards are not read.

Only the training clips with a value are scored; every clean training clip of a speaker, with a value
or not, still counts for its standardisation statistics (as in the regress job). The test fold is not
read for any decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from . import COPIES
from ..data.targets import Target, target_rows
from ..evaluate.regression import concordance
from ..train.classifiers.inner import InnerSplits, out_of_fold
from ..train.features import Shards
from ..train.fold_plan import Plan
from ..train.plan import Score, make_plan
from ..train.regressors.inner import pooled_ccc, regression_inner_cv
from ..train.regressors.ridge import RidgeRegressor, ridge_out_of_fold

PROBE_ALPHA = 10.0
"""The ridge probe's fixed penalty on standardised features and a standardised target
(docs/regression.md#the-regression-plan): small against the directions that carry a target in a
training part of hundreds of clips or more, large enough that a wide candidate (a window, all layers)
does not fit its many weak directions; the middle of the ridge regressor's ``alphas`` and its choice
in two of the three CV folds of the demo's arousal on eGeMAPS (1 in the third)."""


@dataclass(frozen=True)
class RidgeProbe:
    """The probe of a regression plan (:class:`speech_emotion.train.plan.PlanProbe`): a ridge regression
    with the fixed ``alpha`` (:class:`speech_emotion.train.regressors.ridge.RidgeRegressor`: features
    and target standardised on each inner training part, a fusion's blocks balanced as its regressors
    will get them), scored by the CCC of the out-of-fold predictions pooled over speaker-grouped inner
    folds (:func:`speech_emotion.train.regressors.inner.regression_inner_cv`)."""

    inner_folds: int = 5
    seed: int = 0
    alpha: float = PROBE_ALPHA
    max_layers: int = 3
    n_jobs: int = 1
    name: ClassVar[str] = "ridge"

    @classmethod
    def from_config(cls, features: Mapping[str, Any], seed: int, n_jobs: int = 1) -> RidgeProbe:
        return cls(inner_folds=int(features["probe_inner_folds"]), seed=seed,
                   max_layers=int(features["probe_max_layers"]), n_jobs=int(n_jobs))

    def record(self) -> dict[str, Any]:
        """The plan's ``probe`` evidence: what scored every decision."""
        return {"name": self.name, "alpha": self.alpha, "inner_folds": self.inner_folds,
                "metric": "ccc (out-of-fold predictions pooled over the inner folds)"}

    def finalists_of(self, n_layers: int) -> int:
        """Every layer: the ridge probe is itself one linear solve per inner split, so no screen."""
        return n_layers

    def screen(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score:
        return self.score(X, y, splits)

    def model(self, blocks: Sequence[int] | None = None) -> RidgeRegressor:
        return RidgeRegressor(alpha=self.alpha, seed=self.seed, block_widths=None if blocks is None else tuple(blocks))

    def inner_splits(self, y: np.ndarray, groups: np.ndarray | None, clips: np.ndarray) -> InnerSplits:
        return regression_inner_cv(len(y), groups, self.inner_folds, self.seed, clips=clips, purpose="regression plan")

    def layer_weights(self, embeddings: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None) -> tuple[float, ...]:
        from ..train.weighting import learn_layer_weights

        weights = learn_layer_weights(embeddings, y, C=1.0 / self.alpha, continuous=True, rows=rows)
        return tuple(float(w) for w in weights)

    def score(self, X: np.ndarray, y: np.ndarray, splits: InnerSplits, blocks: Sequence[int] | None = None) -> Score:
        return ccc_score(ridge_out_of_fold(self.alpha, X, y, splits, self.seed, blocks, self.n_jobs), y, splits)

    def weighted(self, embeddings: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score:
        """A layer weighting learned on each inner training part only, then the probe on its weighted sum."""
        from ..train.weighting import weighted_sum

        def one(_: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
            X = weighted_sum(embeddings, self.layer_weights(embeddings, y, rows=tr))
            return self.model().fit(X[tr], y[tr]).predict(X[va])

        return ccc_score(out_of_fold(one, splits, len(y), 1, self.n_jobs), y, splits)


def ccc_score(held_out: np.ndarray, y: np.ndarray, splits: InnerSplits) -> Score:
    """A :class:`~speech_emotion.train.plan.Score` from out-of-fold predictions: the pooled CCC and each
    inner fold's (NaN for a held-out fold of fewer than 2 clips or one value)."""
    y = np.asarray(y, dtype=float)
    held_out = np.asarray(held_out, dtype=float).ravel()
    per_fold = tuple(concordance(y[va], held_out[va]) if len(va) > 1 and np.ptp(y[va]) > 0 else float("nan")
                     for _, va in splits)
    return Score(pooled_ccc(held_out, y), per_fold)


def make_regression_plan(
    fold: str | int,
    target: Target,
    shards: Shards,
    manifest: pd.DataFrame,
    folds: pd.DataFrame,
    features: Mapping[str, Any],
    seed: int,
    member_plans: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
    threads: int = 1,
) -> Plan:
    """The regression plan of one fold (``manifest``: with the target's column,
    :func:`speech_emotion.data.targets.with_target_values`; ``member_plans``: a fusion's members'
    regression plans of the same fold, as for :func:`speech_emotion.train.plan.make_plan`)."""
    values = target_rows(manifest, target)
    values.index = values.index.astype(str)
    probe = RidgeProbe.from_config(features, seed, threads)
    plan = make_plan(fold, shards, manifest, folds, features, "never", seed, member_plans, threads, probe=probe,
                     values=values)
    copies = dict(plan.evidence["copies"]) | {"why": COPIES["why"]}
    return replace(plan, evidence={**plan.evidence, "copies": copies, "probe": probe.record()})
