"""Stage train (rules/train.smk): the per-fold plan and feature pipeline, per-speaker standardisation, tuning, the classifiers and the model folder."""
