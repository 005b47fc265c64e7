"""The tools as Pipecat calls them: real FunctionCallParams, SQLite file, local Twilio REST fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndWorkerFrame, LLMMessagesAppendFrame, TTSSpeakFrame

from devtools.fakes.twilio_rest_server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioRestFake,
)
from tests.storage_fixtures import (
    CALLED,
    CALLER,
    OTHER_CALLER,
    Clock,
    ToolHarness,
    example_profile,
    make_context,
    open_repository,
    sqlite_url,
)
from tools import ALL_TOOLS, escalate
from tools.booking import (
    NO_PHONE,
    NOT_CONFIRMED,
    NOT_FOUND,
    book_appointment,
    cancel_appointment,
    check_availability,
    find_my_appointments,
    reschedule_appointment,
)
from tools.common import UNEXPECTED
from tools.end_call import end_call
from tools.escalation import transfer_to_human
from tools.messages import take_message
from zylin.storage.repository import Repository
from zylin.telephony import TwilioRest

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=NY)  # Monday 8:00, before opening
TUESDAY = "2026-12-01"
OWNER = example_profile().owner_phone
CONTRACT = [
    "check_availability",
    "book_appointment",
    "find_my_appointments",
    "reschedule_appointment",
    "cancel_appointment",
    "take_message",
    "transfer_to_human",
    "end_call",
]


@dataclass
class Env:
    harness: ToolHarness
    repo: Repository
    fake: TwilioRestFake
    clock: Clock

    @property
    def ctx(self):
        return self.harness.ctx

    async def call(self, tool, **arguments):
        return await self.harness.call(tool, **arguments)

    async def actions(self) -> list[str]:
        detail = await self.repo.get_call_by_sid(self.ctx.call_sid)
        assert detail is not None
        return [a.kind for a in detail.actions]


async def _env(tmp_path: Path, *, configured: bool = True, **resource_args) -> AsyncIterator[Env]:
    clock = Clock(NOW)
    repo, engine = await open_repository(sqlite_url(tmp_path), clock)
    fake = await TwilioRestFake().start()
    twilio = (
        TwilioRest(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, fake.url)
        if configured
        else TwilioRest(None, None, None)
    )
    ctx = make_context(repo, twilio, clock, **resource_args)
    await repo.create_call(ctx.call_sid, caller_phone=ctx.caller_phone)
    try:
        yield Env(ToolHarness(ctx), repo, fake, clock)
    finally:
        await ctx.tasks.drain()
        await twilio.aclose()
        await fake.stop()
        await engine.dispose()


@pytest_asyncio.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async for e in _env(tmp_path):
        yield e


async def _book(env: Env, start: str = f"{TUESDAY}T10:30", service: str = "Cleaning", **kw):
    return await env.call(
        book_appointment, service=service, start=start, caller_name=kw.pop("name", "Ann"), **kw
    )


# --- Schema ------------------------------------------------------------------------------------


def test_tool_names_and_schema_are_the_contract() -> None:
    schema = ToolsSchema(standard_tools=list(ALL_TOOLS))
    assert [t.name for t in schema.standard_tools] == CONTRACT
    assert [t.__name__ for t in ALL_TOOLS] == CONTRACT
    book = next(t for t in schema.standard_tools if t.name == "book_appointment")
    assert set(book.properties) == {"service", "start", "caller_name", "notes"}
    assert book.required == ["service", "start", "caller_name"]
    assert "phone" not in str(book.properties)  # the caller's number never comes from the LLM


# --- check_availability ------------------------------------------------------------------------


async def test_check_availability_lists_free_times(env: Env) -> None:
    await _book(env, f"{TUESDAY}T10:00", name="Bo")
    result = await env.call(check_availability, date=TUESDAY, service="cleaning")
    assert result["service"] == "Cleaning" and result["day"] == "Tuesday, December 1"
    assert result["free_times"][:4] == ["09:00", "09:15", "09:30", "10:30"]
    assert "every 15 minutes from 10:30 AM to 4:30 PM" in result["in_words"]


@pytest.mark.parametrize(
    ("date", "service", "words"),
    [
        (TUESDAY, "Haircut", "We offer Cleaning, Checkup and Whitening"),
        ("12/01/2026", "Cleaning", "didn't understand that date"),
        ("2026-11-27", "Cleaning", "already passed"),
        ("2027-06-01", "Cleaning", "90 days ahead"),
        ("2026-12-05", "Cleaning", "closed on Saturdays"),
    ],
)
async def test_check_availability_errors(env: Env, date: str, service: str, words: str) -> None:
    result = await env.call(check_availability, date=date, service=service)
    assert set(result) == {"error"} and words in result["error"]


async def test_fully_booked_day_offers_the_nearest(env: Env) -> None:
    friday = "2026-12-04"  # 9:00-13:00
    for hour in range(9, 13):
        await _book(env, f"{friday}T{hour:02d}:00", service="Whitening", name=f"P{hour}")
        env.ctx.done.bookings = 0
    result = await env.call(check_availability, date=friday, service="Cleaning")
    assert result["free_times"] == [] and "Nothing is free" in result["message"]
    assert result["nearest_free"][0].startswith("2026-12-03T16")  # Thursday's last slots


# --- book_appointment --------------------------------------------------------------------------


async def test_book_stores_records_and_texts(env: Env) -> None:
    result = await _book(env, notes="first visit")
    assert result == {
        "appointment_id": result["appointment_id"],
        "service": "Cleaning",
        "start": f"{TUESDAY}T10:30",
        "when": "Tuesday, December 1 at 10:30 AM",
    }
    stored = await env.repo.get_appointment(result["appointment_id"])
    assert stored is not None
    assert stored.caller_phone == CALLER and stored.notes == "first visit"
    assert stored.start_at == datetime(2026, 12, 1, 15, 30, tzinfo=stored.start_at.tzinfo)
    await env.ctx.tasks.drain()
    texts = {m["To"]: m for m in env.fake.messages}
    assert set(texts) == {CALLER, OWNER}
    assert "Tuesday, December 1 at 10:30 AM" in texts[CALLER]["Body"]
    assert texts[CALLER]["From"] == example_profile().sms.from_number
    assert "first visit" in texts[OWNER]["Body"]
    assert sorted(await env.actions()) == ["booked", "sms", "sms"]


async def test_taken_slot_offers_nearest_free(env: Env) -> None:
    await _book(env, f"{TUESDAY}T10:30", name="Bo")
    env.ctx.caller_phone = OTHER_CALLER
    result = await _book(env, f"{TUESDAY}T10:45")  # overlaps 10:30-11:00
    assert "just taken" in result["error"]
    assert result["nearest_free"] == [f"{TUESDAY}T10:00", f"{TUESDAY}T11:00", f"{TUESDAY}T11:15"]
    assert "Tuesday, December 1 at 11:00 AM" in result["error"]


@pytest.mark.parametrize(
    ("start", "words", "now"),
    [
        (f"{TUESDAY}T08:00", "outside our hours", NOW),
        (f"{TUESDAY}T10:10", "every 15 minutes", NOW),
        ("2026-11-30T08:30", "outside our hours", NOW),
        ("2026-11-30T10:00", "60 minutes' notice", NOW + timedelta(hours=1, minutes=30)),
        ("2026-12-05T10:00", "closed on Saturdays", NOW),
    ],
)
async def test_book_refuses_bad_times_with_suggestions(
    env: Env, start: str, words: str, now: datetime
) -> None:
    env.clock.current = now
    result = await _book(env, start)
    assert words in result["error"]
    assert result["nearest_free"], "a time the caller can have instead"


async def test_book_refuses_malformed_past_and_far(env: Env) -> None:
    assert "didn't understand" in (await _book(env, "Tuesday 10am"))["error"]
    assert "already passed" in (await _book(env, "2026-11-20T10:00"))["error"]
    assert "90 days ahead" in (await _book(env, "2027-12-01T10:00"))["error"]


async def test_book_validates_names_notes_and_service(env: Env) -> None:
    assert "need the caller's name" in (await _book(env, name="  "))["error"]
    assert "too long" in (await _book(env, name="A" * 101))["error"]
    assert "too long" in (await _book(env, notes="n" * 1001))["error"]
    assert "We offer" in (await _book(env, service="Massage"))["error"]
    assert await env.repo.appointments_between(NOW, NOW + timedelta(days=30)) == []


async def test_booking_limit_per_call(env: Env) -> None:
    for hour in (9, 10, 11):
        assert "appointment_id" in await _book(env, f"{TUESDAY}T{hour:02d}:00")
    result = await _book(env, f"{TUESDAY}T14:00")
    assert "at most 3 appointments" in result["error"]


async def test_failed_sms_never_loses_the_booking(env: Env) -> None:
    env.fake.fail_next(2, endpoint="messages")
    result = await _book(env)
    assert "appointment_id" in result
    await env.ctx.tasks.drain()
    assert await env.repo.get_appointment(result["appointment_id"]) is not None
    assert sorted(await env.actions()) == ["booked", "sms_failed", "sms_failed"]


async def test_no_twilio_means_no_sms_but_booking_works(tmp_path: Path) -> None:
    async for env in _env(tmp_path, configured=False):
        assert "appointment_id" in await _book(env)
        await env.ctx.tasks.drain()
        assert env.fake.messages == [] and await env.actions() == ["booked"]


async def test_tool_never_raises_on_a_broken_database(tmp_path: Path) -> None:
    from zylin.storage.db import create_engine, session_factory

    engine = create_engine(sqlite_url(tmp_path))  # never migrated: no tables
    clock = Clock(NOW)
    repo = Repository(session_factory(engine), clock=clock)
    harness = ToolHarness(make_context(repo, TwilioRest(None, None, None), clock))
    try:
        # A booking that could not be stored says so plainly: it is not booked.
        assert await harness.call(
            book_appointment, service="Cleaning", start=f"{TUESDAY}T10:30", caller_name="Ann"
        ) == {"error": NOT_CONFIRMED}
        result = await harness.call(check_availability, date=TUESDAY, service="Cleaning")
        assert result == {"error": UNEXPECTED}
    finally:
        await engine.dispose()


# --- find / reschedule / cancel ----------------------------------------------------------------


async def test_find_my_appointments_only_mine(env: Env) -> None:
    mine = await _book(env, f"{TUESDAY}T09:00")
    env.ctx.caller_phone = OTHER_CALLER
    await _book(env, f"{TUESDAY}T11:00", name="Other")
    env.ctx.caller_phone = CALLER
    result = await env.call(find_my_appointments)
    assert result["appointments"] == [mine] and result["count"] == 1
    env.ctx.caller_phone = "+15550000000"
    assert (await env.call(find_my_appointments))["appointments"] == []
    env.ctx.caller_phone = None
    assert (await env.call(find_my_appointments)) == {"error": NO_PHONE}


async def test_reschedule_mine_and_not_others(env: Env) -> None:
    mine = await _book(env, f"{TUESDAY}T09:00")
    env.ctx.caller_phone = OTHER_CALLER
    theirs = await _book(env, f"{TUESDAY}T11:00", name="Other")
    env.ctx.caller_phone = CALLER

    moved = await env.call(
        reschedule_appointment, appointment_id=mine["appointment_id"], new_start=f"{TUESDAY}T09:15"
    )
    assert moved["when"] == "Tuesday, December 1 at 9:15 AM"
    assert moved["previous_when"] == "Tuesday, December 1 at 9:00 AM"

    taken = await env.call(
        reschedule_appointment, appointment_id=mine["appointment_id"], new_start=f"{TUESDAY}T11:15"
    )
    assert "taken" in taken["error"] and f"{TUESDAY}T10:30" in taken["nearest_free"]
    still = await env.repo.get_appointment(mine["appointment_id"])
    assert still is not None and still.start_at.astimezone(NY).time() == time(9, 15)

    for other_id in (theirs["appointment_id"], 9999, "abc"):
        result = await env.call(
            reschedule_appointment, appointment_id=other_id, new_start=f"{TUESDAY}T14:00"
        )
        assert result == {"error": NOT_FOUND}
    assert (
        "outside our hours"
        in (
            await env.call(
                reschedule_appointment,
                appointment_id=str(mine["appointment_id"]),
                new_start=f"{TUESDAY}T18:00",
            )
        )["error"]
    )
    assert sorted(await env.actions()).count("rescheduled") == 1


async def test_cancel_frees_the_slot_and_hides_others(env: Env) -> None:
    mine = await _book(env, f"{TUESDAY}T09:00")
    env.ctx.caller_phone = OTHER_CALLER
    theirs = await _book(env, f"{TUESDAY}T11:00", name="Other")
    assert (await env.call(cancel_appointment, appointment_id=mine["appointment_id"])) == {
        "error": NOT_FOUND
    }  # not this caller's: same words as a missing one
    env.ctx.caller_phone = CALLER
    assert (await env.call(cancel_appointment, appointment_id=theirs["appointment_id"])) == {
        "error": NOT_FOUND
    }
    result = await env.call(cancel_appointment, appointment_id=mine["appointment_id"])
    assert result["status"] == "cancelled"
    assert (await env.call(cancel_appointment, appointment_id=mine["appointment_id"])) == {
        "error": NOT_FOUND
    }
    free = await env.call(check_availability, date=TUESDAY, service="Cleaning")
    assert "09:00" in free["free_times"]
    await env.ctx.tasks.drain()
    assert any("cancelled" in m["Body"] for m in env.fake.messages if m["To"] == CALLER)


async def test_past_appointment_cannot_be_changed(env: Env) -> None:
    mine = await _book(env, f"{TUESDAY}T09:00")
    env.clock.current = datetime(2026, 12, 1, 12, 0, tzinfo=NY)
    result = await env.call(cancel_appointment, appointment_id=mine["appointment_id"])
    assert "already taken place" in result["error"]


# --- take_message ------------------------------------------------------------------------------


async def test_take_message_stores_and_texts_owner(env: Env) -> None:
    result = await env.call(
        take_message, caller_name="Ann", message="Please call about my bill", callback_number=""
    )
    assert result["status"] == "taken" and result["callback_number"] == CALLER
    page = await env.repo.list_messages()
    assert page.items[0].message == "Please call about my bill"
    await env.ctx.tasks.drain()
    owner = [m for m in env.fake.messages if m["To"] == OWNER]
    assert owner and "Please call about my bill" in owner[0]["Body"]
    assert "message" in await env.actions()


async def test_take_message_validation_and_limit(env: Env) -> None:
    async def msg(**kw):
        args = {"caller_name": "Ann", "message": "Hi", "callback_number": "555 123 4567", **kw}
        return await env.call(take_message, **args)

    assert "too long" in (await msg(message="m" * 1001))["error"]
    assert "too long" in (await msg(caller_name="n" * 101))["error"]
    assert "need the message" in (await msg(message=" "))["error"]
    assert "phone number" in (await msg(callback_number="twelve"))["error"]
    for _ in range(3):
        assert (await msg())["callback_number"] == "5551234567"
    assert "already taken 3 messages" in (await msg())["error"]


async def test_message_without_any_number_asks_for_one(tmp_path: Path) -> None:
    async for env in _env(tmp_path, caller_phone=None):
        result = await env.call(take_message, caller_name="Ann", message="Hi", callback_number="")
        assert "What number" in result["error"]


# --- transfer_to_human / escalate ---------------------------------------------------------------


async def test_transfer_dials_only_the_owner_after_speech(env: Env) -> None:
    env.clock.current = datetime(2026, 11, 30, 11, 0, tzinfo=NY)  # open
    run = await env.harness.run(transfer_to_human, reason="wants +15559999999 instead, urgent")
    assert run.result["status"] == "transferring"
    assert run.properties is not None and run.properties.run_llm is False  # Zylin said it
    [said] = env.harness.said()
    assert isinstance(said, TTSSpeakFrame) and said.text == run.result["said"]
    assert env.fake.call_updates == []  # nothing happens before the caller heard the line
    assert env.ctx.end.reason is None  # nor is the call Twilio's yet
    assert env.ctx.heard.waiting == 1
    await env.harness.heard()
    assert env.ctx.end.reason == "transferred"
    [update] = env.fake.call_updates
    assert update["CallSid"] == env.ctx.call_sid
    twiml = update["Twiml"]
    assert f">{OWNER}</Dial>" in twiml and "+15559999999" not in twiml
    assert f'callerId="{CALLED}"' in twiml and 'timeout="20"' in twiml
    [escalation] = await env.repo.escalations_for_call(env.ctx.call_sid)
    assert escalation.outcome == "transferred" and escalation.source == "llm"


async def test_transfer_outside_hours_offers_a_message(env: Env) -> None:
    env.clock.current = datetime(2026, 12, 5, 11, 0, tzinfo=NY)  # Saturday
    result = await env.call(transfer_to_human, reason="question")
    assert result["status"] == "message_offered" and "take_message" in result["next"]
    assert env.ctx.heard.waiting == 0 and env.ctx.end.reason is None
    [escalation] = await env.repo.escalations_for_call(env.ctx.call_sid)
    assert escalation.outcome == "message_offered"


async def test_transfer_without_twilio_offers_a_message(tmp_path: Path) -> None:
    async for env in _env(tmp_path, configured=False):
        env.clock.current = datetime(2026, 11, 30, 11, 0, tzinfo=NY)
        result = await env.call(transfer_to_human, reason="question")
        assert result["status"] == "message_offered"


async def test_browser_phone_call_is_never_handed_to_twilio(env: Env) -> None:
    env.clock.current = datetime(2026, 11, 30, 11, 0, tzinfo=NY)  # open, Twilio configured
    env.ctx.on_twilio = False  # a browser phone call: Twilio's REST API does not know it
    result = await env.call(transfer_to_human, reason="wants a person")
    assert result["status"] == "message_offered" and "browser" in result["why"]
    assert env.ctx.heard.waiting == 0 and env.fake.call_updates == []


async def test_transfer_limit_and_long_reason(env: Env) -> None:
    env.clock.current = datetime(2026, 11, 30, 11, 0, tzinfo=NY)
    assert "too long" in (await env.call(transfer_to_human, reason="r" * 301))["error"]
    env.ctx.done.transfers = env.ctx.limits.max_transfers
    result = await env.call(transfer_to_human, reason="again")
    assert result["status"] == "message_offered" and "limit" in result["why"]


async def test_failed_transfer_is_recorded_and_offers_a_message(env: Env) -> None:
    env.clock.current = datetime(2026, 11, 30, 11, 0, tzinfo=NY)
    env.fake.fail_next(endpoint="calls")
    await env.call(transfer_to_human, reason="upset")
    await env.harness.heard()
    assert env.ctx.end.reason is None  # the call goes on with Zylin
    [escalation] = await env.repo.escalations_for_call(env.ctx.call_sid)
    assert escalation.outcome == "failed"
    assert "rest_failed" in await env.actions()
    _connecting, frame = env.harness.said()
    assert isinstance(frame, LLMMessagesAppendFrame) and frame.run_llm
    assert "take_message" in str(frame.messages[0])


async def test_dtmf_escalate_without_llm(env: Env) -> None:
    env.clock.current = datetime(2026, 11, 30, 11, 0, tzinfo=NY)
    push = env.harness.llm.push_frame
    result = await escalate(env.ctx, "caller pressed 0", push_frame=push, source="dtmf")
    assert result["status"] == "transferring"
    again = await escalate(env.ctx, "pressed 0 again", push_frame=push, source="dtmf")
    assert again["status"] == "transferring" and env.ctx.heard.waiting == 1
    assert len(env.harness.said()) == 1  # "connecting you", once
    await env.harness.heard()
    assert len(env.fake.call_updates) == 1
    [escalation] = await env.repo.escalations_for_call(env.ctx.call_sid)
    assert escalation.source == "dtmf"


@pytest.mark.timing
async def test_transfer_runs_by_itself_if_no_speech_ends(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import tools.escalation as escalation_module

    monkeypatch.setattr(escalation_module, "AFTER_SPEECH_FALLBACK_SECS", 0.05)
    env.clock.current = datetime(2026, 11, 30, 11, 0, tzinfo=NY)
    await env.call(transfer_to_human, reason="upset")
    await asyncio.sleep(1.0)
    assert len(env.fake.call_updates) == 1 and env.ctx.heard.waiting == 0


# --- end_call ----------------------------------------------------------------------------------


async def test_end_call_says_goodbye_then_ends_the_call_once_it_was_heard(env: Env) -> None:
    run = await env.harness.run(end_call)
    assert run.result == {"status": "ending"}
    assert run.properties is not None and run.properties.run_llm is False
    assert env.ctx.end.reason == "bot_ended"
    frames = env.harness.said()
    assert [type(f) for f in frames] == [TTSSpeakFrame]  # the end waits for the goodbye
    assert isinstance(frames[0], TTSSpeakFrame)
    assert frames[0].text == "Thanks for calling Bright Smile Dental. Goodbye!"
    await env.harness.heard()  # Twilio echoed the mark after the goodbye
    assert [type(f) for f in env.harness.said()] == [TTSSpeakFrame, EndWorkerFrame]
    await env.harness.run(end_call)  # a second call says and ends nothing more
    await env.harness.heard()
    assert len(env.harness.said()) == 2


async def test_two_end_calls_in_one_reply_say_one_goodbye(env: Env) -> None:
    """Pipecat runs a reply's tool calls in parallel."""
    await asyncio.gather(env.harness.run(end_call), env.harness.run(end_call))
    assert [type(f) for f in env.harness.said()] == [TTSSpeakFrame]
    assert env.ctx.heard.waiting == 1
