"""How fast the fakes answer: zero (tests, the default) or like the real cloud services."""

from __future__ import annotations

from dataclasses import dataclass

from devtools.fakes.deepgram_server import DeepgramFake
from devtools.fakes.openai_server import OpenAIFake


@dataclass(frozen=True)
class Latency:
    """Service response times the fakes emulate, in seconds.

    Attributes:
        stt_final: Deepgram's final result after a `Finalize`.
        stt_endpoint: Deepgram's own final result (its endpointing, `speech_final`) after the
            caller's voice ends; None: Deepgram only answers a `Finalize`.
        llm_first_token: OpenAI chat completion's first streamed byte after the request.
        tts_first_audio: OpenAI speech's first audio byte after the request.
    """

    stt_final: float = 0.0
    stt_endpoint: float | None = None
    llm_first_token: float = 0.0
    tts_first_audio: float = 0.0

    def apply(self, deepgram: DeepgramFake, openai: OpenAIFake) -> None:
        """Set these delays on running (or not yet started) fakes."""
        deepgram.set_final_delay(self.stt_final)
        deepgram.set_endpointing(
            None if self.stt_endpoint is None else round(self.stt_endpoint * 1000)
        )
        openai.set_chat_delay(self.llm_first_token)
        openai.set_speech_delay(self.tts_first_audio)


# What the fakes do by default: answer as soon as the request is complete.
ZERO = Latency()
# Typical figures of the real services from a nearby region (Deepgram nova-3's final after
# the speech ends or after a Finalize, a small GPT model's first token, OpenAI TTS's first
# audio chunk).
REALISTIC = Latency(stt_final=0.15, stt_endpoint=0.15, llm_first_token=0.35, tts_first_audio=0.2)

PRESETS: dict[str, Latency] = {"zero": ZERO, "realistic": REALISTIC}
