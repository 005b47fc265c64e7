"""How a call reacts when one of its services fails: politely, per service, and never silently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from loguru import logger
from pipecat.frames.frames import EndWorkerFrame, ErrorFrame, LLMRunFrame, TTSSpeakFrame
from pipecat.pipeline.worker import PipelineWorker

from zylin.call.context import CallContext
from zylin.call.fault_rules import FaultRules, Reaction, Service
from zylin.end_reason import EndReason
from zylin.metrics import ZylinMetrics
from zylin.telephony import TwilioRestError, twiml_say

# Pipecat 1.14 follows a failed TTS request with a second ErrorFrame for the same utterance ("TTS
# context ... completed with no audio", tts_service.py). Neither frame carries an exception or a
# category that tells them apart, so the text is the only marker; the repeated form
# ("N consecutive TTS contexts completed with no audio") is permanent and is not skipped.
FOLLOW_UP_ERROR = "TTS context"
FOLLOW_UP_SUFFIX = "completed with no audio"


def is_follow_up(frame: ErrorFrame) -> bool:
    """Whether `frame` only reports the silence that a TTS failure already handled left behind."""
    return frame.error.startswith(FOLLOW_UP_ERROR) and frame.error.endswith(FOLLOW_UP_SUFFIX)


def is_permanent(frame: ErrorFrame) -> bool:
    """Whether Pipecat says the failing service will not work again on this call."""
    processor = frame.processor
    unusable = processor is not None and not processor.is_usable
    category = frame.category
    return frame.fatal or unusable or bool(category and category.is_permanent)


class CallFaults:
    """Carries out `FaultRules` on a live call, from `on_pipeline_error` and the call guard.

    The fallback moves the live call onto the legacy record-then-answer path through Twilio
    REST (it apologises and takes a message with Twilio's own voice). Without Twilio it ends the
    call with an apology. Every step is logged with the reason and counted in metrics.
    """

    def __init__(
        self,
        *,
        ctx: CallContext,
        metrics: ZylinMetrics,
        services: dict[object, Service],
        move_to_legacy: Callable[[], Awaitable[None]] | None,
        rules: FaultRules | None = None,
    ) -> None:
        self._ctx = ctx
        self._metrics = metrics
        self._services = services
        self._move_to_legacy = move_to_legacy
        self._rules = rules or FaultRules()
        self._falling_back = False

    def service_recovered(self, service: Service) -> None:
        """The service worked again (e.g. the LLM answered): its next failure is a first one."""
        self._rules.recovered(service)

    async def on_error(self, worker: PipelineWorker, frame: ErrorFrame) -> None:
        """Handle one ErrorFrame from the pipeline."""
        service = self._services.get(frame.processor)
        if service is None:
            logger.warning(f"Pipeline error outside the AI services: {frame.error}")
            return
        name = service.value.upper()
        follow_up = is_follow_up(frame)
        reaction = self._rules.on_error(service, permanent=is_permanent(frame), follow_up=follow_up)
        if reaction == Reaction.IGNORE:
            logger.info(f"{name}: {frame.error} (follows the failure above)")
            return
        self._metrics.service_error(service.value)
        count = self._rules.errors_in_a_row(service)
        category = frame.category.value if frame.category else "unknown"
        logger.warning(f"{name} failed ({category}, {count} in a row): {frame.error}")
        if reaction == Reaction.HOLD:
            await worker.queue_frame(TTSSpeakFrame(self._ctx.lines["holding"]))
        elif reaction == Reaction.FALL_BACK:
            await self._fall_back(worker, service)

    async def llm_gave_nothing(self, worker: PipelineWorker) -> None:
        """A reply ended with no words and no tool call: retry once, then fall back."""
        if self._rules.on_empty_reply() == Reaction.HOLD_AND_RETRY:
            logger.warning("The LLM gave no reply: holding line and one retry")
            await worker.queue_frames([TTSSpeakFrame(self._ctx.lines["holding"]), LLMRunFrame()])
        else:
            logger.warning("The LLM gave no reply again: falling back")
            await self._fall_back(worker, Service.LLM)

    async def _fall_back(self, worker: PipelineWorker, service: Service) -> None:
        if self._falling_back:
            return
        self._falling_back = True
        ctx = self._ctx
        if self._move_to_legacy is not None:
            try:
                ctx.end.hand_off(EndReason.MOVED_TO_LEGACY)
                await self._move_to_legacy()
                logger.warning(f"{service.value.upper()} is down: call moved to the legacy path")
                return
            except (TwilioRestError, ValueError) as exc:
                ctx.end.release(EndReason.MOVED_TO_LEGACY)
                logger.error(f"Could not move the call to the legacy path: {exc}")
        ctx.end.note(EndReason.ERROR)
        if service != Service.TTS:
            await worker.queue_frames(
                [TTSSpeakFrame(ctx.lines["fatal_trouble"]), EndWorkerFrame(reason="fault")]
            )
            return
        try:  # our voice is down: say it with Twilio's, then the call ends
            if ctx.on_twilio:
                await ctx.twilio.update_call_twiml(
                    ctx.call_sid, twiml_say(ctx.lines["fatal_trouble"])
                )
        except TwilioRestError as exc:
            logger.error(f"Could not say goodbye through Twilio either: {exc}")
        await worker.queue_frame(EndWorkerFrame(reason="tts down"))
