"""Figures of the evaluation (PNG, matplotlib Agg + seaborn), each readable at a glance.

Every function takes plain data (metrics dicts as written by :mod:`speech_emotion.evaluate.metrics`, data
frames, arrays) and writes one PNG atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..io.files import atomic_path  # noqa: E402
from .metrics import METRIC_LABELS, METRICS, is_cross  # noqa: E402

DPI = 120
# Stable, metadata-free PNGs: the same data gives the same bytes.
_SAVE = {"dpi": DPI, "bbox_inches": "tight", "metadata": {"Software": None}}


def _save(fig: plt.Figure, path: str | Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", **_SAVE)
    plt.close(fig)


def _theme() -> None:
    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.0)


def plot_confusion(metrics: Mapping[str, Any], path: str | Path, title: str = "") -> None:
    """Row-normalised confusion matrix (recall on the diagonal) annotated with share and count."""
    _theme()
    conf = metrics["confusion"]
    labels = conf["labels"]
    norm = np.array(conf["normalized"], dtype=float)
    counts = np.array(conf["counts"], dtype=int)
    annot = np.array(
        [[f"{norm[i, j]:.2f}\n({counts[i, j]})" for j in range(len(labels))] for i in range(len(labels))]
    )
    size = max(4.5, 0.9 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    sns.heatmap(
        norm, annot=annot, fmt="", cmap="Blues", vmin=0.0, vmax=1.0, square=True, linewidths=0.5,
        xticklabels=labels, yticklabels=labels, cbar_kws={"label": "share of the true class"}, ax=ax,
        annot_kws={"fontsize": 9},
    )
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ua = metrics["balanced_accuracy"]["pooled"]
    wa = metrics["accuracy"]["pooled"]
    ax.set_title(f"{title}\npooled over folds: UA {ua:.3f}, WA {wa:.3f}, {metrics['n_clips']} clips".strip())
    _save(fig, path)


def plot_per_class(metrics: Mapping[str, Any], path: str | Path, title: str = "") -> None:
    """Precision, recall and F1 per class; the human listeners' recall beside them when known."""
    _theme()
    rows = []
    for label, values in metrics["per_class"].items():
        for key in ("precision", "recall", "f1"):
            rows.append({"class": label, "score": values[key], "measure": {"f1": "F1"}.get(key, key)})
    human = metrics.get("human_baseline", {})
    if human.get("available"):
        for label, values in human["per_class"].items():
            rows.append({"class": label, "score": values["human"], "measure": "human recall (audio only)"})
    frame = pd.DataFrame(rows)
    width = max(6.0, 1.3 * len(metrics["per_class"]) + 2.0)
    fig, ax = plt.subplots(figsize=(width, 4.5))
    palette = ["#4C72B0", "#55A868", "#C44E52", "#8C8C8C"]
    sns.barplot(data=frame, x="class", y="score", hue="measure", palette=palette[: frame["measure"].nunique()], ax=ax)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (pooled over folds)")
    ax.set_xlabel("")
    chance = metrics.get("chance", {}).get("balanced_accuracy")
    if chance:
        ax.axhline(chance, color="black", linestyle=":", linewidth=1, label="chance recall")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=5, frameon=False)
    subtitle = f"UA {metrics['balanced_accuracy']['pooled']:.3f}"
    if human.get("available"):
        subtitle += (
            f"; on the {human['n_clips']} clips with votes: model WA {human['model']['accuracy']:.3f},"
            f" listeners WA {human['human']['accuracy']:.3f}"
        )
    ax.set_title(f"{title}\n{subtitle}".strip())
    _save(fig, path)


def plot_fold_scores(metrics_by_classifier: Mapping[str, Mapping[str, Any]], path: str | Path, title: str = "") -> None:
    """Per-fold value of each metric, one line per classifier (folds on the x axis)."""
    _theme()
    rows = []
    for classifier, metrics in sorted(metrics_by_classifier.items()):
        for name in METRICS:
            for fold, value in metrics[name]["per_fold"].items():
                rows.append({"classifier": classifier, "metric": METRIC_LABELS[name], "fold": int(fold), "score": value})
    frame = pd.DataFrame(rows)
    grid = sns.relplot(
        data=frame, x="fold", y="score", hue="classifier", style="classifier", col="metric",
        col_wrap=2, kind="line", markers=True, dashes=False, height=3.0, aspect=1.4,
        col_order=[METRIC_LABELS[m] for m in METRICS],
    )
    folds = sorted(frame["fold"].unique())
    names: dict[str, str] = {}
    for metrics in metrics_by_classifier.values():
        names.update(metrics.get("fold_names", {}))  # the speaker (loso) or the corpus's fold name (predefined)
    ticks = [names.get(str(f), str(f)) for f in folds]
    for ax in grid.axes.flat:
        ax.set_xticks(folds, ticks, rotation=90 if len(folds) > 8 or max(map(len, ticks)) > 3 else 0)
    grid.set_titles("{col_name}")
    if title:
        grid.figure.suptitle(title, y=1.03)
    _save(grid.figure, path)


def plot_comparison(summary: pd.DataFrame, path: str | Path, chance: float | None = None) -> None:
    """Mean ± std over folds of the four metrics for every (encoder, classifier) pair of the in-corpus
    cross-validation (cross-corpus rows of the summary are left out: they have one test part each)."""
    _theme()
    summary = summary[~is_cross(summary)]
    rows = []
    for r in summary.to_dict("records"):
        pair = f"{r['encoder']}\n{r['classifier']}"
        for name in METRICS:
            rows.append({"pair": pair, "metric": METRIC_LABELS[name], "mean": r[f"{name}_mean"], "std": r[f"{name}_std"]})
    frame = pd.DataFrame(rows)
    pairs = list(dict.fromkeys(frame["pair"]))
    metrics = [METRIC_LABELS[m] for m in METRICS]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.5 * len(pairs) + 2.0), 4.8))
    width = 0.8 / len(metrics)
    colors = sns.color_palette("deep", len(metrics))
    x = np.arange(len(pairs))
    for i, metric in enumerate(metrics):
        part = frame[frame["metric"] == metric].set_index("pair").loc[pairs]
        ax.bar(x + (i - (len(metrics) - 1) / 2) * width, part["mean"], width, yerr=part["std"], capsize=3,
               label=metric, color=colors[i])
    if chance:
        ax.axhline(chance, color="black", linestyle=":", linewidth=1, label=f"chance UA ({chance:.2f})")
    ax.set_xticks(x, pairs)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean over folds (error bar: std)")
    protocol = ", ".join(sorted(set(summary["protocol"].astype(str))))
    ax.set_title(f"All encoder / classifier pairs ({protocol} cross-validation)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=5, frameon=False)
    _save(fig, path)


def plot_layer_probe(table: pd.DataFrame, path: str | Path, chosen: Sequence[int] = (), title: str = "") -> None:
    """Linear-probe score per encoder layer (results/cv/{encoder}/layer_probe.tsv: fold, layer, score
    [, chosen, scored_by: the y axis names it]): a thin line per fold with its chosen layers as crosses, the mean ± std over folds,
    and the final model's layers circled. Rows without a score (layers set in config) are noted."""
    _theme()
    frame = table.copy()
    frame["layer"] = frame["layer"].astype(int)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    scored = frame.dropna(subset=["score"])
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    if scored.empty:
        ax.text(0.5, 0.5, "no probe scores: layers were set in the configuration (features.layers)",
                ha="center", va="center", transform=ax.transAxes, wrap=True)
        ax.set_axis_off()
        ax.set_title(title or "Linear probe per layer")
        _save(fig, path)
        return
    has_folds = "fold" in scored.columns and scored["fold"].nunique() > 1
    if "fold" in scored.columns:
        for i, (_, part) in enumerate(scored.groupby("fold", sort=True)):
            part = part.sort_values("layer")
            ax.plot(part["layer"], part["score"], color="0.7", linewidth=0.8, zorder=1,
                    label="single fold" if i == 0 and has_folds else None)
            if "chosen" in part.columns:
                picked = part[part["chosen"].astype(int) == 1]
                ax.scatter(picked["layer"], picked["score"], marker="x", color="0.45", s=25, zorder=2,
                           label="chosen in that fold" if i == 0 else None)
    stats = scored.groupby("layer")["score"].agg(["mean", "std"]).fillna(0.0).sort_index()
    ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", color="#4C72B0", capsize=3,
                zorder=3, label="mean over folds ± std" if has_folds else "score")
    for i, layer in enumerate(sorted(set(int(v) for v in chosen))):
        if layer in stats.index:
            ax.scatter([layer], [stats.loc[layer, "mean"]], s=170, facecolors="none", edgecolors="#C44E52",
                       linewidths=2, zorder=4, label="final model's layers" if i == 0 else None)
    ax.set_xlabel("layer (0 = CNN / embedding output)")
    scorers = sorted(set(scored["scored_by"].dropna().astype(str))) if "scored_by" in scored.columns else []
    ax.set_ylabel(f"{' / '.join(scorers) if scorers else 'probe'} balanced accuracy (inner CV)")
    if len(stats) <= 30:
        ax.set_xticks(list(stats.index))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=4, fontsize=8, frameon=False)
    ax.set_title(title or "Linear probe per layer")
    _save(fig, path)


def _cache_umap_jit() -> None:
    """Turn on numba's on-disk cache for umap-learn's JIT functions, as pynndescent does for its own: without
    it every new process compiles them again (about 10 CPU-seconds). numba keeps the cache beside umap's
    source (in the user's cache folder where that is read-only) and recompiles when umap changes; the
    compiled code, and so the embedding, is the same."""
    import sys

    from numba.core.dispatcher import Dispatcher

    for name, module in list(sys.modules.items()):
        if name == "umap" or name.startswith("umap."):
            for value in list(vars(module).values()):
                if isinstance(value, Dispatcher):
                    value.enable_caching()


def umap_2d(features: np.ndarray, seed: int, n_neighbors: int = 15) -> np.ndarray:
    """Standardise, reduce with PCA (<= 50 components), then UMAP to 2-D."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    x = StandardScaler().fit_transform(np.asarray(features, dtype=np.float32))
    n_components = min(50, x.shape[0] - 1, x.shape[1])
    if n_components >= 2 and x.shape[1] > n_components:
        x = PCA(n_components=n_components, random_state=seed).fit_transform(x)
    import umap

    _cache_umap_jit()
    reducer = umap.UMAP(n_neighbors=max(2, min(n_neighbors, x.shape[0] - 1)), min_dist=0.1, random_state=seed,
                        n_jobs=1)
    return reducer.fit_transform(x)


def plot_umap(points: np.ndarray, labels: Sequence[str], speakers: Sequence[str], path: str | Path,
              title: str = "") -> None:
    """Two panels of the same 2-D map: coloured by emotion, and by speaker."""
    _theme()
    frame = pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "emotion": list(map(str, labels)),
                          "speaker": list(map(str, speakers))})
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.8))
    size = 12 if len(frame) > 2000 else 30
    emotions = sorted(frame["emotion"].unique())
    sns.scatterplot(data=frame, x="x", y="y", hue="emotion", hue_order=emotions, palette="tab10", s=size,
                    linewidth=0, alpha=0.8, ax=axes[0])
    axes[0].legend(title="emotion", loc="best", fontsize=8, markerscale=1.5)
    axes[0].set_title("coloured by emotion")
    speakers_sorted = sorted(frame["speaker"].unique())
    many = len(speakers_sorted) > 20
    palette = sns.color_palette("husl", len(speakers_sorted))
    sns.scatterplot(data=frame, x="x", y="y", hue="speaker", hue_order=speakers_sorted, palette=palette, s=size,
                    linewidth=0, alpha=0.8, legend=not many, ax=axes[1])
    if not many:
        axes[1].legend(title="speaker", loc="best", fontsize=7, ncol=2)
    axes[1].set_title(f"coloured by speaker ({len(speakers_sorted)} speakers)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("UMAP 1")
        ax.set_ylabel("UMAP 2")
    fig.suptitle(title or "UMAP of clean embeddings", y=1.0)
    fig.tight_layout()
    _save(fig, path)


def plot_emotion_timeline(segments: pd.DataFrame, labels: Sequence[str], path: str | Path, title: str = "") -> None:
    """Emotion over time in one recording: per segment, its label probabilities stacked to 1, drawn
    over the stretch of time the segment stands for (overlapping windows split their overlap);
    blank where no segment lies (no speech, or a failed read). The legend gives each label's share
    of the segmented time."""
    from ..predict.segments import owned_spans, time_shares

    _theme()
    rows = segments[segments["error"].isna()].sort_values("start") if "error" in segments else segments.sort_values("start")
    spans = owned_spans(rows["start"].tolist(), rows["end"].tolist())
    shares = time_shares(rows.assign(_key=0), labels, key="_key").iloc[0] if len(rows) else None
    end = float(segments["end"].max()) if len(segments) and segments["end"].notna().any() else 1.0
    fig, ax = plt.subplots(figsize=(min(16.0, 6.0 + end / 20.0), 3.4))
    colors = sns.color_palette("colorblind", len(labels))
    lefts = np.array([s for s, _ in spans], dtype=float)
    widths = np.array([e - s for s, e in spans], dtype=float)
    bottom = np.zeros(len(rows))
    for label, color in zip(labels, colors):
        values = rows[f"prob_{label}"].to_numpy(dtype=float)
        share = f" ({shares[f'share_{label}']:.0%} of the time)" if shares is not None else ""
        ax.bar(lefts, values, width=widths, bottom=bottom, align="edge", color=color, linewidth=0, label=f"{label}{share}")
        bottom += values
    ax.set_xlim(0, end)
    ax.set_ylim(0, 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("probability")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    ax.set_title(title)
    _save(fig, path)
