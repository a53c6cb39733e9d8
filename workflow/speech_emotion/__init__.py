"""Speech emotion recognition from frozen speech embeddings.

The library behind the Snakemake workflow: every module is plain Python, importable and tested
without Snakemake. The rules in ``workflow/rules`` call it through thin scripts.

``from speech_emotion import load_model`` loads a final model folder for prediction (see
:mod:`speech_emotion.predict.api`); it is imported on first use, so importing the package stays cheap.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["load_model", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from .predict.api import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
