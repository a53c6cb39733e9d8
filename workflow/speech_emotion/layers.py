"""Which encoder layers a classifier reads (last, all, a list, or picked by a linear probe), and
whether a fold's augmented copies train.

Embeddings keep every hidden layer, shape (clips, layers, dim). ``features.layers: auto`` scores
each layer with a fast class-balanced logistic-regression probe (balanced accuracy of its
out-of-fold predictions pooled over speaker-grouped inner folds) on the clean training clips of a
fold only, then keeps the best layer or, when it scores better, the best run of up to
``probe_max_layers`` ADJACENT layers around it (concatenated). ``augment.use: auto`` then asks the
same probe, on the chosen layers, whether training with the augmented copies beats training
without them (held-out inner rows are clean clips either way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from .classifiers import InnerSplits, LogRegClassifier, cross_val_proba, inner_cv, pooled_balanced_accuracy

# A wider window must beat the best narrower one by this much (parsimony against CV noise).
MIN_GAIN = 0.005


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


def probe_score(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray | None, splits: InnerSplits, seed: int, C: float = 1.0,
    max_iter: int = 500,
) -> float:
    """Balanced accuracy of a standardised, class-balanced logistic regression's out-of-fold
    predictions pooled over the inner ``splits`` (the logreg classifier with a fixed C)."""
    probs = cross_val_proba(lambda: LogRegClassifier(C=C, max_iter=max_iter, seed=seed), X, y, groups, splits)
    return pooled_balanced_accuracy(probs, y)


def probe_layers(
    embeddings: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    max_layers: int = 3,
    inner_folds: int = 5,
    seed: int = 0,
    C: float = 1.0,
    max_iter: int = 500,
) -> dict[str, Any]:
    """Score every layer, then adjacent windows around the best one; return the choice and scores.

    Result: ``{"layers": [...], "score": s, "layer_scores": [per layer], "windows": [{layers, score}]}``.
    """
    embeddings = np.asarray(embeddings)
    n_layers = embeddings.shape[1]
    y = np.asarray(y)
    if n_layers == 1:
        return {"layers": [0], "score": None, "layer_scores": [None], "windows": [], "inner": None}
    splits = inner_cv(y, groups, inner_folds, seed, purpose="layer probe")

    def score(layers: Sequence[int]) -> float:
        return probe_score(select(embeddings, layers), y, groups, splits, seed, C, max_iter)

    layer_scores = [score([i]) for i in range(n_layers)]
    best = int(np.argmax(layer_scores))
    windows = [{"layers": [best], "score": layer_scores[best]}]
    chosen = windows[0]
    for width in range(2, min(max_layers, n_layers) + 1):
        best_of_width = None
        for start in range(max(0, best - width + 1), min(best, n_layers - width) + 1):
            layers = list(range(start, start + width))
            entry = {"layers": layers, "score": score(layers)}
            windows.append(entry)
            if best_of_width is None or entry["score"] > best_of_width["score"]:
                best_of_width = entry
        if best_of_width is not None and best_of_width["score"] > chosen["score"] + MIN_GAIN:
            chosen = best_of_width
    return {
        "layers": chosen["layers"],
        "score": chosen["score"],
        "layer_scores": layer_scores,
        "windows": windows,
        "inner": splits.record(),
    }


def choose_layers(
    spec: str | Sequence[int],
    embeddings: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    max_layers: int = 3,
    inner_folds: int = 5,
    seed: int = 0,
    C: float = 1.0,
    max_iter: int = 500,
) -> dict[str, Any]:
    """The layer choice for one fold (``embeddings``/``y``/``groups``: its training rows only)."""
    n_layers = np.asarray(embeddings).shape[1]
    if spec == "auto":
        result = probe_layers(embeddings, y, groups, max_layers, inner_folds, seed, C, max_iter)
        result["method"] = "probe"
    else:
        result = {"layers": resolve_layers(spec, n_layers), "score": None, "layer_scores": [], "windows": [],
                  "inner": None, "method": "config"}
    result["spec"] = spec if isinstance(spec, str) else list(spec)
    result["n_layers"] = int(n_layers)
    return result


def choose_augmented(
    mode: str,
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    clean: np.ndarray,
    clips: np.ndarray,
    inner_folds: int = 5,
    seed: int = 0,
    C: float = 1.0,
    max_iter: int = 500,
) -> dict[str, Any]:
    """Whether a fold's augmented copies train its classifiers (``augment.use``).

    ``X``/``y``/``groups``/``clips``: the fold's training rows on the chosen layers, copies included;
    ``clean`` marks the clean rows. ``always``: they train. ``auto``: the probe is scored twice on
    the same inner folds (speaker-grouped, else clip-grouped: a held-out clip's copies never train)
    and the same held-out clean clips, trained with and without the copies; the copies train only
    when they raise that score by more than :data:`MIN_GAIN` (without them is the cheaper, plainer
    model).
    """
    clean = np.asarray(clean, dtype=bool)
    n_copies = int((~clean).sum())
    if mode not in ("auto", "always"):
        raise ValueError(f"augment.use: '{mode}' is unknown (auto|always)")
    if mode == "always" or n_copies == 0:
        return {"mode": mode, "use": n_copies > 0, "copy_rows": n_copies, "score_with": None, "score_without": None,
                "inner": None}
    splits = inner_cv(y, groups, inner_folds, seed, clean, clips, purpose="copies decision")
    without_copies = InnerSplits([(tr[clean[tr]], va) for tr, va in splits], splits.grouping, splits.reason)
    with_copies = probe_score(X, y, groups, splits, seed, C, max_iter)
    without = probe_score(X, y, groups, without_copies, seed, C, max_iter)
    return {"mode": mode, "use": bool(with_copies > without + MIN_GAIN), "copy_rows": n_copies,
            "score_with": with_copies, "score_without": without, "inner": splits.record()}
