"""Zylin's server: the app from `zylin.app` with this checkout's call pipeline (`bot.py`).

`./zylin serve` (or `python server.py`) runs it with uvicorn; `uvicorn --factory
server:app_from_env` works too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import FastAPI

from bot import build_worker
from zylin.app.factory import build_app
from zylin.app.limits import MAX_WS_MESSAGE_BYTES
from zylin.config import Settings
from zylin.logging_setup import configure_logging
from zylin.state import utc_now

# After the app's own shutdown has ended every call, what uvicorn still waits for connections.
CLOSE_CONNECTIONS_SECS = 10


def create_app(
    settings: Settings,
    *,
    now: Callable[[], datetime] = utc_now,
    handle_sigterm: bool = False,
    freeze_heap: bool = False,
) -> FastAPI:
    """The app for these settings; the lifespan opens the database and clients once."""
    return build_app(
        settings,
        build_worker=build_worker,
        now=now,
        handle_sigterm=handle_sigterm,
        freeze_heap=freeze_heap,
    )


def app_from_env() -> FastAPI:
    """An app configured from the environment (each uvicorn worker process calls this)."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings, handle_sigterm=True, freeze_heap=True)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `./zylin serve` runs the app: `WORKERS` processes on one port, each built by
    `app_from_env`, so every protection set here holds in every worker."""
    return {
        "app": "server:app_from_env",
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.worker_count(),
        "log_level": settings.log_level.lower(),
        "ws_max_size": MAX_WS_MESSAGE_BYTES,
        # Twilio's media messages are small base64 audio that does not compress; deflating
        # every outgoing frame cost ~3 % of the server's CPU (py-spy, 6 calls).
        "ws_per_message_deflate": False,
        "timeout_graceful_shutdown": CLOSE_CONNECTIONS_SECS,
    }


def main() -> None:
    """`python server.py` (`./zylin serve`): run with uvicorn on HOST:PORT."""
    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(**uvicorn_options(settings))


if __name__ == "__main__":
    main()
