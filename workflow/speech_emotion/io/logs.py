"""The log of a workflow job: every script sends its logging to its rule's ``log:`` file the same way."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import TracebackType


def job_log(path: str | Path) -> logging.Logger:
    """Send this process's logging to ``path`` (replacing its content): INFO and up, the library
    warnings (``warnings.warn``) and, should the job fail, the exception with its traceback, so the
    rule's log says why. Returns the logger ``job`` for the script's own lines."""
    logging.basicConfig(filename=str(path), filemode="w", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.captureWarnings(True)
    logger = logging.getLogger("job")

    def log_failure(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            logger.error("job failed: %s: %s", kind.__name__, error, exc_info=(kind, error, trace))
        sys.__excepthook__(kind, error, trace)

    sys.excepthook = log_failure
    return logger
