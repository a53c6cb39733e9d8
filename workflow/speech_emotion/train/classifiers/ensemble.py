"""The ensemble: a weighted average of member classifiers' probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.utils.class_weight import compute_sample_weight

from .base import Classifier, Rows, align_proba
from .inner import cross_val_proba, inner_cv, pooled_balanced_accuracy
from .modelfile import model_bytes, model_from_bytes
from .registry import MEMBERS, make_classifier


def _balanced_nll(probs: np.ndarray, y: np.ndarray) -> float:
    weights = compute_sample_weight("balanced", y)
    return float(-np.sum(weights * np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))) / weights.sum())


def fit_weights(member_probs: Sequence[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 for averaging members' probabilities on held-out rows.

    The weights minimise the class-balanced log loss of the blend (softmax-parametrised, L-BFGS
    from equal weights). Log loss uses every probability, so it is far less noisy on a small inner
    split than picking weights by balanced accuracy (which tends to pick one member at random).
    """
    from scipy.optimize import minimize

    stack = np.stack(member_probs)  # (members, rows, classes)
    m = len(stack)

    def softmax(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max())
        return e / e.sum()

    def loss(z: np.ndarray) -> float:
        return _balanced_nll(np.tensordot(softmax(z), stack, axes=1), y)

    result = minimize(loss, np.zeros(m), method="L-BFGS-B")
    best = softmax(result.x) if loss(result.x) <= loss(np.zeros(m)) else np.full(m, 1.0 / m)
    best = np.round(best, 6)
    return best / best.sum()


def select_members(member_probs: Sequence[np.ndarray], y: np.ndarray, max_rounds: int = 50) -> np.ndarray:
    """Greedy ensemble selection with replacement (Caruana et al., 2004) on held-out probabilities.

    Starts from the member with the lowest class-balanced log loss and adds, one at a time and with
    replacement, the member whose addition lowers the blend's class-balanced log loss most; stops when
    no addition lowers it (or after ``max_rounds``). Weights are how often each member was added: a
    member that only adds noise is never picked, a strong one may count several times.
    """
    stack = np.stack(member_probs)  # (members, rows, classes)
    counts = np.zeros(len(stack))
    losses = [_balanced_nll(p, y) for p in stack]
    counts[int(np.argmin(losses))] = 1
    current = min(losses)
    for _ in range(max_rounds):
        candidates = [_balanced_nll(np.tensordot(counts + np.eye(len(stack))[m], stack, axes=1) / (counts.sum() + 1), y)
                      for m in range(len(stack))]
        best = int(np.argmin(candidates))
        if candidates[best] >= current - 1e-9:
            break
        counts[best] += 1
        current = candidates[best]
    return counts / counts.sum()


@dataclass(eq=False, repr=False, kw_only=True)
class EnsembleClassifier(Classifier):
    """Average of member classifiers' probabilities, weighted by ``weights``:

    - ``equal``: soft voting, every member counts the same;
    - ``select``: greedy ensemble selection (:func:`select_members`) on the members' out-of-fold
      probabilities over ``inner_folds`` inner folds of the training rows; members that do not help
      get weight 0;
    - ``fitted``: weights minimising the blend's class-balanced log loss on the same probabilities
      (:func:`fit_weights`).

    ``select`` and ``fitted`` refit every member on each inner fold (with the settings the member
    chose on the training part, e.g. logreg's C, so no member repeats its own inner search). When the
    blend scores a lower pooled inner balanced accuracy than the best single member, the ensemble
    becomes that member (weight 1): on held-out inner data it is never worse than its best member.
    """

    name = "ensemble"

    members: Sequence[str] = MEMBERS
    member_params: Mapping[str, Mapping[str, Any]] | None = None
    weights: str = "equal"
    inner_folds: int = 3

    def _member(self, name: str) -> Classifier:
        params = dict((self.member_params or {}).get(name, {}))
        return make_classifier(name, params, seed=self.seed, n_jobs=self.n_jobs)

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Rows = None, clean: Rows = None, clips: Rows = None,
            fitted_members: Mapping[str, Classifier] | None = None) -> "EnsembleClassifier":
        """Fit weights; ``fitted_members`` (already trained on these same rows) skip the final refit."""
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        self.inner_grouping_ = {}
        if self.weights == "equal":
            self.weights_ = np.full(len(self.members), 1.0 / len(self.members))
            self.inner_scores_: dict[str, float] = {}
        elif self.weights in ("fitted", "select"):
            self._fit_weights(X, y, groups, clean, clips, fitted_members or {})
        else:
            raise ValueError(f"classifiers.ensemble.weights: '{self.weights}' is unknown (equal|select|fitted)")
        self.members_: dict[str, Classifier] = {}
        for name in self.members:
            if fitted_members is not None and name in fitted_members:
                member = fitted_members[name]
                if list(member.classes_) != list(self.classes_):
                    raise ValueError(f"ensemble member {name} was trained on labels {list(member.classes_)}")
            else:
                member = self._member(name).fit(X, y, groups, clean, clips=clips)
            self.members_[name] = member
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_weights(
        self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, clean: np.ndarray | None,
        clips: np.ndarray | None, fitted: Mapping[str, Classifier],
    ) -> None:
        """``weights_`` and ``inner_scores_`` from the members' out-of-fold probabilities."""
        yi = np.searchsorted(self.classes_, y)
        splits = self._keep_inner("weights", inner_cv(
            yi, groups, self.inner_folds, self.seed, clean, clips, purpose="ensemble weights"))

        def refit(name: str) -> Classifier:
            member = self._member(name)
            chosen = fitted[name].chosen_params() if name in fitted else {}
            return member.set_params(**chosen) if chosen else member

        held_out = [
            cross_val_proba(lambda name=name: refit(name), X, y, groups, splits, clean=clean, clips=clips)
            for name in self.members
        ]
        scored = ~np.isnan(held_out[0]).any(axis=1)
        held_out = [p[scored] for p in held_out]
        scores = {name: pooled_balanced_accuracy(p, yi[scored]) for name, p in zip(self.members, held_out)}
        choose = select_members if self.weights == "select" else fit_weights
        weights = choose(held_out, yi[scored])
        scores["blend"] = pooled_balanced_accuracy(np.tensordot(weights, np.stack(held_out), axes=1), yi[scored])
        best = max(self.members, key=lambda name: scores[name])
        if scores["blend"] < scores[best]:
            weights = np.array([float(name == best) for name in self.members])
        self.weights_ = weights
        self.inner_scores_ = {name: round(float(v), 6) for name, v in scores.items()}

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        total = 0.0
        for w, name in zip(self.weights_, self.members):
            member = self.members_[name]
            total = total + w * align_proba(member, member.predict_proba(X), self.classes_)
        return total / np.sum(total, axis=1, keepdims=True)

    def _save_state(self):
        files: dict[str, bytes] = {}
        for name, member in self.members_.items():
            files[f"members/{name}.zip"] = model_bytes(member)
        return {"weights_": [float(w) for w in self.weights_], "inner_scores_": self.inner_scores_}, files

    def _load_state(self, state, files):
        self.weights_ = np.asarray(state["weights_"], dtype=np.float64)
        self.inner_scores_ = state.get("inner_scores_", {})
        self.members_ = {name: model_from_bytes(files[f"members/{name}.zip"], f"members/{name}.zip") for name in self.members}
