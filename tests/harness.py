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

from app_state import AppState
from server import create_app
from settings import Settings
from tests.fakes.deepgram_server import DeepgramFake
from tests.fakes.openai_server import OpenAIFake
from tests.fakes.twilio_rest_server import TwilioRestFake

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
