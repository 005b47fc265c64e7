"""The caller's turn ends at the VAD's stop; the reply may start on a final transcript before it."""

from __future__ import annotations

import asyncio
import time

from loguru import logger
from pipecat.frames.frames import (
    EagerEndOfTurnCancelFrame,
    Frame,
    InterimTranscriptionFrame,
    LLMRunFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.turns.types import ProcessFrameResult, UserTurnSpeculation
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.utils.string import TextPartForConcatenation, concatenate_aggregated_text

# A speculation the VAD neither confirms nor withdraws by then is dropped (Pipecat's gate holds
# a speculative reply for as long as its starter lets it).
SPECULATION_TIMEOUT_SECS = 5.0


class EndpointedSpeechTimeoutStopStrategy(SpeechTimeoutUserTurnStopStrategy):
    """Pipecat's silence-timeout turn end, trusting a finalized transcript at the VAD's stop
    only if it came after the speech the VAD heard had ended.

    Deepgram's end-of-speech final (call/deepgram_stt.py) can come at a pause the VAD does not
    count as the end, and the caller's next few words may bring no interim result before the
    VAD stops ("I'd like Tuesday ... at ten"). Pipecat would then end the turn without "at
    ten". A final older than the end of the speech is not trusted: Pipecat's STT safety net
    waits for the words after it, as it did before speech_final counted.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if not hasattr(self, "_transcript_finalized"):  # Pipecat 1.14's flag, set below
            raise TypeError("SpeechTimeoutUserTurnStopStrategy no longer has this flag")
        self._finalized_at: float | None = None

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        """Note when a finalized transcript came; forget it at a VAD stop it did not cover."""
        if isinstance(frame, TranscriptionFrame) and frame.finalized:
            self._finalized_at = time.time()  # the VAD's timestamps are wall-clock too
        elif (
            isinstance(frame, VADUserStoppedSpeakingFrame)
            and self._finalized_at is not None
            and self._finalized_at < frame.timestamp - frame.stop_secs
        ):
            self._transcript_finalized = False  # the caller spoke on after that final
        return await super().process_frame(frame)


class SpeculativeSpeechTimeoutStopStrategy(EndpointedSpeechTimeoutStopStrategy):
    """Pipecat's silence-timeout turn end, with the reply started speculatively on a finalized
    transcript (Deepgram's `speech_final`, see call/deepgram_stt.py) that comes before the
    VAD's stop (`SPECULATIVE_REPLY`).

    Deepgram's end-of-speech final usually comes ~0.1 s before the VAD has heard its 0.2 s
    of quiet, and the LLM's first token takes longer than that wait. The inference runs on a
    provisional context and Pipecat's `SpeculationGate` in the LLM service holds its reply
    (and cancels any tool call) until the turn ends: the turn ends exactly when it did
    before, and with the same words. An interim result or the VAD hearing the caller again
    withdraws the speculation; a turn that ends with other words discards it and asks again.

    Races, each handled and tested: a reply that wants a tool just as the turn is confirmed
    is dropped by the LLM service after the confirmation (this asks again); a withdrawal, a
    system frame, can overtake the speculative request it withdraws (`EarlyWithdrawalGuard`
    on the LLM service skips that request); Pipecat's controller can keep the turn open after
    a confirmation (the reply is withdrawn). Only the OpenAI LLM service has the guard, so
    only it speculates (bot.py).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        # The turn's transcripts, joined as the user aggregator joins them for the context.
        self._heard: list[TextPartForConcatenation] = []
        self._speculation: UserTurnSpeculation | None = None
        self._speculation_timeout_task: asyncio.Task | None = None
        # A speculation this turn's end confirmed, until the next turn starts.
        self._confirmed = False
        self._turn_ended = False  # set when Pipecat's controller really ends the turn

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        """Withdraw on more speech; speculate on a finalized transcript the VAD has not ended."""
        if isinstance(frame, (InterimTranscriptionFrame, VADUserStartedSpeakingFrame)):
            await self._withdraw("the caller went on")
        elif isinstance(frame, EagerEndOfTurnCancelFrame):
            # Withdrawn elsewhere: the LLM service does it when the reply wants a tool.
            if self._confirmed:
                # After the turn's end confirmed it, before the LLM saw that end: the reply
                # is gone and nothing else would ask again (the caller would hear silence).
                self._confirmed = False
                logger.debug(f"{self}: confirmed reply withdrawn by the LLM; asking again")
                await self.push_frame(LLMRunFrame())
            else:
                # The turn's end must ask the LLM again rather than confirm. Withdrawn here as
                # well: this may be a late copy for an earlier speculation than ours.
                await self._withdraw("withdrawn by the LLM")
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
        speculation = self._take_speculation()
        if speculation is not None and speculation.text == self._turn_text():
            self._confirmed = True
            self._turn_ended = False
            await self.trigger_user_turn_finalized(
                enable_user_speaking_frames=enable_user_speaking_frames,
                confirms_speculation=True,
            )
            if not self._turn_ended:
                # Pipecat's controller kept the turn open (it still hears the caller), and
                # ends it later without this reply: drop it, or that end would release it.
                self._confirmed = False
                logger.debug(f"{self}: the turn stayed open; speculative reply withdrawn")
                await self.trigger_user_turn_speculation_cancelled()
            return
        if speculation is not None:
            logger.debug(f"{self}: the turn ended with other words; asking again")
            await self.trigger_user_turn_speculation_cancelled()
        await super().trigger_user_turn_stopped(
            enable_user_speaking_frames=enable_user_speaking_frames
        )

    async def handle_user_turn_started(self) -> None:
        """A new turn: nothing heard yet, nothing speculated."""
        await self._withdraw("a new turn")
        self._heard = []
        self._confirmed = False
        await super().handle_user_turn_started()

    async def handle_user_turn_stopped(self) -> None:
        """The turn is over, however it ended (a confirmed speculation is taken already)."""
        self._turn_ended = True
        await self._withdraw("the turn ended another way")
        self._heard = []
        await super().handle_user_turn_stopped()

    async def cleanup(self) -> None:
        self._take_speculation()
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
        if self._take_speculation() is not None:
            logger.debug(f"{self}: speculative reply withdrawn ({why})")
            await self.trigger_user_turn_speculation_cancelled()

    def _take_speculation(self) -> UserTurnSpeculation | None:
        """Take the speculation in flight without an await: the turn's end (a timer task) and
        the LLM's withdrawal (the system-frame task) must not both act on it."""
        speculation, self._speculation = self._speculation, None
        if self._speculation_timeout_task is not None:
            task, self._speculation_timeout_task = self._speculation_timeout_task, None
            task.cancel()  # `_expire` checks which speculation it is for anyway
        return speculation
