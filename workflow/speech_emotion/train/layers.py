"""Encoder layers as features: ``features.layers`` given by the config, and the one way to select them.

Embeddings keep every hidden layer, shape (clips, layers, dim); a classifier reads the chosen
layers concatenated (:func:`select`). ``features.layers: auto`` is decided per fold by the layer
probe of the fold's plan (:mod:`speech_emotion.train.plan`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def resolve_layers(spec: str | Sequence[int], n_layers: int) -> list[int]:
    """``last`` / ``all`` / a list of indices (negative counts from the end) -> sorted indices."""
    if isinstance(spec, str):
        if spec == "last":
            return [n_layers - 1]
        if spec == "all":
            return list(range(n_layers))
        raise ValueError(f"features.layers: '{spec}' needs the probe (auto) or is unknown (last|all|auto|[indices])")
    out = []
    for index in spec:
        i = int(index) + n_layers if int(index) < 0 else int(index)
        if not 0 <= i < n_layers:
            raise ValueError(f"features.layers: index {index} out of range for an encoder with {n_layers} layers")
        out.append(i)
    return sorted(set(out))


def select(embeddings: np.ndarray, layers: Sequence[int]) -> np.ndarray:
    """(clips, layers, dim) -> (clips, len(layers) * dim) float32, chosen layers concatenated."""
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 3:
        raise ValueError(f"embeddings must be (clips, layers, dim), got shape {embeddings.shape}")
    chosen = embeddings[:, list(layers), :]
    return chosen.reshape(len(embeddings), -1).astype(np.float32)
