"""Cross-validation metrics: per-fold and pooled scores, per class, per speaker, per group.

Input is the predictions tables of every fold of one (encoder, classifier) pair (clip_id, fold,
label, prediction, prob_<label>...) and the manifest (clip_id, speaker, label, extra corpus
columns). Rows and folds are sorted before anything is computed, so the result does not depend on
the order in which folds or rows arrive. The CREMA-D human baseline compares the model with the
listeners' audio-only majority vote (:mod:`speech_emotion.evaluate.human`).

A fold that standardises features per speaker scores each test speaker with the statistics of its
own test clips; its predictions table also holds ``lone_prediction``, each clip labelled alone (the
training population's statistics). ``lone_clip`` scores those beside the CV figures
(:func:`lone_clip_scores`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .human import human_baseline, read_perception, round_metric
from ..data.splits import TRAIN_ONLY, fold_names, speaker_overlap
from ..io.tables import read_table

METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")
"""Metric names used everywhere: WA, UA (unweighted average recall), macro and weighted F1."""

METRIC_LABELS = {
    "accuracy": "WA (accuracy)",
    "balanced_accuracy": "UA (balanced accuracy)",
    "f1_macro": "F1 macro",
    "f1_weighted": "F1 weighted",
}

PREDICTION_COLUMNS = ("clip_id", "fold", "label", "prediction")
LONE_SUMMARY = ("balanced_accuracy", "accuracy")
"""The lone-clip metrics summary.tsv shows (pooled and fold mean)."""
GROUP_COLUMNS = ("intensity", "sex")
"""Manifest columns (matched case-insensitively) scored per value when present (CREMA-D has both)."""
GROUP_ORDER = {"intensity": ["LO", "MD", "HI", "XX"]}
WORST_SPEAKERS = 5



class MetricsError(ValueError):
    """Inconsistent predictions (duplicate clips, missing columns, unknown clips)."""


_r = round_metric


def read_predictions(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Concatenate per-fold predictions tables (any order) into one sorted table."""
    from ..train.fold import LONE_COLUMN

    frames = []
    for path in paths:
        frame = pd.read_csv(path, sep="\t", dtype={"clip_id": str, "label": str, "prediction": str, LONE_COLUMN: str})
        missing = [c for c in PREDICTION_COLUMNS if c not in frame.columns]
        if missing:
            raise MetricsError(f"{path}: missing column(s) {', '.join(missing)}")
        frames.append(frame)
    if not frames:
        raise MetricsError("no predictions tables given")
    return sort_predictions(pd.concat(frames, ignore_index=True))


def sort_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order (fold, clip_id); duplicate clip ids are an error."""
    frame = predictions.copy()
    frame["clip_id"] = frame["clip_id"].astype(str)
    frame["label"] = frame["label"].astype(str)
    frame["prediction"] = frame["prediction"].astype(str)
    frame["fold"] = frame["fold"].astype(int)
    duplicated = frame["clip_id"][frame["clip_id"].duplicated()]
    if len(duplicated):
        raise MetricsError(
            f"{duplicated.nunique()} clip(s) predicted more than once (in several folds?), "
            f"e.g. {sorted(duplicated.unique())[:3]}"
        )
    prob = sorted(c for c in frame.columns if c.startswith("prob_"))
    rest = [c for c in frame.columns if c not in PREDICTION_COLUMNS and c not in prob]
    frame = frame[list(PREDICTION_COLUMNS) + prob + rest]
    return frame.sort_values(["fold", "clip_id"], kind="mergesort").reset_index(drop=True)


def label_set(predictions: pd.DataFrame) -> list[str]:
    """Sorted labels: the probability columns' labels plus any label seen in the table."""
    labels = {c[len("prob_"):] for c in predictions.columns if c.startswith("prob_")}
    labels |= set(predictions["label"].astype(str)) | set(predictions["prediction"].astype(str))
    return sorted(labels)


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """The four metrics on one set of predictions (a fold, a speaker, an intensity level, all clips).

    Every average runs over the classes present in this set's truth, as balanced accuracy (UA) does:
    a subset without some class (a fold without an Angry test clip, a CREMA-D intensity level
    without NEU) is not charged a zero F1 for that class when a clip is predicted as it (that clip
    still counts as an error in its own class's recall and F1).
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    present = sorted(set(np.asarray(y_true, dtype=str)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
            "f1_macro": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
            "f1_weighted": float(f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)),
        }


CHANCE_NOTE = (
    "balanced_accuracy_model: 1/(classes the model knows), the UA a guess among them scores on average, pooled "
    "and in every fold: compare UA (pooled, and the fold mean) with it. balanced_accuracy: 1/(classes in the test "
    "clips), the same unless the test clips lack a class. balanced_accuracy_mean: the mean over folds of "
    "1/(classes in the fold's test clips), what a guess among only the classes each fold tests would score: above "
    "1/classes when folds lack classes (loso: a held-out speaker often has one emotion), so a fold-mean UA below "
    "it is not below chance. accuracy: always predicting the most frequent class (compare WA pooled); "
    "accuracy_mean: each fold's own majority share, averaged (inflated the same way when folds lack classes)"
)
"""What each chance level of metrics.json means and which score to compare it with."""


def chance_levels(frame: pd.DataFrame, labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Chance UA and WA of a predictions table: the model's, pooled, and as the mean over its folds.

    ``labels``: the classes the model knows (default :func:`label_set`, the probability columns and
    every label seen). A guess among them recalls each class 1/k of the time, whichever classes a fold
    tests: ``balanced_accuracy_model`` is the chance level of the pooled UA and of the fold mean. The
    fold-mean version averages 1/(classes in each fold's test clips), the score of a guess told which
    classes each fold holds; it exceeds 1/k when folds lack classes (leave-one-speaker-out).
    """
    folds = [group for _, group in frame.groupby("fold", sort=True)]
    known = list(labels) if labels is not None else label_set(frame)
    return {
        "balanced_accuracy": _r(1.0 / frame["label"].nunique()),
        "balanced_accuracy_model": _r(1.0 / len(known)),
        "balanced_accuracy_mean": _r(np.mean([1.0 / g["label"].nunique() for g in folds])),
        "accuracy": _r(frame["label"].value_counts().max() / len(frame)),
        "accuracy_mean": _r(np.mean([g["label"].value_counts().max() / len(g) for g in folds])),
        "n_model_classes": len(known),
        "note": CHANCE_NOTE,
    }


def _summary(per_fold: Mapping[str, float], pooled: float) -> dict[str, Any]:
    values = np.array(list(per_fold.values()), dtype=float)
    return {
        "per_fold": {k: _r(v) for k, v in per_fold.items()},
        "mean": _r(values.mean()),
        "std": _r(values.std(ddof=0)),
        "pooled": _r(pooled),
    }


def _find_column(frame: pd.DataFrame, name: str) -> str | None:
    for column in frame.columns:
        if str(column).lower() == name:
            return str(column)
    return None


def _ordered(values: Iterable[str], preferred: Sequence[str] = ()) -> list[str]:
    values = set(values)
    return [v for v in preferred if v in values] + sorted(values - set(preferred))


def per_group(frame: pd.DataFrame, column: str, order: Sequence[str] = ()) -> dict:
    """Scores for each value of ``column`` (clip count, the four metrics)."""
    out = {}
    for value in _ordered(frame[column].astype(str), order):
        rows = frame[frame[column].astype(str) == value]
        out[value] = {"n": int(len(rows))} | {
            k: _r(v) for k, v in scores(rows["label"], rows["prediction"]).items()
        }
    return out


def per_speaker(frame: pd.DataFrame, worst: int = WORST_SPEAKERS) -> dict[str, Any]:
    """Per speaker: accuracy (WA), UA and clip count; min / median / max accuracy and the ``worst``
    lowest accuracies (ties by name).

    A speaker's UA averages the recall of the emotions that speaker has in the truth (a speaker with one
    emotion: that emotion's recall, equal to the accuracy).
    """
    rows = []
    for speaker, part in frame.groupby("speaker", sort=True):
        correct = part["label"].astype(str) == part["prediction"].astype(str)
        rows.append({"speaker": str(speaker), "accuracy": float(correct.mean()),
                     "balanced_accuracy": float(correct.groupby(part["label"].astype(str)).mean().mean()),
                     "n": int(len(part))})
    table = pd.DataFrame(rows)
    values = table["accuracy"].to_numpy(dtype=float)
    lowest = table.sort_values(["accuracy", "speaker"], kind="mergesort").head(worst)
    return {
        "n_speakers": int(len(table)),
        "min": _r(values.min()),
        "median": _r(np.median(values)),
        "max": _r(values.max()),
        "worst": [
            {"speaker": str(r.speaker), "accuracy": _r(r.accuracy), "n": int(r.n),
             "balanced_accuracy": _r(r.balanced_accuracy), "n_clips": int(r.n)}
            for r in lowest.itertuples()
        ],
        "accuracy": {str(r.speaker): _r(r.accuracy) for r in table.itertuples()},
        "balanced_accuracy": {str(r.speaker): _r(r.balanced_accuracy) for r in table.itertuples()},
        "n_clips": {str(r.speaker): int(r.n) for r in table.itertuples()},
        "note": "min, median, max and worst rank the speakers by accuracy (WA); balanced_accuracy (UA) averages "
                "the recall of the emotions each speaker has; n_clips: the speaker's test clips",
    }


LONE_NOTE = (
    "the CV scores (accuracy, balanced_accuracy, f1_macro, f1_weighted) standardise each test speaker with the "
    "statistics of its own test clips where a fold standardises per speaker (each speaker's own clips): what predict "
    "gives when told the speaker of every file and given at least min_clips clips of each speaker, or an enrolment. "
    "lone_clip scores the same test clips each labelled alone, with the training population's statistics (one clip "
    "alone): what predict gives a file without a speaker, or a speaker with fewer clips. folds_standardised: the "
    "folds that standardised per speaker; the other folds' clips are labelled the same either way and count with "
    "their CV predictions"
)
"""What the lone_clip block of metrics.json measures beside the CV scores, and which a user gets when."""


def lone_clip_scores(frame: pd.DataFrame) -> dict[str, Any] | None:
    """The four metrics (as the CV blocks) of each test clip labelled alone, or None when no fold
    standardised per speaker (no ``lone_prediction``). A fold without the column labels a clip alone
    as in CV, so its normal predictions count: the figure covers every clip."""
    from ..train.fold import LONE_COLUMN

    if LONE_COLUMN not in frame.columns or frame[LONE_COLUMN].isna().all():
        return None
    lone = frame[LONE_COLUMN].where(frame[LONE_COLUMN].notna(), frame["prediction"]).astype(str)
    standardised = sorted(frame.loc[frame[LONE_COLUMN].notna(), "fold"].unique())
    per_fold = {str(k): scores(frame.loc[rows.index, "label"], lone.loc[rows.index])
                for k, rows in frame.groupby("fold", sort=True)}
    pooled = scores(frame["label"], lone)
    out: dict[str, Any] = {name: _summary({k: v[name] for k, v in per_fold.items()}, pooled[name]) for name in METRICS}
    return out | {"folds_standardised": [str(k) for k in standardised], "n_folds": len(per_fold), "note": LONE_NOTE}


def compute_metrics(
    predictions: pd.DataFrame,
    manifest: pd.DataFrame | None = None,
    perception: pd.DataFrame | None = None,
    perception_note: str | None = None,
    folds: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Everything metrics.json holds for one (encoder, classifier) pair.

    ``perception``: the CREMA-D perception table (:func:`read_perception`) or None, in which case
    ``human_baseline`` says why it is absent (``perception_note``). ``folds`` (folds.tsv) adds the
    fold names, a per-fold table and, with the manifest, the speakers on both sides of a fold.
    """
    frame = sort_predictions(predictions)
    labels = label_set(frame)
    folds_present = sorted(frame["fold"].unique())
    per_fold = {str(k): scores(g["label"], g["prediction"]) for k, g in frame.groupby("fold", sort=True)}
    pooled = scores(frame["label"], frame["prediction"])
    out: dict[str, Any] = {
        "labels": labels,
        "n_clips": int(len(frame)),
        "n_folds": len(folds_present),
        "folds": {str(k): int((frame["fold"] == k).sum()) for k in folds_present},
        "std_note": "std is the population standard deviation (ddof=0) of the per-fold values",
    }
    for name in METRICS:
        out[name] = _summary({k: v[name] for k, v in per_fold.items()}, pooled[name])
    lone = lone_clip_scores(frame)
    if lone is not None:
        out["lone_clip"] = lone

    out["chance"] = chance_levels(frame, labels)
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    precision, recall, f1, count = precision_recall_fscore_support(
        frame["label"], frame["prediction"], labels=labels, zero_division=0
    )
    out["per_class"] = {
        label: {"precision": _r(p), "recall": _r(r), "f1": _r(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, precision, recall, f1, count)
    }
    counts = confusion_matrix(frame["label"], frame["prediction"], labels=labels)
    totals = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    out["confusion"] = {
        "labels": labels,
        "rows": "true label",
        "columns": "predicted label",
        "counts": counts.astype(int).tolist(),
        "normalized": [[_r(v) for v in row] for row in normalized],
    }

    if manifest is not None:
        meta = manifest.copy()
        meta["clip_id"] = meta["clip_id"].astype(str)
        unknown = sorted(set(frame["clip_id"]) - set(meta["clip_id"]))
        if unknown:
            raise MetricsError(f"{len(unknown)} predicted clip(s) are not in the manifest, e.g. {unknown[:3]}")
        extra = ["clip_id"] + [c for c in meta.columns if c not in frame.columns]
        frame = frame.merge(meta[extra], on="clip_id", how="left")
        if "speaker" in frame.columns:
            frame["speaker"] = frame["speaker"].astype(str)
            out["per_speaker"] = per_speaker(frame)
        groups = {}
        for name in GROUP_COLUMNS:
            column = _find_column(frame, name)
            known = frame[column].notna() & (frame[column].astype(str) != "") if column is not None else None
            if known is not None and known.any():
                rows = frame[known]
                groups[name] = per_group(rows, column, GROUP_ORDER.get(name, ()))
        out["per_group"] = groups

        if folds is not None and "speaker" in meta.columns:
            out["speaker_overlap"] = _speaker_overlap(folds, meta)

    if folds is not None:
        names = {str(k): v for k, v in fold_names(folds).items()}
        out["fold_names"] = {str(k): names.get(str(k), str(k)) for k in folds_present}
        out["per_fold"] = {}
        for k, part in frame.groupby("fold", sort=True):
            row: dict[str, Any] = {"name": names.get(str(k), str(k)), "n_clips": int(len(part)),
                                   "labels": sorted(set(part["label"]))}
            if "speaker" in part.columns:
                row["speakers"] = sorted(set(part["speaker"]))
            out["per_fold"][str(k)] = row | {name: _r(per_fold[str(k)][name]) for name in METRICS}

    if perception is not None:
        out["human_baseline"] = human_baseline(frame, perception, labels)
    else:
        out["human_baseline"] = {
            "available": False,
            "reason": perception_note or "no perception table (summaryTable.csv) for this corpus",
        }
    return out


def cv_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The CV figures a final model's model.json keeps: per metric mean, std and pooled, chance, counts;
    and ``lone_clip`` (the same per metric, the folds standardised, n_folds) when metrics.json has it."""
    out: dict[str, Any] = {"folds": metrics["n_folds"], "clips": metrics["n_clips"], "chance": metrics["chance"]}
    for name in METRICS:
        out[name] = {key: metrics[name][key] for key in ("mean", "std", "pooled")}
    if "lone_clip" in metrics:
        lone = metrics["lone_clip"]
        out["lone_clip"] = {name: {key: lone[name][key] for key in ("mean", "std", "pooled")} for name in METRICS} | {
            "folds_standardised": list(lone["folds_standardised"]), "n_folds": lone["n_folds"]}
    return out


def _speaker_overlap(folds: pd.DataFrame, manifest: pd.DataFrame) -> dict[str, Any]:
    """speech_emotion.data.folds.speaker_overlap on folds.tsv + the manifest's speakers, with a note."""
    table = folds.assign(clip_id=folds["clip_id"].astype(str)).merge(manifest[["clip_id", "speaker"]], on="clip_id")
    overlap = speaker_overlap(table)
    overlap["note"] = (
        "speakers with clips both in a fold's test part and in its training part (n_clips: such test clips); "
        "their scores overstate accuracy on new speakers" if overlap["n_speakers"] else
        "no speaker is on both sides of a fold"
    )
    return overlap


def summary_row(metrics: Mapping[str, Any], encoder: str, classifier: str, protocol: str) -> dict[str, Any]:
    """One row of results/summary.tsv."""
    row: dict[str, Any] = {"encoder": encoder, "classifier": classifier}
    for name in METRICS:
        row[f"{name}_mean"] = metrics[name]["mean"]
        row[f"{name}_std"] = metrics[name]["std"]
        row[f"{name}_pooled"] = metrics[name]["pooled"]
    chance = metrics["chance"]
    row["chance_balanced_accuracy_mean"] = chance["balanced_accuracy_mean"]
    row["chance_balanced_accuracy_pooled"] = chance["balanced_accuracy"]
    # metrics.json written before the model's chance level existed: 1/(classes it saw), as then
    row["chance_balanced_accuracy_model"] = chance.get("balanced_accuracy_model", chance["balanced_accuracy"])
    row.update(n_clips=metrics["n_clips"], n_folds=metrics["n_folds"], protocol=protocol)
    # each clip labelled alone; empty when no fold standardised per speaker (then the CV columns are that
    # figure) or metrics.json predates lone_clip
    lone = metrics.get("lone_clip")
    for name in LONE_SUMMARY:
        for key in ("pooled", "mean"):
            row[f"lone_clip_{name}_{key}"] = lone[name][key] if lone else None
    if "train_corpus" in metrics:  # a cross-corpus row (speech_emotion.cross.pairs); in-corpus rows leave them empty
        row.update(train_corpus=metrics["train_corpus"], test_corpus=metrics["test_corpus"])
    return row


def is_cross(summary: pd.DataFrame) -> pd.Series:
    """Which rows of summary.tsv are cross-corpus rows (a train corpus named) rather than in-corpus CV."""
    if "train_corpus" not in summary.columns:
        return pd.Series(False, index=summary.index)
    return summary["train_corpus"].notna() & (summary["train_corpus"].astype(str) != "")


def summary_table(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """results/summary.tsv: one row per (encoder, classifier) of the in-corpus CV, sorted, then the
    cross-corpus rows (if any) sorted by train corpus, test corpus, encoder, classifier."""
    frame = pd.DataFrame(list(rows))
    if "train_corpus" not in frame.columns:
        return frame.sort_values(["encoder", "classifier"], kind="mergesort").reset_index(drop=True)
    cross = is_cross(frame)
    inside = frame[~cross].sort_values(["encoder", "classifier"], kind="mergesort")
    outside = frame[cross].sort_values(["train_corpus", "test_corpus", "encoder", "classifier"], kind="mergesort")
    return pd.concat([inside, outside], ignore_index=True)


SUMMARY_LEGEND = (
    "UA: fold mean ± std; UA pooled: all test predictions together. UA chance: 1/(classes the model knows), what "
    "guessing among them scores, pooled and per fold: compare UA pooled (and UA) with it. Models that standardise "
    "per speaker score each test speaker with its own clips' statistics (predict given the speakers); UA pooled "
    "alone: the same clips each labelled alone (predict without a speaker); '-' where labelling alone changes "
    "nothing.\n"
    "fold-mean chance: mean over folds of 1/(classes in the fold's test clips); higher when folds lack classes "
    "(loso: a speaker often has one emotion), so it is not the bar for the model.\n"
)


def model_chance(row: Mapping[str, Any]) -> float:
    """A summary row's chance UA, 1/(classes the model knows); the pooled 1/classes for a summary.tsv
    written before that column existed."""
    value = row.get("chance_balanced_accuracy_model")
    if value is None or pd.isna(value):
        return float(row["chance_balanced_accuracy_pooled"])
    return float(value)


def lone_clip_ua(row: Mapping[str, Any]) -> float | None:
    """A summary row's pooled UA of each test clip labelled alone; None when empty (no fold standardised
    per speaker, or a summary.tsv written before that column existed)."""
    value = row.get("lone_clip_balanced_accuracy_pooled")
    return None if value is None or pd.isna(value) else float(value)


def format_summary(frame: pd.DataFrame) -> str:
    """The summary as a fixed-width text table (mean ± std) and a legend of its chance columns, for logs
    and the end of a run."""
    lines = []
    header = ["encoder", "classifier", "UA", "UA pooled", "UA chance", "fold-mean chance", "UA pooled alone", "WA",
              "F1 macro", "F1 weighted", "clips", "protocol"]
    body = []
    for r in frame.to_dict("records"):
        cells = [str(r["encoder"]), str(r["classifier"])]
        for name in ("balanced_accuracy", "accuracy", "f1_macro", "f1_weighted"):
            cells.append(f"{r[f'{name}_mean']:.3f} ± {r[f'{name}_std']:.3f}")
            if name == "balanced_accuracy":
                cells.append(f"{r[f'{name}_pooled']:.3f}")
                cells.append(f"{model_chance(r):.3f}")
                cells.append(f"{r['chance_balanced_accuracy_mean']:.3f}")
                alone = lone_clip_ua(r)
                cells.append("-" if alone is None else f"{alone:.3f}")
        cells += [str(r["n_clips"]), str(r["protocol"])]
        body.append(cells)
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    for row in [header] + body:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n" + SUMMARY_LEGEND


def check_coverage(predictions: pd.DataFrame, folds: pd.DataFrame) -> None:
    """Every test clip of folds.tsv is predicted exactly once, in its own fold; raise otherwise.

    Clips of a predefined `train` partition (fold TRAIN_ONLY) only train: predicting one is an error.
    """
    table = folds.assign(clip_id=folds["clip_id"].astype(str)).set_index("clip_id")["fold"].astype(int)
    expected = table[table != TRAIN_ONLY]
    got = predictions.set_index("clip_id")["fold"].astype(int)
    trained_only = sorted(set(got.index) & set(table.index[table == TRAIN_ONLY]))
    if trained_only:
        raise MetricsError(
            f"{len(trained_only)} clip(s) of the train partition (fold {TRAIN_ONLY} in folds.tsv) were predicted, "
            f"e.g. {trained_only[:3]}: they only ever train"
        )
    missing = sorted(set(expected.index) - set(got.index))
    extra = sorted(set(got.index) - set(expected.index))
    if missing or extra:
        raise MetricsError(
            f"predictions do not cover folds.tsv: {len(missing)} clip(s) never predicted "
            f"(e.g. {missing[:3]}), {len(extra)} clip(s) not in folds.tsv (e.g. {extra[:3]})"
        )
    wrong = got[got != expected.loc[got.index]]
    if len(wrong):
        raise MetricsError(
            f"{len(wrong)} clip(s) predicted in another fold than folds.tsv assigns, e.g. {sorted(wrong.index)[:3]}"
        )


def evaluate_files(
    prediction_paths: Iterable[str | Path],
    manifest_path: str | Path,
    perception_path: str | Path | None = None,
    perception_note: str | None = None,
    folds_path: str | Path | None = None,
) -> dict[str, Any]:
    """:func:`compute_metrics` from the files of one (encoder, classifier) pair.

    With ``folds_path``, first check that every clip is predicted exactly once, in its own fold.
    """
    manifest = read_table(manifest_path)
    predictions = read_predictions(prediction_paths)
    folds = None
    if folds_path:
        folds = read_table(folds_path)
        check_coverage(predictions, folds)
    perception = read_perception(perception_path) if perception_path else None
    return compute_metrics(predictions, manifest, perception, perception_note, folds)
