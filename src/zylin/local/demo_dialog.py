"""The demo brain's dialog state, and how caller turns and tool results change it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from zylin.business.profile import BusinessProfile
from zylin.local.demo_phrasing import Phrasing
from zylin.local.demo_tool_results import (
    Appointment,
    ToolCall,
    appointment_list,
    error_of,
    slot_list,
)
from zylin.local.demo_understanding import Utterance, understand
from zylin.local.demo_when import in_part

_TASKS = ("book", "cancel", "reschedule", "message")
# Below this confidence a turn that answers a question is asked again rather than trusted.
LOW_CONFIDENCE = 0.5
_MAX_REASKS = 2
# What was asked -> the phrase that asks again when the answer was heard badly.
_REASK = {
    "name": "unsure_name",
    "time": "unsure_time",
    "new_time": "unsure_time",
    "day": "unsure_day",
    "new_day": "unsure_day",
    "service": "unsure_service",
    "which": "unsure",
    "confirm": "unsure_confirm",
}


@dataclass
class Dialog:
    """Conversation state, rebuilt from the context messages on every inference."""

    intent: str | None = None
    service: str | None = None
    day: date | None = None
    time: time | None = None
    part: str | None = None
    name: str | None = None
    phone: str | None = None
    this_number: bool = False
    message: str | None = None
    hint_service: str | None = None
    hint_day: date | None = None
    awaiting: str | None = None
    slots: list[time] | None = None
    slots_for: tuple[str, date] | None = None
    appointments: list[Appointment] | None = None
    appointment: Appointment | None = None
    notes: list[str] = field(default_factory=list)
    finished: bool = False
    offer_pending: bool = False
    had_error: bool = False
    calls_this_turn: int = 0
    last_call: ToolCall | None = None
    confirmed: bool = False
    ask_change: bool = False
    unsure: int = 0  # turns in a row heard with low confidence while a slot was asked for

    def reset_task(self) -> None:
        """Forget the finished task's slots; keep who the caller is."""
        self.intent = None
        self.service = self.day = self.time = self.part = self.message = None
        self.hint_service = self.hint_day = None
        self.slots = self.slots_for = None
        self.appointments = None
        self.appointment = None
        self.offer_pending = False
        self.confirmed = self.ask_change = False


def choose_appointment(d: Dialog, u: Utterance) -> None:
    """Pick the appointment the caller means ("the checkup", "Monday's", "the second")."""
    options = d.appointments or []
    picked = [
        a
        for a in options
        if (u.service is None or (a.service or "").lower() == u.service.lower())
        and (u.day is None or (a.start is not None and a.start.date() == u.day))
    ]
    if u.ordinal and options:
        picked = [options[u.ordinal - 1 if u.ordinal > 0 else -1]]
    if len(picked) == 1:
        d.appointment = picked[0]


class DialogTracker:
    """Folds caller turns and tool results into a `Dialog`; notes carry what must be said."""

    def __init__(
        self, profile: BusinessProfile, now: Callable[[], datetime], phrasing: Phrasing
    ) -> None:
        """Keep the profile, the injected clock and the phrasing."""
        self._profile = profile
        self._now = now
        self._phrasing = phrasing

    def on_user(self, d: Dialog, text: str, confidence: float | None = None) -> None:
        """Fold one caller turn into the dialog state.

        Args:
            d: The state so far.
            text: What the caller said, as transcribed or typed.
            confidence: The recognizer's confidence (0-1) in `text`; None trusts it.
        """
        say = self._phrasing.say
        d.notes = []
        d.calls_this_turn = 0
        d.last_call = None
        d.had_error = False
        d.confirmed = d.ask_change = False
        u = understand(text, self._profile, self._now(), awaiting=d.awaiting)
        if self._heard_badly(d, u, confidence):
            return
        if d.awaiting == "offer_message" and u.intent != "end":
            d.offer_pending = False
            if u.no and not u.intent:
                d.reset_task()
                d.notes.append(say("what_else"))
                return
        if d.awaiting == "message" and u.intent != "end":
            d.message = text.strip()
            return
        if d.awaiting == "anything_else" and not u.intent and not u.info and not u.faq_answer:
            if u.no and not (u.service or u.day or u.time):
                u.intent = "end"
            elif not (u.service or u.day or u.time):
                d.notes.append(say("what_else"))
        if u.intent in ("end", "human"):
            d.intent = u.intent
            return
        if d.awaiting == "confirm" and self._on_read_back_answer(d, u):
            return
        if u.intent in _TASKS and u.intent != d.intent:
            d.reset_task()
            d.intent = u.intent
        elif d.intent is None and (u.service or u.day or u.time) and not u.info:
            d.intent = "book"  # "a cleaning on Monday" on its own means a booking
        d.notes.extend(self._phrasing.info_notes(u))
        if u.name and (d.awaiting in ("name", "confirm") or not d.name or u.intent is None):
            d.name = u.name
        if u.phone:
            d.phone = u.phone
        if u.this_number or (d.awaiting == "phone" and u.yes and not u.phone):
            d.this_number = True
        if u.message and d.intent == "message":
            d.message = u.message
        if d.intent in ("cancel", "reschedule") and d.awaiting == "which":
            choose_appointment(d, u)
            return
        if d.intent == "cancel" and d.awaiting == "confirm":
            choose_appointment(d, u)  # "no, the checkup": read the other one back
            return
        if d.intent in ("cancel", "reschedule") and d.appointment is None:
            d.hint_service = u.service or d.hint_service
            if d.intent == "cancel":
                d.hint_day = u.day or d.hint_day
                return
        if d.intent in ("book", "reschedule"):
            self._take_when(d, u)

    def _take_when(self, d: Dialog, u: Utterance) -> None:
        """The service, day, time or part of the day the caller gave; only what was said."""
        if u.service and d.intent == "book":
            d.service = u.service
        if u.day:
            d.day = u.day
        if u.time:
            d.time, d.part = u.time, None
        elif u.part:
            d.part = u.part
            if d.time is not None and not in_part(d.time, u.part):
                d.time = None  # "no, in the afternoon": ask which time then

    def _heard_badly(self, d: Dialog, u: Utterance, confidence: float | None) -> bool:
        """Ask again when an answer to a question was heard with low confidence."""
        asked = d.awaiting
        unsure = confidence is not None and confidence < LOW_CONFIDENCE
        if not unsure or asked not in _REASK or u.intent in ("end", "human"):
            d.unsure = 0
            return False
        d.unsure += 1
        if d.unsure > _MAX_REASKS:  # take it: the read-back will catch a mistake
            d.unsure = 0
            return False
        key = _REASK[asked]
        if asked == "name" and d.unsure == _MAX_REASKS:
            key = "unsure_name_spell"
        d.notes.append(self._phrasing.say(key))
        return True

    def _on_read_back_answer(self, d: Dialog, u: Utterance) -> bool:
        """A yes, a no or a correction after a read-back; True when nothing more to fold."""
        say = self._phrasing.say
        if u.never_mind and u.yes:  # "yeah, leave it": book as read, or drop it? Ask again.
            d.notes.append(say(_REASK["confirm"]))
            return True
        if u.never_mind:
            d.reset_task()
            d.notes.append(say("left_as_it_was"))
            return True
        if u.changes or (d.intent == "cancel" and u.ordinal):
            return False  # a correction: fold it in, then read back again
        if u.yes:
            d.confirmed = True
            return True
        if u.no and d.intent == "cancel":
            d.reset_task()
            d.notes.append(say("left_as_it_was"))
            return True
        if u.no:
            d.ask_change = True
            return True
        return False

    def on_tool_result(self, d: Dialog, call: ToolCall, result: Any) -> None:
        """Fold a tool's result into the state; notes carry what must be said about it."""
        say = self._phrasing.say
        d.calls_this_turn += 1
        d.last_call = call
        error = error_of(result)
        name = call.name
        if name == "end_call":
            d.finished = True
            return
        if name == "transfer_to_human":
            self._on_transfer(d, result, error)
            return
        if error:
            d.had_error = True
            d.notes.append(say("tool_error", error=error))
        if name == "check_availability":
            self._on_availability(d, call, result, error)
        elif name == "book_appointment":
            self._on_booked(d, call, error)
        elif name == "find_my_appointments":
            self._on_appointments(d, result, error)
        elif name == "cancel_appointment":
            self._on_cancelled(d, error)
        elif name == "reschedule_appointment":
            if not error and d.day and d.time:
                day, at = self._phrasing.day_words(d.day), self._phrasing.time_words(d.time)
                d.notes.append(say("rescheduled", day=day, time=at))
                self._task_done(d)
            elif error:
                d.time = None
        elif name == "take_message":
            if not error:
                d.notes.append(say("message_taken", name=d.name or "there"))
                self._task_done(d)
            else:
                d.reset_task()

    def _on_transfer(self, d: Dialog, result: Any, error: str | None) -> None:
        if error:
            d.notes.append(self._phrasing.say("transfer_failed", error=error))
        elif isinstance(result, Mapping) and result.get("say"):
            d.notes.append(str(result["say"]))
        if not error and isinstance(result, Mapping) and result.get("status") == "transferring":
            d.finished = True
        else:  # the owner can't be reached: offer a message instead
            d.reset_task()
            d.intent = "message"
            d.offer_pending = True

    def _on_availability(self, d: Dialog, call: ToolCall, result: Any, error: str | None) -> None:
        if error:
            d.day = d.time = None
            d.slots = d.slots_for = None
            return
        d.slots = slot_list(result)
        d.slots_for = (str(call.arguments.get("service")), d.day or date.min)
        if not d.slots and isinstance(result, Mapping) and result.get("message"):
            d.notes.append(str(result["message"]))
            if result.get("nearest_in_words"):
                d.notes.append(self._phrasing.say("nearest", times=result["nearest_in_words"]))
            d.day = None
            d.slots = d.slots_for = None

    def _on_booked(self, d: Dialog, call: ToolCall, error: str | None) -> None:
        if error:
            if d.slots is not None and d.time is not None and d.time in d.slots:
                d.slots.remove(d.time)  # offer the other free times straight away
            d.time = None
            return
        service = d.service or str(call.arguments.get("service"))
        d.notes.append(
            self._phrasing.say(
                "booked",
                service=service.lower(),
                day=self._phrasing.day_words(d.day) if d.day else "",
                time=self._phrasing.time_words(d.time) if d.time else "",
                name=d.name or "",
            )
        )
        self._task_done(d)

    def _on_appointments(self, d: Dialog, result: Any, error: str | None) -> None:
        d.appointments = [] if error else appointment_list(result, self._profile.tz)
        if not error and not d.appointments:
            d.notes.append(self._phrasing.say("no_appointments"))
            self._task_done(d)
        elif error:
            d.reset_task()
        elif len(d.appointments) == 1:
            d.appointment = d.appointments[0]
        else:
            hint = Utterance(text="", words=[], service=d.hint_service, day=d.hint_day)
            choose_appointment(d, hint)

    def _on_cancelled(self, d: Dialog, error: str | None) -> None:
        if error:
            d.reset_task()
            return
        appt = d.appointment
        if appt and appt.start and appt.service:
            d.notes.append(
                self._phrasing.say(
                    "cancelled",
                    service=appt.service.lower(),
                    day=self._phrasing.day_words(appt.start.date()),
                    time=self._phrasing.time_words(appt.start.time()),
                )
            )
        else:
            d.notes.append(self._phrasing.say("cancelled_plain"))
        self._task_done(d)

    def _task_done(self, d: Dialog) -> None:
        d.reset_task()
        d.notes.append(self._phrasing.say("anything_else"))
        d.awaiting = "anything_else"
