"""Builds one call's Pipecat pipeline: transport -> STT -> LLM + tools -> TTS -> caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import ErrorFrame, Frame, InputAudioRawFrame, TTSSpeakFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.processors.audio.audio_buffer_processor import AudioBufferProcessor
from pipecat.processors.filters.function_filter import FunctionFilter
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.transports.base_transport import BaseTransport
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from processors.call_guard import CallGuard, GuardLines
from processors.keypad import Keypad
from processors.language_switch import LanguageSwitch
from processors.playback_marks import PlaybackMarks
from tools import ALL_TOOLS
from tools.common import record_action
from tools.escalation import escalate
from zylin.call.context import CallContext
from zylin.call.fault_rules import Service
from zylin.call.faults import CallFaults
from zylin.call.language import record_language, use_language
from zylin.call.opening import greeting_for, tools_for
from zylin.call.playout import PushFrame
from zylin.call.record.fan_out import FanOutObserver
from zylin.call.record.latency import latency_observer
from zylin.call.record.recorder import CallRecorder
from zylin.call.record.recording import WavRecording
from zylin.call.record.replies import ReplyObserver
from zylin.call.services import CallServices
from zylin.call.speculation_guard import EarlyWithdrawalGuard
from zylin.call.turn_stop import (
    EndpointedSpeechTimeoutStopStrategy,
    SpeculativeSpeechTimeoutStopStrategy,
)
from zylin.call.vad import SharedSileroVADAnalyzer
from zylin.config import Settings
from zylin.end_reason import EndReason
from zylin.metrics import ZylinMetrics
from zylin.prompts import Prompts

# Twilio's side is 8 kHz; the pipeline runs its input at 16 kHz. 8 kHz was tried (Silero's
# 8 kHz model found more short replies on a phone line, 49 of 56 against 35-36), but the demo
# STT then lost a short first word in the browser-phone test ("is there parking" heard as
# "there parking") in 2 of 3 CI runs. (16 kHz once measured cheaper only because Pipecat's
# resampler then batched the audio; the serializer's chunks now do that on purpose.)
PIPELINE_IN_RATE = 16000
PIPELINE_OUT_RATE = 8000


def _turn_strategies(settings: Settings, llm: LLMService[Any]) -> UserTurnStrategies:
    """Silence-timeout turn ends by default: smart-turn stalls under load (pipecat-notes).
    The reply may start on Deepgram's end-of-speech final, held until the turn ends, with an
    LLM service that skips a request withdrawn before it arrived."""
    if settings.smart_turn:
        return UserTurnStrategies()
    stop = (
        SpeculativeSpeechTimeoutStopStrategy
        if settings.speculative_reply and isinstance(llm, EarlyWithdrawalGuard)
        else EndpointedSpeechTimeoutStopStrategy
    )
    return UserTurnStrategies(stop=[stop(user_speech_timeout=settings.turn_pause_secs)])


def build_worker(
    transport: BaseTransport,
    ctx: CallContext,
    services: CallServices,
    prompts: Prompts,
    *,
    recorder: CallRecorder,
    metrics: ZylinMetrics,
    recording: WavRecording | None = None,
    move_to_legacy: Callable[[], Awaitable[None]] | None = None,
) -> PipelineWorker:
    """The per-call pipeline; tests build the same one with other services and transports."""
    settings = ctx.settings
    aggregators = LLMContextAggregatorPair(
        LLMContext(tools=tools_for(ALL_TOOLS, ctx.profile, ctx.now())),
        user_params=LLMUserAggregatorParams(
            vad_analyzer=SharedSileroVADAnalyzer(
                params=VADParams(stop_secs=settings.vad_stop_secs)
            ),
            user_turn_strategies=_turn_strategies(settings, services.llm),
        ),
    )
    user, assistant = aggregators.user(), aggregators.assistant()
    faults = CallFaults(
        ctx=ctx,
        metrics=metrics,
        services={services.stt: Service.STT, services.llm: Service.LLM, services.tts: Service.TTS},
        move_to_legacy=move_to_legacy,
    )

    async def on_zero(push_frame: PushFrame) -> None:
        result = await escalate(ctx, "caller pressed 0", push_frame=push_frame, source="dtmf")
        if result["status"] != "transferring":  # a transfer said its line itself
            await push_frame(
                TTSSpeakFrame(str(result.get("say") or ctx.lines["transfer_unavailable"]))
            )

    guard = CallGuard(
        lines=_guard_lines(ctx.lines),
        max_call_secs=settings.max_call_secs,
        silence_secs=settings.silence_prompt_secs,
        on_probe_heard=ctx.heard.heard,
        note_end=ctx.end.note,
        say_goodbye=ctx.say_goodbye,
        is_ending=lambda: ctx.ending,
        on_empty_reply=lambda: faults.llm_gave_nothing(worker),
        no_speech_secs=ctx.profile.screening.no_speech_secs,
        on_no_speech=lambda: record_action(ctx, "screened", {"why": "no_speech"}),
    )
    replies = ReplyObserver(
        on_tool_result=lambda name, result: metrics.tool_call(name, _tool_outcome(result))
    )
    latency = latency_observer(
        stt_name=services.stt.name,
        llm_name=services.llm.name,
        tts_name=services.tts.name,
        on_latency=recorder.latency,
    )

    @user.event_handler("on_user_turn_stopped")
    async def _user_said(_aggregator, _strategy, message) -> None:
        recorder.user_turn(message.content or "")

    @assistant.event_handler("on_assistant_turn_stopped")
    async def _bot_said(_aggregator, message) -> None:
        recorder.assistant_turn(
            message.content, interrupted=message.interrupted, cut=replies.take_cut_reply
        )
        if message.content.strip():
            faults.service_recovered(Service.LLM)
            faults.service_recovered(Service.TTS)

    async def switch_language(code: str) -> None:
        use_language(ctx, prompts, code)
        guard.set_lines(_guard_lines(ctx.lines))
        await record_language(ctx, code)

    languages = ctx.profile.languages
    follow_language = (
        [
            LanguageSwitch(
                languages=languages,
                voices=ctx.profile.voices,
                on_switch=switch_language,
                default_voice=settings.openai_tts_voice,
            )
        ]
        if len(languages) > 1
        else []
    )
    processors: list[FrameProcessor] = [
        transport.input(),
        services.stt,
        *follow_language,
        user,
        *([] if recording is not None else [_caller_audio_stop()]),
        services.llm,
        Keypad(on_zero=on_zero),
        guard,
        services.tts,
        PlaybackMarks(ctx.stream_sid),
        transport.output(),
    ]
    if recording is not None:
        processors.append(_recorder_of(recording))
    worker = PipelineWorker(
        Pipeline([*processors, assistant]),
        app_resources=ctx,
        params=PipelineParams(
            audio_in_sample_rate=PIPELINE_IN_RATE,
            audio_out_sample_rate=PIPELINE_OUT_RATE,
            enable_metrics=True,
            enable_usage_metrics=True,
        ),
        idle_timeout_secs=None,
        enable_rtvi=False,
        enable_turn_tracking=False,  # nothing reads Pipecat's turn events; latency is ours
        observers=[FanOutObserver([replies, latency, recorder.usage])],
    )

    @worker.event_handler("on_pipeline_error")
    async def _service_failed(worker: PipelineWorker, frame: ErrorFrame) -> None:
        await faults.on_error(worker, frame)

    @transport.event_handler("on_client_connected")
    async def _greet(_transport, _client) -> None:
        await worker.queue_frame(TTSSpeakFrame(greeting_for(prompts, ctx.profile, ctx.now())))

    @transport.event_handler("on_client_disconnected")
    async def _hung_up(_transport, _client) -> None:
        ctx.end.note(EndReason.CALLER_HANGUP)
        logger.info("Caller disconnected")
        await worker.cancel(reason="caller hung up")

    return worker


def _caller_audio_stop() -> FunctionFilter:
    """The caller's audio ends its trip at the user aggregator (VAD) unless it is recorded.

    Nothing further down reads it, and each of the seven processors it would still cross costs
    a queue hop per 20 ms frame: py-spy put a listening call's frame hops among its main costs.
    """

    async def not_caller_audio(frame: Frame) -> bool:
        return not isinstance(frame, InputAudioRawFrame)

    return FunctionFilter(filter=not_caller_audio, filter_system_frames=True)


def _guard_lines(lines: dict[str, str]) -> GuardLines:
    return GuardLines(
        still_there=lines["still_there"],
        silence_goodbye=lines["silence_goodbye"],
        max_duration_goodbye=lines["max_duration_goodbye"],
        no_speech_goodbye=lines["no_speech_goodbye"],
    )


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
