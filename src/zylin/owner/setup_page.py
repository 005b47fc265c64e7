"""The setup page (read-only): what to paste into Twilio, which engines run, the profile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from zylin.config import LlmProvider, Settings, SttProvider, TtsProvider
from zylin.engines import Engines
from zylin.owner.render import Pages
from zylin.telephony import public_url_for

if TYPE_CHECKING:
    from zylin.state import AppState

WEBHOOKS = (
    ("A call comes in", "/twilio/voice"),
    ("Primary handler fails", "/twilio/voice-legacy"),
    ("Call status changes", "/twilio/status"),
)


def engine_rows(settings: Settings, engines: Engines) -> list[dict[str, str]]:
    """Each engine, its model and where it runs."""
    openai_at = settings.openai_base_url or "api.openai.com"
    stt = (
        (f"Deepgram {settings.deepgram_model}", settings.deepgram_base_url or "api.deepgram.com")
        if engines.stt == SttProvider.DEEPGRAM
        else ("pocketsphinx (demo)", "this machine")
    )
    llm = (
        (f"OpenAI {settings.openai_model}", openai_at)
        if engines.llm == LlmProvider.OPENAI
        else ("demo brain (rules)", "this machine")
    )
    tts = (
        (f"OpenAI {settings.openai_tts_model}, voice {settings.openai_tts_voice}", openai_at)
        if engines.tts == TtsProvider.OPENAI
        else ("eSpeak (demo)", "this machine")
    )
    return [
        {"what": what, "engine": engine, "where": where}
        for what, (engine, where) in (
            ("Speech to text", stt),
            ("Language model", llm),
            ("Voice", tts),
        )
    ]


def signature_state(settings: Settings, engines: Engines) -> tuple[bool, str]:
    """Whether Twilio's signatures are checked, in words (the rule of `app.twilio_auth`)."""
    if not settings.twilio_validate_signatures:
        return False, "Not checked: TWILIO_VALIDATE_SIGNATURES=false. Anyone can start calls."
    if settings.twilio_auth_token:
        return True, "Checked on every webhook and media stream, with TWILIO_AUTH_TOKEN."
    if engines.any_paid:
        return False, "TWILIO_AUTH_TOKEN is not set: Twilio's requests are refused until it is."
    return False, "Not checked: no TWILIO_AUTH_TOKEN and every engine is local (demo)."


def price_rows(settings: Settings) -> list[dict[str, Any]]:
    """The unit prices the cost estimates use."""
    return [
        {"setting": "PRICE_TWILIO_PER_MIN", "value": settings.price_twilio_per_min},
        {"setting": "PRICE_STT_PER_MIN", "value": settings.price_stt_per_min},
        {"setting": "PRICE_LLM_INPUT_PER_MTOK", "value": settings.price_llm_input_per_mtok},
        {"setting": "PRICE_LLM_OUTPUT_PER_MTOK", "value": settings.price_llm_output_per_mtok},
        {"setting": "PRICE_TTS_PER_MCHAR", "value": settings.price_tts_per_mchar},
        {"setting": "COST_TARGET_PER_2MIN", "value": settings.cost_target_per_2min},
    ]


def add_routes(router: APIRouter, pages: Pages) -> None:
    """`GET /dashboard/setup`."""

    @router.get("/dashboard/setup")
    async def setup(request: Request) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        settings = state.settings
        base = settings.public_url
        checked, check_words = signature_state(settings, state.engines)
        profile = state.profile.model_dump(mode="json", exclude_none=True)
        return pages.page(
            request,
            "setup.html",
            public_url=base,
            webhooks=[
                {"when": when, "url": public_url_for(base or str(request.base_url), path)}
                for when, path in WEBHOOKS
            ],
            engine_rows=engine_rows(settings, state.engines),
            checked=checked,
            check_words=check_words,
            profile_yaml=yaml.safe_dump(profile, sort_keys=False, allow_unicode=True),
            profile_path=str(settings.business_profile),
            prices=price_rows(settings),
            target_ms=settings.turn_latency_target_ms,
        )
