"""Stage regress (rules/regress.smk): continuous targets (``dataset.targets``) cross-validated per
(target, encoder, regressor) on the classification folds with each fold's plan: one fold's job
(:mod:`.fold`, which also writes each fold's model folder; fold ``all`` is the final regressor), the
metrics and the summary rows (:mod:`.summary`), the final model's model.json scores and card
(:mod:`.model`). The regressors are in :mod:`speech_emotion.train.regressors`, the metrics in
:mod:`speech_emotion.evaluate.regression`."""

KIND = "regression"
"""model.json's ``kind`` in a regressor's model folder (a classifier's folder has none)."""

COPIES = {"use": False, "why": "clean clips only: a copy's gain, pitch or tempo changes can move what the target rates"}
"""Augmented copies in the regression stage: never (the regression plans decide without them, the
regressors train without them; record.json and the plan's evidence say why)."""
