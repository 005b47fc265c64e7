"""An LLM service that skips a speculative request withdrawn before it arrived."""

from __future__ import annotations

from typing import Any

from pipecat.frames.frames import EagerEndOfTurnCancelFrame, Frame, LLMContextFrame
from pipecat.processors.frame_processor import FrameDirection


class EarlyWithdrawalGuard:
    """Mixin for an `LLMService` subclass (before it in the bases).

    A speculation's withdrawal is a system frame and its request is not, so the withdrawal
    can overtake the request on the way to the LLM (a burst of transcripts on a busy loop).
    Pipecat's LLM service then ignores the withdrawal (nothing is speculative yet), runs the
    request when it comes, and the next turn end releases a reply to words the caller went
    on from: two answers. Here a withdrawal that finds nothing speculative is remembered, and
    a speculative request made before it (Pipecat numbers frames in the order they are made)
    is skipped when it arrives. A withdrawal only ever withdraws what came before it, so one
    too many (two crossing withdrawals of one request) skips nothing that came after.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not hasattr(self, "_speculation_gate"):  # Pipecat 1.14's LLMService gate
            raise TypeError("LLMService no longer has its speculation gate")
        self._withdrawn_before_id = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Note early withdrawals; skip the speculative requests made before them."""
        if isinstance(frame, EagerEndOfTurnCancelFrame):
            if not self._speculation_gate.is_speculating:  # type: ignore[attr-defined]
                self._withdrawn_before_id = max(self._withdrawn_before_id, frame.id)
        elif (
            isinstance(frame, LLMContextFrame)
            and frame.speculation
            and frame.id < self._withdrawn_before_id
        ):
            return
        await super().process_frame(frame, direction)  # type: ignore[misc]
