"""The caller's turn ends at the VAD's stop; the reply may start on a final transcript before it."""

from __future__ import annotations

import asyncio

from loguru import logger
from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    Frame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult, UserTurnSpeculation
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.utils.string import TextPartForConcatenation, concatenate_aggregated_text

# A speculation the VAD neither confirms nor withdraws by then is dropped (Pipecat's gate holds
# a speculative reply for as long as its starter lets it).
SPECULATION_TIMEOUT_SECS = 5.0


class SpeculativeSpeechTimeoutStopStrategy(SpeechTimeoutUserTurnStopStrategy):
    """Pipecat's silence-timeout turn end, with the reply started speculatively on a finalized
    transcript (Deepgram's `speech_final`, see call/deepgram_stt.py) that comes before the
    VAD's stop.

    Deepgram's end-of-speech final usually comes ~0.1 s before the VAD has heard its 0.2 s
    of quiet, and the LLM's first token takes longer than that wait. The inference runs on a
    provisional context and Pipecat's `SpeculationGate` in the LLM service holds its reply
    (and cancels any tool call) until the turn ends: the turn ends exactly when it did
    before, and with the same words. An interim result or the VAD hearing the caller again
    withdraws the speculation; a turn that ends with other words discards it and asks again.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # The turn's transcripts, joined as the user aggregator joins them for the context.
        self._heard: list[TextPartForConcatenation] = []
        self._speculation: UserTurnSpeculation | None = None
        self._speculation_timeout_task: asyncio.Task | None = None

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        """Withdraw on more speech; speculate on a finalized transcript the VAD has not ended."""
        if isinstance(frame, (InterimTranscriptionFrame, VADUserStartedSpeakingFrame)):
            await self._withdraw("the caller went on")
        elif isinstance(frame, EagerEndOfTurnCancelFrame):
            # Withdrawn elsewhere (the LLM service does it when the reply wants a tool): the
            # turn's end must then ask the LLM again rather than confirm a reply that is gone.
            await self._take_speculation()
        if isinstance(frame, TranscriptionFrame):
            self._heard.append(
                TextPartForConcatenation(
                    frame.text, includes_inter_part_spaces=frame.includes_inter_frame_spaces
                )
            )
        result = await super().process_frame(frame)
        if (
            isinstance(frame, TranscriptionFrame)
            and frame.finalized
            and self._vad_user_speaking
            and self._turn_text().strip()
        ):
            await self._withdraw("a later final")
            await self._speculate()
        return result

    async def trigger_user_turn_stopped(
        self, *, enable_user_speaking_frames: bool | None = None
    ) -> None:
        """End the turn, keeping the speculative reply if it answered these very words."""
        speculation = await self._take_speculation()
        if speculation is not None and speculation.text == self._turn_text():
            await self.trigger_user_turn_finalized(
                enable_user_speaking_frames=enable_user_speaking_frames,
                confirms_speculation=True,
            )
            return
        if speculation is not None:
            logger.debug(f"{self}: the turn ended with other words; asking again")
            await self.trigger_user_turn_speculation_cancelled()
        await super().trigger_user_turn_stopped(
            enable_user_speaking_frames=enable_user_speaking_frames
        )

    async def _reset(self, *, clear_vad_user_speaking: bool) -> None:
        await self._withdraw("the turn ended another way")
        self._heard = []
        await super()._reset(clear_vad_user_speaking=clear_vad_user_speaking)

    async def cleanup(self) -> None:
        await self._take_speculation()
        await super().cleanup()

    def _turn_text(self) -> str:
        return concatenate_aggregated_text(self._heard)

    async def _speculate(self) -> None:
        speculation = UserTurnSpeculation(text=self._turn_text())
        self._speculation = speculation
        self._speculation_timeout_task = self.task_manager.create_task(
            self._expire(speculation), f"{self}::speculation_timeout"
        )
        await self.trigger_user_turn_inference_triggered(speculation=speculation)

    async def _expire(self, speculation: UserTurnSpeculation) -> None:
        await asyncio.sleep(SPECULATION_TIMEOUT_SECS)
        self._speculation_timeout_task = None  # this task is ending: nothing to cancel
        if self._speculation is speculation:
            self._speculation = None
            logger.warning(f"{self}: speculative reply unresolved after the timeout; dropped")
            await self.trigger_user_turn_speculation_cancelled()

    async def _withdraw(self, why: str) -> None:
        if await self._take_speculation() is not None:
            logger.debug(f"{self}: speculative reply withdrawn ({why})")
            await self.trigger_user_turn_speculation_cancelled()

    async def _take_speculation(self) -> UserTurnSpeculation | None:
        speculation, self._speculation = self._speculation, None
        if self._speculation_timeout_task is not None:
            task, self._speculation_timeout_task = self._speculation_timeout_task, None
            await self.task_manager.cancel_task(task)
        return speculation
