"""What the explanations look like to a reader: the figure of one (encoder, classifier), the run's
tables (TSV and one HTML page for the report) and the model card's section."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .groups import FAMILIES, coarse_level, levels
from .importance import ALL
from ..io.files import atomic_path, write_text_atomic

FINE_LEVELS = ("feature", "descriptor", "statistic")
"""The level a figure's ranking panel shows (the first present)."""

NUISANCE_TEXT = {"duration": "clip duration (tercile)", "loudness": "loudness (RMS dBFS tercile)",
                 "speaker": "speaker identity"}


def _order(table: pd.DataFrame) -> pd.DataFrame:
    """Families in their fixed order, other groups by importance (largest first)."""
    rank = {f: i for i, f in enumerate(FAMILIES)}
    if set(table["group"]) <= set(FAMILIES):
        return table.assign(_o=table["group"].map(rank)).sort_values("_o").drop(columns="_o")
    return table.sort_values("importance", ascending=False, kind="mergesort")


def overall(importance: pd.DataFrame, level: str) -> pd.DataFrame:
    """A level's groups over all classes (UA drop), in display order."""
    return _order(importance[(importance["level"] == level) & (importance["class"] == ALL)])


def fmt_ci(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``0.152 [0.071, 0.233]`` (no interval from one fold: the mean alone)."""
    if mean is None or np.isnan(mean):
        return "n/a"
    if low is None or np.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


# --- figure ----------------------------------------------------------------------------------------------
def plot_importance(importance: pd.DataFrame, nuisance: pd.DataFrame, path: str | Path, title: str = "",
                    top: int = 12) -> None:
    """Four panels: the coarse groups' UA drop with 95 % intervals over folds; the same per class
    (recall drop); the finest groups ranked; the nuisance probes beside chance, the label reference
    and the model's UA."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = levels_of(importance)
    coarse = coarse_level(present)
    fine = next((lv for lv in FINE_LEVELS if lv in present and lv != coarse), coarse)
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    _bars(axes[0, 0], overall(importance, coarse), f"{coarse}: drop in UA when shuffled (95 % CI over folds)")
    _heatmap(axes[0, 1], importance, coarse)
    ranked = overall(importance, fine).sort_values("importance", ascending=False, kind="mergesort").head(top)
    _bars(axes[1, 0], ranked, f"{fine}: the {len(ranked)} largest drops in UA")
    _nuisance(axes[1, 1], nuisance)
    if title:
        fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def levels_of(importance: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(importance["level"]))


def _bars(ax, table: pd.DataFrame, title: str) -> None:
    names = [str(g) for g in table["group"]]
    y = np.arange(len(names))
    mean = table["importance"].to_numpy(float)
    low = np.nan_to_num(mean - table["ci_low"].to_numpy(float), nan=0.0)
    high = np.nan_to_num(table["ci_high"].to_numpy(float) - mean, nan=0.0)
    ax.barh(y, mean, xerr=[low, high], color="#4c72b0", ecolor="#333333", capsize=3)
    ax.set_yticks(y, [n if len(n) <= 38 else n[:36] + "…" for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0.0, color="#888888", lw=0.8)
    ax.set_xlabel("drop in balanced accuracy (UA)")
    ax.set_title(title, fontsize=10)


def _heatmap(ax, importance: pd.DataFrame, level: str) -> None:
    part = importance[(importance["level"] == level) & (importance["class"] != ALL)]
    groups = list(overall(importance, level)["group"])
    classes = sorted(set(part["class"]))
    grid = np.full((len(groups), len(classes)), np.nan)
    for row in part.to_dict("records"):
        grid[groups.index(row["group"]), classes.index(row["class"])] = row["importance"]
    peak = max(float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 0.0, 1e-6)
    image = ax.imshow(grid, cmap="RdBu_r", vmin=-peak, vmax=peak, aspect="auto")
    for i in range(len(groups)):
        for j in range(len(classes)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(classes)), classes, fontsize=8)
    ax.set_yticks(range(len(groups)), [g if len(g) <= 30 else g[:28] + "…" for g in groups], fontsize=8)
    ax.set_title(f"{level}: drop in each class's recall (mean over folds)", fontsize=10)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)


def _nuisance(ax, nuisance: pd.DataFrame) -> None:
    names = list(nuisance["nuisance"])
    x = np.arange(len(names))
    probe = nuisance["probe_ua"].to_numpy(float)
    err = [np.nan_to_num(probe - nuisance["probe_ua_ci_low"].to_numpy(float)),
           np.nan_to_num(nuisance["probe_ua_ci_high"].to_numpy(float) - probe)]
    ax.bar(x - 0.2, np.nan_to_num(probe), 0.4, yerr=err, capsize=3, color="#dd8452", label="probe on the model's outputs")
    ax.bar(x + 0.2, np.nan_to_num(nuisance["labels_ua"].to_numpy(float)), 0.4, color="#bbbbbb",
           label="same probe on the true labels")
    for i, chance in enumerate(nuisance["chance"].to_numpy(float)):
        if np.isfinite(chance):
            ax.hlines(chance, i - 0.45, i + 0.45, colors="black", linestyles="dashed", lw=1,
                      label="chance" if i == 0 else None)
    ua = float(nuisance["model_ua"].iloc[0]) if len(nuisance) else np.nan
    if np.isfinite(ua):
        ax.axhline(ua, color="#4c72b0", lw=1, label=f"the model's emotion UA ({ua:.3f})")
    ax.set_xticks(x, [NUISANCE_TEXT.get(n, n).replace(" (", "\n(") for n in names], fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("balanced accuracy of the probe")
    ax.set_title("nuisance: what the model's outputs tell about each (95 % CI over folds)", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")


# --- the run's tables -----------------------------------------------------------------------------------
def run_tables(pairs: Mapping[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every pair's coarse and statistic groups over all classes, and its nuisance rows, with
    encoder and classifier columns first."""
    imp_rows, nui_rows = [], []
    for (encoder, classifier), (importance, nuisance) in pairs.items():
        keep = importance[importance["level"].isin(("member", "family", "layer", "statistic"))
                          & (importance["class"] == ALL)]
        imp_rows.append(keep.assign(encoder=encoder, classifier=classifier))
        nui_rows.append(nuisance.assign(encoder=encoder, classifier=classifier))
    front = ["encoder", "classifier"]
    imp = pd.concat(imp_rows, ignore_index=True) if imp_rows else pd.DataFrame(columns=front)
    nui = pd.concat(nui_rows, ignore_index=True) if nui_rows else pd.DataFrame(columns=front)
    return (imp[front + [c for c in imp.columns if c not in front]],
            nui[front + [c for c in nui.columns if c not in front]])


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def explanations_html(importance: pd.DataFrame, nuisance: pd.DataFrame, corpus: str) -> str:
    """One page: the nuisance probes beside each pair's UA, then per encoder the coarse groups'
    importance of every classifier (mean [95 % CI] over folds)."""
    parts = [f"<h2>Explanations on the test folds ({html.escape(corpus)})</h2>",
             "<p>Drop in balanced accuracy (UA) when a group of features is shuffled across a fold's test clips "
             "(mean over folds [95 % t-interval]); nuisance probes: balanced accuracy of a linear probe predicting "
             "the nuisance from the model's outputs, beside chance, the same probe on the true labels and the "
             "model's UA. Method: docs/explain.md.</p>", "<h3>Nuisance checks beside UA</h3>"]
    rows = []
    for (encoder, classifier), part in nuisance.groupby(["encoder", "classifier"], sort=True):
        by = part.set_index("nuisance")
        first = by.iloc[0]
        row = [encoder, classifier, fmt_ci(first["model_ua"], first["model_ua_ci_low"], first["model_ua_ci_high"])]
        for name in ("duration", "loudness", "speaker"):
            if name in by.index:
                r = by.loc[name]
                row.append(f"{fmt_ci(r['probe_ua'], r['probe_ua_ci_low'], r['probe_ua_ci_high'])}; labels "
                           f"{fmt_ci(r['labels_ua'], np.nan, np.nan)}; chance {fmt_ci(r['chance'], np.nan, np.nan)}")
            else:
                row.append("n/a")
        rows.append(row)
    parts.append(_html_table(["encoder", "classifier", "UA", "duration probe", "loudness probe", "speaker probe"], rows))
    for encoder, part in importance.groupby("encoder", sort=True):
        level = coarse_level(list(dict.fromkeys(part["level"])))
        for shown in (level, "statistic"):
            sub = part[part["level"] == shown]
            if sub.empty or (shown == "statistic" and level == "statistic"):
                continue
            groups = list(_order(sub.drop_duplicates("group"))["group"])
            rows = []
            for classifier, rows_c in sub.groupby("classifier", sort=True):
                by = rows_c.set_index("group")
                rows.append([classifier] + [fmt_ci(by.loc[g, "importance"], by.loc[g, "ci_low"], by.loc[g, "ci_high"])
                                            if g in by.index else "n/a" for g in groups])
            parts.append(f"<h3>{html.escape(encoder)}: importance by {html.escape(shown)}</h3>")
            parts.append(_html_table(["classifier", *groups], rows))
    style = ("<style>table{border-collapse:collapse;font-family:sans-serif;font-size:13px;margin-bottom:1em}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f0f0f0}</style>")
    return f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Explanations</title>{style}</head>" \
           f"<body>\n{chr(10).join(parts)}\n</body></html>\n"


def write_html(path: str | Path, text: str) -> None:
    write_text_atomic(path, text)


# --- the model card's section ---------------------------------------------------------------------------
def card_section(importance: pd.DataFrame, nuisance: pd.DataFrame, top: int = 5) -> list[str]:
    """The model card's "Explanations" section (Markdown lines) from a pair's importance.tsv and
    nuisance.tsv: what was measured, the coarse groups with their 95 % intervals, the largest
    finer groups, each class's most important group, and the nuisance probes beside UA."""
    present = levels_of(importance)
    coarse = coarse_level(present)
    n_folds = int(importance["n_folds"].max()) if len(importance) else 0
    lines = ["## Explanations (cross-validated)", "",
             f"Measured on the test folds only: each of the {n_folds} CV fold models, never refitted, labelled its "
             "own test clips with one group of features shuffled across the clips; the importance of a group is "
             "the drop in balanced accuracy (UA), averaged over shuffles, then over folds (95 % t-interval over "
             "folds). They describe the cross-validated recipe; the final model was trained on all clips and "
             "was not itself explained.", "",
             f"| {coarse} | drop in UA [95 % CI] | columns |", "|---|---|---|"]
    for row in overall(importance, coarse).itertuples():
        lines.append(f"| {row.group} | {fmt_ci(row.importance, row.ci_low, row.ci_high)} | {row.n_columns} |")
    fine = next((lv for lv in FINE_LEVELS if lv in present and lv != coarse), None)
    if fine:
        ranked = overall(importance, fine).sort_values("importance", ascending=False, kind="mergesort").head(top)
        lines += ["", f"Largest by {fine}: " + "; ".join(
            f"{r.group} {fmt_ci(r.importance, r.ci_low, r.ci_high)}" for r in ranked.itertuples()) + "."]
    per_class = importance[(importance["level"] == coarse) & (importance["class"] != ALL)]
    if len(per_class):
        best = per_class.sort_values("importance", ascending=False, kind="mergesort").drop_duplicates("class")
        lines += ["", "Most important per class (drop in its recall): " + "; ".join(
            f"{r['class']}: {r['group']} {r['importance']:.3f}" for r in best.sort_values("class").to_dict("records")) + "."]
    if len(nuisance):
        first = nuisance.iloc[0]
        lines += ["", f"Nuisance checks (a linear probe on the model's outputs, its balanced accuracy; the model's "
                      f"UA is {fmt_ci(first['model_ua'], first['model_ua_ci_low'], first['model_ua_ci_high'])}):", "",
                  "| nuisance | probe on outputs [95 % CI] | probe on true labels | chance |", "|---|---|---|---|"]
        for r in nuisance.itertuples():
            lines.append(f"| {NUISANCE_TEXT.get(r.nuisance, r.nuisance)} | "
                         f"{fmt_ci(r.probe_ua, r.probe_ua_ci_low, r.probe_ua_ci_high)} | "
                         f"{fmt_ci(r.labels_ua, np.nan, np.nan)} | {fmt_ci(r.chance, np.nan, np.nan)} |")
        lines += ["", "A probe above its label reference means the decision follows that nuisance beyond what the "
                      "emotions themselves do."]
    return lines + [""]
