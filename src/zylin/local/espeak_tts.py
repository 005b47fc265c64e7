"""Pipecat TTS service backed by the local eSpeak-ng binding, for keyless demo mode."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from pipecat.frames.frames import ErrorFrame, Frame
from pipecat.services.settings import TTSSettings
from pipecat.services.tts_service import TTSService
from pipecat.utils.tracing.service_decorators import traced_tts
from pipecat.utils.types import NOT_GIVEN, NotGiven

from zylin.local.espeak import synthesize_async

ESPEAK_SAMPLE_RATE = 22050


@dataclass
class EspeakTTSSettings(TTSSettings):
    """Runtime-updatable eSpeak settings.

    Parameters:
        rate_wpm: Speaking rate in words per minute (eSpeak accepts about 80-450).
        pitch: Base pitch 0-99.
    """

    rate_wpm: int | NotGiven = field(default_factory=lambda: NOT_GIVEN)
    pitch: int | NotGiven = field(default_factory=lambda: NOT_GIVEN)


class EspeakTTSService(TTSService):
    """Speaks with libespeak-ng in a worker thread; no network, no model download.

    Audio is produced at eSpeak's native 22050 Hz and labelled so; the output transport
    resamples it to the phone's 8 kHz. Passing another `sample_rate` resamples here instead.
    """

    Settings = EspeakTTSSettings
    _settings: EspeakTTSSettings

    def __init__(
        self,
        *,
        sample_rate: int | None = ESPEAK_SAMPLE_RATE,
        settings: EspeakTTSSettings | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the service.

        Args:
            sample_rate: Rate of the emitted frames; None means the pipeline's output rate.
            settings: Voice (an eSpeak voice name such as "en-us"), rate_wpm and pitch.
            **kwargs: Passed to `TTSService`.
        """
        default_settings = EspeakTTSSettings(
            model=None, voice="en-us", language=None, rate_wpm=165, pitch=50
        )
        if settings is not None:
            default_settings.apply_update(settings)
        super().__init__(
            sample_rate=sample_rate,
            push_start_frame=True,
            push_stop_frames=True,
            settings=default_settings,
            **kwargs,
        )

    def can_generate_metrics(self) -> bool:
        """TTFB and usage metrics are meaningful here as for a cloud TTS."""
        return True

    @traced_tts
    async def run_tts(self, text: str, context_id: str) -> AsyncGenerator[Frame, None]:
        """Synthesize one sentence and stream it out in `chunk_size` pieces.

        Args:
            text: The sentence to speak.
            context_id: The TTS context the audio belongs to.
        """
        voice = self._settings.voice if isinstance(self._settings.voice, str) else "en-us"
        rate = self._settings.rate_wpm if isinstance(self._settings.rate_wpm, int) else 165
        pitch = self._settings.pitch if isinstance(self._settings.pitch, int) else 50
        try:
            await self.start_tts_usage_metrics(text)
            pcm, native_rate = await synthesize_async(text, voice=voice, rate_wpm=rate, pitch=pitch)
            chunk = max(2, self.chunk_size & ~1)

            async def pieces() -> AsyncIterator[bytes]:
                for i in range(0, len(pcm), chunk):
                    yield pcm[i : i + chunk]

            async for frame in self._stream_audio_frames_from_iterator(
                pieces(), in_sample_rate=native_rate, context_id=context_id
            ):
                await self.stop_ttfb_metrics()
                yield frame
        except Exception as e:  # a bad voice must not kill the call
            logger.error(f"{self} eSpeak failed: {e}")
            yield ErrorFrame(error=f"eSpeak synthesis failed: {e}")
        finally:
            await self.stop_ttfb_metrics()
