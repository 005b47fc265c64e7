"""Demo mode: no API keys, no network, local engines; a real multi-turn call leaves real records."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio

from devtools.caller import SimulatedCall
from devtools.caller.call import CallClosed
from devtools.fakes._base import wait_until
from tests.e2e.conftest import OPEN_NOW
from tests.harness import AUTH_TOKEN, RunningServer, running_server
from zylin.config import Settings
from zylin.engines import Engines

ADMIN = "demo-admin-token-0123456789"


@pytest_asyncio.fixture
async def demo_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        twilio_auth_token=AUTH_TOKEN,
        admin_token=ADMIN,
        silence_prompt_secs=30.0,
    )
    engines = Engines.choose(settings)
    assert engines.any_demo and engines.llm == "demo"
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        yield server


# What the caller says when Zylin asks for something: a caller repeats what was misheard,
# and says no (then what to change) when the read-back is not what was asked for.
ANSWERS = (
    ("what should i change", "Wednesday at eleven"),
    ("what day", "Wednesday at eleven"),
    ("which day", "Wednesday at eleven"),
    ("what time", "At eleven"),
    ("which would you like", "At eleven"),
    ("name", "My name is Robert"),
    ("spell", "Robert"),
    ("anything else", "No, that's all, goodbye"),
)
# The parts of the read-back, and how the caller corrects each when it was misheard.
CORRECTIONS = (
    ("robert", "No, the name is Robert"),
    ("wednesday, december second at eleven a.m.", "No, Wednesday at eleven"),
    ("checkup", "No, a checkup"),
)


async def last_bot_line(api: httpx.AsyncClient, call_sid: str) -> str:
    detail = (await api.get(f"/api/calls/{call_sid}")).json()
    bot = [t["text"] for t in detail.get("turns", []) if t["role"] == "assistant"]
    return bot[-1].strip() if bot else ""


def answer_to(line: str) -> str:
    """What the caller says to Zylin's last line: to its last question, else to its gist."""
    line = line.lower()
    if "shall i book it" in line:  # the read-back: put right what was misheard
        return next((fix for part, fix in CORRECTIONS if part not in line), "Yes please")
    last = re.split(r"(?<=[.?!])\s+", line)[-1]
    for text in (last, line):
        for cue, said in ANSWERS:
            if cue in text:
                return said
    return ANSWERS[-1][1]


async def test_demo_call_answers_books_and_says_goodbye(demo_server: RunningServer) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    api = httpx.AsyncClient(base_url=demo_server.url, headers=headers)
    async with api, SimulatedCall(demo_server.url, auth_token=AUTH_TOKEN) as call:
        await call.wait_for_reply(timeout=20)  # greeting
        for line in ("What are your opening hours?", "Book a checkup on Wednesday at eleven"):
            await call.say_text(line)
            await call.wait_for_reply(timeout=25, silence_ms=1200)
        for _ in range(12):  # answer Zylin's questions until it says goodbye and hangs up
            reply = answer_to(await last_bot_line(api, call.call_sid))
            with contextlib.suppress(CallClosed):  # Zylin may hang up as the caller finishes
                await call.say_text(reply)
                # Its goodbye, or (when it misheard) another question to answer.
                await call.wait_for_reply(timeout=25, silence_ms=1200)
            if call.closed:
                break
        await call.wait_closed(timeout=40)
    assert call.closed_by == "server"
    await wait_until(lambda: not demo_server.state.active_calls, within=20)

    async with httpx.AsyncClient(base_url=demo_server.url, headers=headers) as api:
        appointments = (
            await api.get("/api/appointments", params={"start": "2026-12-01", "end": "2026-12-05"})
        ).json()["items"]
        calls = (await api.get("/api/calls")).json()["items"]
        detail = (await api.get(f"/api/calls/{call.call_sid}")).json()
    # The name is as good as the demo recognizer ("my name is Robert" may lose a word).
    assert [a["service"] for a in appointments] == ["Checkup"]
    assert "Robert" in appointments[0]["caller_name"]
    assert appointments[0]["start_at"].startswith("2026-12-02T16:00")  # 11:00 in New York
    assert calls[0]["call_sid"] == call.call_sid
    assert detail["call"]["end_reason"] == "bot_ended"
    assert detail["call"]["intent"] == "booking"
    said = [t["text"].lower() for t in detail["turns"] if t["role"] == "user"]
    assert "what are your opening hours" in said
    bot = " ".join(t["text"] for t in detail["turns"] if t["role"] == "assistant")
    assert "Monday" in bot  # the hours came from the profile
    assert any(t["voice_to_voice_ms"] for t in detail["turns"])
