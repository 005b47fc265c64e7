"""Runs a real Zylin server in the test's event loop, wired to the local protocol fakes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from devtools.fakes._base import wait_until
from devtools.fakes.deepgram_server import DeepgramFake
from devtools.fakes.openai_server import OpenAIFake
from devtools.fakes.twilio_rest_server import TwilioRestFake
from server import create_app
from zylin.config import ROOT, Settings
from zylin.state import AppState

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-twilio-auth-token"
DEEPGRAM_KEY = "test-deepgram-key"
OPENAI_KEY = "test-openai-key"


@dataclass
class Fakes:
    """The three local protocol servers one test talks to."""

    deepgram: DeepgramFake
    openai: OpenAIFake
    twilio: TwilioRestFake


@contextlib.asynccontextmanager
async def running_fakes() -> AsyncIterator[Fakes]:
    """Start Deepgram, OpenAI and Twilio REST fakes on free loopback ports."""
    async with (
        DeepgramFake(api_key=DEEPGRAM_KEY) as deepgram,
        OpenAIFake(api_key=OPENAI_KEY) as openai,
        TwilioRestFake(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio,
    ):
        yield Fakes(deepgram=deepgram, openai=openai, twilio=twilio)


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


# --- A server in its own OS process (crash tests, benchmarks) -----------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cloud_env(fakes: Fakes, database_path: Path, port: int, **extra: str) -> dict[str, str]:
    """Environment for `python server.py` wired to the fakes, as `cloud_settings` is in-process.

    Only PATH/HOME/LANG are inherited, so a developer's own keys never reach the child.
    """
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(
        {
            "DEEPGRAM_API_KEY": DEEPGRAM_KEY,
            "DEEPGRAM_BASE_URL": fakes.deepgram.base_url,
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": f"{fakes.openai.base_url}/v1",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": fakes.twilio.base_url,
            "DATABASE_URL": f"sqlite:///{database_path}",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A `python server.py` child process and where it listens."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the child's output, for assertion messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.asynccontextmanager
async def server_process(
    env: dict[str, str], log_path: Path, *, start_timeout: float = 30.0
) -> AsyncIterator[ServerProcess]:
    """Start `python server.py` with `env`, wait for `/health`, and always kill it afterwards."""
    url = f"http://127.0.0.1:{env['PORT']}"
    process = _spawn_server(env, log_path)
    child = ServerProcess(process=process, url=url, log_path=log_path)
    try:
        await _wait_healthy(child, start_timeout)
        yield child
    finally:
        if process.poll() is None:
            process.kill()
        await asyncio.to_thread(process.wait, 10)


def _spawn_server(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Popen returns at once (fork/exec), so calling it from the event loop is fine."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "server.py")], cwd=ROOT, env=env, stdout=log, stderr=log
        )


async def _wait_healthy(child: ServerProcess, within: float) -> None:
    deadline = asyncio.get_running_loop().time() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while asyncio.get_running_loop().time() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"server exited during start-up:\n{child.log_tail()}")
            try:
                if (await client.get(f"{child.url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server not healthy within {within} s:\n{child.log_tail()}")


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


def running_tasks() -> set[asyncio.Task]:
    """The loop's tasks now, to compare against after a call (leak check)."""
    return {t for t in asyncio.all_tasks() if not t.done()}


async def assert_no_leaked_tasks(before: set[asyncio.Task], within: float = 10.0) -> None:
    """Every task a call started has ended once the call is over."""
    try:
        await wait_until(lambda: not _leaked(before), within=within)
    except TimeoutError:
        assert _leaked(before) == []
