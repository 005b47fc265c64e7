"""SIGTERM on a server process with a call in progress: no new calls, the call goes on for the
grace period, then hears a goodbye, its record is closed, and the process exits."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import httpx

from devtools.caller import SimulatedCall
from devtools.fakes.openai_server import Text
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, Fakes, cloud_env, free_port, server_process
from zylin.storage.db import create_engine, session_factory
from zylin.storage.repository import CallDetail, Repository
from zylin.telephony import SignatureChecker

GRACE_SECS = 4


async def _record(database: Path, call_sid: str) -> CallDetail:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        detail = await Repository(session_factory(engine)).get_call_by_sid(call_sid)
    finally:
        await engine.dispose()
    assert detail is not None
    return detail


async def _signed_voice_webhook(url: str, call_sid: str) -> httpx.Response:
    form = {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "From": "+15550001111", "To": "+1"}
    signature = SignatureChecker(AUTH_TOKEN).sign(f"{url}/twilio/voice", form)
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.post(
            f"{url}/twilio/voice", data=form, headers={"X-Twilio-Signature": signature}
        )


async def test_sigterm_drains_the_call_then_ends_it_politely(fakes: Fakes, tmp_path: Path) -> None:
    database = tmp_path / "zylin.db"
    fakes.deepgram.queue_transcripts(["What are your opening hours?"])
    fakes.openai.queue_chat(Text("We're open nine to five on weekdays."))
    env = cloud_env(
        fakes, database, free_port(), SHUTDOWN_GRACE_SECS=str(GRACE_SECS), SILENCE_PROMPT_SECS="60"
    )
    async with server_process(env, tmp_path / "server.log") as server:
        call = SimulatedCall(server.url, auth_token=AUTH_TOKEN, account_sid=ACCOUNT_SID)
        try:
            await asyncio.wait_for(call.connect(), 15)
            await call.wait_for_reply(timeout=15)  # the greeting
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)

            # A new caller is sent to the record-then-answer path, not refused.
            answer = await _signed_voice_webhook(server.url, "CA" + "7" * 32)
            assert answer.status_code == 200, server.log_tail()
            assert "/twilio/voice-legacy?reason=shutdown" in answer.text

            # The call in progress goes on during the grace period...
            await call.say_text("What are your opening hours?")
            await call.wait_for_reply(timeout=10)
            # ...and then hears the shutdown goodbye and is ended.
            await call.wait_closed(timeout=GRACE_SECS + 25)
            await asyncio.to_thread(server.process.wait, 30)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call.close(), 10)
    spoken = [r["input"] for r in fakes.openai.speech_requests]
    assert any("end our call now" in text for text in spoken), spoken
    assert server.process.returncode in (0, -signal.SIGTERM), server.log_tail()
    detail = await _record(database, call.call_sid)
    assert detail.call.end_reason == "shutdown"
    assert detail.call.ended_at is not None
    assert [t.role for t in detail.turns][:3] == ["assistant", "user", "assistant"]
