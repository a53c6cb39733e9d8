# Input functions and constants of report.smk (functions live apart from rules: snakemake --lint).
from speech_emotion.evaluate.metrics import format_summary  # noqa: E402


def print_summary(path):
    """Print results/summary.tsv as a table (end of a successful run)."""
    if Path(path).exists():
        import pandas as pd

        print(f"\nCross-validation summary ({path}, mean ± std over folds):", file=sys.stderr)
        print(format_summary(pd.read_csv(path, sep="\t")), file=sys.stderr)
