"""Stage augment (rules/augment.smk): augmented copies of training clips."""
