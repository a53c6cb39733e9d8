"""Stage regress (rules/regress.smk): continuous targets (``dataset.targets``) cross-validated per
(target, encoder, regressor) on the classification folds with each fold's plan: one fold's job
(:mod:`.fold`), the metrics and the summary rows (:mod:`.summary`). The regressors are in
:mod:`speech_emotion.train.regressors`, the metrics in :mod:`speech_emotion.evaluate.regression`."""
