"""A caller speaking Spanish to a business with `languages: [en, es]`: Deepgram's detection
(the local server reports the language), replies in Spanish with the Spanish voice, Spanish
fixed lines, and the language kept on the call record."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text
from tests.e2e.conftest import OPEN_NOW
from tests.harness import AUTH_TOKEN, Fakes, cloud_settings, running_server
from tests.integration.test_screening_webhook import screening_profile

pytestmark = pytest.mark.timeout(60)

SPANISH = "Hola, ¿tienen citas para una limpieza mañana?"
REPLY = "Sí, mañana tenemos citas a las diez y a las once."


async def test_a_spanish_caller_is_answered_in_spanish_and_recorded(
    fakes: Fakes, tmp_path: Path
) -> None:
    profile = screening_profile(tmp_path, {})
    profile.write_text(profile.read_text() + "languages: [en, es]\nvoices: {es: nova}\n")
    fakes.openai.ms_per_char = 10.0  # short lines keep the test short
    fakes.deepgram.queue_transcripts([SPANISH])
    fakes.deepgram.detected_languages[SPANISH] = "es"
    fakes.openai.queue_chat(Text(REPLY))
    settings = cloud_settings(fakes, tmp_path, business_profile=profile, silence_prompt_secs=30)
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        hold_es = server.state.prompts.line(
            "transfer_connecting", server.state.profile, language="es"
        )
        async with SimulatedCall(server.url, auth_token=AUTH_TOKEN) as call:
            await call.wait_for_reply(timeout=15)  # the greeting, in the first language
            await call.say_text("Hola tienen citas para una limpieza mañana")
            await call.wait_for_reply(timeout=15)
            await call.send_dtmf("0")  # a fixed line: now in Spanish
            await wait_until(
                lambda: fakes.openai.speech_requests[-1]["input"] == hold_es, within=15
            )
        await wait_until(lambda: not server.state.active_calls, within=10)

    assert fakes.deepgram.query_params[0]["language"] == "multi"
    system = fakes.openai.chat_requests[0]["messages"][0]["content"]
    assert "Callers may speak English or Spanish" in system
    spoken = [(r["input"], r["voice"]) for r in fakes.openai.speech_requests]
    assert spoken[0][0].startswith("Thanks for calling") and spoken[0][1] == "alloy"
    assert (REPLY, "nova") in spoken and (hold_es, "nova") in spoken
    detail = await server.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and (detail.call.extra or {})["language"] == "es"
    assert ("language", {"language": "es"}) in [(a.kind, a.detail) for a in detail.actions]
