"""The leaderboard: results/summary.tsv as HTML tables for the report, best pooled UA first.

One table per test setting: the in-corpus cross-validation, then each cross-corpus pair. Rows of
different tables are not ranked against each other: they are scored on different test clips (another
corpus, other classes, another chance level).

Beside the pooled UA, which scores each test speaker standardised with its own clips' statistics
where the model standardises per speaker, the table shows the pooled UA of the same clips each
labelled alone (summary.tsv's ``lone_clip_balanced_accuracy_pooled``).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from .metrics import is_cross, lone_clip_ua, model_chance

COLUMNS = [
    ("rank", "#"),
    ("encoder", "encoder"),
    ("classifier", "classifier"),
    ("ua_pooled", "UA pooled"),
    ("chance_pooled", "chance UA"),
    ("ua_mean", "UA fold mean ± std"),
    ("chance_mean", "fold-mean chance"),
    ("ua_alone", "UA pooled, one clip alone"),
    ("wa_pooled", "WA pooled"),
    ("f1_pooled", "F1 macro pooled"),
    ("n_clips", "test clips"),
    ("n_folds", "folds"),
]

STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
tr.best td { font-weight: bold; background: #eef6ee; }
p.note { color: #555; max-width: 60em; }
"""


def ranked(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` sorted by pooled UA (best first; ties by fold-mean UA, then encoder and classifier)."""
    order = rows.assign(_neg_pooled=-rows["balanced_accuracy_pooled"], _neg_mean=-rows["balanced_accuracy_mean"])
    order = order.sort_values(["_neg_pooled", "_neg_mean", "encoder", "classifier"], kind="mergesort")
    return order.drop(columns=["_neg_pooled", "_neg_mean"]).reset_index(drop=True)


def sections(summary: pd.DataFrame, corpus: str) -> list[tuple[str, pd.DataFrame]]:
    """(title, ranked rows) per test setting: in-corpus CV first, then each cross pair in summary order."""
    cross = is_cross(summary)
    out = []
    inside = summary[~cross]
    if len(inside):
        protocols = ", ".join(dict.fromkeys(inside["protocol"].astype(str)))
        out.append((f"In-corpus cross-validation on {corpus} (protocol: {protocols})", ranked(inside)))
    outside = summary[cross]
    if outside.empty:
        return out
    for (train, test), rows in outside.groupby(["train_corpus", "test_corpus"], sort=False):
        out.append((f"Cross-corpus: trained on {train}, tested on {test}", ranked(rows)))
    return out


def _cells(row: dict[str, Any], rank: int) -> dict[str, str]:
    return {
        "rank": str(rank),
        "encoder": str(row["encoder"]),
        "classifier": str(row["classifier"]),
        "ua_pooled": f"{row['balanced_accuracy_pooled']:.3f}",
        "chance_pooled": f"{model_chance(row):.3f}",
        "ua_mean": f"{row['balanced_accuracy_mean']:.3f} ± {row['balanced_accuracy_std']:.3f}",
        "chance_mean": f"{row['chance_balanced_accuracy_mean']:.3f}",
        "ua_alone": "—" if lone_clip_ua(row) is None else f"{lone_clip_ua(row):.3f}",
        "wa_pooled": f"{row['accuracy_pooled']:.3f}",
        "f1_pooled": f"{row['f1_macro_pooled']:.3f}",
        "n_clips": str(int(row["n_clips"])),
        "n_folds": str(int(row["n_folds"])),
    }


def leaderboard_html(summary: pd.DataFrame, corpus: str) -> str:
    """A self-contained HTML page: one ranked table per test setting (``corpus``: the primary corpus's name)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Leaderboard</title>',
        f"<style>{STYLE}</style></head><body>",
        "<h1>Leaderboard</h1>",
        '<p class="note">results/summary.tsv, best pooled UA first. UA is balanced accuracy (unweighted average '
        "recall); <em>pooled</em> scores all test predictions together, the fold mean averages the per-fold "
        "values. <em>Chance UA</em> is 1 / the number of classes the model knows: what a guess among them "
        "scores, pooled and in every fold, so compare both UA columns with it. The <em>fold-mean chance</em> "
        "averages 1 / the number of classes in each fold's test clips; it is higher when folds lack classes "
        "(under leave-one-speaker-out a speaker often has one emotion) and is not the bar for the model. "
        "Rows of different tables are scored on different test clips and are not comparable.</p>",
        '<p class="note">A model that standardises features per speaker is scored in the UA columns on '
        "<em>each speaker's own clips</em>: every test speaker is standardised with the statistics of its own "
        "test clips. That is what you get when you give <code>predict</code> the speaker of every file and "
        "several clips of each speaker (or an enrolment). <em>UA pooled, one clip alone</em> scores the same "
        "test clips each labelled alone, with the training population's statistics: what you get for a file "
        "without a speaker, or a speaker with too few clips. — : the model does not standardise per speaker "
        "(a clip alone is labelled as in the UA columns), or summary.tsv predates the column.</p>",
    ]
    for title, rows in sections(summary, corpus):
        parts.append(f"<h2>{esc(title)}</h2>")
        parts.append("<table><thead><tr>")
        for key, label in COLUMNS:
            cls = ' class="text"' if key in ("encoder", "classifier") else ""
            parts.append(f"<th{cls}>{esc(label)}</th>")
        parts.append("</tr></thead><tbody>")
        for i, row in enumerate(rows.to_dict("records"), start=1):
            cells = _cells(row, i)
            parts.append('<tr class="best">' if i == 1 else "<tr>")
            for key, _ in COLUMNS:
                cls = ' class="text"' if key in ("encoder", "classifier") else ""
                parts.append(f"<td{cls}>{esc(cells[key])}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table>")
    if summary.empty:
        parts.append("<p>summary.tsv has no rows.</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
