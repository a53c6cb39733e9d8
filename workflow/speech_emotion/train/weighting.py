"""A learned weighting of an encoder's layers (SUPERB's weighted sum), for the plan's layer choice.

One weight per layer (a softmax, so the weights are positive and sum to 1) is learned jointly with a
class-balanced multinomial logistic regression on the weighted sum of the layers, by L-BFGS on the
penalised cross-entropy (numpy and scipy only: a plan job imports no torch); for a continuous target
(``continuous=True``, the regression plans) the same weights are learned jointly with a ridge
regression of the standardised target on the weighted sum (penalised squared error). The layers are
centred and divided by one scale each (the root mean variance of their features on the training
rows) before weighting, so that a layer of larger numbers does not win by its size.

The feature pipeline stores the weights with those scales folded in (``w_l / s_l``): the classifier
then reads ``sum_l w_l / s_l * h_l``, one layer's width. The centring is a constant shift of every
row and is left out (every classifier here standardises its input or splits on thresholds, and
train and predict compute the same thing).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax


def layer_scales(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(means per layer and dimension, one scale per layer) of (rows, layers, dim) embeddings."""
    X = np.asarray(embeddings, dtype=np.float32)
    mean = X.mean(axis=0)
    scale = np.sqrt(np.maximum(X.var(axis=0).mean(axis=1), 1e-12))
    return mean, scale


def learn_layer_weights(embeddings: np.ndarray, y: np.ndarray, C: float = 1.0, max_iter: int = 200,
                        continuous: bool = False) -> np.ndarray:
    """Stored weights (``w_l / s_l``, one per layer) learned on (rows, layers, dim) ``embeddings``.

    ``continuous``: ``y`` is a continuous target, standardised here; the head is a linear regression
    on ``0.5 * mean squared error + 0.5 / (C n) * |W|^2``, i.e. scikit-learn's Ridge with ``alpha = 1 / C``."""
    Z = np.array(embeddings, dtype=np.float32)  # one float32 copy, centred and scaled in place
    n, n_layers, dim = Z.shape
    mean, scale = layer_scales(Z)
    Z -= mean
    Z /= scale[None, :, None]
    # the two layouts numpy's tensordot and einsum copied Z into on every L-BFGS step for the same two
    # products, made once: (rows x dim, layers) and (layers, rows x dim); the same numbers, less time
    # (at most two copies of the fold's layers at a time: the second layout is made from the first)
    by_layer = np.ascontiguousarray(Z.transpose(1, 0, 2))  # (layers, rows, dim)
    del Z
    by_row = np.ascontiguousarray(by_layer.transpose(1, 2, 0)).reshape(n * dim, n_layers)
    by_layer = by_layer.reshape(n_layers, n * dim)
    if continuous:
        values = np.asarray(y, dtype=np.float64).ravel()
        k, Y = 1, ((values - values.mean()) / values.std()).astype(np.float32).reshape(n, 1)
    else:
        classes, index = np.unique(np.asarray(y), return_inverse=True)
        k = len(classes)
        Y = np.eye(k, dtype=np.float32)[index]
        counts = np.bincount(index, minlength=k)
        sample_weight = (n / (k * counts))[index].astype(np.float32)  # class-balanced, sums to n
    penalty = 1.0 / (C * n)

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return theta[:n_layers], theta[n_layers:n_layers + dim * k].reshape(dim, k), theta[n_layers + dim * k:]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, W, b = unpack(theta)
        w = softmax(a)
        H = np.dot(by_row, w.astype(np.float32).reshape(n_layers, 1)).reshape(n, dim)  # sum_l w_l Z_l
        logits = H @ W.astype(np.float32) + b.astype(np.float32)
        if continuous:
            residual = logits - Y  # (n, 1)
            value = 0.5 * float((residual.astype(np.float64) ** 2).sum()) / n + 0.5 * penalty * float((W ** 2).sum())
            G = residual / n
        else:
            logp = log_softmax(logits, axis=1)
            value = -(sample_weight * (logp * Y).sum(axis=1)).sum() / n + 0.5 * penalty * float((W ** 2).sum())
            G = (sample_weight[:, None] * (np.exp(logp) - Y)) / n  # (n, k)
        dW = H.T.astype(np.float64) @ G + penalty * W
        db = G.sum(axis=0)
        dH = (G @ W.T).astype(np.float32)  # (n, dim)
        dw = np.matmul(by_layer, dH.reshape(n * dim, 1)).reshape(n_layers).astype(np.float64)  # <Z_l, dH>
        da = w * (dw - float(w @ dw))
        return float(value), np.concatenate([da, dW.ravel(), db])

    theta0 = np.zeros(n_layers + dim * k + k)
    result = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": int(max_iter)})
    weights = softmax(unpack(result.x)[0])
    return (weights / scale).astype(np.float64)


def weighted_sum(embeddings: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(rows, layers, dim) -> (rows, dim) float32: ``sum_l weights[l] * layer l``."""
    X = np.asarray(embeddings, dtype=np.float32)
    return np.tensordot(X, np.asarray(weights, dtype=np.float32), axes=([1], [0])).astype(np.float32)
