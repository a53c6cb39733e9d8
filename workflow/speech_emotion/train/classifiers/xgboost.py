"""XGBoost: gradient-boosted trees, a fixed number of rounds on every training row by default; optionally
early stopping on an inner split of the training part (and, with ``refit``, a refit on every training
row for the number of rounds early stopping found)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils.class_weight import compute_class_weight, compute_sample_weight

from .base import Classifier, Rows
from .inner import inner_split
from .modelfile import load_sklearn, sklearn_files


@dataclass(eq=False, repr=False, kw_only=True)
class XGBoostClassifier(Classifier):
    """Gradient-boosted trees (hist), balanced sample weights, ``n_estimators`` rounds.

    ``early_stopping_rounds: 0`` (the default): no early stopping; ``n_estimators`` rounds on every
    row given to ``fit`` (``best_iteration_`` is then ``n_estimators - 1``). Early stopping on a held-out
    part of a few hundred rows stops after a handful of rounds (the held-out speakers' log loss is
    lowest almost at once), which costs accuracy (docs/results.md has the measurement). With
    ``early_stopping_rounds > 0``: early stopping on a speaker-held-out split (``validation_fraction``
    of the clips), as below.

    Trains on one thread whatever ``n_jobs`` says: with more threads XGBoost adds its histogram
    sums in another order and the probabilities move in the sixth digit (results would depend on
    ``--cores``); parallelism comes from jobs running side by side.

    ``refit=True`` (the final model of fold ``all``): after early stopping on the held-out rows has
    found ``best_iteration_``, trees are grown again from scratch on every row given to ``fit``
    (clean clips and copies, held-out rows included) for exactly ``best_iteration_ + 1`` rounds, with
    the same seed and settings and balanced weights over all rows; ``refit_rows_`` is their number.
    ``refit=False`` (default, the CV folds) keeps the early-stopped model trained on the other rows.
    """

    name = "xgboost"

    n_estimators: int = 200
    max_depth: int = 6
    learning_rate: float = 0.1
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    max_bin: int = 64
    early_stopping_rounds: int = 0
    validation_fraction: float = 0.15
    refit: bool = False

    def fit(self, X: np.ndarray, y: np.ndarray, groups: Rows = None, clean: Rows = None,
            clips: Rows = None) -> XGBoostClassifier:
        Xs, yi = self._prepare(X, y)
        self.refit_rows_ = None
        if not self.early_stopping_rounds:
            # no early stopping: n_estimators rounds on every row given, no held-out split
            self.validation_rows_ = None
            self.inner_grouping_ = {}
            self.model_ = self._booster()
            self.model_.fit(Xs, yi, sample_weight=compute_sample_weight("balanced", yi), verbose=False)
            self.best_iteration_ = int(self.n_estimators) - 1
            return self
        (tr, va), = self._keep_inner("early_stopping", inner_split(
            yi, groups, self.validation_fraction, self.seed, clean, clips, purpose="xgboost early stopping"))
        self.validation_rows_ = va
        weights = compute_sample_weight("balanced", yi[tr])
        val_weights = compute_sample_weight(
            dict(zip(np.unique(yi[tr]), compute_class_weight("balanced", classes=np.unique(yi[tr]), y=yi[tr]))), yi[va]
        )
        self.model_ = self._booster(early_stopping_rounds=self.early_stopping_rounds)
        self.model_.fit(Xs[tr], yi[tr], sample_weight=weights, eval_set=[(Xs[va], yi[va])],
                        sample_weight_eval_set=[val_weights], verbose=False)
        self.best_iteration_ = int(self.model_.best_iteration)
        if self.refit:
            # every row, for the rounds early stopping found (best_iteration_ counts from 0)
            self.model_ = self._booster(n_estimators=self.best_iteration_ + 1)
            self.model_.fit(Xs, yi, sample_weight=compute_sample_weight("balanced", yi), verbose=False)
            self.refit_rows_ = len(yi)
        return self

    def _booster(self, n_estimators: int | None = None, early_stopping_rounds: int | None = None):
        import xgboost as xgb

        return xgb.XGBClassifier(
            n_estimators=self.n_estimators if n_estimators is None else n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            tree_method="hist",
            max_bin=self.max_bin,
            early_stopping_rounds=early_stopping_rounds,
            eval_metric="mlogloss" if len(self.classes_) > 2 else "logloss",
            random_state=self.seed,
            n_jobs=1,  # histogram sums over more threads differ in the last digits: one thread, same numbers
        )

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self._scale(X))

    def _save_state(self):
        raw = self.model_.get_booster().save_raw(raw_format="ubj")
        state = {"best_iteration_": self.best_iteration_}
        if getattr(self, "refit_rows_", None) is not None:
            state["refit_rows_"] = int(self.refit_rows_)
        return state, {
            **sklearn_files("scaler", self.scaler_),
            "xgboost.ubj": bytes(raw),
        }

    def _load_state(self, state, files):
        import xgboost as xgb

        self.scaler_ = load_sklearn(files, "scaler")
        self.best_iteration_ = state["best_iteration_"]
        self.refit_rows_ = state.get("refit_rows_")  # absent: no refit (or a file from before refit)
        self.model_ = xgb.XGBClassifier()
        self.model_.load_model(bytearray(files["xgboost.ubj"]))
