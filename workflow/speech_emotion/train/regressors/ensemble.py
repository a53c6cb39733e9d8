"""The regressors' ensemble: the mean of its member regressors' predictions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Regressor
from .registry import MEMBERS, REGISTRY, make_regressor

WEIGHTS = ("equal",)


@dataclass(eq=False, repr=False, kw_only=True)
class EnsembleRegressor(Regressor):
    """The mean of ``members``' predictions (``weights: equal``, the only choice: see docs/regression.md).

    Each member keeps its own feature and target scaling. ``fit`` trains the members on the rows given
    (settings ``member_params.<member>``, the run's seed), or takes ``fitted_members`` already trained on
    those rows: a regress job passes its members' models of the same fold (:func:`speech_emotion.regress.fold.load_member_models`), so each
    member is the one its own job fitted, with its settings and tuned values, and none is trained twice.
    """

    name = "ensemble"

    members: Sequence[str] = MEMBERS
    weights: str = "equal"
    member_params: Mapping[str, Mapping[str, Any]] | None = None

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, clean: np.ndarray | None = None,
            clips: np.ndarray | None = None, fitted_members: Mapping[str, Regressor] | None = None) -> EnsembleRegressor:
        if self.weights not in WEIGHTS:
            raise ValueError(f"regressors.ensemble.weights: '{self.weights}' is unknown (known: {', '.join(WEIGHTS)})")
        unknown = [m for m in self.members if m not in REGISTRY or not REGISTRY[m].member]
        if not self.members or unknown:
            raise ValueError(f"regressors.ensemble.members: {unknown or 'none'} (members: {', '.join(MEMBERS)})")
        X = np.asarray(X, dtype=np.float32)
        self.members_: dict[str, Regressor] = {}
        for name in self.members:
            if fitted_members is not None and name in fitted_members:
                member = fitted_members[name]
                if member.n_features_in_ != X.shape[1]:
                    raise ValueError(f"ensemble member {name} was trained on {member.n_features_in_} features, "
                                     f"not {X.shape[1]}")
            else:
                params = dict((self.member_params or {}).get(name, {}))
                if self.block_widths:
                    params.setdefault("block_widths", self.block_widths)
                member = make_regressor(name, params, seed=self.seed, n_jobs=self.n_jobs).fit(X, y, groups, clean, clips)
            self.members_[name] = member
        self.weights_ = np.full(len(self.members), 1.0 / len(self.members))
        self.n_features_in_ = X.shape[1]
        self.inner_grouping_ = {}
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The mean of the members' predictions, in the target's units."""
        return np.mean(np.stack([self.members_[name].predict(X) for name in self.members]), axis=0)

    def chosen_params(self) -> dict[str, Any]:
        """What each member chose by inner CV (ridge's alpha), by member."""
        chosen = {name: member.chosen_params() for name, member in self.members_.items() if member.chosen_params()}
        return {"members": chosen} if chosen else {}

    def _save_state(self) -> tuple[dict[str, Any], dict[str, bytes]]:
        from ..classifiers.modelfile import model_bytes

        return ({"weights_": [float(w) for w in self.weights_], "n_features_in_": int(self.n_features_in_)},
                {f"members/{name}.zip": model_bytes(member) for name, member in self.members_.items()})

    def _load_state(self, state: dict[str, Any], files: Mapping[str, bytes]) -> None:
        from .modelfile import regressor_from_bytes

        self.weights_ = np.asarray(state["weights_"], dtype=np.float64)
        self.n_features_in_ = int(state["n_features_in_"])
        self.members_ = {name: regressor_from_bytes(files[f"members/{name}.zip"], f"members/{name}.zip")
                         for name in self.members}

