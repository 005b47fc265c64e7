"""A streamed call nobody speaks on after the greeting is ended as likely automated."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from tests.e2e.conftest import OPEN_NOW
from tests.harness import AUTH_TOKEN, Fakes, cloud_settings, running_server
from tests.integration.test_screening_webhook import screening_profile

pytestmark = pytest.mark.timeout(60)


async def test_a_silent_caller_is_screened_after_the_greeting(fakes: Fakes, tmp_path: Path) -> None:
    profile = screening_profile(tmp_path, {"no_speech_secs": 1})
    settings = cloud_settings(fakes, tmp_path, business_profile=profile, silence_prompt_secs=30)
    fakes.openai.ms_per_char = 10.0  # short lines keep the test short
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        goodbye = server.state.prompts.line("no_speech_goodbye", server.state.profile)
        async with SimulatedCall(server.url, auth_token=AUTH_TOKEN) as call:
            await call.wait_for_reply(timeout=15)  # the greeting; then the caller says nothing
            await call.wait_closed(timeout=20)
        assert call.closed_by == "server"
        assert [r["input"] for r in fakes.openai.speech_requests][-1] == goodbye
        await wait_until(lambda: not server.state.active_calls, within=10)
        detail = await server.state.repository.get_call_by_sid(call.call_sid)
        assert detail is not None and detail.call.end_reason == "screened"
        assert ("screened", {"why": "no_speech"}) in [(a.kind, a.detail) for a in detail.actions]
        # The LLM never took a turn (only the after-call summary may have been asked for).
        assert all("tools" not in request for request in fakes.openai.chat_requests)
