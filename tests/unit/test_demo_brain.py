"""The demo brain in a real Pipecat pipeline: real LLMContext, real aggregator, tool doubles."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from datetime import time as dt_time
from typing import Any

import pytest
from pipecat.frames.frames import (
    Frame,
    FunctionCallResultProperties,
    LLMContextFrame,
    LLMMessagesAppendFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMAssistantAggregator
from pipecat.services.llm_service import FunctionCallParams
from pipecat.tests.utils import SleepFrame, run_test

from tests.profile_data import ISSUE_PROFILE
from zylin.business.profile import BusinessProfile
from zylin.local.demo_brain import DemoBrainLLMService
from zylin.local.demo_understanding import (
    parse_day,
    parse_name,
    parse_time,
    tokenize,
    understand,
)
from zylin.local.heard import ExpectFrame, Heard, HeardFrame
from zylin.local.spoken import money_words, number_words, ordinal_words, time_words

PROFILE = ISSUE_PROFILE
# Wednesday 25 November 2026, 10:00 in New York.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


class ToolDoubles:
    """Stand-ins for Zylin's tools (not our code under test): record calls, return JSON."""

    def __init__(
        self,
        *,
        free: Sequence[str] = ("09:00", "09:30", "10:00", "10:30", "14:00"),
        appointments: Sequence[dict[str, Any]] = (),
        fail: dict[str, str] | None = None,
        owner_away: bool = False,
    ) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.free = list(free)
        self.appointments = list(appointments)
        self.fail = fail or {}
        self.owner_away = owner_away

    async def _answer(self, params: FunctionCallParams, name: str, result: dict[str, Any]) -> None:
        self.calls.append((name, dict(params.arguments)))
        if name in self.fail:
            result = {"error": self.fail[name]}
        await params.result_callback(result)

    def functions(self) -> list[Any]:
        doubles = self

        async def check_availability(params: FunctionCallParams, date: str, service: str) -> None:
            """Free start times for a service on a date.

            Args:
                date: Day, YYYY-MM-DD.
                service: Service name.
            """
            result: dict[str, Any] = {"date": date, "service": service, "free_times": doubles.free}
            if not doubles.free:
                result["message"] = "Nothing is free for that day."
                result["nearest_in_words"] = "Friday at 9:00 AM"
            await doubles._answer(params, "check_availability", result)

        async def book_appointment(
            params: FunctionCallParams, service: str, start: str, caller_name: str, notes: str
        ) -> None:
            """Book an appointment.

            Args:
                service: Service name.
                start: Local start, YYYY-MM-DDTHH:MM.
                caller_name: Caller's name.
                notes: Anything else.
            """
            await doubles._answer(params, "book_appointment", {"appointment_id": "A1"})

        async def find_my_appointments(params: FunctionCallParams) -> None:
            """The caller's upcoming appointments."""
            result = {"appointments": doubles.appointments}
            await doubles._answer(params, "find_my_appointments", result)

        async def cancel_appointment(params: FunctionCallParams, appointment_id: int) -> None:
            """Cancel an appointment.

            Args:
                appointment_id: Which one.
            """
            await doubles._answer(params, "cancel_appointment", {"cancelled": True})

        async def reschedule_appointment(
            params: FunctionCallParams, appointment_id: int, new_start: str
        ) -> None:
            """Move an appointment.

            Args:
                appointment_id: Which one.
                new_start: Local start, YYYY-MM-DDTHH:MM.
            """
            await doubles._answer(params, "reschedule_appointment", {"ok": True})

        async def take_message(
            params: FunctionCallParams, caller_name: str, message: str, callback_number: str
        ) -> None:
            """Take a message for the owner.

            Args:
                caller_name: Caller's name.
                message: The message.
                callback_number: Where to call back.
            """
            await doubles._answer(params, "take_message", {"status": "taken"})

        async def transfer_to_human(params: FunctionCallParams, reason: str) -> None:
            """Transfer to the owner.

            Args:
                reason: Why.
            """
            result = {"status": "transferring", "say": "One moment, connecting you now."}
            if doubles.owner_away:
                result = {"status": "message_offered", "say": "Nobody can take your call now."}
            await doubles._answer(params, "transfer_to_human", result)

        async def end_call(params: FunctionCallParams) -> None:
            """Hang up after the goodbye."""
            doubles.calls.append(("end_call", dict(params.arguments)))
            await params.result_callback(
                {"status": "ending"}, properties=FunctionCallResultProperties(run_llm=False)
            )

        return [
            check_availability,
            book_appointment,
            find_my_appointments,
            cancel_appointment,
            reschedule_appointment,
            take_message,
            transfer_to_human,
            end_call,
        ]


async def converse(
    turns: list[str], tools: ToolDoubles
) -> tuple[list[str], LLMContext, Sequence[Frame]]:
    """Run the caller's turns through brain + assistant aggregator; return what it said."""
    profile = BusinessProfile.model_validate(PROFILE)
    context = LLMContext(messages=[{"role": "system", "content": "demo"}], tools=tools.functions())
    brain = DemoBrainLLMService(profile=profile, now=lambda: NOW)
    assistant = LLMAssistantAggregator(context)
    frames: list[Frame] = [LLMContextFrame(context), SleepFrame(0.05)]
    for turn in turns:
        frames.append(
            LLMMessagesAppendFrame(messages=[{"role": "user", "content": turn}], run_llm=True)
        )
        frames.append(SleepFrame(0.15))
    down, _ = await run_test(Pipeline([brain, assistant]), frames_to_send=frames)
    said = [m.get("content") for m in plain_messages(context) if m.get("role") == "assistant"]
    return [s for s in said if isinstance(s, str) and s], context, down


def plain_messages(context: LLMContext) -> list[dict[str, Any]]:
    """The context's standard (OpenAI-shaped) messages as plain dicts."""
    return [dict(m) for m in context.get_messages() if isinstance(m, dict)]


async def test_greets_then_books_through_availability_and_booking_tools() -> None:
    tools = ToolDoubles()
    said, context, down = await converse(
        [
            "I'd like to book a cleaning on Monday at ten thirty a.m.",
            "My name is John Smith",
            "Yes",
        ],
        tools,
    )
    assert said[0].startswith("Thank you for calling Bright Smile Dental")
    assert tools.calls == [
        ("check_availability", {"date": "2026-11-30", "service": "Cleaning"}),
        (
            "book_appointment",
            {
                "service": "Cleaning",
                "start": "2026-11-30T10:30",
                "caller_name": "John Smith",
                "notes": "",
            },
        ),
    ]
    assert any("name" in s.lower() for s in said)
    assert said[-2] == (
        "A cleaning on Monday, November thirtieth at ten thirty a.m. for John Smith. "
        "Shall I book it?"
    )
    assert "all set" in said[-1] and "John Smith" in said[-1]
    assert any(type(f).__name__ == "LLMContextAssistantTurnFrame" for f in down)
    tool_messages = [m for m in plain_messages(context) if m.get("role") == "tool"]
    assert json.loads(str(tool_messages[-1]["content"])) == {"appointment_id": "A1"}


async def test_asks_for_missing_slots_one_at_a_time() -> None:
    tools = ToolDoubles()
    said, _, _ = await converse(
        ["I want to make an appointment", "a checkup", "tomorrow", "two p.m.", "Ann Lee", "yep"],
        tools,
    )
    assert "Which service" in said[1]
    assert "What day" in said[2]
    assert "What time" in said[3]
    assert "name" in said[4]
    assert tools.calls[0] == ("check_availability", {"date": "2026-11-26", "service": "Checkup"})
    assert tools.calls[1][1]["start"] == "2026-11-26T14:00"
    assert tools.calls[1][1]["caller_name"] == "Ann Lee"


async def test_unavailable_time_offers_nearest_slots_and_closed_day_is_refused() -> None:
    tools = ToolDoubles(free=["09:00", "11:00", "11:30", "15:00"])
    said, _, _ = await converse(
        ["book a whitening on saturday", "monday at ten", "eleven thirty", "Sam Green", "sure"],
        tools,
    )
    assert "closed on Saturday" in said[1]
    assert "not available" in said[2] and "eleven a.m." in said[2]
    assert tools.calls[-1][0] == "book_appointment"
    assert tools.calls[-1][1]["start"] == "2026-11-30T11:30"


async def test_tool_error_is_spoken_to_the_caller() -> None:
    error = "Sorry, that time was just taken. The nearest free times are 9:30 AM."
    tools = ToolDoubles(fail={"book_appointment": error})
    said, _, _ = await converse(
        ["book a cleaning monday at 9 am", "my name is Lee", "that's right"], tools
    )
    assert said[-1] == f"{error} What time would you like?"


async def test_answers_hours_prices_and_faq_from_the_profile() -> None:
    tools = ToolDoubles()
    said, _, _ = await converse(
        ["What are your hours on Friday?", "how much is a whitening", "do you take insurance"],
        tools,
    )
    assert "nine a.m. to one p.m." in said[1]
    assert "two hundred fifty dollars" in said[2]
    assert "most major plans" in said[3]
    assert tools.calls == []


async def test_cancel_finds_then_cancels_the_appointment() -> None:
    appts = [{"appointment_id": 42, "service": "Cleaning", "start": "2026-11-30T10:30"}]
    tools = ToolDoubles(appointments=appts)
    said, _, _ = await converse(["I need to cancel my appointment", "yes please"], tools)
    assert "I have a cleaning on Monday, November thirtieth at ten thirty a.m." in said[1]
    assert tools.calls == [
        ("find_my_appointments", {}),
        ("cancel_appointment", {"appointment_id": 42}),
    ]
    assert "cleaning on Monday, November thirtieth at ten thirty a.m. is cancelled" in said[-1]


async def test_cancel_asks_which_when_there_are_several() -> None:
    appts = [
        {"appointment_id": 1, "service": "Cleaning", "start": "2026-11-30T10:30"},
        {"appointment_id": 2, "service": "Checkup", "start": "2026-12-02T09:00"},
    ]
    tools = ToolDoubles(appointments=appts)
    said, _, _ = await converse(["cancel my appointment please", "the checkup", "yes"], tools)
    assert "Which one" in said[1]
    assert tools.calls[-1] == ("cancel_appointment", {"appointment_id": 2})


async def test_reschedule_moves_the_appointment() -> None:
    appts = [{"appointment_id": 7, "service": "Checkup", "start": "2026-11-30T10:30"}]
    tools = ToolDoubles(appointments=appts)
    said, _, _ = await converse(
        ["I'd like to reschedule my appointment", "Tuesday at 3 pm", "go ahead"], tools
    )
    assert tools.calls[-1] == (
        "reschedule_appointment",
        {"appointment_id": 7, "new_start": "2026-12-01T15:00"},
    )
    assert "Tuesday, December first at three p.m." in said[-1]


async def test_takes_a_message() -> None:
    tools = ToolDoubles()
    said, _, _ = await converse(
        [
            "Can I leave a message?",
            "This is Maria Garcia",
            "Please ask about my x-ray results",
            "five five five one two three four five six seven",
        ],
        tools,
    )
    assert tools.calls == [
        (
            "take_message",
            {
                "caller_name": "Maria Garcia",
                "message": "Please ask about my x-ray results",
                "callback_number": "5551234567",
            },
        )
    ]
    assert "Maria Garcia" in said[-1] or "Maria Garcia" in said[-2]


@pytest.mark.parametrize("utterance", ["Can I speak to a real person?", "operator"])
async def test_transfer_to_human(utterance: str) -> None:
    tools = ToolDoubles()
    said, _, _ = await converse([utterance], tools)
    assert tools.calls == [("transfer_to_human", {"reason": "caller asked for a person"})]
    assert said[-1] == "One moment, connecting you now."


async def test_owner_away_turns_the_transfer_into_a_message() -> None:
    tools = ToolDoubles(owner_away=True)
    said, _, _ = await converse(
        [
            "let me talk to the owner",
            "yes please",
            "Tom Lee",
            "call me about the bill",
            "my number",
        ],
        tools,
    )
    assert said[1] == "Nobody can take your call now."
    assert tools.calls[-1] == (
        "take_message",
        {"caller_name": "Tom Lee", "message": "call me about the bill", "callback_number": ""},
    )


async def test_nothing_free_reports_nearest_and_asks_for_another_day() -> None:
    tools = ToolDoubles(free=[])
    said, _, _ = await converse(["book a cleaning on monday"], tools)
    assert "Nothing is free" in said[-1] and "Friday at 9:00 AM" in said[-1]
    assert "What day" in said[-1]


async def test_goodbye_ends_the_call() -> None:
    tools = ToolDoubles()
    said, _, _ = await converse(["that's all, thanks, bye"], tools)
    assert tools.calls == [("end_call", {})]
    assert not any("Goodbye" in line for line in said)  # end_call itself says goodbye


async def test_no_after_anything_else_ends_the_call() -> None:
    tools = ToolDoubles()
    said, _, _ = await converse(["what services do you offer", "no"], tools)
    assert "cleaning, checkup or whitening" in said[1]
    assert tools.calls == [("end_call", {})]


@pytest.mark.parametrize(
    ("heard", "name"),
    [
        ("my name is Ann Lee", "Ann Lee"),
        ("my name Ann Lee", "Ann Lee"),
        ("my robert", "Robert"),
        ("name is robert", "Robert"),
        ("yes this is Maria please", "Maria"),
        ("I am called Sam", "Sam"),
        ("Ann Lee", "Ann Lee"),
        ("Mylene", "Mylene"),
        ("please", None),
        ("Hi, this is Jamie Fox, can I book a cleaning next Monday?", "Jamie Fox"),
        ("my name is Ann and I would like a checkup", "Ann"),
        ("it's Priya calling about my appointment", "Priya"),
    ],
)
def test_parse_name_drops_the_words_around_a_name(heard: str, name: str | None) -> None:
    assert parse_name(heard) == name


@pytest.mark.parametrize(
    ("heard", "awaiting", "name"),
    [
        ("Okay, okay, so my name is Ann", None, "Ann"),
        ("Okay, okay, so my name is Ann", "name", "Ann"),
        ("Hi, um, I'd like to book, my name is Ann Lee", None, "Ann Lee"),
        ("Sure! This is Alex Tester.", None, "Alex Tester"),
        ("this is Alex Tester", "name", "Alex Tester"),
        ("it's Priya", "name", "Priya"),
        ("Thanks, it's Priya", "name", "Priya"),
        ("Yeah, I'm Sam", "name", "Sam"),
        ("Priya", "name", "Priya"),
        ("Priya", None, None),  # a bare word is a name only when one was asked for
        ("no", "name", None),
    ],
)
def test_understand_reads_the_name_after_its_cue(
    heard: str, awaiting: str | None, name: str | None
) -> None:
    profile = BusinessProfile.model_validate(PROFILE)
    assert understand(heard, profile, NOW, awaiting=awaiting).name == name


@pytest.mark.parametrize(
    ("hour", "minute", "said"),
    [(11, 0, "eleven a.m."), (14, 30, "two thirty p.m."), (9, 5, "nine oh five a.m.")],
)
def test_times_are_said_as_the_parser_reads_them(hour: int, minute: int, said: str) -> None:
    assert time_words(hour, minute) == said
    assert parse_time(tokenize(said), expecting=True) == dt_time(hour, minute)


def test_every_bookable_time_and_day_said_by_the_brain_reads_back() -> None:
    for hour in range(7, 20):
        for minute in range(0, 60, 5):
            said = tokenize(time_words(hour, minute))
            assert parse_time(said, expecting=True) == dt_time(hour, minute), said
    today = NOW.date()
    for day in range(1, 32):
        said = tokenize(f"december {ordinal_words(day)}")
        assert parse_day(said, today) == date(2026, 12, day), said


def test_numbers_from_num2words_are_said_without_hyphens_or_and() -> None:
    assert number_words(45) == "forty five"
    assert number_words(105) == "one hundred five"
    assert ordinal_words(21) == "twenty first"
    assert money_words("$250") == "two hundred fifty dollars"


async def test_the_recognizers_confidence_reaches_the_brain_and_its_question_goes_back() -> None:
    """A `HeardFrame` before a turn sets its confidence; the question asked goes upstream."""
    tools = ToolDoubles()
    profile = BusinessProfile.model_validate(PROFILE)
    context = LLMContext(messages=[{"role": "system", "content": "demo"}], tools=tools.functions())
    brain = DemoBrainLLMService(profile=profile, now=lambda: NOW)
    assistant = LLMAssistantAggregator(context)
    frames: list[Frame] = [LLMContextFrame(context), SleepFrame(0.05)]
    for turn, confidence in [("book a cleaning on Monday at ten", None), ("Lee You", 0.1)]:
        if confidence is not None:
            frames.append(HeardFrame(heard=Heard(turn, confidence)))
        frames.append(
            LLMMessagesAppendFrame(messages=[{"role": "user", "content": turn}], run_llm=True)
        )
        frames.append(SleepFrame(0.15))
    _, up = await run_test(Pipeline([brain, assistant]), frames_to_send=frames)
    said = [m.get("content") for m in plain_messages(context) if m.get("role") == "assistant"]
    assert said[-1] == "Sorry, I didn't quite catch your name. Could you say it again?"
    assert [f.expect for f in up if isinstance(f, ExpectFrame)][-2:] == ["name", "name"]
    assert [name for name, _ in tools.calls] == ["check_availability"]
