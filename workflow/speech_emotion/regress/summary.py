"""metrics.json of one (target, encoder, regressor) and the rows of results/regression/summary.tsv.

The regression summary is a table of its own: results/summary.tsv's columns (UA, WA, F1, the
human baseline) are the classifiers', and the leaderboard and comparison figure read it as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.targets import Target, target_rows
from ..evaluate.regression import REGRESSION_METRICS, regression_metrics, training_means

SUMMARY_KEYS = ("target", "encoder", "regressor")


def fold_metrics(predictions: pd.DataFrame, manifest: pd.DataFrame, folds: pd.DataFrame, target: Target) -> dict[str, Any]:
    """:func:`~speech_emotion.evaluate.regression.regression_metrics` of the folds' predictions, the
    chance level computed again from the manifest and folds.tsv (each fold's training mean); a fold
    whose predictions.tsv states another training mean is a ValueError (a stale or foreign file)."""
    fold_of = folds.set_index("clip_id")["fold"]
    means = training_means(target_rows(manifest, target), fold_of)
    stated = predictions.groupby("fold")["train_mean"].first()
    for fold, mean in stated.items():
        if not np.isclose(mean, means[int(fold)], rtol=0, atol=1e-5):
            raise ValueError(f"fold {fold}: predictions.tsv's training mean {mean} is not the fold's "
                             f"{means[int(fold)]:.6f} (manifest and folds.tsv)")
    return regression_metrics(predictions, {k: means[k] for k in sorted({int(f) for f in predictions["fold"]})})


def metrics_of_files(paths: Sequence[str | Path], manifest: pd.DataFrame, folds: pd.DataFrame,
                     target: Target) -> dict[str, Any]:
    """:func:`fold_metrics` of the predictions.tsv files of every fold."""
    frames = [pd.read_csv(path, sep="\t", dtype={"clip_id": str, "speaker": str}) for path in paths]
    return fold_metrics(pd.concat(frames, ignore_index=True), manifest, folds, target)


def summary_row(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """One row of results/regression/summary.tsv: each metric's mean, std and pooled value, the chance
    level's CCC and MAE (fold mean and pooled), clips and folds."""
    row: dict[str, Any] = {key: metrics[key] for key in SUMMARY_KEYS}
    for name in REGRESSION_METRICS:
        row.update({f"{name}_{k}": metrics[name][k] for k in ("mean", "std", "pooled")})
    for name in ("ccc", "mae"):
        row.update({f"chance_{name}_{k}": metrics["chance"][name][k] for k in ("mean", "pooled")})
    row.update(n_clips=metrics["n_clips"], n_folds=metrics["n_folds"], protocol=metrics.get("protocol"))
    return row


def summary_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """results/regression/summary.tsv, sorted by target, encoder, regressor."""
    frame = pd.DataFrame(list(rows))
    return frame.sort_values(list(SUMMARY_KEYS), kind="mergesort").reset_index(drop=True)


LEADERBOARD_COLUMNS = (
    ("rank", "#"), ("encoder", "encoder"), ("regressor", "regressor"), ("ccc_pooled", "CCC pooled"),
    ("chance_ccc_pooled", "chance CCC"), ("ccc_mean", "CCC fold mean ± std"), ("pearson_pooled", "Pearson pooled"),
    ("mae_pooled", "MAE pooled"), ("chance_mae_pooled", "chance MAE"), ("rmse_pooled", "RMSE pooled"),
    ("n_clips", "test clips"), ("n_folds", "folds"),
)


def summary_html(summary: pd.DataFrame) -> str:
    """results/regression/summary.tsv as a page for the report: one table per target, best pooled CCC
    first (ties by fold-mean CCC), with the chance level (each fold's training mean) beside it."""
    import html

    from ..evaluate.leaderboard import STYLE

    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>Regression</title>',
             f"<style>{STYLE}</style></head><body>", "<h1>Continuous targets</h1>",
             '<p class="note">results/regression/summary.tsv, best pooled CCC first. CCC is Lin\'s concordance '
             "correlation (1 = perfect, 0 = chance); <em>pooled</em> scores all test clips together, the fold mean "
             "averages the per-fold values. <em>Chance</em> predicts each fold's test clips by that fold's training "
             "mean: CCC 0 in every fold, pooled usually slightly below 0. MAE and RMSE are in the target's units. "
             "Targets are scored on their own clips and scales: rows of different tables are not comparable.</p>"]
    text, cls = {"encoder", "regressor"}, ' class="text"'
    for target, rows in summary.groupby("target", sort=True):
        rows = rows.assign(_a=-rows["ccc_pooled"], _b=-rows["ccc_mean"])
        rows = rows.sort_values(["_a", "_b", "encoder", "regressor"], kind="mergesort")
        parts.append(f"<h2>{esc(str(target))} (protocol: {esc(', '.join(dict.fromkeys(rows['protocol'].astype(str))))})</h2>")
        parts.append("<table><thead><tr>" + "".join(
            f'<th{cls if key in text else ""}>{esc(label)}</th>' for key, label in LEADERBOARD_COLUMNS)
            + "</tr></thead><tbody>")
        for rank, row in enumerate(rows.to_dict("records"), start=1):
            cells = {"rank": str(rank), "encoder": str(row["encoder"]), "regressor": str(row["regressor"]),
                     "ccc_mean": f"{row['ccc_mean']:.3f} ± {row['ccc_std']:.3f}",
                     "n_clips": str(int(row["n_clips"])), "n_folds": str(int(row["n_folds"]))}
            for key in ("ccc_pooled", "chance_ccc_pooled", "pearson_pooled", "mae_pooled", "chance_mae_pooled",
                        "rmse_pooled"):
                cells[key] = f"{row[key]:.3f}"
            parts.append(('<tr class="best">' if rank == 1 else "<tr>") + "".join(
                f'<td{cls if key in text else ""}>{esc(cells[key])}</td>' for key, _ in LEADERBOARD_COLUMNS)
                + "</tr>")
        parts.append("</tbody></table>")
    if summary.empty:
        parts.append("<p>summary.tsv has no rows.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
