"""Loguru configuration: INFO by default, call-bound fields, no per-frame noise."""

from __future__ import annotations

import sys

from loguru import logger

_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
    "{extra[call_sid]} | <cyan>{name}</cyan> - <level>{message}</level>"
)


def configure_logging(level: str) -> None:
    """Replace loguru's DEBUG-to-stderr default (which logs call data) with our format.

    Pipecat logs transcripts and frames at DEBUG; keeping the default level at INFO keeps
    those, and anything per audio frame, out of production logs.
    """
    logger.remove()
    logger.configure(extra={"call_sid": "-"})
    logger.add(sys.stderr, level=level.upper(), format=_FORMAT, backtrace=False, diagnose=False)
