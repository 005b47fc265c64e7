"""How a call reacts when one of its services fails: per service, politely, and never silently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from loguru import logger
from pipecat.frames.frames import EndWorkerFrame, ErrorFrame, LLMRunFrame, TTSSpeakFrame
from pipecat.pipeline.worker import PipelineWorker

from zylin.call.context import CallResources
from zylin.metrics import ZylinMetrics
from zylin.telephony import TwilioRestError, twiml_say

NO_HANG_UP_REASONS = ("transferred", "caller_hangup", "moved_to_legacy")
# Pipecat reports a TTS request that failed a second time, as a context that "completed with no
# audio"; it is the same failure, not a new one.
FOLLOW_UP_ERROR = "completed with no audio"


class Service(StrEnum):
    """The services a call depends on."""

    STT = "stt"
    LLM = "llm"
    TTS = "tts"


class CallFaults:
    """Reacts to `on_pipeline_error`, one policy per service (pipecat-notes: a blanket reaction
    that spoke on every error, STT's included, ended calls).

    - LLM: a reply that ends with no words and no tool call is the one signal for every LLM
      failure (HTTP error, timeout, malformed tool arguments all end that way in Pipecat). The
      first -> a short holding line and one retry of the same context; a second in a row ->
      the fallback. LLM ErrorFrames are only logged and counted, so one failure acts once.
    - TTS: Pipecat's OpenAI client already retried; first failure -> say the holding line
      (which retries the TTS); a second -> the fallback, which speaks through Twilio `<Say>`.
    - STT: Deepgram reconnects by itself; a fatal error (or repeated ones) -> the fallback.

    The fallback moves the live call onto the legacy record-then-answer path through Twilio
    REST (it apologises and takes a message with Twilio's own voice). Without Twilio it ends the
    call with an apology. Every step is logged with the reason and counted in metrics.
    """

    def __init__(
        self,
        *,
        resources: CallResources,
        metrics: ZylinMetrics,
        services: dict[object, Service],
        move_to_legacy: Callable[[], Awaitable[None]] | None,
        stt_errors_before_fallback: int = 3,
    ) -> None:
        self._resources = resources
        self._metrics = metrics
        self._services = services
        self._move_to_legacy = move_to_legacy
        self._stt_limit = stt_errors_before_fallback
        self._errors: dict[Service, int] = dict.fromkeys(Service, 0)
        self._falling_back = False

    def service_recovered(self, service: Service) -> None:
        """The service worked again (e.g. the LLM answered): its next failure is a first one."""
        self._errors[service] = 0

    async def on_error(self, worker: PipelineWorker, frame: ErrorFrame) -> None:
        """Handle one ErrorFrame from the pipeline."""
        service = self._services.get(frame.processor)
        if service is None:
            logger.warning(f"Pipeline error outside the AI services: {frame.error}")
            return
        if FOLLOW_UP_ERROR in str(frame.error):
            logger.info(f"{service.value.upper()}: {frame.error} (follows the failure above)")
            return
        self._metrics.service_error(service.value)
        if service == Service.LLM and not frame.fatal:
            # Acted on once, when its empty reply ends (`llm_gave_nothing`).
            logger.warning(f"LLM failed: {frame.error}")
            return
        self._errors[service] += 1
        count = self._errors[service]
        logger.warning(f"{service.value.upper()} failed ({count} in a row): {frame.error}")
        if service == Service.TTS and count == 1 and not frame.fatal:
            await worker.queue_frame(TTSSpeakFrame(self._resources.lines["holding"]))
        elif service == Service.STT and count < self._stt_limit and not frame.fatal:
            pass  # Deepgram's client reconnects on its own; the next turn tells
        else:
            await self._fall_back(worker, service)

    async def llm_gave_nothing(self, worker: PipelineWorker) -> None:
        """A reply ended with no words and no tool call: retry once, then fall back."""
        self._errors[Service.LLM] += 1
        if self._errors[Service.LLM] == 1:
            logger.warning("The LLM gave no reply: holding line and one retry")
            await worker.queue_frames(
                [TTSSpeakFrame(self._resources.lines["holding"]), LLMRunFrame()]
            )
        else:
            logger.warning("The LLM gave no reply again: falling back")
            await self._fall_back(worker, Service.LLM)

    async def _fall_back(self, worker: PipelineWorker, service: Service) -> None:
        if self._falling_back:
            return
        self._falling_back = True
        resources = self._resources
        if self._move_to_legacy is not None:
            try:
                resources.end_reason = "moved_to_legacy"
                await self._move_to_legacy()
                logger.warning(f"{service.value.upper()} is down: call moved to the legacy path")
                return
            except (TwilioRestError, ValueError) as exc:
                resources.end_reason = None
                logger.error(f"Could not move the call to the legacy path: {exc}")
        resources.end_reason = resources.end_reason or "error"
        if service != Service.TTS:
            await worker.queue_frames(
                [TTSSpeakFrame(resources.lines["fatal_trouble"]), EndWorkerFrame(reason="fault")]
            )
            return
        try:  # our voice is down: say it with Twilio's, then the call ends
            await resources.twilio.update_call_twiml(
                resources.call_sid, twiml_say(resources.lines["fatal_trouble"])
            )
            resources.end_reason = "error"
        except TwilioRestError as exc:
            logger.error(f"Could not say goodbye through Twilio either: {exc}")
        await worker.queue_frame(EndWorkerFrame(reason="tts down"))
