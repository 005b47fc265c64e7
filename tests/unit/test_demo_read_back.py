"""The demo brain reads bookings, moves and cancellations back and acts only after a yes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from tests.profile_data import ISSUE_PROFILE
from zylin.business.profile import BusinessProfile
from zylin.local.demo_brain import DemoBrain, load_phrases
from zylin.local.demo_understanding import tokenize, understand
from zylin.local.demo_when import find_day, parse_time, part_of_day
from zylin.local.demo_yes_no import says_never_mind, says_no, says_yes
from zylin.local.heard import Heard, HeardLog
from zylin.local.nbest import agreement, rescore

PROFILE = BusinessProfile.model_validate(ISSUE_PROFILE)
# Tuesday 1 December 2026, 09:00 in New York: "tomorrow" is Wednesday the 2nd.
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)
FREE = ["09:00", "09:30", "10:00", "10:30", "11:00", "14:00", "14:30", "15:00"]
APPOINTMENT = {"appointment_id": 7, "service": "Checkup", "start": "2026-12-03T10:30"}


@dataclass
class Call:
    """A conversation with the brain; tool results are scripted (the tools are not tested)."""

    confidence: Callable[[str], float | None] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    tools: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.brain = DemoBrain(PROFILE, lambda: NOW, load_phrases())
        self._answer()

    def _result(self, name: str) -> dict[str, Any]:
        if name == "check_availability":
            return {"free_times": FREE}
        if name == "find_my_appointments":
            return {"appointments": [APPOINTMENT]}
        return {"ok": True}

    def _answer(self) -> None:
        for _ in range(6):
            reply = self.brain.respond(self.messages, self.confidence)
            if reply.text:
                self.said.append(reply.text)
                self.messages.append({"role": "assistant", "content": reply.text})
            if reply.call is None:
                return
            self.tools.append((reply.call.name, reply.call.arguments))
            call_id = f"call_{len(self.messages)}"
            function = {"name": reply.call.name, "arguments": json.dumps(reply.call.arguments)}
            self.messages.append(
                {"role": "assistant", "tool_calls": [{"id": call_id, "function": function}]}
            )
            content = json.dumps(self._result(reply.call.name))
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})

    def say(self, *turns: str) -> str:
        """The caller says each turn; returns Zylin's last line."""
        for turn in turns:
            self.messages.append({"role": "user", "content": turn})
            self._answer()
        return self.said[-1]

    def called(self, name: str) -> list[dict[str, Any]]:
        return [args for tool, args in self.tools if tool == name]


BOOK_REQUEST = "I'd like to book a cleaning tomorrow at ten in the morning"


@pytest.mark.parametrize(
    ("answer", "name"),
    [("Alex Tester", "Alex Tester"), ("it's Priya", "Priya"), ("this is Sam Lee", "Sam Lee")],
)
@pytest.mark.parametrize("yes", ["yes please", "yeah that's fine", "sounds good", "go ahead"])
def test_booking_is_read_back_and_made_only_after_a_yes(answer: str, name: str, yes: str) -> None:
    call = Call()
    assert "name" in call.say(BOOK_REQUEST)
    read_back = call.say(answer)
    assert read_back == (
        f"A cleaning on Wednesday, December second at ten a.m. for {name}. Shall I book it?"
    )
    assert call.called("book_appointment") == []
    assert "all set" in call.say(yes)
    assert call.called("book_appointment") == [
        {"service": "Cleaning", "start": "2026-12-02T10:00", "caller_name": name, "notes": ""}
    ]


@pytest.mark.parametrize("mixed", ["yeah leave it", "yes keep it"])
def test_a_yes_mixed_with_never_mind_is_asked_again_not_guessed(mixed: str) -> None:
    call = Call()
    call.say(BOOK_REQUEST, "Alex Tester")
    again = call.say(mixed)  # "yes please" misheard as "yeah leave it" (seen here)
    assert again.startswith("Sorry")
    assert "Shall I book it?" in again
    assert call.called("book_appointment") == []
    assert "all set" in call.say("yes please")
    assert len(call.called("book_appointment")) == 1


def test_a_correction_changes_only_its_part_and_is_read_back_again() -> None:
    call = Call()
    call.say(BOOK_REQUEST, "Alex Tester")
    assert call.say("no, make it eleven") == (
        "A cleaning on Wednesday, December second at eleven a.m. for Alex Tester. Shall I book it?"
    )
    again = call.say("the name is Priya")
    assert "at eleven a.m. for Priya." in again
    assert call.say("no, not Wednesday, I said Thursday").startswith(
        "A cleaning on Thursday, December third at eleven a.m. for Priya."
    )
    assert call.called("book_appointment") == []
    call.say("yes")
    assert call.called("book_appointment")[0]["start"] == "2026-12-03T11:00"
    assert call.called("book_appointment")[0]["caller_name"] == "Priya"


def test_a_plain_no_asks_what_to_change_and_never_mind_books_nothing() -> None:
    call = Call()
    call.say(BOOK_REQUEST, "Alex Tester")
    assert "What should I change?" in call.say("no")
    assert "for Alex Tester" in call.say("half past two")
    assert "two thirty p.m." in call.said[-1]
    assert "left everything as it was" in call.say("actually never mind")
    call.say("what are your hours on Friday")
    assert call.called("book_appointment") == []


def test_a_question_after_the_read_back_does_not_book() -> None:
    call = Call()
    call.say(BOOK_REQUEST, "Alex Tester")
    reply = call.say("do you take insurance")
    assert "most major plans" in reply and reply.endswith("Shall I book it?")
    assert call.called("book_appointment") == []


def test_only_a_part_of_the_day_asks_for_the_exact_time_in_it() -> None:
    call = Call()
    reply = call.say("could I book a checkup this Friday afternoon")
    assert reply == (
        "On Friday, December fourth in the afternoon I have two p.m., two thirty p.m. and "
        "three p.m. What time works for you?"
    )
    assert "name" in call.say("two thirty")
    assert "at two thirty p.m. for Ann" in call.say("my name is Ann")


def test_cancelling_is_read_back_and_a_no_keeps_the_appointment() -> None:
    call = Call()
    reply = call.say("I need to cancel my appointment")
    assert reply == (
        "I have a checkup on Thursday, December third at ten thirty a.m. Shall I cancel it?"
    )
    assert "left everything as it was" in call.say("no")
    assert call.called("cancel_appointment") == []
    call.say("please cancel my appointment", "yes cancel it")
    assert call.called("cancel_appointment") == [{"appointment_id": 7}]


def test_moving_is_read_back_and_corrected_before_it_is_done() -> None:
    call = Call()
    call.say("I want to move my appointment")
    reply = call.say("next Monday at eleven")
    assert reply == (
        "That moves a checkup on Thursday, December third at ten thirty a.m. to Monday, "
        "December seventh at eleven a.m. Shall I move it?"
    )
    assert "nine fifteen a.m." in call.say("actually make it quarter past nine")
    assert call.called("reschedule_appointment") == []
    call.say("perfect")
    assert call.called("reschedule_appointment") == [
        {"appointment_id": 7, "new_start": "2026-12-07T09:15"}
    ]


def test_low_confidence_answers_are_asked_again_then_spelled_then_taken() -> None:
    heard = HeardLog()
    for text in ("Lee You", "Leo", "Lee Yu"):
        heard.add(Heard(text, 0.1))
    call = Call(confidence=heard.confidence)
    call.say(BOOK_REQUEST)
    assert "didn't quite catch your name" in call.say("Lee You")
    assert "spell" in call.say("Leo")
    assert "for Lee Yu. Shall I book it?" in call.say("Lee Yu")  # the read-back catches it
    heard.add(Heard("yeah", 0.2))
    assert call.say("yeah") == (
        "Sorry, I didn't quite catch that. A cleaning on Wednesday, December second at ten a.m. "
        "for Lee Yu. Shall I book it?"
    )
    assert call.called("book_appointment") == []
    assert "all set" in call.say("yes please")  # typed, or heard without a score: trusted
    assert call.called("book_appointment")[0]["caller_name"] == "Lee Yu"


def test_heard_log_gives_a_joined_turn_its_lowest_confidence() -> None:
    log = HeardLog()
    log.add(Heard("book a cleaning", 0.9))
    log.add(Heard("tomorrow at ten", 0.3))
    assert log.confidence("Book a cleaning.") == 0.9
    assert log.confidence("book a cleaning tomorrow at ten") == 0.3
    assert log.confidence("typed by the eval bench") is None


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("tomorrow at ten in the morning", time(10, 0)),
        ("half past two", time(14, 30)),
        ("two thirty", time(14, 30)),
        ("noon", time(12, 0)),
        ("quarter to eleven", time(10, 45)),
        ("ten to three", time(14, 50)),
        ("at 9am", time(9, 0)),
        ("eleven fifteen", time(11, 15)),
        ("around four in the afternoon", time(16, 0)),
        ("no not ten, eleven", time(11, 0)),
    ],
)
def test_times_as_callers_say_them(said: str, expected: time) -> None:
    assert parse_time(tokenize(said), expecting=True) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("the 3rd", date(2026, 12, 3)),
        ("the 3rd of January", date(2027, 1, 3)),
        ("next Monday", date(2026, 12, 7)),
        ("this Friday afternoon", date(2026, 12, 4)),
        ("Tuesday", date(2026, 12, 8)),
        ("this Tuesday", date(2026, 12, 1)),
        ("the day after tomorrow", date(2026, 12, 3)),
        ("december twenty first", date(2026, 12, 21)),
    ],
)
def test_days_as_callers_say_them(said: str, expected: date) -> None:
    found = find_day(tokenize(said), TODAY)
    assert found is not None and found[0] == expected


def test_the_date_is_not_read_as_a_time_nor_a_part_of_day_as_one() -> None:
    u = understand("the 3rd in the afternoon", PROFILE, NOW, awaiting="confirm")
    assert u.day == date(2026, 12, 3) and u.time is None and u.part == "afternoon"
    assert part_of_day(tokenize("tomorrow morning")) == "morning"


@pytest.mark.parametrize(
    ("said", "yes", "no"),
    [
        ("yes please", True, False),
        ("yeah that's fine", True, False),
        ("uh, sure", True, False),
        ("sounds good", True, False),
        ("that works for me", True, False),
        ("no", False, True),
        ("nope, that's wrong", False, True),
        ("actually make it eleven", False, True),
        ("yes but I said Thursday", False, True),
        ("hmm", False, False),
    ],
)
def test_the_variants_of_yes_and_no(said: str, yes: bool, no: bool) -> None:
    words = tokenize(said)
    assert (says_yes(words), says_no(words)) == (yes, no)


def test_never_mind_and_names_that_are_not_names() -> None:
    assert says_never_mind(tokenize("oh forget it"))
    assert understand("it's eleven", PROFILE, NOW, awaiting="confirm").name is None
    assert understand("it's Priya", PROFILE, NOW, awaiting="confirm").name == "Priya"
    assert understand("put it under Kevin", PROFILE, NOW, awaiting="name").name == "Kevin"
    assert understand("tomorrow", PROFILE, NOW, awaiting="name").name is None
    assert understand("R O B E R T", PROFILE, NOW, awaiting="name").name == "Robert"
    assert understand("it's p r i y a", PROFILE, NOW, awaiting="name").name == "Priya"


def test_nbest_rescoring_prefers_the_hypothesis_that_answers_the_question() -> None:
    heard = ["tomorrow at a morning", "tomorrow at ten morning", "tomorrow at i do"]
    assert rescore(heard, "time") == 1
    assert rescore(["you lee", "yes lee", "yes please"], "confirm") == 1
    assert rescore(["you lee", "the leave"], "confirm") == 0  # nothing fits: the best path
    assert rescore(heard, None) == 0


def test_nbest_agreement_on_the_answer_is_a_confidence() -> None:
    heard = ["yeah lee", "yeah the", "yes leave", "you lee"]
    assert agreement(heard, 0, "confirm") == 0.75  # three of four say yes
    times = ["at ten thirty", "at ten thirty a.m.", "at two thirty", "at the"]
    assert agreement(times, 0, "time") == 0.5
    assert agreement(["you lee", "the leave"], 0, "confirm") == 0.0  # no answer in it
