"""XGBoost regression: gradient-boosted trees (hist), a fixed number of rounds on every training row."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Regressor


@dataclass(eq=False, repr=False, kw_only=True)
class XGBoostRegressor(Regressor):
    """Gradient-boosted trees with squared error on the standardised target, ``n_estimators`` rounds.

    The classifier's settings and reasons (:class:`speech_emotion.train.classifiers.xgboost.XGBoostClassifier`):
    one thread whatever ``n_jobs`` says (the same numbers on any number of cores), ``max_bin`` 64, no
    early stopping.
    """

    name = "xgboost"

    n_estimators: int = 200
    max_depth: int = 6
    learning_rate: float = 0.1
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    max_bin: int = 64

    def fit(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, clean: np.ndarray | None = None,
            clips: np.ndarray | None = None) -> XGBoostRegressor:
        import xgboost as xgb

        Xs, ys = self._prepare(X, y)
        self.model_ = xgb.XGBRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
            subsample=self.subsample, colsample_bytree=self.colsample_bytree, tree_method="hist",
            max_bin=self.max_bin, objective="reg:squarederror", random_state=self.seed,
            n_jobs=1,  # histogram sums over more threads differ in the last digits: one thread, same numbers
        )
        self.model_.fit(Xs, ys, verbose=False)
        return self

    def _predict_standard(self, Xs: np.ndarray) -> np.ndarray:
        return self.model_.predict(Xs)

    def _model_files(self):
        return {}, {"xgboost.ubj": bytes(self.model_.get_booster().save_raw(raw_format="ubj"))}

    def _load_model_files(self, state, files):
        import xgboost as xgb

        self.model_ = xgb.XGBRegressor()
        self.model_.load_model(bytearray(files["xgboost.ubj"]))
