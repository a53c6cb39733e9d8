"""The model folder of a regressor: model.json's CV scores and the lines ``info`` and the card print.

A regress job writes a model folder for its fold as rule train does for a classifier (model.zip through
:func:`speech_emotion.train.classifiers.save_model`, features.json, model.json:
:func:`speech_emotion.regress.fold.regression_model_info`); rule regress_model copies the
fold-"all" folder (every clean clip with a value trained it) to
results/regression/<target>/<encoder>/<regressor>/model/ and adds the CV scores of the target's metrics.json
and a short card (:mod:`.card`). model.json says ``kind: regression`` and the target (name, column, description, range,
training mean); :func:`speech_emotion.train.final_model.load_final_model` and ``speech-emotion predict``
read it like a classifier's folder and write the predicted value under the target's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import KIND
from ..evaluate.card_text import fmt
from ..evaluate.regression import REGRESSION_METRICS


def regression_cv(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """model.json's ``cv`` of a regressor: each metric's pooled value and mean ± std over folds, and the chance
    level's (each fold's training mean), from the (target, encoder, regressor)'s metrics.json."""
    def summary(values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: values.get(k) for k in ("pooled", "mean", "std")}

    chance = metrics.get("chance") or {}
    return {"folds": metrics.get("n_folds"), "clips": metrics.get("n_clips"), "protocol": metrics.get("protocol", "speaker"),
            **{name: summary(metrics[name]) for name in REGRESSION_METRICS if name in metrics},
            "chance": {name: summary(chance[name]) for name in REGRESSION_METRICS if name in chance}}


def is_regression(info: Mapping[str, Any]) -> bool:
    """Whether model.json is a regressor's."""
    return info.get("kind") == KIND


def target_line(info: Mapping[str, Any]) -> str:
    """One line on the target: name, what it means, range, training mean (the card and ``speech-emotion info``)."""
    target = info["target"]
    bounds = f"; range {target['range'][0]:g} to {target['range'][1]:g}" if target.get("range") else ""
    what = f": {target['description']}" if target.get("description") else ""
    return f"{target['name']}{what}{bounds}; training mean {fmt(target.get('train_mean'))}"


def cv_line(cv: Mapping[str, Any]) -> str:
    """The CV scores in one line: CCC, Pearson and MAE pooled and mean ± std, with the chance level's CCC and MAE."""
    chance = cv.get("chance") or {}
    scores = "; ".join(f"{label} {fmt(cv[name].get('pooled'))} pooled, {fmt(cv[name].get('mean'))} ± "
                       f"{fmt(cv[name].get('std'))} fold mean" for name, label in SCORES if cv.get(name))
    return (f"{cv.get('folds', '?')} folds ({cv.get('protocol', 'speaker')}), {cv.get('clips', '?')} clips: {scores}; "
            f"chance (the training mean) CCC {fmt((chance.get('ccc') or {}).get('pooled'))} pooled, "
            f"MAE {fmt((chance.get('mae') or {}).get('pooled'))} pooled")


SCORES = (("ccc", "CCC"), ("pearson", "Pearson"), ("mae", "MAE"))
"""The metrics the card and ``info`` print, with their short names."""
