"""Cross-corpus runs: train on every clip of one corpus, test on every clip of another.

Labels of both corpora are mapped to one common set (``label_map``): a label that is a key of the
map becomes its value; a label that is itself one of the values stays as it is; any other label's
clips are dropped (and counted). The train corpus decides everything on its own clips: its plan
(layers, whether augmented copies train) comes from :func:`speech_emotion.train.plan.make_plan` on all its
clips (fold "all", inner CV on its speakers) and its model from
:func:`speech_emotion.train.fold.train_fold`; the test corpus's clips are only ever predicted (clean
audio), after training, by :func:`predict_corpus`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..train.features import Shards

CROSS_FOLD = 0
"""The fold value of every cross-corpus prediction: the test corpus is one test part."""


def protocol_name(train: str, test: str) -> str:
    """The protocol column of a cross-corpus row in summary.tsv, e.g. ``cross: main -> urdu``."""
    return f"cross: {train} -> {test}"


def common_labels(label_map: Mapping[str, str]) -> list[str]:
    """The common label set: the values of ``label_map``, sorted."""
    return sorted(set(str(v) for v in label_map.values()))


def map_labels(manifest: pd.DataFrame, label_map: Mapping[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """(the manifest's clips with a common label, clips dropped per original label).

    The mapped table keeps every column, ``label`` replaced by the common label and the corpus's
    own label in ``corpus_label``.
    """
    if not label_map:
        raise ValueError("label_map is empty: a cross-corpus run needs the common label set")
    common = set(common_labels(label_map))
    original = manifest["label"].astype(str)
    mapped = original.map(lambda label: label_map.get(label, label if label in common else None))
    keep = mapped.notna()
    dropped = original[~keep].value_counts().sort_index()
    table = manifest[keep].copy()
    table["corpus_label"] = original[keep]
    table["label"] = mapped[keep].astype(str)
    return table.reset_index(drop=True), {str(k): int(v) for k, v in dropped.items()}


def mapping_note(corpus: str, manifest: pd.DataFrame, mapped: pd.DataFrame, dropped: Mapping[str, int]) -> str:
    """One log line: how many clips of ``corpus`` keep a common label and how many are dropped, per label."""
    counts = ", ".join(f"{label} {n}" for label, n in mapped["label"].value_counts().sort_index().items())
    lost = ", ".join(f"{label} {n}" for label, n in dropped.items()) or "none"
    return (f"corpus {corpus}: {len(mapped)} of {len(manifest)} clips have a label in the common set ({counts}); "
            f"dropped {sum(dropped.values())} (label outside label_map: {lost})")


def all_clips_folds(manifest: pd.DataFrame) -> pd.DataFrame:
    """A folds table putting every clip of ``manifest`` in one part: with fold "all" every clip trains."""
    return pd.DataFrame({"clip_id": manifest["clip_id"].astype(str), "fold": CROSS_FOLD})


def cross_plan(
    shards: Shards,
    manifest: pd.DataFrame,
    label_map: Mapping[str, str],
    features: Mapping[str, Any],
    augment_use: str,
    seed: int,
    member_plans: Sequence[tuple[str, Mapping[str, Any]]] | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """The train corpus's plan (a :class:`~speech_emotion.train.plan.Plan`'s JSON, with the labels and the clips
    dropped per label): :func:`speech_emotion.train.plan.make_plan` for fold "all" on its clips with a
    common label (``shards``: its embedding shards, variant -> encoder -> files, copies included when it has any; a fusion
    passes its members' cross plans of the same train corpus, in member order)."""
    from ..train.plan import make_plan

    mapped, dropped = map_labels(manifest, label_map)
    _check_classes(mapped, "train")
    plan = make_plan("all", shards, mapped, all_clips_folds(mapped), features, augment_use, seed, member_plans,
                     threads=threads).to_json()
    plan["labels"] = sorted(set(mapped["label"]))
    plan["dropped"] = dropped
    return plan


def cross_train(
    encoder: str,
    classifier: str,
    config: Mapping[str, Any],
    shards: Shards,
    manifest: pd.DataFrame,
    label_map: Mapping[str, str],
    plan: Mapping[str, Any],
    seed: int,
    threads: int = 1,
    member_models: Mapping[str, str | Path] | None = None,
):
    """Fit one classifier on every clip of the train corpus with a common label, as its plan says
    (:func:`speech_emotion.train.fold.train_fold`, fold "all"); returns its TrainResult (no predictions)."""
    from ..train.fold import train_fold

    mapped, dropped = map_labels(manifest, label_map)
    _check_classes(mapped, "train")
    result = train_fold(encoder, classifier, "all", config, shards, mapped, all_clips_folds(mapped), plan, seed,
                        threads, member_models)
    result.record["dropped"] = dropped
    return result


def predict_corpus(
    model,
    spec,
    clean_shards: Mapping[str, Sequence[str | Path]],
    test_manifest: pd.DataFrame,
    train_manifest: pd.DataFrame,
    label_map: Mapping[str, str],
    workdir: str | Path = ".",
) -> tuple[pd.DataFrame, dict[str, int]]:
    """(predictions.tsv rows of every test clip with a common label, test clips dropped per label).

    ``spec``: the model's :class:`~speech_emotion.train.features.FeatureSpec` (its folder's features.json):
    the test clips' features are read and standardised per speaker through it, as predict does: a
    speaker's statistics come from all of that speaker's clips in the test manifest (labels unused),
    so clips outside the label map are standardised with but not scored. A model that standardises per
    speaker also labels each scored clip alone (``lone_prediction``, the population's statistics).
    Raises ``ValueError`` when an audio file of the test corpus is also one of the train corpus
    (the same path, after resolving links): such a clip would be tested on a model it trained.
    """
    from ..train.fold import LONE_COLUMN, lone_clip_labels, predictions_frame

    check_disjoint(train_manifest, test_manifest, workdir)
    every = test_manifest.assign(clip_id=test_manifest["clip_id"].astype(str))
    every = every.sort_values("clip_id", kind="stable").reset_index(drop=True)
    mapped, dropped = map_labels(every, label_map)  # in the order of ``every``
    if mapped.empty:
        raise ValueError("no clip of the test corpus has a label in label_map")
    clean = spec.read_variant("clean", clean_shards)
    row_of = {clip: i for i, clip in enumerate(clean.clip_ids)}
    missing = sorted(set(every["clip_id"]) - set(row_of))
    if missing:
        raise KeyError(f"{len(missing)} test clips have no clean embedding, e.g. {missing[:3]}")
    X_every = clean.features[[row_of[c] for c in every["clip_id"]]]
    X_every_std = spec.standardise(X_every, every["speaker"].astype(str).tolist())[0]
    rows = np.flatnonzero(every["clip_id"].isin(set(mapped["clip_id"])).to_numpy())
    labels = sorted(set(common_labels(label_map)) | set(str(c) for c in model.classes_))
    frame = predictions_frame(model, mapped["clip_id"].to_numpy(), CROSS_FOLD, mapped["label"].to_numpy(),
                              X_every_std[rows], labels)
    if spec.speaker_norm:
        frame[LONE_COLUMN] = lone_clip_labels(model, spec, X_every[rows], labels)
    return frame, dropped


def check_disjoint(train_manifest: pd.DataFrame, test_manifest: pd.DataFrame, workdir: str | Path = ".") -> None:
    """Raise ``ValueError`` when the two corpora share an audio file (compared after resolving paths)."""

    def resolved(table: pd.DataFrame) -> dict[str, str]:
        out = {}
        for path in table["path"].astype(str):
            full = path if os.path.isabs(path) else os.path.join(str(workdir), path)
            out[os.path.realpath(full)] = path
        return out

    train, test = resolved(train_manifest), resolved(test_manifest)
    shared = sorted(set(train) & set(test))
    if shared:
        raise ValueError(f"{len(shared)} audio file(s) are in both the train and the test corpus, "
                         f"e.g. {[test[p] for p in shared[:3]]}: a test clip must never train")


def shared_speaker_ids(train_manifest: pd.DataFrame, test_manifest: pd.DataFrame) -> list[str]:
    """Speaker ids found in both corpora: usually a coincidence of naming, but the same people in two
    corpora (e.g. two cuts of one recording session) would make the test easier."""
    return sorted(set(train_manifest["speaker"].astype(str)) & set(test_manifest["speaker"].astype(str)))


def cross_metrics(
    predictions: pd.DataFrame,
    test_manifest: pd.DataFrame,
    train_manifest: pd.DataFrame,
    label_map: Mapping[str, str],
    pair: Mapping[str, str],
    encoder: str,
    classifier: str,
) -> dict[str, Any]:
    """metrics.json of one cross pair: :func:`speech_emotion.evaluate.metrics.compute_metrics` on the test
    corpus (one test part, so the fold mean is the pooled value and the std 0; chance levels are the
    test corpus's), plus what was trained and tested and what the label map dropped."""
    from ..evaluate.metrics import check_coverage, compute_metrics

    mapped_test, dropped_test = map_labels(test_manifest, label_map)
    mapped_train, dropped_train = map_labels(train_manifest, label_map)
    check_coverage(predictions, all_clips_folds(mapped_test))
    metrics = compute_metrics(predictions, mapped_test, None,
                              "cross-corpus run: no human baseline (listener votes are per corpus)")
    metrics = {"encoder": encoder, "classifier": classifier, "protocol": protocol_name(pair["train"], pair["test"]),
               "train_corpus": pair["train"], "test_corpus": pair["test"]} | metrics
    metrics["cross"] = {
        "label_map": dict(label_map),
        "common_labels": common_labels(label_map),
        "train": {"corpus": pair["train"], "n_clips": int(len(mapped_train)),
                  "n_speakers": int(mapped_train["speaker"].nunique()),
                  "labels": mapped_train["label"].value_counts().sort_index().to_dict(), "dropped": dropped_train},
        "test": {"corpus": pair["test"], "n_clips": int(len(mapped_test)),
                 "n_speakers": int(mapped_test["speaker"].nunique()),
                 "labels": mapped_test["label"].value_counts().sort_index().to_dict(), "dropped": dropped_test},
        "shared_speaker_ids": shared_speaker_ids(mapped_train, mapped_test),
        "note": "trained on every train-corpus clip with a common label, tested on every such test-corpus clip "
                "(clean audio); n_folds 1, so the fold mean equals the pooled value and std is 0",
    }
    return metrics


def _check_classes(mapped: pd.DataFrame, role: str) -> None:
    if mapped["label"].nunique() < 2:
        raise ValueError(f"the {role} corpus has {mapped['label'].nunique()} class(es) in the common label set "
                         f"({sorted(set(mapped['label']))}): a classifier needs at least 2")
