"""The real SDK clients (Deepgram, OpenAI, Twilio, Pipecat services) work against the fakes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import numpy as np
import openai
import pytest
import pytest_asyncio
from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.core import ApiError
from deepgram.core.events import EventType
from deepgram.listen.v1.types import ListenV1Metadata, ListenV1Results
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.frames.frames import (
    EndFrame,
    ErrorFrame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    LLMContextFrame,
    LLMTextFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.services.deepgram.stt import DeepgramSTTService
from pipecat.services.openai.llm import OpenAILLMService
from pipecat.services.openai.tts import OpenAITTSService
from pipecat.tests.utils import SleepFrame, run_test
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from devtools.caller.audio import mulaw_encode, resample
from devtools.fakes._base import wait_until
from devtools.fakes.deepgram_server import DeepgramFake
from devtools.fakes.openai_server import (
    SPEECH_SAMPLE_RATE,
    OpenAIFake,
    Text,
    ToolCall,
    last_tool_result,
    last_user_text,
)
from devtools.fakes.twilio_rest_server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioRestFake,
    wav_bytes,
)

pytestmark = pytest.mark.timeout(20)

DG_KEY = "test-deepgram-key"
OA_KEY = "test-openai-key"
CALL_SID = "CA" + "1" * 32
RATE = 16000
DG_OPTS: dict[str, Any] = {
    "model": "nova-3-general",
    "encoding": "linear16",
    "sample_rate": str(RATE),
}


@pytest_asyncio.fixture
async def deepgram() -> AsyncIterator[DeepgramFake]:
    async with DeepgramFake(api_key=DG_KEY) as fake:
        yield fake


@pytest_asyncio.fixture
async def oai() -> AsyncIterator[OpenAIFake]:
    async with OpenAIFake(api_key=OA_KEY) as fake:
        yield fake


@pytest_asyncio.fixture
async def twilio_rest() -> AsyncIterator[TwilioRestFake]:
    async with TwilioRestFake() as fake:
        yield fake


def voiced_pcm(seconds: float, rate: int = RATE) -> bytes:
    """A harmonic tone loud enough to pass the fake's energy gate."""
    t = np.arange(int(seconds * rate)) / rate
    signal = np.sum([np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 5)], axis=0)
    return (signal * 6000).astype("<i2").tobytes()


def silence_pcm(seconds: float, rate: int = RATE) -> bytes:
    return bytes(int(seconds * rate) * 2)


def frames_20ms(pcm: bytes, rate: int = RATE) -> list[bytes]:
    size = rate // 50 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def dg_client(fake: DeepgramFake, api_key: str = DG_KEY) -> AsyncDeepgramClient:
    """The SDK client exactly as Pipecat builds it from `base_url`."""
    http = fake.url.replace("ws://", "http://")
    env = DeepgramClientEnvironment(base=http, production=fake.url, agent=fake.url, agent_rest=http)
    return AsyncDeepgramClient(api_key=api_key, environment=env)


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)))


# ----- Deepgram --------------------------------------------------------------------------------


async def test_pipecat_deepgram_stt_transcribes_scripted_utterance(deepgram: DeepgramFake) -> None:
    deepgram.queue_transcripts(["I'd like to book a cleaning"])
    stt = DeepgramSTTService(api_key=DG_KEY, base_url=deepgram.url)
    audio = frames_20ms(voiced_pcm(0.6) + silence_pcm(0.1))
    frames: list[Any] = [InputAudioRawFrame(chunk, RATE, 1) for chunk in audio]
    frames += [SleepFrame(0.1), VADUserStoppedSpeakingFrame(), SleepFrame(0.3)]

    down, _ = await run_test(
        stt,
        frames_to_send=frames,
        pipeline_params=PipelineParams(audio_in_sample_rate=RATE),
    )

    finals = [f for f in down if isinstance(f, TranscriptionFrame)]
    interims = [f for f in down if isinstance(f, InterimTranscriptionFrame)]
    assert [f.text for f in finals] == ["I'd like to book a cleaning"]
    assert interims and all("I'd like to book a cleaning".startswith(f.text) for f in interims)
    assert deepgram.connections == 1
    assert deepgram.finalize_count == 1
    params = deepgram.query_params[0]
    assert params["encoding"] == "linear16"
    assert params["sample_rate"] == str(RATE)
    assert params["interim_results"] == "true"
    await wait_until(lambda: deepgram.close_stream_count == 1)


async def test_pipecat_deepgram_stt_gives_up_on_401(deepgram: DeepgramFake) -> None:
    stt = DeepgramSTTService(api_key="wrong-key", base_url=deepgram.url)

    _, up = await run_test(
        stt,
        frames_to_send=[SleepFrame(0.1)],
        pipeline_params=PipelineParams(audio_in_sample_rate=RATE),
    )

    errors = [f for f in up if isinstance(f, ErrorFrame)]
    assert errors and "401" in errors[0].error
    assert deepgram.connections == 0
    assert deepgram.rejected_handshakes == 1


async def test_deepgram_sdk_interims_final_and_close_stream(deepgram: DeepgramFake) -> None:
    deepgram.queue_transcripts(["Do you have anything on Tuesday"])
    received: list[Any] = []
    async with dg_client(deepgram).listen.v1.connect(
        **DG_OPTS, interim_results="true"
    ) as connection:
        connection.on(EventType.MESSAGE, received.append)
        listener = asyncio.create_task(connection.start_listening())
        for chunk in frames_20ms(voiced_pcm(1.0)):
            await connection.send_media(chunk)
        await connection.send_keep_alive()
        await connection.send_finalize()
        await connection.send_close_stream()
        await asyncio.wait_for(listener, 2)

    results = [m for m in received if isinstance(m, ListenV1Results)]
    interims = [r.channel.alternatives[0].transcript for r in results if not r.is_final]
    assert interims[:3] == ["Do", "Do you", "Do you have"]
    final = results[-1]
    assert final.is_final and final.speech_final and final.from_finalize
    assert final.channel.alternatives[0].transcript == "Do you have anything on Tuesday"
    assert [w.word for w in final.channel.alternatives[0].words][:2] == ["do", "you"]
    assert isinstance(received[-1], ListenV1Metadata)
    assert deepgram.keepalive_count == 1
    assert deepgram.active_connections == 0


async def test_deepgram_silence_final_and_default_transcript() -> None:
    async with DeepgramFake(api_key=DG_KEY, silence_final_ms=300, default_transcript="yes") as fake:
        received: list[Any] = []
        async with dg_client(fake).listen.v1.connect(**DG_OPTS) as connection:
            connection.on(EventType.MESSAGE, received.append)
            listener = asyncio.create_task(connection.start_listening())
            for chunk in frames_20ms(voiced_pcm(0.3) + silence_pcm(0.4)):
                await connection.send_media(chunk)
            await wait_until(lambda: len(received) >= 1)
            # Nothing voiced since that final: a Finalize is answered with an empty transcript.
            await connection.send_finalize()
            await wait_until(lambda: len(received) >= 2)
            await connection.send_close_stream()
            await asyncio.wait_for(listener, 2)

    first, second = received[0], received[1]
    assert first.is_final and not first.from_finalize
    assert first.channel.alternatives[0].transcript == "yes"
    assert second.from_finalize and second.channel.alternatives[0].transcript == ""
    assert fake.finals_sent == ["yes"]


async def test_deepgram_energy_gates_mulaw_streams_too() -> None:
    """`encoding=mulaw` (what a phone line sends) is decoded before the energy gate."""
    opts = {**DG_OPTS, "encoding": "mulaw", "sample_rate": "8000"}
    speech = mulaw_encode(resample(voiced_pcm(0.3), RATE, 8000))
    silence = b"\xff" * 3200  # 0.4 s of G.711 mu-law silence
    async with DeepgramFake(api_key=DG_KEY, silence_final_ms=300) as fake:
        fake.queue_transcripts(["on the phone"])
        received: list[Any] = []
        async with dg_client(fake).listen.v1.connect(**opts) as connection:
            connection.on(EventType.MESSAGE, received.append)
            listener = asyncio.create_task(connection.start_listening())
            line = silence + speech + silence
            for start in range(0, len(line), 160):  # 20 ms of 8 kHz mu-law
                await connection.send_media(line[start : start + 160])
            await wait_until(lambda: len(received) >= 1)
            await connection.send_close_stream()
            await asyncio.wait_for(listener, 2)

    assert fake.finals_sent == ["on the phone"]
    final = received[0]
    assert final.is_final and final.channel.alternatives[0].transcript == "on the phone"
    assert 0.38 <= final.start <= 0.42  # the leading mu-law silence did not count as voice


async def test_deepgram_rejects_bad_key_and_scripted_refusals(deepgram: DeepgramFake) -> None:
    with pytest.raises(ApiError) as bad_key:
        async with dg_client(deepgram, api_key="nope").listen.v1.connect(**DG_OPTS):
            pass
    assert bad_key.value.status_code == 401

    deepgram.refuse_next(1, status=503)
    with pytest.raises(ApiError) as refused:
        async with dg_client(deepgram).listen.v1.connect(**DG_OPTS):
            pass
    assert refused.value.status_code == 503

    async with dg_client(deepgram).listen.v1.connect(**DG_OPTS):
        pass
    assert deepgram.connections == 1
    assert deepgram.rejected_handshakes == 2


async def test_deepgram_drop_connections_aborts_socket(deepgram: DeepgramFake) -> None:
    events: list[Any] = []
    async with dg_client(deepgram).listen.v1.connect(**DG_OPTS) as connection:
        connection.on(EventType.ERROR, events.append)
        listener = asyncio.create_task(connection.start_listening())
        await connection.send_media(voiced_pcm(0.1))
        await wait_until(lambda: deepgram.active_connections == 1)
        assert deepgram.drop_connections() == 1
        await asyncio.wait_for(listener, 2)
    assert events, "an abrupt drop must surface as an error (Pipecat then reconnects)"
    assert deepgram.active_connections == 0


async def test_deepgram_set_delay_holds_results(deepgram: DeepgramFake) -> None:
    deepgram.set_delay(0.3)
    received: list[tuple[float, Any]] = []
    async with dg_client(deepgram).listen.v1.connect(**DG_OPTS) as connection:
        connection.on(EventType.MESSAGE, lambda m: received.append((time.monotonic(), m)))
        listener = asyncio.create_task(connection.start_listening())
        await connection.send_media(voiced_pcm(0.2))
        sent_at = time.monotonic()
        await connection.send_finalize()
        await wait_until(lambda: len(received) >= 1)
        await connection.send_close_stream()
        await asyncio.wait_for(listener, 2)
    assert received[0][0] - sent_at >= 0.25


# ----- OpenAI ----------------------------------------------------------------------------------


def oai_client(fake: OpenAIFake, **kwargs: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake.base_url + "/v1", api_key=OA_KEY, **kwargs)


async def test_openai_sdk_streams_text_and_usage(oai: OpenAIFake) -> None:
    oai.queue_chat(Text("Hello! Thanks for calling Bright Smile Dental."))
    stream = await oai_client(oai).chat.completions.create(
        model="gpt-4.1-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello! Thanks for calling Bright Smile Dental."
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 2
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage and chunks[-1].usage.total_tokens > 0
    assert oai.chat_requests[0]["model"] == "gpt-4.1-mini"


async def test_openai_sdk_tool_call_round_trip_with_brain(oai: OpenAIFake) -> None:
    def brain(request: dict[str, Any]) -> Text | ToolCall:
        if (result := last_tool_result(request)) is not None:
            return Text(f"We have {json.loads(result)['slots'][0]} free.")
        if "book" in last_user_text(request):
            return ToolCall("check_availability", {"date": "2026-12-01", "service": "Cleaning"})
        return Text("How can I help?")

    oai.set_brain(brain)
    client = oai_client(oai)
    messages: list[Any] = [{"role": "user", "content": "I want to book a cleaning"}]
    stream = await client.chat.completions.create(model="m", messages=messages, stream=True)
    calls: dict[int, dict[str, str]] = {}
    finish = None
    async for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.id or ""
            call["name"] += (delta.function and delta.function.name) or ""
            call["arguments"] += (delta.function and delta.function.arguments) or ""
    assert finish == "tool_calls"
    assert calls[0]["name"] == "check_availability"
    assert json.loads(calls[0]["arguments"]) == {"date": "2026-12-01", "service": "Cleaning"}

    messages += [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": calls[0]["id"],
                    "type": "function",
                    "function": {"name": calls[0]["name"], "arguments": calls[0]["arguments"]},
                }
            ],
        },
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": '{"slots": ["9:00"]}'},
    ]
    reply = await client.chat.completions.create(model="m", messages=messages)
    assert reply.choices[0].message.content == "We have 9:00 free."
    assert oai.chat_requests[1]["messages"][-1]["role"] == "tool"


async def test_openai_sdk_non_streaming_and_default_reply(oai: OpenAIFake) -> None:
    reply = await oai_client(oai).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Summarise the call"}]
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == oai.default_reply
    assert reply.choices[0].finish_reason == "stop"


async def test_openai_sdk_speech_pcm(oai: OpenAIFake) -> None:
    client = oai_client(oai)
    short_text, long_text = "Hi there.", "Your cleaning is booked for Tuesday at nine."
    sizes = []
    for text in (short_text, long_text):
        async with client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="pcm"
        ) as response:
            assert response.headers.get("transfer-encoding") == "chunked"
            pcm = b"".join([chunk async for chunk in response.iter_bytes(4096)])
        sizes.append(len(pcm))
        assert rms(pcm) > 2000
    seconds = [size / 2 / SPEECH_SAMPLE_RATE for size in sizes]
    assert seconds[0] == pytest.approx(len(short_text) * 0.055, rel=0.05)
    assert seconds[1] == pytest.approx(len(long_text) * 0.055, rel=0.05)
    assert [r["input"] for r in oai.speech_requests] == [short_text, long_text]


async def test_openai_speech_reads_as_speech_to_silero_vad(oai: OpenAIFake) -> None:
    async with oai_client(oai).audio.speech.with_streaming_response.create(
        model="tts-1",
        voice="alloy",
        input="Your cleaning is booked for Tuesday at nine.",
        response_format="pcm",
    ) as response:
        pcm24 = np.frombuffer(await response.read(), dtype="<i2").astype(np.float64)
    pcm16 = np.interp(np.arange(0, len(pcm24), 1.5), np.arange(len(pcm24)), pcm24).astype("<i2")
    vad = SileroVADAnalyzer(sample_rate=RATE)
    vad.set_sample_rate(RATE)
    step = vad.num_frames_required()
    confidences = [
        vad.voice_confidence(pcm16[i : i + step].tobytes())
        for i in range(0, len(pcm16) - step, step)
    ]
    # Silero needs ~0.25 s to warm up; after that the fake voice must hold above 0.7.
    assert np.mean(np.array(confidences[8:]) > 0.7) > 0.9


async def test_openai_rejects_bad_key(oai: OpenAIFake) -> None:
    client = openai.AsyncOpenAI(base_url=oai.base_url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        await client.chat.completions.create(model="m", messages=[])
    assert caught.value.code == "invalid_api_key"
    assert oai.unauthorized_requests == 1


async def test_openai_fail_next_chat_and_sdk_retries(oai: OpenAIFake) -> None:
    oai.fail_next_chat(1, status=500)
    with pytest.raises(openai.InternalServerError):
        await oai_client(oai, max_retries=0).chat.completions.create(model="m", messages=[])

    # The SDK retries 5xx twice on its own; retry-after-ms keeps that fast here.
    oai.fail_next_chat(2, status=503, retry_after=0.01)
    reply = await oai_client(oai, max_retries=2).chat.completions.create(model="m", messages=[])
    assert reply.choices[0].message.content == oai.default_reply
    assert len(oai.chat_requests) == 4


async def test_openai_fail_next_speech(oai: OpenAIFake) -> None:
    oai.fail_next_speech(1, status=500)
    with pytest.raises(openai.InternalServerError):
        await oai_client(oai, max_retries=0).audio.speech.create(
            model="tts-1", voice="alloy", input="Hello", response_format="pcm"
        )


async def test_openai_malformed_tool_args(oai: OpenAIFake) -> None:
    oai.queue_chat(ToolCall("check_availability", {"date": "2026-12-01"}))
    oai.malformed_tool_args_next()
    reply = await oai_client(oai).chat.completions.create(model="m", messages=[])
    arguments = reply.choices[0].message.tool_calls[0].function.arguments  # type: ignore[union-attr,index]
    with pytest.raises(json.JSONDecodeError):
        json.loads(arguments)


async def test_openai_hang_next_chat_until_client_times_out(oai: OpenAIFake) -> None:
    oai.hang_next_chat()
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await oai_client(oai, max_retries=0, timeout=0.3).chat.completions.create(
            model="m", messages=[], stream=True
        )
    assert time.monotonic() - started < 2
    # The next request is answered normally.
    reply = await oai_client(oai).chat.completions.create(model="m", messages=[])
    assert reply.choices[0].message.content == oai.default_reply


async def test_openai_set_chat_delay(oai: OpenAIFake) -> None:
    oai.set_chat_delay(0.3)
    started = time.monotonic()
    await oai_client(oai).chat.completions.create(model="m", messages=[])
    assert time.monotonic() - started >= 0.3


async def test_pipecat_openai_llm_and_tts_services(oai: OpenAIFake) -> None:
    oai.queue_chat(Text("Hello from the fake."))
    llm = OpenAILLMService(
        api_key=OA_KEY,
        base_url=oai.base_url + "/v1",
        settings=OpenAILLMService.Settings(model="gpt-4.1-mini"),
    )
    context = LLMContext(messages=[{"role": "user", "content": "hi"}])
    down, _ = await run_test(llm, frames_to_send=[LLMContextFrame(context=context)])
    text = "".join(f.text for f in down if isinstance(f, LLMTextFrame))
    assert text == "Hello from the fake."
    assert oai.chat_requests[0]["stream"] is True

    tts = OpenAITTSService(
        api_key=OA_KEY,
        base_url=oai.base_url + "/v1",
        sample_rate=SPEECH_SAMPLE_RATE,
        settings=OpenAITTSService.Settings(model="gpt-4o-mini-tts", voice="alloy"),
    )
    down, _ = await run_test(tts, frames_to_send=[TTSSpeakFrame("Hello from the fake.")])
    audio = b"".join(f.audio for f in down if isinstance(f, TTSAudioRawFrame))
    assert len(audio) / 2 / SPEECH_SAMPLE_RATE == pytest.approx(20 * 0.055, rel=0.05)
    assert oai.speech_requests[0]["response_format"] == "pcm"


# ----- Twilio REST -----------------------------------------------------------------------------


def twilio_client(fake: TwilioRestFake, token: str = DEFAULT_AUTH_TOKEN, **kwargs: Any) -> Client:
    client = Client(DEFAULT_ACCOUNT_SID, token, **kwargs)
    client.api.base_url = fake.url
    return client


async def test_twilio_sync_client_updates_call_and_sends_sms(twilio_rest: TwilioRestFake) -> None:
    def use_sdk() -> tuple[Any, Any, Any]:
        client = twilio_client(twilio_rest)
        transferred = client.calls(CALL_SID).update(
            twiml='<Response><Dial timeout="20">+15555550123</Dial></Response>'
        )
        ended = client.calls(CALL_SID).update(status="completed")
        sms = client.messages.create(
            to="+15555550123", from_="+15555550100", body="Booked: cleaning, Tue 9:00"
        )
        return transferred, ended, sms

    transferred, ended, sms = await asyncio.to_thread(use_sdk)

    assert transferred.sid == CALL_SID and transferred.status == "in-progress"
    assert transferred.date_created is not None
    assert ended.status == "completed" and ended.end_time is not None
    assert sms.sid.startswith("SM") and sms.status == "queued"
    assert sms.body == "Booked: cleaning, Tue 9:00" and sms.date_created is not None
    assert twilio_rest.call_updates[0]["Twiml"].startswith("<Response><Dial")
    assert twilio_rest.call_updates[1]["Status"] == "completed"
    assert twilio_rest.messages[0]["To"] == "+15555550123"
    assert twilio_rest.messages[0]["Body"] == "Booked: cleaning, Tue 9:00"


async def test_twilio_async_client(twilio_rest: TwilioRestFake) -> None:
    http = AsyncTwilioHttpClient()
    try:
        client = twilio_client(twilio_rest, http_client=http)
        sms = await client.messages.create_async(
            to="+15555550123", messaging_service_sid="MG" + "0" * 32, body="Hi"
        )
        call = await client.calls(CALL_SID).fetch_async()
    finally:
        await http.close()
    assert sms.status == "accepted" and sms.messaging_service_sid == "MG" + "0" * 32
    assert call.status == "in-progress"
    assert twilio_rest.call_fetches == [CALL_SID]


async def test_twilio_errors_404_401_500(twilio_rest: TwilioRestFake) -> None:
    def use_sdk() -> list[TwilioRestException]:
        errors = []
        twilio_rest.mark_call_ended(CALL_SID)
        for client, action in (
            (twilio_client(twilio_rest), "call"),
            (twilio_client(twilio_rest, token="wrong"), "sms"),
            (twilio_client(twilio_rest), "sms"),
        ):
            try:
                if action == "call":
                    client.calls(CALL_SID).update(status="completed")
                else:
                    client.messages.create(to="+15555550123", from_="+15555550100", body="x")
            except TwilioRestException as exc:
                errors.append(exc)
            twilio_rest.fail_next(1, status=500, endpoint="messages")
        return errors

    not_found, unauthorized, failed = await asyncio.to_thread(use_sdk)
    assert (not_found.status, not_found.code) == (404, 20404)
    assert (unauthorized.status, unauthorized.code) == (401, 20003)
    assert failed.status == 500
    assert twilio_rest.messages == []


async def test_pipecat_twilio_serializer_auto_hang_up(twilio_rest: TwilioRestFake) -> None:
    serializer = TwilioFrameSerializer(
        "MZ" + "0" * 32,
        call_sid=CALL_SID,
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=DEFAULT_AUTH_TOKEN,
        base_url=twilio_rest.url,
    )
    await serializer.serialize(EndFrame())
    assert twilio_rest.call_updates == [
        {"AccountSid": DEFAULT_ACCOUNT_SID, "CallSid": CALL_SID, "Status": "completed"}
    ]
    assert twilio_rest.calls[CALL_SID]["status"] == "completed"


async def test_twilio_recording_media_needs_basic_auth(twilio_rest: TwilioRestFake) -> None:
    recording_sid = "RE" + "a" * 32
    audio = wav_bytes(voiced_pcm(0.5, 8000), 8000)
    url = twilio_rest.add_recording(recording_sid, audio)
    assert url.startswith("https://api.twilio.com/2010-04-01/Accounts/")
    local = twilio_rest.url + url.removeprefix("https://api.twilio.com")
    good = aiohttp.BasicAuth(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN)
    async with aiohttp.ClientSession() as http:
        async with http.get(local + ".wav", auth=good) as r:
            assert (r.status, r.content_type) == (200, "audio/x-wav")
            assert await r.read() == audio
        async with http.get(local + ".mp3", auth=good) as r:
            assert r.status == 200  # the fake serves WAV for every media extension
        async with http.get(local + ".json", auth=good) as r:
            assert (await r.json())["sid"] == recording_sid
        async with http.get(local + ".wav", auth=aiohttp.BasicAuth(DEFAULT_ACCOUNT_SID, "no")) as r:
            assert (r.status, (await r.json())["code"]) == (401, 20003)
        async with http.get(local.replace(recording_sid, "RE" + "b" * 32) + ".wav", auth=good) as r:
            assert (r.status, (await r.json())["code"]) == (404, 20404)
        twilio_rest.fail_next(1, status=503, endpoint="recordings")
        async with http.get(local + ".wav", auth=good) as r:
            assert r.status == 503
    assert twilio_rest.recording_fetches == [recording_sid] * 3


async def test_control_api_for_out_of_process_fakes(
    deepgram: DeepgramFake, oai: OpenAIFake, twilio_rest: TwilioRestFake
) -> None:
    dg_http = deepgram.url.replace("ws://", "http://")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{dg_http}/_fake/transcripts", json={"transcripts": ["hi"]}) as r:
            assert (await r.json())["pending"] == ["hi"]
        replies = {"replies": [{"tool": "end_call", "arguments": {}}, {"text": "Bye."}]}
        async with http.post(f"{oai.base_url}/_fake/chat", json=replies) as r:
            assert (await r.json())["pending_chat"] == 2
        for url in (dg_http, oai.base_url, twilio_rest.url):
            async with http.get(f"{url}/_fake/stats") as r:
                assert r.status == 200
    reply = await oai_client(oai).chat.completions.create(model="m", messages=[])
    assert reply.choices[0].message.tool_calls[0].function.name == "end_call"  # type: ignore[index]
