"""All three protocol fakes at once, and a real Zylin server process wired to them.

Tests and the benchmark share these, so they live beside the fakes rather than under tests/.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools.fakes.deepgram_server import DeepgramFake
from devtools.fakes.openai_server import OpenAIFake
from devtools.fakes.twilio_rest_server import TwilioRestFake
from zylin.config import ROOT

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
            "WORKERS": "1",  # one process unless a test asks for more (`extra`)
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
        # The whole process group: with WORKERS > 1, killing uvicorn's supervisor alone
        # leaves its worker processes running (seen here: orphans burning CPU after a bench).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait, 10)


def _spawn_server(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Popen returns at once (fork/exec), so calling it from the event loop is fine."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "server.py")],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group, so its workers are stopped with it
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
