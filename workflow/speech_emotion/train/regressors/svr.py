"""Support vector regression (epsilon-SVR, RBF kernel by default) on standardised features and target."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Regressor


@dataclass(eq=False, repr=False, kw_only=True)
class SVRRegressor(Regressor):
    """scikit-learn's SVR on the standardised target: ``epsilon`` is in standard deviations of the
    training target, so it does not depend on the target's units. Deterministic (no random state)."""

    name = "svr"

    C: float = 1.0
    epsilon: float = 0.1
    gamma: str | float = "scale"
    kernel: str = "rbf"

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, clean: np.ndarray | None = None,
            clips: np.ndarray | None = None) -> SVRRegressor:
        from sklearn.svm import SVR

        Xs, ys = self._prepare(X, y)
        self.model_ = SVR(C=float(self.C), epsilon=float(self.epsilon), gamma=self.gamma, kernel=self.kernel).fit(Xs, ys)
        return self

    def _predict_standard(self, Xs: np.ndarray) -> np.ndarray:
        return self.model_.predict(Xs)
