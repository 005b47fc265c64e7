"""Builds one call's STT, LLM and TTS services for the engines the server chose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pydantic import SecretStr

from zylin.business import BusinessProfile
from zylin.config import LlmProvider, Settings, SttProvider, TtsProvider
from zylin.engines import Engines
from zylin.local.language_model import LanguageModelFiles

OPENAI_TTS_RATE = 24000


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
) -> CallServices:
    """Cloud services where chosen, local demo engines otherwise (see `Engines.choose`)."""
    return CallServices(
        stt=_make_stt(settings, engines.stt, demo_lm),
        llm=_make_llm(settings, engines.llm, profile, now, system_prompt),
        tts=_make_tts(settings, engines.tts),
    )


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value else ""


def _make_stt(
    settings: Settings, engine: SttProvider, demo_lm: LanguageModelFiles | None
) -> STTService:
    if engine == SttProvider.DEEPGRAM:
        from pipecat.services.deepgram.stt import DeepgramSTTService

        return DeepgramSTTService(
            api_key=_secret(settings.deepgram_api_key),
            base_url=settings.deepgram_base_url or "",
            settings=DeepgramSTTService.Settings(
                model=settings.deepgram_model,
                language="en-US",
                interim_results=True,
                smart_format=True,
                punctuate=True,
            ),
        )
    from zylin.local.pocketsphinx_stt import PocketsphinxSTTService

    if demo_lm is None:
        return PocketsphinxSTTService()
    return PocketsphinxSTTService(lm_path=demo_lm.lm_path, dict_path=demo_lm.dict_path)


def _make_llm(
    settings: Settings,
    engine: LlmProvider,
    profile: BusinessProfile,
    now: Callable[[], datetime],
    system_prompt: str,
) -> LLMService[Any]:
    if engine == LlmProvider.OPENAI:
        from pipecat.services.openai.llm import OpenAILLMService

        return OpenAILLMService(
            api_key=_secret(settings.openai_api_key),
            base_url=settings.openai_base_url,
            settings=OpenAILLMService.Settings(
                model=settings.openai_model, system_instruction=system_prompt, temperature=0.3
            ),
            retry_timeout_secs=settings.llm_timeout_secs,
            retry_on_timeout=True,
        )
    from zylin.local.demo_brain import DemoBrainLLMService

    return DemoBrainLLMService(profile=profile, now=now)


def _make_tts(settings: Settings, engine: TtsProvider) -> TTSService:
    if engine == TtsProvider.OPENAI:
        from pipecat.services.openai.tts import OpenAITTSService

        return OpenAITTSService(
            api_key=_secret(settings.openai_api_key),
            base_url=settings.openai_base_url,
            sample_rate=OPENAI_TTS_RATE,
            settings=OpenAITTSService.Settings(
                model=settings.openai_tts_model, voice=settings.openai_tts_voice
            ),
        )
    from zylin.local.espeak_tts import EspeakTTSService

    return EspeakTTSService()
