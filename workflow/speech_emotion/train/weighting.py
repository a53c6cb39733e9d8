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

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

from ..devices import single_blas_thread


CHUNK_BYTES = 6 * 2**20
"""The layers are read in blocks of rows of about this size in float32 (:func:`row_blocks`): the loss
computes a block's weighted sum and its share of the layer weights' gradient while the block is
still in the CPU's cache, so one L-BFGS step reads the fold's layers from memory once, from one
layout; the scales and the weighted sum never make a float32 copy of all rows beside the input."""


def layer_scales(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(means per layer and dimension, one scale per layer) of (rows, layers, dim) embeddings; the
    variances are summed over blocks of rows (:func:`row_blocks`), not over a centred copy of all rows."""
    X = np.asarray(embeddings, dtype=np.float32)
    n, n_layers, dim = X.shape
    mean = X.mean(axis=0)
    squares = np.zeros(n_layers)
    for rows in row_blocks(X.shape):
        centred = X[rows] - mean
        centred *= centred
        squares += centred.sum(axis=0).sum(axis=1, dtype=np.float64)
        del centred  # one block at a time
    scale = np.sqrt(np.maximum(squares / (n * dim), 1e-12))
    return mean, scale


def row_blocks(shape: tuple[int, int, int], chunk_bytes: int | None = None) -> list[slice]:
    """Consecutive blocks of rows of a (rows, layers, dim) float32 array, each about ``chunk_bytes``
    (default :data:`CHUNK_BYTES`)."""
    n, n_layers, dim = shape
    step = max(1, int(CHUNK_BYTES if chunk_bytes is None else chunk_bytes) // (n_layers * dim * 4))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def learn_layer_weights(embeddings: np.ndarray, y: np.ndarray, C: float = 1.0, max_iter: int = 200,
                        continuous: bool = False, rows: np.ndarray | None = None) -> np.ndarray:
    """Stored weights (``w_l / s_l``, one per layer) learned on (rows, layers, dim) ``embeddings`` and
    their labels ``y`` (``rows``: learn on these rows of both only, e.g. an inner split's training rows).

    ``continuous``: ``y`` is a continuous target, standardised here; the head is a linear regression
    on ``0.5 * mean squared error + 0.5 / (C n) * |W|^2``, i.e. scikit-learn's Ridge with ``alpha = 1 / C``."""
    X = np.asarray(embeddings)
    picked = np.arange(len(X)) if rows is None else np.asarray(rows)
    y = np.asarray(y)[picked]
    Z = np.empty((len(picked), X.shape[1], X.shape[2]), dtype=np.float32)  # the one float32 copy, centred
    for block in row_blocks(Z.shape):  # and scaled in place, read from the (float16) rows block by block
        Z[block] = X[picked[block]]
    n, n_layers, dim = Z.shape
    mean, scale = layer_scales(Z)
    Z -= mean
    Z /= scale[None, :, None]
    if continuous:
        values = np.asarray(y, dtype=np.float64).ravel()
        Y = ((values - values.mean()) / values.std()).astype(np.float32).reshape(n, 1)
        sample_weight = None
    else:
        classes, index = np.unique(np.asarray(y), return_inverse=True)
        Y = np.eye(len(classes), dtype=np.float32)[index]
        counts = np.bincount(index, minlength=len(classes))
        sample_weight = (n / (len(classes) * counts))[index].astype(np.float32)  # class-balanced, sums to n
    loss = weighting_loss(Z, Y, sample_weight, penalty=1.0 / (C * n))
    k = Y.shape[1]
    with single_blas_thread():  # L-BFGS-B and many small products per step (see single_blas_thread)
        result = minimize(loss, np.zeros(n_layers + dim * k + k), jac=True, method="L-BFGS-B",
                          options={"maxiter": int(max_iter)})
    weights = softmax(result.x[:n_layers])
    return (weights / scale).astype(np.float64)


def weighting_loss(Z: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None, penalty: float,
                   chunk_bytes: int | None = None) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The penalised loss of a layer weighting and its head, and its gradient, as a function of
    ``theta`` = (layer logits a, head W (dim x k), bias b), for L-BFGS.

    ``Z``: (rows, layers, dim) float32, centred and scaled; ``Y``: (rows, k) one-hot labels
    (``sample_weight``: each row's weight, the cross-entropy) or (rows, 1) standardised values
    (``sample_weight`` None: the squared error). The weighted sum is ``H = sum_l softmax(a)_l Z_l``,
    the head's output ``H W + b``; the loss is the mean over rows plus ``0.5 * penalty * |W|^2``.
    The rows are read in blocks of about ``chunk_bytes`` (:data:`CHUNK_BYTES`)."""
    n, n_layers, dim = Z.shape
    k = Y.shape[1]
    blocks = row_blocks(Z.shape, chunk_bytes)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, W = theta[:n_layers], theta[n_layers:n_layers + dim * k].reshape(dim, k)
        b = theta[n_layers + dim * k:]
        w = softmax(a)
        w32, W32, b32 = w.astype(np.float32), W.astype(np.float32), b.astype(np.float32)
        value, dW, db, dw = 0.0, np.zeros((dim, k)), np.zeros(k), np.zeros(n_layers)
        for rows in blocks:
            Zb = Z[rows]  # (r, layers, dim), a view
            H = np.matmul(w32, Zb)  # (r, dim): sum_l w_l Z_l
            out = H @ W32 + b32
            if sample_weight is None:
                residual = out - Y[rows]
                value += 0.5 * float((residual.astype(np.float64) ** 2).sum())
                G = residual / n
            else:
                logp = log_softmax(out, axis=1)
                sw = sample_weight[rows]
                value -= float((sw * (logp * Y[rows]).sum(axis=1)).sum())
                G = (sw[:, None] * (np.exp(logp) - Y[rows])) / n  # (r, k)
            dW += H.T.astype(np.float64) @ G
            db += G.sum(axis=0)
            dH = (G @ W32.T).astype(np.float32)  # (r, dim)
            dw += np.matmul(Zb, dH[:, :, None]).sum(axis=0).ravel()  # <Z_l, dH> per layer
        value = value / n + 0.5 * penalty * float((W ** 2).sum())
        dW += penalty * W
        da = w * (dw - float(w @ dw))
        return float(value), np.concatenate([da, dW.ravel(), db])

    return loss


def weighted_sum(embeddings: np.ndarray, weights: np.ndarray, layers: Sequence[int] | None = None) -> np.ndarray:
    """(rows, layers, dim) -> (rows, dim) float32: ``sum_l weights[l] * layer l`` (``layers``: the
    stored layers the weights belong to, in their order; default: all), added up layer by layer in
    float32, so that a row's features do not depend on the other rows computed with it (a clip in
    cross-validation and the same clip given to ``predict`` alone get the same bits). Computed in
    blocks of rows (:func:`row_blocks`): float16 embeddings are never converted all at once."""
    X = np.asarray(embeddings)
    w = np.asarray(weights, dtype=np.float32)
    picked = list(range(X.shape[1])) if layers is None else list(layers)
    out = np.zeros((X.shape[0], X.shape[2]), dtype=np.float32)
    for rows in row_blocks((X.shape[0], len(w), X.shape[2])):
        block = X[rows]
        for weight, layer in zip(w, picked, strict=True):
            out[rows] += block[:, layer, :].astype(np.float32) * weight
    return out
