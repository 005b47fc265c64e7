"""The database locked mid-call: the call goes on, and the records land when it is free again."""

from __future__ import annotations

import asyncio
import sqlite3

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, Fakes, RunningServer


def database_file(server: RunningServer) -> str:
    return server.settings.database_url.removeprefix("sqlite+aiosqlite:///")


def stored_texts(server: RunningServer) -> list[tuple[str]]:
    """What is in `call_turns` right now, read past the lock (WAL readers are not blocked)."""
    reader = sqlite3.connect(database_file(server), timeout=1)
    try:
        return reader.execute("SELECT text FROM call_turns").fetchall()
    finally:
        reader.close()


async def test_a_locked_database_does_not_stall_the_call_or_lose_turns(
    zylin: RunningServer, fakes: Fakes
) -> None:
    fakes.deepgram.queue_transcripts(["What are your hours?"])
    fakes.openai.queue_chat(Text("We're open nine to five."))
    lock = sqlite3.connect(database_file(zylin), timeout=1, isolation_level=None)
    try:
        async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID) as call:
            await call.wait_for_reply(timeout=15)
            lock.execute("BEGIN EXCLUSIVE")  # another process holds the database
            turn = await call.say_text("What are your hours")
            await call.wait_for_reply(timeout=15)  # answered while the database is locked
            assert turn.voice_to_voice_ms is not None and turn.voice_to_voice_ms < 3000
            await asyncio.sleep(1.0)
            # The reply's turns are queued, not written: the lock really held the writer back.
            assert ("We're open nine to five.",) not in stored_texts(zylin)
            lock.execute("COMMIT")  # the database is back
    finally:
        lock.close()
    await wait_until(lambda: not zylin.state.active_calls, within=30)
    detail = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and detail.call.ended_at is not None
    texts = [(t.role, t.text) for t in detail.turns]
    assert ("user", "What are your hours?") in texts
    assert ("assistant", "We're open nine to five.") in texts
