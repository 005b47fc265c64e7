"""Follows the language the caller speaks (Deepgram's detection, `languages:` in the profile):
Zylin's fixed lines and TTS voice switch to it, and the call record keeps it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import Frame, TranscriptionFrame, TTSUpdateSettingsFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.settings import TTSSettings


def language_code(language: object) -> str | None:
    """`es`, from what the STT reports (`Language.ES_MX`, "es-419", "es")."""
    if language is None:
        return None
    text = str(getattr(language, "value", language)).strip().lower()
    code = text.split("-", 1)[0].split("_", 1)[0]
    return code if len(code) == 2 and code.isalpha() else None


class LanguageSwitch(FrameProcessor):
    """Place right after the STT. On a final transcript in another of the profile's
    `languages`: `on_switch(code)` (lines, record) and, when the profile names a voice for it,
    a TTS settings update downstream, so the next reply is spoken in that voice. The first
    language detected is reported too, so the record always says which one the call was in."""

    def __init__(
        self,
        *,
        languages: list[str],
        voices: dict[str, str],
        on_switch: Callable[[str], Awaitable[None]],
        default_voice: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self._languages = languages
        self._voices = voices
        self._default_voice = default_voice  # for a language the profile names no voice for
        self._on_switch = on_switch
        self._current = languages[0]
        self._known = False  # the first detection is reported even in the first language

    @property
    def current(self) -> str:
        """The language the call is in now."""
        return self._current

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Watch final transcripts; every frame flows on."""
        await super().process_frame(frame, direction)
        code = language_code(frame.language) if isinstance(frame, TranscriptionFrame) else None
        if code is None or code not in self._languages or (code == self._current and self._known):
            await self.push_frame(frame, direction)
            return
        if code != self._current:
            logger.info(f"The caller speaks {code} (was {self._current})")
            # Back to a language without a voice of its own: the default, not the last one.
            if voice := self._voices.get(code) or (self._voices and self._default_voice):
                # Ahead of the transcript: the LLM holds frames behind it while it replies.
                await self.push_frame(TTSUpdateSettingsFrame(delta=TTSSettings(voice=voice)))
        self._current, self._known = code, True
        await self.push_frame(frame, direction)
        await self._on_switch(code)
