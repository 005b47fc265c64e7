"""Runs a real Zylin server in the test's event loop, wired to the local protocol fakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from devtools.fakes._base import wait_until
from devtools.fakes.stack import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    DEEPGRAM_KEY,
    OPENAI_KEY,
    Fakes,
    ServerProcess,
    cloud_env,
    free_port,
    running_fakes,
    server_process,
)
from server import create_app
from zylin.config import Settings
from zylin.state import AppState


def cloud_settings(fakes: Fakes, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a server whose real SDK clients all point at the fakes."""
    values: dict[str, Any] = {
        "deepgram_api_key": DEEPGRAM_KEY,
        "deepgram_base_url": fakes.deepgram.base_url,
        "openai_api_key": OPENAI_KEY,
        "openai_base_url": f"{fakes.openai.base_url}/v1",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_api_base_url": fakes.twilio.base_url,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'zylin.db'}",
        "public_url": None,
        "log_level": "INFO",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningServer:
    """A Zylin server listening on loopback."""

    url: str
    app: FastAPI
    settings: Settings

    @property
    def state(self) -> AppState:
        """The server's long-lived dependencies (repository, profile, ...)."""
        return self.app.state.zylin


@contextlib.asynccontextmanager
async def running_server(
    settings: Settings, *, now: Callable[[], datetime] | None = None
) -> AsyncIterator[RunningServer]:
    """Serve `create_app(settings)` with uvicorn on a free port, in this event loop."""
    app = create_app(settings, now=now or (lambda: datetime.now(UTC)))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server exited during start-up")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningServer(url=f"http://127.0.0.1:{port}", app=app, settings=settings)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def _leaked(before: set[asyncio.Task]) -> list[str]:
    """Tasks started since `before` that are still running (not the fakes' HTTP handlers)."""
    return [
        f"{t.get_name()}: {t.get_coro()}"
        for t in asyncio.all_tasks()
        if not t.done()
        and t not in before
        and t is not asyncio.current_task()
        and not getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    ]


__all__ = [  # the fakes' stack is re-exported: tests import everything from here
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "DEEPGRAM_KEY",
    "OPENAI_KEY",
    "Fakes",
    "RunningServer",
    "ServerProcess",
    "assert_no_leaked_tasks",
    "cloud_env",
    "cloud_settings",
    "free_port",
    "running_fakes",
    "running_server",
    "running_tasks",
    "server_process",
]


def running_tasks() -> set[asyncio.Task]:
    """The loop's tasks now, to compare against after a call (leak check)."""
    return {t for t in asyncio.all_tasks() if not t.done()}


async def assert_no_leaked_tasks(before: set[asyncio.Task], within: float = 10.0) -> None:
    """Every task a call started has ended once the call is over."""
    try:
        await wait_until(lambda: not _leaked(before), within=within)
    except TimeoutError:
        assert _leaked(before) == []
