"""Ridge regression, alpha chosen by speaker-grouped inner CV of the training part (RidgeCV-like)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...devices import single_blas_thread
from ..classifiers.inner import InnerSplits, out_of_fold
from .base import Regressor
from .inner import pooled_ccc, regression_inner_cv


@dataclass(eq=False, repr=False, kw_only=True)
class RidgeRegressor(Regressor):
    """Ridge regression on standardised features and target.

    ``alpha``: a fixed penalty; ``alpha: None`` (default) chooses it among ``alphas`` as scikit-learn's
    RidgeCV would, but on speaker-grouped inner folds of the training rows (clip-grouped with too few
    speakers; held-out rows clean clips only) and by the concordance correlation of the out-of-fold
    predictions pooled over the inner folds, each inner fit a ridge of its own (scaler and clipping range
    of the inner training rows, as a fold's ridge predicts its test clips); ties go to the larger alpha
    (the smoother model)."""

    name = "ridge"

    alpha: float | None = None
    alphas: Sequence[float] = (0.1, 1.0, 10.0, 100.0, 1000.0)
    inner_folds: int = 5

    def _model(self, alpha: float):
        from sklearn.linear_model import Ridge

        return Ridge(alpha=float(alpha))

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, clean: np.ndarray | None = None,
            clips: np.ndarray | None = None) -> RidgeRegressor:
        Xs, ys = self._prepare(X, y)
        candidates = [float(self.alpha)] if self.alpha is not None else [float(a) for a in self.alphas]
        if not candidates:
            raise ValueError("ridge: alpha is None and alphas is empty: give an alpha or the alphas to choose from")
        self.cv_scores_: dict[str, float] = {}
        with single_blas_thread():
            if len(candidates) > 1:
                splits = self._keep_inner("alpha", regression_inner_cv(
                    len(ys), groups, self.inner_folds, self.seed, clean, clips, purpose="ridge alpha choice"))
                X, y = np.asarray(X, dtype=np.float32), np.asarray(y, dtype=np.float64).ravel()
                for alpha in candidates:
                    held_out = ridge_out_of_fold(alpha, X, y, splits, self.seed, self.block_widths)
                    self.cv_scores_[repr(alpha)] = pooled_ccc(held_out, y)
                self.alpha_ = max(candidates, key=lambda a: (round(self.cv_scores_[repr(a)], 10), a))
            else:
                self.alpha_ = candidates[0]
            self.model_ = self._model(self.alpha_).fit(Xs, ys)
        return self

    def _predict_standard(self, Xs: np.ndarray) -> np.ndarray:
        return self.model_.predict(Xs)

    def chosen_params(self):
        return {"alpha": float(self.alpha_)}

    def _model_files(self):
        state, files = super()._model_files()
        return {"alpha_": float(self.alpha_), "cv_scores_": self.cv_scores_}, files

    def _load_model_files(self, state, files):
        super()._load_model_files(state, files)
        self.alpha_, self.cv_scores_ = float(state["alpha_"]), dict(state.get("cv_scores_", {}))


def ridge_out_of_fold(alpha: float, X: np.ndarray, y: np.ndarray, splits: InnerSplits, seed: int = 0,
                      block_widths: Sequence[int] | None = None, n_jobs: int = 1) -> np.ndarray:
    """Out-of-fold predictions of a ridge of ``alpha`` fitted on each inner training part alone (its own scaler
    and clipping range, as a fold's ridge predicts its test clips); NaN for rows never held out. Ridge's alpha
    choice and the regression plans' probe (:class:`speech_emotion.regress.plan.RidgeProbe`) score these."""
    widths = None if block_widths is None else tuple(block_widths)

    def one(_: int, tr: np.ndarray, va: np.ndarray) -> np.ndarray:
        return RidgeRegressor(alpha=alpha, seed=seed, block_widths=widths).fit(X[tr], y[tr]).predict(X[va])

    return out_of_fold(one, splits, len(y), 1, n_jobs)
