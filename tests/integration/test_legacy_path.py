"""The legacy <Record> path over HTTP: signatures, TwiML flow, messages, failures, cap, statuses."""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.fakes.deepgram_prerecorded import DeepgramPrerecorded
from devtools.fakes.openai_server import Failure, Text, ToolCall
from devtools.fakes.twilio_rest_server import wav_bytes
from tests.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Fakes,
    RunningServer,
    cloud_settings,
    running_fakes,
    running_server,
)
from zylin.fallback import legacy_redirect_twiml, move_call_to_legacy
from zylin.fallback.audio import resample
from zylin.fallback.recordings import RecordingError, recording_media_url
from zylin.local.espeak import synthesize
from zylin.telephony import SignatureChecker

pytestmark = pytest.mark.timeout(60)

CALLER = "+15555550100"
SIGNER = SignatureChecker(AUTH_TOKEN)


def call_sid(n: int) -> str:
    return f"CA{n:032x}"


def recording_sid(n: int) -> str:
    return f"RE{n:032x}"


async def speech_wav(text: str) -> bytes:
    """eSpeak speech at 8 kHz in a WAV, as Twilio would record the caller.

    eSpeak's output varies slightly between runs and pocketsphinx is touchy: at 140 words a
    minute the phrases the demo tests rely on ("What are your opening hours?", "...book a
    cleaning") come out with the same meaning every time.
    """
    pcm, rate = synthesize(text, rate_wpm=140)
    return wav_bytes(await resample(pcm, rate, 8000), 8000)


def twiml(response: httpx.Response) -> ET.Element:
    """The parsed <Response> (fails on anything that is not well-formed TwiML)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "Response"
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def said(root: ET.Element) -> str:
    return " ".join(el.text or "" for el in root.iter("Say"))


async def post(
    server: RunningServer, path: str, form: dict[str, str], *, signed: bool = True
) -> httpx.Response:
    """POST a webhook as Twilio would, signed over the URL (query included) and the form."""
    url = server.url + path
    headers = {"X-Twilio-Signature": SIGNER.sign(url, form)} if signed else {}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, data=form, headers=headers)


def call_form(n: int, **extra: str) -> dict[str, str]:
    return {
        "CallSid": call_sid(n),
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": "+15555550199",
        "CallStatus": "in-progress",
        **extra,
    }


async def recorded_form(fakes: Fakes, n: int, rec: int, text: str | None) -> dict[str, str]:
    """The <Record> action's form; `text` None leaves the recording unregistered (404)."""
    sid = recording_sid(rec)
    url = (
        fakes.twilio.add_recording(sid, await speech_wav(text))
        if text is not None
        else f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{sid}"
    )
    return call_form(n, RecordingUrl=url, RecordingSid=sid, RecordingDuration="3")


@contextlib.asynccontextmanager
async def zylin(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[Fakes, RunningServer]]:
    async with running_fakes() as fakes:
        settings = cloud_settings(fakes, tmp_path, **overrides)
        async with running_server(settings) as server:
            yield fakes, server


DEMO = {"demo_mode": True}


# ----- signatures ------------------------------------------------------------------------


async def test_every_legacy_webhook_needs_twilio_signature(tmp_path: Path) -> None:
    async with zylin(tmp_path, **DEMO) as (fakes, server):
        paths = [
            "/twilio/voice-legacy",
            "/twilio/voice-legacy/recorded?turn=1",
            "/twilio/voice-legacy/message",
            "/twilio/status",
        ]
        form = await recorded_form(fakes, 1, 1, "hello")
        for path in paths:
            assert (await post(server, path, form, signed=False)).status_code == 403
            url = server.url + path
            forged = {"X-Twilio-Signature": SIGNER.sign(url, {**form, "From": "+15550000000"})}
            async with httpx.AsyncClient() as client:
                assert (await client.post(url, data=form, headers=forged)).status_code == 403
        assert await server.state.repository.get_call_by_sid(call_sid(1)) is None
        assert fakes.twilio.recording_fetches == []


# ----- demo engines (pocketsphinx + demo brain) --------------------------------------------


async def test_demo_greets_records_and_answers_a_question(tmp_path: Path) -> None:
    async with zylin(tmp_path, **DEMO) as (fakes, server):
        root = twiml(await post(server, "/twilio/voice-legacy", call_form(1)))
        assert verbs(root) == ["Say", "Record", "Redirect"]
        assert "Thanks for calling Bright Smile Dental" in said(root)
        record = root.find("Record")
        assert record is not None
        assert record.attrib == {
            "action": "/twilio/voice-legacy/recorded?turn=1",
            "method": "POST",
            "maxLength": "30",
            "timeout": "3",
            "playBeep": "true",
            "trim": "trim-silence",
        }
        form = await recorded_form(fakes, 1, 1, "What are your opening hours?")
        root = twiml(await post(server, record.attrib["action"], form))
        assert verbs(root) == ["Say", "Record", "Redirect"]
        detail = await server.state.repository.get_call_by_sid(call_sid(1))
        assert detail is not None and detail.turns[1].text == "what are your opening hours"
        assert "Monday nine a.m. to five p.m." in said(root)
        assert root.find("Record").attrib["action"].endswith("recorded?turn=2")  # type: ignore[union-attr]
        assert fakes.twilio.recording_fetches == [recording_sid(1)]

        detail = await server.state.repository.get_call_by_sid(call_sid(1))
        assert detail is not None and detail.call.caller_phone == CALLER
        assert [(t.seq, t.role) for t in detail.turns] == [
            (1, "assistant"),
            (2, "user"),
            (3, "assistant"),
        ]
        assert detail.turns[1].text == "what are your opening hours"
        assert [a.kind for a in detail.actions] == ["legacy_path"]
        assert detail.actions[0].detail == {"reason": "operator"}
        assert detail.call.ended_at is None  # the conversation goes on


async def test_demo_booking_request_records_a_message(tmp_path: Path) -> None:
    async with zylin(tmp_path, **DEMO) as (fakes, server):
        await post(server, "/twilio/voice-legacy", call_form(2))
        form = await recorded_form(fakes, 2, 1, "I'd like to book a cleaning.")
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=1", form))
        assert "can't book or change appointments on this line" in said(root)
        assert "after the beep" in said(root)
        action = root.find("Record").attrib["action"]  # type: ignore[union-attr]
        assert action == "/twilio/voice-legacy/message"

        form = await recorded_form(fakes, 2, 2, "What are your opening hours?")
        root = twiml(await post(server, action, form))
        assert verbs(root) == ["Say", "Hangup"]
        assert "passed your message on" in said(root)

        messages = (await server.state.repository.list_messages()).items
        assert len(messages) == 1
        assert messages[0].call_sid == call_sid(2)
        assert messages[0].caller_phone == CALLER and messages[0].callback_number == CALLER
        assert "what are your opening hours" in messages[0].message  # the transcription
        assert "book" in messages[0].message  # with the request that led to it
        assert recording_sid(2) in messages[0].message  # and where to listen to it
        detail = await server.state.repository.get_call_by_sid(call_sid(2))
        assert detail is not None and detail.call.end_reason == "legacy_message"
        assert detail.call.ended_at is not None
        assert "message" in [a.kind for a in detail.actions]


async def test_silence_and_the_turn_limit_end_politely(tmp_path: Path) -> None:
    async with zylin(tmp_path, **DEMO) as (fakes, server):
        await post(server, "/twilio/voice-legacy", call_form(3))
        # Twilio's Redirect after an empty <Record>: no RecordingUrl.
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=1", call_form(3)))
        assert verbs(root) == ["Say", "Hangup"]
        detail = await server.state.repository.get_call_by_sid(call_sid(3))
        assert detail is not None and detail.call.end_reason == "legacy_no_input"

        await post(server, "/twilio/voice-legacy", call_form(4))
        form = await recorded_form(fakes, 4, 1, "What are your opening hours?")
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=6", form))
        assert verbs(root) == ["Say", "Hangup"]
        assert "Monday nine a.m." in said(root) and "Goodbye" in said(root)
        detail = await server.state.repository.get_call_by_sid(call_sid(4))
        assert detail is not None and detail.call.end_reason == "legacy_max_turns"


# ----- cloud engines (Deepgram pre-recorded + OpenAI) against fakes ------------------------


async def test_cloud_answers_with_openai_and_takes_a_message(tmp_path: Path) -> None:
    deepgram = DeepgramPrerecorded("Are you open on Saturday?")
    async with deepgram, zylin(tmp_path, deepgram_base_url=deepgram.ws_url) as (fakes, server):
        fakes.openai.queue_chat(
            Text("Sorry, we are closed on Saturdays."),
            ToolCall(
                "take_message",
                {"message": "Please call me about Saturday.", "caller_name": "Ann"},
            ),
        )
        await post(server, "/twilio/voice-legacy", call_form(5))
        form = await recorded_form(fakes, 5, 1, "Are you open on Saturday?")
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=1", form))
        assert said(root) == "Sorry, we are closed on Saturdays."
        assert verbs(root) == ["Say", "Record", "Redirect"]

        request = fakes.openai.chat_requests[0]
        assert not request.get("stream")
        assert [t["function"]["name"] for t in request["tools"]] == ["take_message", "end_call"]
        assert request["messages"][0]["role"] == "system"
        assert "fallback line" in request["messages"][0]["content"]
        assert request["messages"][-1] == {
            "role": "user",
            "content": "Are you open on Saturday?",
        }
        sent = deepgram.requests[0]
        assert sent["query"] == {
            "model": server.settings.deepgram_model,
            "smart_format": "true",
            "punctuate": "true",
            "language": "en-US",
        }
        assert sent["bytes"] > 1000  # the recording itself

        deepgram.transcript = "Please have someone call me about Saturday."
        form = await recorded_form(fakes, 5, 2, "Please have someone call me.")
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=2", form))
        assert verbs(root) == ["Say", "Hangup"]
        # The second request carried the conversation so far.
        roles = [m["role"] for m in fakes.openai.chat_requests[1]["messages"]]
        assert roles == ["system", "assistant", "user", "assistant", "user"]
        messages = (await server.state.repository.list_messages()).items
        assert len(messages) == 1 and messages[0].caller_name == "Ann"
        assert "Please call me about Saturday." in messages[0].message
        assert "Please have someone call me about Saturday." in messages[0].message


# ----- failures --------------------------------------------------------------------------


async def test_missing_recording_still_answers_and_keeps_the_url(tmp_path: Path) -> None:
    async with zylin(tmp_path, **DEMO) as (fakes, server):
        await post(server, "/twilio/voice-legacy", call_form(6))
        form = await recorded_form(fakes, 6, 9, None)  # Twilio answers 404 for it
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=1", form))
        assert verbs(root) == ["Say", "Hangup"]
        assert "technical trouble" in said(root)
        messages = (await server.state.repository.list_messages()).items
        assert len(messages) == 1 and form["RecordingUrl"] in messages[0].message
        detail = await server.state.repository.get_call_by_sid(call_sid(6))
        assert detail is not None and detail.call.end_reason == "legacy_error"
        failure = next(a for a in detail.actions if a.kind == "legacy_failure")
        assert failure.detail is not None and failure.detail["stage"] == "download"


async def test_llm_failure_still_answers_and_keeps_the_transcription(tmp_path: Path) -> None:
    deepgram = DeepgramPrerecorded("I need to move my appointment to Friday.")
    async with deepgram, zylin(tmp_path, deepgram_base_url=deepgram.ws_url) as (fakes, server):
        fakes.openai.queue_chat(Failure(500), Failure(500), Failure(500))
        await post(server, "/twilio/voice-legacy", call_form(7))
        form = await recorded_form(fakes, 7, 1, "I need to move my appointment.")
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=1", form))
        assert verbs(root) == ["Say", "Hangup"]
        assert "technical trouble" in said(root)
        messages = (await server.state.repository.list_messages()).items
        assert len(messages) == 1
        assert "I need to move my appointment to Friday." in messages[0].message
        assert recording_sid(1) in messages[0].message
        detail = await server.state.repository.get_call_by_sid(call_sid(7))
        assert detail is not None and detail.call.end_reason == "legacy_error"
        failure = next(a for a in detail.actions if a.kind == "legacy_failure")
        assert failure.detail is not None and failure.detail["stage"] == "llm"


async def test_deepgram_failure_still_answers_and_keeps_the_recording(tmp_path: Path) -> None:
    deepgram = DeepgramPrerecorded("never heard", fail_status=500)
    async with deepgram, zylin(tmp_path, deepgram_base_url=deepgram.ws_url) as (fakes, server):
        await post(server, "/twilio/voice-legacy", call_form(17))
        form = await recorded_form(fakes, 17, 4, "What are your opening hours?")
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=1", form))
        assert verbs(root) == ["Say", "Hangup"]
        assert "technical trouble" in said(root)
        assert len(deepgram.requests) == 1  # one attempt: the webhook has a budget
        messages = (await server.state.repository.list_messages()).items
        assert len(messages) == 1 and recording_sid(4) in messages[0].message
        assert "could not be transcribed" in messages[0].message
        detail = await server.state.repository.get_call_by_sid(call_sid(17))
        assert detail is not None and detail.call.end_reason == "legacy_error"
        failure = next(a for a in detail.actions if a.kind == "legacy_failure")
        assert failure.detail is not None and failure.detail["stage"] == "stt"
        assert "HTTP 500" in failure.detail["error"]
        assert fakes.openai.chat_requests == []


async def test_forged_recording_url_is_never_fetched_with_our_credentials(tmp_path: Path) -> None:
    with pytest.raises(RecordingError):
        recording_media_url(
            "https://evil.example/2010-04-01/Accounts/x/Recordings/y",
            None,
            account_sid=ACCOUNT_SID,
            api_base=None,
        )
    with pytest.raises(RecordingError):  # another account's recording, even on Twilio's host
        recording_media_url(
            f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Recordings/RE{'2' * 32}",
            None,
            account_sid=ACCOUNT_SID,
            api_base=None,
        )
    url = recording_media_url(
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid(1)}",
        None,
        account_sid=ACCOUNT_SID,
        api_base="http://127.0.0.1:9",
    )
    assert (
        url
        == f"http://127.0.0.1:9/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid(1)}.wav"
    )
    async with zylin(tmp_path, **DEMO) as (fakes, server):
        form = call_form(8, RecordingUrl="https://evil.example/r", RecordingSid=recording_sid(3))
        root = twiml(await post(server, "/twilio/voice-legacy/recorded?turn=1", form))
        assert verbs(root) == ["Say", "Hangup"]
        assert fakes.twilio.recording_fetches == []
        messages = (await server.state.repository.list_messages()).items
        assert len(messages) == 1 and "https://evil.example/r" in messages[0].message


# ----- how calls get here, and status callbacks -------------------------------------------


async def test_voice_webhook_redirects_to_legacy_at_the_call_cap(tmp_path: Path) -> None:
    async with zylin(tmp_path, **DEMO, max_concurrent_calls=1) as (_fakes, server):
        root = twiml(await post(server, "/twilio/voice", call_form(9)))
        assert verbs(root) == ["Connect"]  # under the cap: the media stream (its slot held)
        root = twiml(await post(server, "/twilio/voice", call_form(10)))
        assert verbs(root) == ["Redirect"]  # the box's one slot is call 9's
        redirect = root.find("Redirect")
        assert redirect is not None and redirect.attrib == {"method": "POST"}
        assert redirect.text == "/twilio/voice-legacy?reason=capacity"
        root = twiml(await post(server, redirect.text, call_form(10)))
        assert verbs(root) == ["Say", "Record", "Redirect"]
        await server.state.slots.release(call_sid(9))  # call 9 ended: the next one streams
        assert verbs(twiml(await post(server, "/twilio/voice", call_form(11)))) == ["Connect"]
        detail = await server.state.repository.get_call_by_sid(call_sid(10))
        assert detail is not None
        assert detail.actions[0].detail == {"reason": "capacity"}


async def test_live_call_is_moved_onto_the_legacy_path_through_rest(tmp_path: Path) -> None:
    public = "https://zylin.example.com/base"
    twiml_doc = legacy_redirect_twiml(public)
    redirect = ET.fromstring(twiml_doc).find("Redirect")
    assert redirect is not None and redirect.attrib == {"method": "POST"}
    assert redirect.text == f"{public}/twilio/voice-legacy?reason=service_failure"
    async with zylin(tmp_path, **DEMO) as (fakes, server):
        await move_call_to_legacy(server.state.twilio, call_sid(10), "wss://zylin.example.com/base")
        assert fakes.twilio.call_updates == [
            {"AccountSid": ACCOUNT_SID, "CallSid": call_sid(10), "Twiml": twiml_doc}
        ]
        # The stream path closed its record; joining the legacy path reopens it and apologises.
        repo = server.state.repository
        await repo.create_call(call_sid(10), caller_phone=CALLER)
        await repo.finish_call(call_sid(10), end_reason="moved_to_legacy")
        root = twiml(
            await post(server, "/twilio/voice-legacy?reason=service_failure", call_form(10))
        )
        assert said(root).startswith("Sorry about that")
        detail = await repo.get_call_by_sid(call_sid(10))
        assert detail is not None and detail.call.ended_at is None


async def test_status_callback_closes_a_recorded_call_only(tmp_path: Path) -> None:
    async with zylin(tmp_path, **DEMO) as (_fakes, server):
        repo = server.state.repository
        await post(server, "/twilio/voice-legacy", call_form(11))
        ringing = await post(server, "/twilio/status", call_form(11, CallStatus="ringing"))
        assert ringing.status_code == 204
        detail = await repo.get_call_by_sid(call_sid(11))
        assert detail is not None and detail.call.ended_at is None

        done = call_form(11, CallStatus="completed", CallDuration="42")
        assert (await post(server, "/twilio/status", done)).status_code == 204
        detail = await repo.get_call_by_sid(call_sid(11))
        assert detail is not None and detail.call.end_reason == "completed"
        assert detail.call.ended_at is not None
        status = next(a for a in detail.actions if a.kind == "call_status")
        assert status.detail == {"status": "completed", "duration": "42"}

        # A call the stream path already closed keeps its own end reason.
        await repo.create_call(call_sid(12))
        await repo.finish_call(call_sid(12), end_reason="end_call")
        await post(server, "/twilio/status", call_form(12, CallStatus="completed"))
        detail = await repo.get_call_by_sid(call_sid(12))
        assert detail is not None and detail.call.end_reason == "end_call"

        # Unknown calls are not created by a status callback.
        unknown = await post(server, "/twilio/status", call_form(13, CallStatus="failed"))
        assert unknown.status_code == 204
        assert await repo.get_call_by_sid(call_sid(13)) is None


async def test_unanswered_transfer_takes_a_message_and_answered_one_hangs_up(
    tmp_path: Path,
) -> None:
    async with zylin(tmp_path, **DEMO) as (_fakes, server):
        repo = server.state.repository
        await repo.create_call(call_sid(14))
        missed = twiml(
            await post(
                server,
                "/twilio/voice-legacy/dial-done",
                call_form(14, DialCallStatus="no-answer"),
            )
        )
        assert verbs(missed) == ["Say", "Record", "Redirect"]
        assert "leave your name" in said(missed)
        record = missed.find("Record")
        assert record is not None and record.get("action", "").endswith("/voice-legacy/message")

        await repo.create_call(call_sid(15))
        answered = twiml(
            await post(
                server,
                "/twilio/voice-legacy/dial-done",
                call_form(15, DialCallStatus="completed"),
            )
        )
        assert verbs(answered) == ["Hangup"]
        detail = await repo.get_call_by_sid(call_sid(15))
        assert detail is not None and detail.call.end_reason == "transferred"
        unsigned = await post(server, "/twilio/voice-legacy/dial-done", call_form(16), signed=False)
        assert unsigned.status_code == 403
