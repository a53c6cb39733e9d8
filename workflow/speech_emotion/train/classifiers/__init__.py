"""Classifiers on pooled embeddings (one module per estimator) and their model files.

- :mod:`.registry`: the one list of classifiers and :func:`make_classifier`;
- :mod:`.base`: the base class (fold-local scaling, scikit-learn's estimator contract);
- :mod:`.inner`: inner splits of a training part and the one score of every inner choice;
- :mod:`.modelfile`: the model zip (``save_model`` / ``load_model``);
- ``logreg``, ``svm``, ``xgboost``, ``mlp``, ``ensemble``: the estimators.

Importing this package does not import any estimator module (``make_classifier`` does, lazily).
"""

from __future__ import annotations

from .modelfile import ModelFileError, load_model, model_bytes, model_from_bytes, read_manifest, save_model
from .registry import CLASSIFIERS, MEMBERS, REGISTRY, TUNABLE, classifier_class, make_classifier

__all__ = [
    "CLASSIFIERS", "MEMBERS", "REGISTRY", "TUNABLE", "ModelFileError", "classifier_class", "load_model",
    "make_classifier", "model_bytes", "model_from_bytes", "read_manifest", "save_model",
]
