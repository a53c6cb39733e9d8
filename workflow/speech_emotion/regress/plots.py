"""Figures of one cross-validated (target, encoder, regressor): predicted against rated value, and the
residuals against the prediction, from its predictions.tsv files and metrics.json.

Every CV test clip is one point, pooled over folds and coloured by fold. The numbers in the titles are
metrics.json's pooled scores (checked against the predictions: a stale metrics.json is a ValueError) and
are also written into the PNG's ``Title`` text chunk, so that a reader of the file (or a test) finds
them without the image. matplotlib is imported when a figure is drawn: the rest of the stage never
needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..evaluate.regression import concordance

RESIDUAL_BINS = 10
"""At most this many quantile bins of the prediction for the residual plot's running mean."""


def scores_text(metrics: Mapping[str, Any]) -> str:
    """``pooled over 3 folds, 240 clips: CCC 0.982, Pearson 0.983, MAE 0.087 (chance: CCC -0.001, MAE 0.505)``."""
    chance = metrics["chance"]
    return (f"pooled over {metrics['n_folds']} folds, {metrics['n_clips']} clips: CCC {metrics['ccc']['pooled']:.3f}, "
            f"Pearson {metrics['pearson']['pooled']:.3f}, MAE {metrics['mae']['pooled']:.3f} "
            f"(chance: CCC {chance['ccc']['pooled']:.3f}, MAE {chance['mae']['pooled']:.3f})")


def checked(predictions: pd.DataFrame, metrics: Mapping[str, Any]) -> pd.DataFrame:
    """The predictions sorted by fold and clip, after checking that ``metrics`` describes them (same clip
    count, same pooled CCC): a ValueError otherwise (a stale or foreign metrics.json)."""
    frame = predictions.sort_values(["fold", "clip_id"], kind="stable").reset_index(drop=True)
    if len(frame) != metrics["n_clips"]:
        raise ValueError(f"metrics.json counts {metrics['n_clips']} clips, the predictions {len(frame)}")
    ccc = concordance(frame["target"], frame["prediction"])
    if not np.isclose(ccc, metrics["ccc"]["pooled"], rtol=0, atol=1e-6):
        raise ValueError(f"metrics.json's pooled CCC {metrics['ccc']['pooled']} is not the predictions' {ccc:.6f}")
    return frame


def _colours(folds: list[Any]) -> dict[Any, Any]:
    import seaborn as sns

    return dict(zip(folds, sns.color_palette("colorblind", len(folds))))


def _save(fig: Any, path: str | Path, title: str) -> None:
    """evaluate.plots' PNG settings (metadata-free, stable bytes) with the title as the PNG's Title."""
    import matplotlib.pyplot as plt

    from ..evaluate.plots import _SAVE
    from ..io.files import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", **{**_SAVE, "metadata": {**_SAVE["metadata"], "Title": title}})
    plt.close(fig)


def plot_scatter(predictions: pd.DataFrame, metrics: Mapping[str, Any], path: str | Path, title: str = "") -> str:
    """Predicted against rated value of every test clip (pooled over folds, coloured by fold), the
    identity line and each fold's training mean (the chance prediction) as a dotted line. Returns the
    figure's title (``title`` and :func:`scores_text`)."""
    import matplotlib.pyplot as plt

    from ..evaluate.plots import _theme

    _theme()
    frame = checked(predictions, metrics)
    folds = sorted(frame["fold"].unique())
    colours = _colours(folds)
    values = np.concatenate([frame["target"], frame["prediction"], frame["train_mean"]])
    low, high = float(values.min()), float(values.max())
    pad = 0.04 * (high - low or 1.0)
    low, high = low - pad, high + pad
    fig, ax = plt.subplots(figsize=(6.4, 6.0))
    for fold in folds:
        part = frame[frame["fold"] == fold]
        ax.scatter(part["target"], part["prediction"], s=14, alpha=0.6, color=colours[fold], linewidths=0,
                   label=f"fold {fold} ({len(part)} clips)")
        ax.axhline(part["train_mean"].iloc[0], color=colours[fold], linestyle=":", linewidth=1.5)
    ax.plot([low, high], [low, high], color="0.3", linewidth=1.0, label="identity (prediction = rating)")
    ax.plot([], [], color="0.5", linestyle=":", linewidth=1.5, label="chance: each fold's training mean")
    ax.set(xlim=(low, high), ylim=(low, high), aspect="equal")
    target = metrics.get("target", "target")
    ax.set_xlabel(f"rated {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.legend(loc="upper left", fontsize=8, frameon=True)
    text = f"{title}\n{scores_text(metrics)}".strip()
    ax.set_title(text, fontsize=9)
    _save(fig, path, text)
    return text


def binned_residuals(prediction: np.ndarray, residual: np.ndarray, bins: int = RESIDUAL_BINS) -> pd.DataFrame:
    """Mean prediction and mean residual per quantile bin of the prediction (at most ``bins`` bins, at
    least 5 clips each)."""
    count = int(max(1, min(bins, len(prediction) // 5)))
    order = np.argsort(prediction, kind="stable")
    parts = np.array_split(order, count)
    return pd.DataFrame({"prediction": [prediction[p].mean() for p in parts],
                         "residual": [residual[p].mean() for p in parts]})


def plot_residuals(predictions: pd.DataFrame, metrics: Mapping[str, Any], path: str | Path, title: str = "") -> str:
    """Residual (prediction - rated value) against the prediction of every test clip, coloured by fold,
    with the zero line and the mean residual per quantile bin of the prediction.

    Against the prediction, not the rating: a prediction that is the expected rating given the audio
    has errors of mean 0 at every predicted value, so a trend here is a miscalibration (an offset, or a
    range squeezed or stretched) that CCC penalises, and a fan is an error that grows with the value.
    Against the rating every imperfect regressor slopes (low ratings over-, high ones under-predicted:
    regression to the mean), which the scatter plot shows already. Returns the figure's title."""
    import matplotlib.pyplot as plt

    from ..evaluate.plots import _theme

    _theme()
    frame = checked(predictions, metrics)
    residual = (frame["prediction"] - frame["target"]).to_numpy(float)
    prediction = frame["prediction"].to_numpy(float)
    folds = sorted(frame["fold"].unique())
    colours = _colours(folds)
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    for fold in folds:
        mask = (frame["fold"] == fold).to_numpy()
        ax.scatter(prediction[mask], residual[mask], s=14, alpha=0.6, color=colours[fold], linewidths=0,
                   label=f"fold {fold}")
    ax.axhline(0.0, color="0.3", linewidth=1.0)
    binned = binned_residuals(prediction, residual)
    ax.plot(binned["prediction"], binned["residual"], color="black", marker="o", markersize=4, linewidth=1.5,
            label="mean residual per prediction bin")
    target = metrics.get("target", "target")
    ax.set_xlabel(f"predicted {target}")
    ax.set_ylabel("residual: prediction - rated value")
    ax.legend(loc="best", fontsize=8, frameon=True)
    text = (f"{title}\n{scores_text(metrics)}\nRMSE {metrics['rmse']['pooled']:.3f}, "
            f"mean residual {residual.mean():+.3f}").strip()
    ax.set_title(text, fontsize=9)
    _save(fig, path, text)
    return text
