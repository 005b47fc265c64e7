"""Builds one call's STT, LLM and TTS services for the engines the server chose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from pipecat.services.llm_service import LLMService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

from zylin.business import BusinessProfile
from zylin.call.speculation_guard import EarlyWithdrawalGuard
from zylin.config import LlmProvider, Settings, SttProvider, TtsProvider, secret
from zylin.engines import Engines
from zylin.local.language_model import LanguageModelFiles

OPENAI_TTS_RATE = 24000
DEEPGRAM_LANGUAGE = {"en": "en-US"}  # one language: Deepgram's tag for it


@dataclass
class CallServices:
    """The three AI services of one call; built per call, never shared between calls."""

    stt: STTService
    llm: LLMService[Any]
    tts: TTSService


def make_services(
    settings: Settings,
    engines: Engines,
    profile: BusinessProfile,
    now: Callable[[], datetime],
    system_prompt: str,
    demo_lm: LanguageModelFiles | None = None,
    http: DefaultAsyncHttpxClient | None = None,
) -> CallServices:
    """Cloud services where chosen, local demo engines otherwise (see `Engines.choose`).

    `http` is the process's one HTTP client for OpenAI (`AppState.openai_http`).
    """
    return CallServices(
        stt=_make_stt(settings, engines.stt, demo_lm, profile.languages),
        llm=make_llm(settings, engines.llm, profile, now, system_prompt, http),
        tts=_make_tts(settings, engines.tts, http, profile),
    )


class SharedClientOpenAILLMService(EarlyWithdrawalGuard, OpenAILLMService):
    """`OpenAILLMService` on a shared HTTP client (Pipecat 1.14 makes one per service), safe
    for speculative replies (`EarlyWithdrawalGuard`)."""

    def __init__(self, *, http: DefaultAsyncHttpxClient | None, **kwargs: Any) -> None:
        self._http = http  # before super().__init__(), which calls create_client
        super().__init__(**kwargs)

    def create_client(self, api_key=None, base_url=None, **kwargs: Any) -> Any:
        """Pipecat's client, or one on the shared HTTP client."""
        if self._http is None:
            return super().create_client(api_key=api_key, base_url=base_url, **kwargs)
        return AsyncOpenAI(api_key=api_key, base_url=base_url, http_client=self._http)


def _make_stt(
    settings: Settings,
    engine: SttProvider,
    demo_lm: LanguageModelFiles | None,
    languages: list[str],
) -> STTService:
    if engine == SttProvider.DEEPGRAM:
        from zylin.call.deepgram_stt import EndpointingDeepgramSTTService

        return EndpointingDeepgramSTTService(
            api_key=secret(settings.deepgram_api_key),
            base_url=settings.deepgram_base_url or "",
            settings=EndpointingDeepgramSTTService.Settings(
                model=settings.deepgram_model,
                # Several languages: Deepgram's detection ("multi"); each result names its own.
                language="multi"
                if len(languages) > 1
                else DEEPGRAM_LANGUAGE.get(languages[0], languages[0]),
                interim_results=True,
                endpointing=settings.deepgram_endpointing_ms,
                smart_format=True,
                punctuate=True,
            ),
        )
    from zylin.local.pocketsphinx_stt import PocketsphinxSTTService

    if demo_lm is None:
        return PocketsphinxSTTService()
    return PocketsphinxSTTService(lm_path=demo_lm.lm_path, dict_path=demo_lm.dict_path)


def make_llm(
    settings: Settings,
    engine: LlmProvider,
    profile: BusinessProfile,
    now: Callable[[], datetime],
    system_prompt: str,
    http: DefaultAsyncHttpxClient | None = None,
) -> LLMService[Any]:
    """The call's LLM: OpenAI (or a compatible server), else the demo brain; `./zylin eval`
    builds its text-only calls with this too, so they answer exactly as a call would."""
    if engine == LlmProvider.OPENAI:
        return SharedClientOpenAILLMService(
            http=http,
            api_key=secret(settings.openai_api_key),
            base_url=settings.openai_base_url,
            settings=OpenAILLMService.Settings(
                model=settings.openai_model, system_instruction=system_prompt, temperature=0.3
            ),
            retry_timeout_secs=settings.llm_timeout_secs,
            retry_on_timeout=True,
        )
    from zylin.local.demo_brain import DemoBrainLLMService

    return DemoBrainLLMService(profile=profile, now=now)


def _make_tts(
    settings: Settings,
    engine: TtsProvider,
    http: DefaultAsyncHttpxClient | None,
    profile: BusinessProfile,
) -> TTSService:
    if engine == TtsProvider.OPENAI:
        from pipecat.services.openai.tts import OpenAITTSService

        return OpenAITTSService(
            api_key=secret(settings.openai_api_key),
            base_url=settings.openai_base_url,
            http_client=http,
            sample_rate=OPENAI_TTS_RATE,
            settings=OpenAITTSService.Settings(
                model=settings.openai_tts_model,
                # The profile's voice for its first language, if it names one.
                voice=profile.voices.get(profile.languages[0], settings.openai_tts_voice),
            ),
        )
    from zylin.local.espeak_tts import EspeakTTSService

    return EspeakTTSService()
