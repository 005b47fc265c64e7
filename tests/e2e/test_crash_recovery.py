"""Crash safety of the call record: kill -9 the server mid-call and the finished turns survive.

The server runs as its own OS process (as in production), against the protocol fakes running
in this test's event loop; the test reads the SQLite file directly once the process is dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import httpx

from devtools.caller import SimulatedCall
from devtools.fakes.openai_server import Text
from tests.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Fakes,
    cloud_env,
    free_port,
    server_process,
)
from zylin.storage.db import create_engine, session_factory
from zylin.storage.repository import Repository

CALLER = "+15555550123"
LINES = ["What are your opening hours?", "Do you take insurance?", "Can I book a cleaning?"]
REPLIES = ["We're open nine to five on weekdays.", "Yes, most major plans.", "Sure, which day?"]


async def _turns_in(database: Path, call_sid: str) -> tuple[object, list[tuple[str, str]]]:
    """The call row and its (role, text) turns, read straight from the file the server left."""
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        detail = await Repository(session_factory(engine)).get_call_by_sid(call_sid)
    finally:
        await engine.dispose()
    assert detail is not None, "the call row was never written"
    return detail.call, [(t.role, t.text) for t in detail.turns]


async def test_kill_9_mid_call_keeps_the_finished_turns(fakes: Fakes, tmp_path: Path) -> None:
    """Turns are written as they happen, so a crash loses at most the turn in progress."""
    database = tmp_path / "zylin.db"
    fakes.deepgram.queue_transcripts(LINES)
    fakes.openai.queue_chat(*(Text(r) for r in REPLIES))
    env = cloud_env(fakes, database, free_port(), SILENCE_PROMPT_SECS="30")
    async with server_process(env, tmp_path / "server-1.log") as server:
        call = SimulatedCall(
            server.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID, caller=CALLER
        )
        try:
            await asyncio.wait_for(call.connect(), 15)
            await call.wait_for_reply(timeout=15)  # the greeting
            for line in LINES[:2]:
                await call.say_text(line)
                await call.wait_for_reply(timeout=15)
            third = await call.say_text(LINES[2], wait=False)
            await asyncio.sleep(0.5)  # the caller is mid-sentence
            assert third.ended_at is None, "the third turn should still be in progress"
            os.kill(server.process.pid, signal.SIGKILL)
            await asyncio.to_thread(server.process.wait, 10)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call.close(), 10)
        assert server.process.returncode == -signal.SIGKILL

    record, turns = await _turns_in(database, call.call_sid)
    assert record.started_at is not None  # type: ignore[attr-defined]
    assert record.ended_at is None, "nothing ran after the kill"  # type: ignore[attr-defined]
    greeting, *rest = turns
    assert greeting[0] == "assistant" and greeting[1].startswith("Thanks for calling")
    assert rest[:4] == [
        ("user", LINES[0]),
        ("assistant", REPLIES[0]),
        ("user", LINES[1]),
        ("assistant", REPLIES[1]),
    ], turns
    assert ("assistant", REPLIES[2]) not in rest, "the third reply never happened"

    # A fresh process on the same file: migrations are idempotent and it serves at once.
    env = {**env, "PORT": str(free_port())}
    async with server_process(env, tmp_path / "server-2.log") as again:
        async with httpx.AsyncClient(timeout=5) as client:
            health = await client.get(f"{again.url}/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
