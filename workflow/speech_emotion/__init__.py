"""Speech emotion recognition from frozen speech embeddings.

The library behind the Snakemake workflow: every module is plain Python, importable and tested
without Snakemake. The rules in ``workflow/rules`` call it through thin scripts.
"""

__version__ = "0.1.0"
