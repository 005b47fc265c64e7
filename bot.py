"""Builds and runs one call's Pipecat pipeline: transport -> STT -> LLM + tools -> TTS -> caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loguru import logger
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService
from pipecat.transports.base_transport import BaseTransport
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from processors.call_guard import CallGuard, GuardLines
from processors.keypad import Keypad
from processors.playback_marks import PlaybackMarks
from tools import ALL_TOOLS
from tools.escalation import escalate
from zylin.business import BusinessProfile
from zylin.call.context import CallResources
from zylin.call.faults import CallFaults, Service
from zylin.call.record.recorder import CallRecorder
from zylin.call.record.recording import WavRecording
from zylin.call.record.turn_observer import TurnObserver
from zylin.config import LlmProvider, Settings, SttProvider, TtsProvider
from zylin.local.language_model import LanguageModelFiles
from zylin.metrics import ZylinMetrics
from zylin.prompts import Prompts

# Twilio's side is 8 kHz; the pipeline runs its input at 16 kHz (measured cheaper per call
# than 8 kHz in Pipecat 1.14, and what Silero and the STT engines prefer).
PIPELINE_IN_RATE = 16000
PIPELINE_OUT_RATE = 8000
OPENAI_TTS_RATE = 24000


@dataclass
class CallServices:
    """The three AI services of one call; built per call, never shared between calls."""

    stt: STTService
    llm: LLMService[Any]
    tts: TTSService


def make_services(
    settings: Settings,
    profile: BusinessProfile,
    now: Callable[[], datetime],
    system_prompt: str,
    demo_lm: LanguageModelFiles | None = None,
) -> CallServices:
    """Cloud services where keys are set, local demo engines otherwise (see `Settings`)."""
    return CallServices(
        stt=_make_stt(settings, demo_lm),
        llm=_make_llm(settings, profile, now, system_prompt),
        tts=_make_tts(settings),
    )


def _secret(value) -> str:
    return value.get_secret_value() if value else ""


def _make_stt(settings: Settings, demo_lm: LanguageModelFiles | None) -> STTService:
    if settings.effective_stt == SttProvider.DEEPGRAM:
        from pipecat.services.deepgram.stt import DeepgramSTTService

        return DeepgramSTTService(
            api_key=_secret(settings.deepgram_api_key),
            base_url=settings.deepgram_base_url or "",
            settings=DeepgramSTTService.Settings(
                model=settings.deepgram_model,
                language="en-US",
                interim_results=True,
                smart_format=True,
                punctuate=True,
            ),
        )
    from zylin.local.pocketsphinx_stt import PocketsphinxSTTService

    if demo_lm is None:
        return PocketsphinxSTTService()
    return PocketsphinxSTTService(lm_path=demo_lm.lm_path, dict_path=demo_lm.dict_path)


def _make_llm(
    settings: Settings, profile: BusinessProfile, now: Callable[[], datetime], system_prompt: str
) -> LLMService[Any]:
    if settings.effective_llm == LlmProvider.OPENAI:
        from pipecat.services.openai.llm import OpenAILLMService

        return OpenAILLMService(
            api_key=_secret(settings.openai_api_key),
            base_url=settings.openai_base_url,
            settings=OpenAILLMService.Settings(
                model=settings.openai_model, system_instruction=system_prompt, temperature=0.3
            ),
            retry_timeout_secs=settings.llm_timeout_secs,
            retry_on_timeout=True,
        )
    from zylin.local.demo_brain import DemoBrainLLMService

    return DemoBrainLLMService(profile=profile, now=now)


def _make_tts(settings: Settings) -> TTSService:
    if settings.effective_tts == TtsProvider.OPENAI:
        from pipecat.services.openai.tts import OpenAITTSService

        return OpenAITTSService(
            api_key=_secret(settings.openai_api_key),
            base_url=settings.openai_base_url,
            sample_rate=OPENAI_TTS_RATE,
            settings=OpenAITTSService.Settings(
                model=settings.openai_tts_model, voice=settings.openai_tts_voice
            ),
        )
    from zylin.local.espeak_tts import EspeakTTSService

    return EspeakTTSService()


def _turn_strategies(settings: Settings) -> UserTurnStrategies:
    """Silence-timeout turn ends by default: smart-turn stalls under load (pipecat-notes)."""
    if settings.smart_turn:
        return UserTurnStrategies()
    return UserTurnStrategies(
        stop=[SpeechTimeoutUserTurnStopStrategy(user_speech_timeout=settings.turn_pause_secs)]
    )


def build_worker(
    transport: BaseTransport,
    resources: CallResources,
    services: CallServices,
    prompts: Prompts,
    *,
    recorder: CallRecorder,
    metrics: ZylinMetrics,
    recording: WavRecording | None = None,
    move_to_legacy: Callable[[], Awaitable[None]] | None = None,
) -> PipelineWorker:
    """The per-call pipeline; tests build the same one with other services and transports."""
    settings, profile = resources.settings, resources.profile
    context = LLMContext(tools=list(ALL_TOOLS))
    aggregators = LLMContextAggregatorPair(
        context,
        user_params=LLMUserAggregatorParams(
            vad_analyzer=SileroVADAnalyzer(params=VADParams(stop_secs=settings.vad_stop_secs)),
            user_turn_strategies=_turn_strategies(settings),
        ),
    )

    def set_end_reason(reason: str) -> None:
        resources.end_reason = resources.end_reason or reason

    async def on_zero() -> str:
        result = await escalate(resources, "caller pressed 0", source="dtmf")
        return str(result.get("say") or resources.lines["transfer_unavailable"])

    guard = CallGuard(
        lines=GuardLines(
            still_there=resources.lines["still_there"],
            silence_goodbye=resources.lines["silence_goodbye"],
            max_duration_goodbye=resources.lines["max_duration_goodbye"],
        ),
        max_call_secs=settings.max_call_secs,
        silence_secs=settings.silence_prompt_secs,
        after_speech=resources.after_speech,
        on_end_reason=set_end_reason,
        on_empty_reply=lambda: faults.llm_gave_nothing(worker),
    )
    observer = TurnObserver(
        stt_name=services.stt.name,
        llm_name=services.llm.name,
        tts_name=services.tts.name,
        on_latency=recorder.latency,
        on_tool_result=lambda name, result: metrics.tool_call(name, _tool_outcome(result)),
    )
    user, assistant = aggregators.user(), aggregators.assistant()

    @user.event_handler("on_user_turn_stopped")
    async def _user_said(_aggregator, _strategy, message) -> None:
        recorder.user_turn(message.content or "")

    faults = CallFaults(
        resources=resources,
        metrics=metrics,
        services={services.stt: Service.STT, services.llm: Service.LLM, services.tts: Service.TTS},
        move_to_legacy=move_to_legacy,
    )

    @assistant.event_handler("on_assistant_turn_stopped")
    async def _bot_said(_aggregator, message) -> None:
        recorder.assistant_turn(
            message.content, interrupted=message.interrupted, cut=observer.take_cut_reply
        )
        if message.content.strip():
            faults.service_recovered(Service.LLM)
            faults.service_recovered(Service.TTS)

    processors = [
        transport.input(),
        services.stt,
        user,
        services.llm,
        Keypad(on_zero=on_zero),
        guard,
        services.tts,
        PlaybackMarks(resources.stream_sid),
        transport.output(),
    ]
    if recording is not None:
        processors.append(_recorder_of(recording))
    pipeline = Pipeline([*processors, assistant])
    worker = PipelineWorker(
        pipeline,
        app_resources=resources,
        params=PipelineParams(
            audio_in_sample_rate=PIPELINE_IN_RATE,
            audio_out_sample_rate=PIPELINE_OUT_RATE,
            enable_metrics=True,
            enable_usage_metrics=True,
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
        observers=[observer],
    )

    @worker.event_handler("on_pipeline_error")
    async def _service_failed(worker: PipelineWorker, frame) -> None:
        await faults.on_error(worker, frame)

    @transport.event_handler("on_client_connected")
    async def _greet(_transport, _client) -> None:
        await worker.queue_frame(TTSSpeakFrame(prompts.greeting(profile)))

    @transport.event_handler("on_client_disconnected")
    async def _hung_up(_transport, _client) -> None:
        set_end_reason("caller_hangup")
        logger.info("Caller disconnected")
        await worker.cancel(reason="caller hung up")

    return worker


def _tool_outcome(result: object) -> str:
    return "error" if isinstance(result, dict) and "error" in result else "ok"


def _recorder_of(recording: WavRecording) -> AudioBufferProcessor:
    """Both sides, caller left and Zylin right, flushed to the WAV every few seconds."""
    buffer = AudioBufferProcessor(
        num_channels=2,
        buffer_size=PIPELINE_OUT_RATE * 2 * 2 * 5,
        auto_start_recording=True,
    )

    @buffer.event_handler("on_audio_data")
    async def _write(_buffer, audio: bytes, sample_rate: int, num_channels: int) -> None:
        await recording.append(audio, sample_rate, num_channels)

    return buffer
