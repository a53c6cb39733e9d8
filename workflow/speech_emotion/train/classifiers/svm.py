"""Support vector machine: class-balanced RBF SVC with Platt-scaled probabilities."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .base import ChoosesC, Classifier, Rows
from .inner import inner_cv, out_of_fold, pooled_balanced_accuracy
from .modelfile import load_sklearn, sklearn_files


@dataclass(eq=False, repr=False, kw_only=True)
class SVMClassifier(ChoosesC, Classifier):
    """Class-balanced SVC with Platt-scaled probabilities, on a kernel matrix computed once.

    The kernel between all training rows is computed once with BLAS (``kernel`` with ``gamma``;
    ``scale`` = 1 / (features x variance of the standardised training rows), fixed for the fit) and
    every SVC of the fit, calibration included, trains on its rows of that matrix: a kernel SVM's
    own kernel evaluations grow with rows x rows x features and took about 20 times longer. The
    Platt sigmoids (one per class, on the SVC's one-vs-rest decision values) are fitted on
    out-of-fold decision values of the clean training rows over ``calibration_folds`` inner folds
    (speaker-grouped, else clip-grouped): augmented copies train the inner SVCs but are never
    calibration points. The SVC that predicts is then fitted on every training row; it keeps its
    support vectors, and prediction needs only the kernel between new rows and them.

    ``C``: a fixed penalty; ``C: None`` chooses it among ``Cs`` on the same inner folds (as logreg
    does): for each C the out-of-fold decision values of the clean training rows are Platt-scaled and
    scored by the balanced accuracy of their argmax pooled over the inner folds; the best C wins (ties:
    the smaller), and its out-of-fold values are the calibration points. The choice costs
    ``len(Cs) - 1`` more sets of inner SVCs on the one kernel matrix.
    """

    name = "svm"

    C: float | None = 1.0
    Cs: Sequence[float] = (0.1, 0.3, 1.0, 3.0, 10.0)
    gamma: str | float = "scale"
    kernel: str = "rbf"
    calibration_folds: int = 3

    def _svc(self, C: float):
        from sklearn.svm import SVC

        return SVC(C=C, kernel="precomputed", class_weight="balanced", random_state=self.seed)

    def _gamma(self, Xs: np.ndarray) -> float:
        if self.gamma == "scale":
            return float(1.0 / (Xs.shape[1] * np.asarray(Xs, dtype=np.float64).var()))
        if self.gamma == "auto":
            return float(1.0 / Xs.shape[1])
        return float(self.gamma)

    def _kernel(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """The kernel matrix (rows of A, rows of B), float64 (what the SVC solver takes)."""
        from sklearn.metrics.pairwise import pairwise_kernels

        params = {"gamma": self.gamma_, "coef0": 0.0, "degree": 3}  # scikit-learn's SVC defaults
        return np.asarray(pairwise_kernels(A, B, metric=self.kernel, filter_params=True, **params), dtype=np.float64)

    @staticmethod
    def _decision(svc, K: np.ndarray) -> np.ndarray:
        """(rows, classes) one-vs-rest decision values; (rows, 1) for two classes."""
        return np.asarray(svc.decision_function(K), dtype=np.float64).reshape(len(K), -1)

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Rows = None, clean: Rows = None,
            clips: Rows = None) -> SVMClassifier:
        Xs, yi = self._prepare(X, y)
        self.gamma_ = self._gamma(Xs)
        K = self._kernel(Xs, Xs)
        splits = self._keep_inner("calibration", inner_cv(
            yi, groups, self.calibration_folds, self.seed, clean, clips, purpose="svm calibration"))
        columns = 1 if len(self.classes_) == 2 else len(self.classes_)
        candidates = [float(self.C)] if self.C is not None else [float(C) for C in self.Cs]
        if not candidates:
            raise ValueError("svm: C is None and Cs is empty: give a C or the Cs to choose it from")
        per_c, fitted = {}, {}
        for C in candidates:
            def decision(_: int, tr: np.ndarray, va: np.ndarray, C=C) -> np.ndarray:
                return self._decision(self._svc(C).fit(K[np.ix_(tr, tr)], yi[tr]), K[np.ix_(va, tr)])

            held_out = out_of_fold(decision, splits, len(yi), columns)  # in this process: K is large
            rows = ~np.isnan(held_out).any(axis=1)
            targets = yi[rows][:, None] == (np.arange(columns) + (1 if columns == 1 else 0))[None, :]
            calibration = [platt_fit(held_out[rows, k], targets[:, k]) for k in range(columns)]
            fitted[C] = (calibration, int(rows.sum()))
            if len(candidates) > 1:
                probs = np.full((len(yi), len(self.classes_)), np.nan)
                probs[rows] = self._calibrated(held_out[rows], calibration)
                per_c[C] = pooled_balanced_accuracy(probs, yi)
        # best inner score; ties go to the smaller C (the smoother boundary)
        self.C_ = min(per_c, key=lambda C: (-round(per_c[C], 10), C)) if per_c else candidates[0]
        self.cv_scores_ = {repr(C): score for C, score in per_c.items()}
        self.calibration_, self.n_calibration_rows_ = fitted[self.C_]
        model = self._svc(self.C_).fit(K, yi)
        # keep only the support vectors: the model then reads the kernel against them alone
        self.support_vectors_ = Xs[model.support_]
        model.support_ = np.arange(len(model.support_), dtype=model.support_.dtype)
        model.shape_fit_ = (len(model.support_), len(model.support_))
        model.n_features_in_ = len(model.support_)
        self.model_ = model
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """One-vs-rest decision values of the SVC that predicts (before calibration)."""
        return self._decision(self.model_, self._kernel(self._scale(X), self.support_vectors_))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self._calibrated(self.decision_function(X), self.calibration_)

    def _calibrated(self, decision: np.ndarray, calibration: Sequence[tuple[float, float]]) -> np.ndarray:
        """Class probabilities from one-vs-rest decision values and their Platt sigmoids."""
        probs = np.column_stack([platt_apply(decision[:, k], a, b) for k, (a, b) in enumerate(calibration)])
        if len(self.classes_) == 2:
            return np.column_stack([1.0 - probs[:, 0], probs[:, 0]])
        total = probs.sum(axis=1, keepdims=True)
        uniform = np.full_like(probs, 1.0 / probs.shape[1])
        return np.divide(probs, total, out=uniform, where=total > 0)

    def _save_state(self):
        buffer = io.BytesIO()
        np.save(buffer, self.support_vectors_, allow_pickle=False)
        state = {"calibration_": [[float(a), float(b)] for a, b in self.calibration_],
                 "n_calibration_rows_": self.n_calibration_rows_, "gamma_": self.gamma_,
                 "C_": self.C_, "cv_scores_": self.cv_scores_}
        return state, {**sklearn_files("scaler", self.scaler_), **sklearn_files("svm", self.model_),
                       "support_vectors.npy": buffer.getvalue()}

    def _load_state(self, state, files):
        self.calibration_ = [tuple(pair) for pair in state["calibration_"]]
        self.n_calibration_rows_ = state.get("n_calibration_rows_")
        self.gamma_ = float(state["gamma_"])
        self.C_ = float(state.get("C_", self.C if self.C is not None else float("nan")))  # older files: C fixed
        self.cv_scores_ = state.get("cv_scores_", {})
        self.scaler_ = load_sklearn(files, "scaler")
        self.model_ = load_sklearn(files, "svm")
        self.support_vectors_ = np.load(io.BytesIO(files["support_vectors.npy"]), allow_pickle=False)


def platt_fit(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid ``P(positive | f) = 1 / (1 + exp(a f + b))`` fitted by maximum likelihood on
    Platt's smoothed targets (as scikit-learn's sigmoid calibration does)."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    f = np.asarray(decision, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = float(positive.sum()), float((~positive).sum())
    target = np.where(positive, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss_and_grad(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = -(ab[0] * f + ab[1])  # log-odds of the positive class
        loss = -np.sum(target * log_expit(z) + (1.0 - target) * log_expit(-z))
        dz = expit(z) - target
        return float(loss), np.array([-np.sum(dz * f), -np.sum(dz)])

    start = np.array([0.0, np.log((n_neg + 1.0) / (n_pos + 1.0))])
    a, b = minimize(loss_and_grad, start, jac=True, method="L-BFGS-B").x
    return float(a), float(b)


def platt_apply(decision: np.ndarray, a: float, b: float) -> np.ndarray:
    """Calibrated probability of the positive class from decision values."""
    from scipy.special import expit

    return expit(-(a * np.asarray(decision, dtype=np.float64) + b))
