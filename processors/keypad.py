"""Answers keypad presses: 0 asks for a human."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import Frame, InputDTMFFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class Keypad(FrameProcessor):
    """Place between the LLM and the TTS; turns a 0 press into the escalation path.

    `on_zero` does the escalation (transfer while the owner is reachable, else offer a message)
    and says what Zylin says through the push function it is given (this processor's), so the
    caller hears it at once.
    """

    def __init__(
        self, *, on_zero: Callable[[Callable[[Frame], Awaitable[None]]], Awaitable[None]], **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self._on_zero = on_zero

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Handle 0; every frame, DTMF included, flows on."""
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, InputDTMFFrame) and frame.button == KeypadEntry.ZERO:
            logger.info("Caller pressed 0: escalating")
            await self._on_zero(self.push_frame)
