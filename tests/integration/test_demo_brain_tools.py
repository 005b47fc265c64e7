"""The demo brain driving Zylin's real tools (SQLite, the Twilio REST fake)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_asyncio
from pipecat.frames.frames import (
    EndWorkerFrame,
)

from devtools.fakes.twilio_rest_server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioRestFake,
)
from tests.profile_data import ISSUE_PROFILE
from tests.storage_fixtures import (
    Clock,
    ToolHarness,
    make_context,
    open_repository,
    sqlite_url,
)
from tools import ALL_TOOLS
from zylin.local.demo_brain import DemoBrain, load_phrases
from zylin.telephony import TwilioRest

PROFILE = ISSUE_PROFILE
# Wednesday 25 November 2026, 10:00 in New York.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


# --- The same rules against Zylin's real tools (SQLite, Twilio REST fake) --------------------


@pytest_asyncio.fixture
async def real_tools(tmp_path: Path) -> AsyncIterator[ToolHarness]:
    clock = Clock(NOW)
    repo, engine = await open_repository(sqlite_url(tmp_path), clock)
    fake = await TwilioRestFake().start()
    twilio = TwilioRest(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, fake.url)
    ctx = make_context(repo, twilio, clock)
    await repo.create_call(ctx.call_sid, caller_phone=ctx.caller_phone)
    try:
        yield ToolHarness(ctx)
    finally:
        await ctx.tasks.drain()
        await twilio.aclose()
        await fake.stop()
        await engine.dispose()


async def drive(brain: DemoBrain, harness: ToolHarness, turns: list[str]) -> list[str]:
    """Play the caller's turns, running each tool the brain asks for as Pipecat would."""
    tools = {t.__name__: t for t in ALL_TOOLS}
    messages: list[dict[str, Any]] = []
    said: list[str] = []

    async def answer() -> None:
        for _ in range(6):
            reply = brain.respond(messages)
            if reply.text:
                said.append(reply.text)
                messages.append({"role": "assistant", "content": reply.text})
            if reply.call is None:
                return
            call_id = f"call_{len(messages)}"
            arguments = json.dumps(reply.call.arguments)
            function = {"name": reply.call.name, "arguments": arguments}
            messages.append(
                {
                    "role": "assistant",
                    "tool_calls": [{"id": call_id, "type": "function", "function": function}],
                }
            )
            run = await harness.run(tools[reply.call.name], **reply.call.arguments)
            content = json.dumps(run.result)
            messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
            if run.properties is not None and run.properties.run_llm is False:
                return

    await answer()
    for turn in turns:
        messages.append({"role": "user", "content": turn})
        await answer()
    return said


async def test_books_then_cancels_with_the_real_tools(real_tools: ToolHarness) -> None:
    profile = real_tools.ctx.profile
    brain = DemoBrain(profile, lambda: NOW, load_phrases())
    said = await drive(
        brain,
        real_tools,
        [
            "I'd like to book a checkup on Monday at ten thirty a.m.",
            "my name is Ann Lee",
            "yes please",
            "I need to cancel my appointment",
            "yes",
            "no thanks bye",
        ],
    )
    assert said[2].endswith("for Ann Lee. Shall I book it?")
    assert "all set" in said[3] and "checkup on Monday, November thirtieth" in said[3]
    assert said[4].endswith("Shall I cancel it?")
    assert "is cancelled" in said[5]
    assert real_tools.ctx.end.reason == "bot_ended"
    await real_tools.heard()  # the goodbye played: the call ends
    pushed = real_tools.said()
    assert getattr(pushed[-2], "text", "") == "Thanks for calling Bright Smile Dental. Goodbye!"
    assert isinstance(pushed[-1], EndWorkerFrame)
    repo = real_tools.ctx.repository
    detail = await repo.get_call_by_sid(real_tools.ctx.call_sid)
    assert detail is not None
    kinds = [a.kind for a in detail.actions]
    assert kinds.index("booked") < kinds.index("cancelled")


async def test_takes_a_message_with_the_real_tool(real_tools: ToolHarness) -> None:
    brain = DemoBrain(real_tools.ctx.profile, lambda: NOW, load_phrases())
    said = await drive(
        brain,
        real_tools,
        ["can I leave a message", "Maria Garcia", "please call me about my bill", "this number"],
    )
    assert "Maria Garcia" in said[-1] and "call you back" in said[-1]
