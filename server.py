"""Zylin's server: the app from `zylin.app` with this checkout's call pipeline (`bot.py`).

`./zylin serve` (or `python server.py`) runs it with uvicorn; `uvicorn --factory
server:app_from_env` works too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import uvicorn
from fastapi import FastAPI

from bot import build_worker
from zylin.app.factory import build_app
from zylin.app.limits import MAX_WS_MESSAGE_BYTES
from zylin.config import Settings
from zylin.logging_setup import configure_logging
from zylin.state import utc_now


def create_app(settings: Settings, *, now: Callable[[], datetime] = utc_now) -> FastAPI:
    """The app for these settings; the lifespan opens the database and clients once."""
    return build_app(settings, build_worker=build_worker, now=now)


def app_from_env() -> FastAPI:
    """An app configured from the environment (each uvicorn worker process calls this)."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    """How `./zylin serve` runs the app: every protection set here holds in every worker."""
    return uvicorn.Config(
        "server:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        ws_max_size=MAX_WS_MESSAGE_BYTES,
    )


def main() -> None:
    """`python server.py`: run with uvicorn on HOST:PORT."""
    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.Server(uvicorn_config(settings)).run()


if __name__ == "__main__":
    main()
