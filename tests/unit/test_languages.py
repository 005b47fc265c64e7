"""Callers in another language: the profile's `languages`, lines per language, the prompt."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pipecat.frames.frames import TranscriptionFrame, TTSUpdateSettingsFrame
from pipecat.tests.utils import run_test
from pipecat.transcriptions.language import Language
from pydantic import ValidationError

from processors.language_switch import LanguageSwitch, language_code
from tests.profile_data import ISSUE_PROFILE
from zylin.business import BusinessProfile
from zylin.prompts import PromptError, load_prompts, render_system_prompt

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def profile(**more: object) -> BusinessProfile:
    return BusinessProfile.model_validate({**ISSUE_PROFILE, **more})


def test_languages_default_to_english_and_are_checked() -> None:
    assert profile().languages == ["en"]
    assert profile(languages=["EN", "es"]).languages == ["en", "es"]
    for bad, message in (
        (["english"], "two-letter"),
        (["en", "en"], "twice"),
        ([], "at least 1"),
    ):
        with pytest.raises(ValidationError, match=message):
            profile(languages=bad)
    with pytest.raises(ValidationError, match="not in languages"):
        profile(languages=["en"], voices={"es": "nova"})


def test_every_language_of_the_profile_needs_its_lines() -> None:
    prompts = load_prompts()
    spanish = prompts.filled_lines(profile(languages=["en", "es"]), "es")
    assert spanish["goodbye"] == "Gracias por llamar a Bright Smile Dental. ¡Adiós!"
    assert set(spanish) == set(prompts.filled_lines(profile()))
    with pytest.raises(PromptError, match=r"lines\.fr\.yaml"):
        prompts.filled_lines(profile(languages=["en", "fr"]))
    # A Spanish-only business greets in Spanish.
    assert prompts.greeting(profile(languages=["es"])).startswith("Gracias por llamar")


def test_system_prompt_says_which_language_to_reply_in() -> None:
    prompts = load_prompts()
    one = render_system_prompt(prompts, profile(), now=NOW, caller_known=True)
    assert "Speak English." in one
    two = render_system_prompt(prompts, profile(languages=["en", "es"]), now=NOW, caller_known=True)
    assert "Callers may speak English or Spanish" in two and "Start in English" in two


@pytest.mark.parametrize(
    ("reported", "code"),
    [(Language.ES, "es"), ("es-419", "es"), ("en-US", "en"), (None, None), ("multi", None)],
)
def test_the_stt_language_tag_becomes_a_language_code(reported: object, code: str | None) -> None:
    assert language_code(reported) == code


async def test_the_voice_follows_the_language_back_to_the_default() -> None:
    switched: list[str] = []

    async def on_switch(code: str) -> None:
        switched.append(code)

    switch = LanguageSwitch(
        languages=["en", "es"], voices={"es": "nova"}, on_switch=on_switch, default_voice="alloy"
    )
    said = [
        TranscriptionFrame("hola, quiero una cita", "caller", "t1", language=Language.ES),
        TranscriptionFrame("sorry, English please", "caller", "t2", language=Language.EN),
    ]
    down, _ = await run_test(switch, frames_to_send=said)
    voices = [f.delta.voice for f in down if isinstance(f, TTSUpdateSettingsFrame)]
    assert voices == ["nova", "alloy"]  # not left on the Spanish voice
    assert [f.text for f in down if isinstance(f, TranscriptionFrame)] == [s.text for s in said]
