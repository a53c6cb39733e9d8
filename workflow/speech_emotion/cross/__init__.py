"""Stage cross (rules/cross.smk): cross-corpus plans, models and scores."""
