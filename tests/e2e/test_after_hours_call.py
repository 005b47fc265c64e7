"""A streamed call after hours: the closed greeting, and 0 takes a message (no transfer).

The tools and system prompt of a closed business are checked in tests/unit/test_after_hours.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from tests.harness import AUTH_TOKEN, Fakes, cloud_settings, running_server

pytestmark = pytest.mark.timeout(60)

MON_6PM = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # closed; opens Tuesday at 9 AM


async def test_after_hours_call_is_greeted_as_closed_and_zero_takes_a_message(
    fakes: Fakes, tmp_path: Path
) -> None:
    fakes.openai.ms_per_char = 10.0  # short lines keep the test short
    settings = cloud_settings(fakes, tmp_path, silence_prompt_secs=30)
    async with running_server(settings, now=lambda: MON_6PM) as server:
        offer = server.state.prompts.line("closed_message_offer", server.state.profile)
        async with SimulatedCall(server.url, auth_token=AUTH_TOKEN) as call:
            await call.wait_for_reply(timeout=15)
            greeting = fakes.openai.speech_requests[0]["input"]
            assert "closed right now and open again tomorrow at 9 AM" in greeting

            await call.send_dtmf("0")
            await wait_until(lambda: fakes.openai.speech_requests[-1]["input"] == offer, within=15)
        await wait_until(lambda: not server.state.active_calls, within=10)
        assert not any("Twiml" in u for u in fakes.twilio.call_updates)  # no transfer tried
        escalations = await server.state.repository.escalations_for_call(call.call_sid)
        assert [e.outcome for e in escalations] == ["message_offered"]
