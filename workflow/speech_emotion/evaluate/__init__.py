"""Stage evaluate (rules/evaluate.smk): metrics, the human baseline, the leaderboard, the figures and the model card."""
