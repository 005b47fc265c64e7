"""The one place that decides which STT, LLM and TTS engines calls use, on both call paths."""

from __future__ import annotations

from dataclasses import dataclass

from zylin.config import LlmProvider, Settings, SttProvider, TtsProvider


@dataclass(frozen=True)
class Engines:
    """The engines every call of this server uses; chosen once, at start-up."""

    stt: SttProvider
    llm: LlmProvider
    tts: TtsProvider

    @classmethod
    def choose(cls, settings: Settings) -> Engines:
        """An explicit `*_PROVIDER` wins; else the cloud engine when its key is set (and
        `DEMO_MODE` is off), else the local demo engine."""
        demo = settings.demo_mode
        deepgram = bool(settings.deepgram_api_key) and not demo
        openai = bool(settings.openai_api_key) and not demo
        return cls(
            stt=settings.stt_provider or (SttProvider.DEEPGRAM if deepgram else SttProvider.DEMO),
            llm=settings.llm_provider or (LlmProvider.OPENAI if openai else LlmProvider.DEMO),
            tts=settings.tts_provider or (TtsProvider.OPENAI if openai else TtsProvider.DEMO),
        )

    @property
    def any_demo(self) -> bool:
        """Whether any engine is a local demo engine (said loudly at start-up)."""
        return "demo" in (self.stt, self.llm, self.tts)

    @property
    def any_paid(self) -> bool:
        """Whether any engine is a cloud service someone pays for per call."""
        return (
            self.stt == SttProvider.DEEPGRAM
            or self.llm == LlmProvider.OPENAI
            or self.tts == TtsProvider.OPENAI
        )

    def missing_keys(self, settings: Settings) -> list[str]:
        """The API keys the chosen cloud engines need and do not have (an explicit
        `*_PROVIDER` with no key would fail on every call, so the server refuses to start)."""
        missing = []
        if self.stt == SttProvider.DEEPGRAM and not settings.deepgram_api_key:
            missing.append("DEEPGRAM_API_KEY (STT_PROVIDER=deepgram)")
        openai = self.llm == LlmProvider.OPENAI or self.tts == TtsProvider.OPENAI
        if openai and not settings.openai_api_key:
            missing.append("OPENAI_API_KEY (LLM_PROVIDER or TTS_PROVIDER=openai)")
        return missing

    def describe(self) -> str:
        """`STT=deepgram, LLM=openai, TTS=openai`, for logs and pages."""
        return f"STT={self.stt}, LLM={self.llm}, TTS={self.tts}"
