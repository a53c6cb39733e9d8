"""Logistic regression: multinomial, class-balanced, C chosen by inner CV of the training part."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from ...devices import single_blas_thread
from .base import ChoosesC, Classifier, Rows
from .inner import cross_val_proba, inner_cv, pooled_balanced_accuracy
from .modelfile import load_sklearn, sklearn_files


@dataclass(eq=False, repr=False, kw_only=True)
class LogRegClassifier(ChoosesC, Classifier):
    """Multinomial logistic regression, class-balanced; C picked by the balanced accuracy of its
    pooled out-of-fold predictions under speaker-grouped inner CV of the training rows."""

    name = "logreg"

    Cs: Sequence[float] = (0.001, 0.01, 0.1, 1.0, 10.0)
    C: float | None = None
    max_iter: int = 2000
    inner_folds: int = 5

    def _model(self, C: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, class_weight="balanced", max_iter=self.max_iter, random_state=self.seed)

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Rows = None, clean: Rows = None,
            clips: Rows = None) -> LogRegClassifier:
        X = np.asarray(X, dtype=np.float32)
        Xs, yi = self._prepare(X, y)
        self.cv_scores_: dict[str, float] = {}
        self.inner_grouping_ = {}
        if self.C is not None:
            self.C_ = float(self.C)
        elif len(self.Cs) == 1:
            self.C_ = float(self.Cs[0])
        else:
            splits = self._keep_inner(
                "C", inner_cv(yi, groups, self.inner_folds, self.seed, clean, clips, purpose="logreg C choice"))
            per_c = {}
            for C in self.Cs:
                probs = cross_val_proba(
                    lambda C=C: LogRegClassifier(C=float(C), max_iter=self.max_iter, seed=self.seed),
                    X, yi, groups, splits, self.n_jobs, clean, clips,
                )
                per_c[float(C)] = pooled_balanced_accuracy(probs, yi)
            self.cv_scores_ = {repr(C): s for C, s in per_c.items()}
            # best score; ties go to the smaller C (stronger regularisation)
            self.C_ = min(per_c, key=lambda C: (-round(per_c[C], 10), C))
        with single_blas_thread():  # lbfgs: see single_blas_thread
            self.model_ = self._model(self.C_).fit(Xs, yi)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self._scale(X))

    def _save_state(self):
        return {"C_": self.C_, "cv_scores_": self.cv_scores_}, {
            **sklearn_files("scaler", self.scaler_),
            **sklearn_files("logreg", self.model_),
        }

    def _load_state(self, state, files):
        self.C_, self.cv_scores_ = state["C_"], state.get("cv_scores_", {})
        self.scaler_ = load_sklearn(files, "scaler")
        self.model_ = load_sklearn(files, "logreg")
