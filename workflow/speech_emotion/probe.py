"""The ridge probe of a fold's plan (``features.probe: ridge``): a class-balanced ridge classifier.

Per inner split of a training part, the probe standardises the features on the inner training
rows (as every classifier does), then fits a ridge regression of the one-hot labels on them with
class-balanced row weights (scikit-learn's ``balanced``: ``n / (classes * rows of the class)``)
and a penalty of ``alpha`` per training row::

    minimise  sum_i w_i ||y_i - B' z_i - b||^2  +  alpha * (sum_i w_i) * ||B||^2

and predicts the class with the highest fitted value. It is solved in closed form: the weighted
Gram matrix of a split (d x d, or n x n when there are more features than rows) is formed once and
factorised once per penalty, so scoring one layer of CREMA-D's training fold (5,950 clips x 2,048
values, 5 inner folds) takes seconds instead of the minutes of the iterative logistic probe.

The penalty is chosen by the same inner CV: each single layer scores the best pooled balanced
accuracy over ``features.probe_alphas`` (default 0.1, 1, 10, 100: on standardised features each
feature has variance 1, so the grid runs from nearly unpenalised to shrinking all but the few
strongest directions of the features' correlation matrix). The best layer's penalty then serves
every later comparison of the fold's plan (windows of layers around it, with or without speaker
normalisation, with or without the copies), so each comparison is at equal penalty and costs one
factorisation per inner fold. The probe ranks and compares; its scores are not a classifier's
accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each feature (1 where a feature is constant)."""
    mean = X.mean(axis=0, dtype=np.float64)
    std = X.std(axis=0, dtype=np.float64)
    std[std == 0] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def ridge_fit_predict(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, n_classes: int,
                      alphas: Sequence[float]) -> np.ndarray:
    """Fitted values (alphas x rows of ``X_test`` x ``n_classes``) of the class-balanced ridge probe
    trained on (``X_train``, ``y_train``: class indices 0..n_classes-1) with each penalty of
    ``alphas``, features standardised on ``X_train``. The Gram matrix is formed once for all penalties."""
    X_train = np.asarray(X_train, dtype=np.float32)
    mean, std = _standardise(X_train)
    Z = (X_train - mean) / std
    Zt = (np.asarray(X_test, dtype=np.float32) - mean) / std
    counts = np.bincount(y_train, minlength=n_classes).astype(np.float64)
    present = counts > 0
    weights = (len(y_train) / (present.sum() * counts[y_train])).astype(np.float32)
    Y = np.zeros((len(y_train), n_classes), dtype=np.float32)
    Y[np.arange(len(y_train)), y_train] = 1.0
    total = float(weights.sum())
    z_bar = (weights @ Z) / total
    y_bar = (weights @ Y) / total
    Z -= z_bar
    Zt -= z_bar
    Y -= y_bar
    root = np.sqrt(weights)[:, None]
    Z *= root
    Y *= root
    n, d = Z.shape
    primal = d <= n
    gram = Z.T @ Z if primal else Z @ Z.T  # more features than rows: the same fit through the n x n Gram
    rhs = Z.T @ Y if primal else Y
    out = np.empty((len(alphas), len(Zt), n_classes), dtype=np.float64)
    for k, solved in enumerate(_solve_shifted(gram, rhs, [alpha * total for alpha in alphas])):
        coef = solved if primal else Z.T @ solved
        out[k] = Zt @ coef + y_bar
    return out


def _solve_shifted(gram: np.ndarray, rhs: np.ndarray, shifts: Sequence[float]) -> list[np.ndarray]:
    """Solutions of (gram + shift I) x = rhs for each shift, by Cholesky factorisation (torch's
    LAPACK, several times faster than SciPy's on the CPU builds we use; within the job's threads)."""
    import torch

    matrix = torch.from_numpy(np.ascontiguousarray(gram))
    right = torch.from_numpy(np.ascontiguousarray(rhs))
    solutions = []
    for shift in shifts:
        system = matrix.clone()
        system.diagonal().add_(shift)
        solutions.append(torch.cholesky_solve(right, torch.linalg.cholesky(system)).numpy())
    return solutions


def ridge_out_of_fold(X: np.ndarray, y: np.ndarray, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                      alphas: Sequence[float]) -> np.ndarray:
    """Out-of-fold fitted values of the probe for each penalty (alphas x rows x classes): per (train,
    held-out) split, fitted on the train rows, evaluated on the held-out ones. Class columns follow
    ``np.unique(y)``; rows no split holds out stay NaN."""
    X = np.asarray(X, dtype=np.float32)
    classes, y_index = np.unique(np.asarray(y), return_inverse=True)
    out = np.full((len(alphas), len(y_index), len(classes)), np.nan)
    for train, held_out in splits:
        out[:, held_out] = ridge_fit_predict(X[train], y_index[train], X[held_out], len(classes), alphas)
    return out
