"""Regressors for continuous targets (one module per estimator), beside the classifiers.

- :mod:`.registry`: the one list of regressors and :func:`make_regressor`;
- :mod:`.base`: the base class (fold-local scaling of features and target, scikit-learn's contract);
- :mod:`.inner`: speaker-grouped inner splits of a training part and the pooled-CCC score of an inner choice;
- ``ridge``, ``svr``, ``xgboost``, ``mlp``: the estimators; ``ensemble``: the mean of members' predictions;
- :mod:`.tuning`: Optuna tuning scored by the pooled inner CCC (the classifiers' study, another score).

Importing this package does not import any estimator module (``make_regressor`` does, lazily).
Rule regress cross-validates them (speech_emotion.regress) and trains the final regressor of each
(target, encoder, regressor) on every clip with a value; they are saved in the classifiers' model file
(:func:`speech_emotion.train.classifiers.save_model`, named ``regressor`` in its manifest) and loaded by
:func:`~speech_emotion.train.classifiers.load_model` (docs/regression.md).
"""

from __future__ import annotations

from .registry import MEMBERS, REGISTRY, REGRESSORS, TUNABLE, make_regressor, regressor_class

__all__ = ["MEMBERS", "REGISTRY", "REGRESSORS", "TUNABLE", "make_regressor", "regressor_class"]
