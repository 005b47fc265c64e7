"""A call's estimated cost: its usage times the unit prices in the settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from zylin.call.record.usage import CallUsage
from zylin.config import LlmProvider, Settings, SttProvider, TtsProvider
from zylin.engines import Engines

MILLION = 1_000_000


@dataclass(frozen=True)
class Prices:
    """Unit prices in US dollars; a local (demo) engine costs nothing."""

    twilio_per_min: float
    stt_per_min: float
    llm_input_per_mtok: float
    llm_output_per_mtok: float
    tts_per_mchar: float

    @classmethod
    def of(cls, settings: Settings, engines: Engines, *, phone_line: bool = True) -> Prices:
        """The settings' prices for the engines in use; `phone_line` False: no Twilio minutes."""
        llm_paid = engines.llm == LlmProvider.OPENAI
        return cls(
            twilio_per_min=settings.price_twilio_per_min if phone_line else 0.0,
            stt_per_min=settings.price_stt_per_min if engines.stt == SttProvider.DEEPGRAM else 0.0,
            llm_input_per_mtok=settings.price_llm_input_per_mtok if llm_paid else 0.0,
            llm_output_per_mtok=settings.price_llm_output_per_mtok if llm_paid else 0.0,
            tts_per_mchar=settings.price_tts_per_mchar
            if engines.tts == TtsProvider.OPENAI
            else 0.0,
        )


def call_cost(usage: CallUsage, duration_secs: float, prices: Prices) -> dict[str, Any]:
    """Each service's cost and the total, rounded to a millionth of a dollar.

    Twilio bills whole minutes, rounded up; streaming STT is billed on all the audio sent,
    which is the call's length unless the service reported its own seconds.
    """
    minutes = max(0.0, duration_secs) / 60
    billed_minutes = float(-(-max(0.0, duration_secs) // 60))
    stt_secs = usage.stt_reported_secs or max(0.0, duration_secs)
    parts = {
        "twilio": billed_minutes * prices.twilio_per_min,
        "stt": stt_secs / 60 * prices.stt_per_min,
        "llm": (
            usage.llm_input_tokens * prices.llm_input_per_mtok
            + usage.llm_output_tokens * prices.llm_output_per_mtok
        )
        / MILLION,
        "tts": usage.tts_chars * prices.tts_per_mchar / MILLION,
    }
    return {
        "total_usd": round(sum(parts.values()), 6),
        "parts_usd": {k: round(v, 6) for k, v in parts.items()},
        "usage": {
            **usage.as_dict(),
            "call_secs": round(duration_secs, 1),
            "stt_secs": round(stt_secs, 1),
        },
        "minutes": round(minutes, 2),
        "prices": asdict(prices),
    }
