"""``speech-emotion info``: a few lines on a model folder, from its model.json and features.json.

Nothing heavy is imported (no torch, no classifier is loaded). Where each encoder's weights are comes
from :func:`speech_emotion.predict.portable.locate_encoder` (without downloading), so ``info`` names the
copy predict would use: a bundled one once ``speech-emotion bundle`` has run. The sentences on speakers
and on the two CV figures are the card's (:mod:`speech_emotion.evaluate.card_text`). Layers, their weights and
per-speaker standardisation come from features.json, the one place a model folder states them (an older
model.json's copies of them are not read).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..predict.portable import encoder_records, locate_encoder
from ..regress.model import cv_line, is_regression, target_line
from .card_text import fmt, lone_clip, lone_clip_sentence

if TYPE_CHECKING:
    from ..train.features import Member

SCORES = (("balanced_accuracy", "UA"), ("accuracy", "WA"), ("f1_macro", "macro-F1"))
"""The metrics ``info`` prints, with their short names."""


def _weights(path: Path, record: Mapping[str, Any]) -> str:
    """Where predict would find an encoder's weights (no download), or that it would not."""
    if record["spec"].get("kind") == "opensmile":
        return ""
    try:
        weights = locate_encoder(path, record, download=False)
    except FileNotFoundError:
        return "; weights NOT FOUND here (bundle them where the model was made, or pass --encoder-dir)"
    return f"; weights {weights.path} ({weights.where})"


def _encoder_summary(path: Path, record: Mapping[str, Any], member: Member | None) -> str:
    spec = record["spec"]
    if spec.get("kind") == "opensmile":
        what = f"openSMILE {spec.get('feature_set')} functionals"
    elif spec.get("init_config"):
        what = f"random weights from {spec['init_config']}, not pretrained"
    else:
        what = str(spec.get("model"))
    layers = f"layers {list(member.layers)}{' weighted' if member.weights else ''}" if member else "no layers"
    return f"{record['name']} ({what}), {layers}{_weights(path, record)}"


def _scores(values: Mapping[str, Any]) -> str:
    """UA, WA and macro-F1, pooled and fold mean."""
    return "; ".join(f"{label} {fmt(values[name].get('pooled'))} pooled, {fmt(values[name].get('mean'))} ± "
                     f"{fmt(values[name].get('std'))} fold mean" for name, label in SCORES if values.get(name))


def model_summary(path: str | Path) -> list[tuple[str, str]]:
    """``speech-emotion info``: (field, text) lines on a model folder from its model.json and features.json.
    Raises ModelFileError for a folder that is not a model."""
    from ..io.versions import version_differences
    from ..train.classifiers import ModelFileError
    from ..train.features import FEATURES_FILE, FeatureSpec

    path = Path(path)
    try:
        info = json.loads((path / "model.json").read_text(encoding="utf-8"))
        spec = FeatureSpec.read(path / info.get("features_file", FEATURES_FILE))
    except FileNotFoundError as exc:
        raise ModelFileError(f"{path}: not a model folder ({exc})") from exc
    except ValueError as exc:
        raise ModelFileError(f"{path}: damaged model folder ({exc})") from exc
    encoders = "; ".join(_encoder_summary(path, r, spec.member(r["name"])) for r in encoder_records(info))
    regression = is_regression(info)
    if regression:  # a continuous target's model (speech_emotion.regress.model): predict writes its value
        lines = [("model", str(path)), ("target", f"{target_line(info)}; predict writes it as column "
                                                  f"'{info['target']['name']}'"),
                 ("encoder", encoders), ("regressor", str(info["regressor"]))]
    else:
        lines = [("model", str(path)), ("labels", ", ".join(info["labels"])), ("encoder", encoders),
                 ("classifier", str(info["classifier"]))]
    if spec.speaker_norm:
        lines.append(("speakers", f"NEEDED (features standardised per speaker; fewer than {spec.min_clips} files of a "
                                  "speaker in a call: the training population's statistics): --speaker-regex REGEX, "
                                  "--speaker-from-folder or --speakers TABLE; or --enrolment FILE from 'speech-emotion "
                                  "enrol --model M --speaker NAME --out FILE clips...'; or --no-speakers (each file "
                                  "alone, on the population's statistics)"))
    else:
        lines.append(("speakers", "not needed (no per-speaker standardisation); --speaker-* options only add a "
                                  "speaker column"))
    cv = info.get("cv") or {}
    if regression and cv.get("ccc"):
        lines.append(("cv", cv_line(cv)))
    elif cv.get("balanced_accuracy"):
        chance = (cv.get("chance") or {}).get("balanced_accuracy")
        lone = lone_clip(info)
        own = ", each speaker's own clips" if lone else ""
        lines.append(("cv", f"{cv.get('folds', '?')} folds ({cv.get('protocol', 'speaker')}), {cv.get('clips', '?')} "
                            f"clips{own}: {_scores(cv)}; chance UA {fmt(chance)}"))
        lines.append(("one clip alone", f"{_scores(lone)} ({len(lone['folds_standardised'])} of {lone['n_folds']} "
                                        f"folds standardised per speaker). {lone_clip_sentence(spec)}" if lone else
                      "as cv: no CV fold standardised features per speaker"))
    else:
        lines.append(("cv", "no scores in model.json (a CV fold or cross-corpus model: see its metrics.json)"))
    versions = info.get("versions") or {}
    if versions:
        text = ", ".join(f"{name} {version}" for name, version in versions.items())
        differences = version_differences(versions)
        if differences:
            text += "; DIFFERENT here: " + ", ".join(f"{name} {here or 'not installed'}"
                                                     for name, (_, here) in differences.items())
        lines.append(("versions", text))
    else:
        lines.append(("versions", "not recorded (a model made before the workflow recorded them)"))
    return lines
