"""The demo brain's policy: from the dialog state, the next words and the next tool call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from loguru import logger

from zylin.business.profile import BusinessProfile
from zylin.local.demo_dialog import Dialog
from zylin.local.demo_phrasing import Phrasing, join_words
from zylin.local.demo_tool_results import ToolCall
from zylin.local.demo_when import in_part

_MAX_CALLS_PER_TURN = 4

# (tool call, words to say with it or the question to ask, the slot asked for)
Step = tuple[ToolCall | None, str | None, str | None]


@dataclass
class Reply:
    """What one inference produces: words to say and at most one tool call."""

    text: str
    call: ToolCall | None
    awaiting: str | None


def _with(text: str, more: str | None) -> str:
    return f"{text} {more}".strip() if more else text


def nearest_slots(slots: list[time], wanted: time | None, count: int = 3) -> list[time]:
    """The `count` free times closest to the one wanted (the first ones without a wish)."""
    if wanted is None:
        return slots[:count]
    minutes = wanted.hour * 60 + wanted.minute
    best = sorted(slots, key=lambda t: abs(t.hour * 60 + t.minute - minutes))[:count]
    return sorted(best)


# The tool each booking intent ends in: without it on offer, the caller leaves a message.
_INTENT_TOOLS = {
    "book": "book_appointment",
    "cancel": "cancel_appointment",
    "reschedule": "reschedule_appointment",
}


class Policy:
    """Decides what to say and which tool to call next; asks for one missing slot at a time."""

    def __init__(self, profile: BusinessProfile, phrasing: Phrasing) -> None:
        """Keep the profile (opening hours) and the phrasing."""
        self._profile = profile
        self._phrasing = phrasing

    def decide(self, d: Dialog, offered: frozenset[str] | None = None) -> Reply:
        """The next thing to say and/or the next tool to call, with only the tools `offered`
        (None: all)."""
        say = self._phrasing.say
        notes = list(d.notes)
        text = " ".join(notes)
        if d.finished:
            return Reply(text, None, None)
        if d.calls_this_turn >= _MAX_CALLS_PER_TURN:
            d.reset_task()
            return Reply(_with(text, say("tool_unavailable")), None, None)
        call, question, awaiting = self._next_step(d, offered)
        if call is not None and call == d.last_call:
            logger.warning(f"demo brain: {call.name} repeated with the same arguments; giving up")
            d.reset_task()
            return Reply(_with(text, say("tool_unavailable")), None, None)
        if d.unsure and not call and d.awaiting != "confirm":  # the notes hold the re-ask
            return Reply(text, None, d.awaiting)
        if call is not None:
            return Reply(_with(text, question), call, None)
        if awaiting is not None:
            return Reply(_with(text, question), None, awaiting)
        if notes:
            if d.awaiting == "anything_else" and notes[-1] == say("anything_else"):
                return Reply(text, None, "anything_else")
            if notes[-1] == say("what_else"):
                return Reply(text, None, None)
            return Reply(_with(text, say("anything_else")), None, "anything_else")
        return Reply(say("fallback"), None, None)

    def _next_step(self, d: Dialog, offered: frozenset[str] | None = None) -> Step:
        say = self._phrasing.say
        tool = _INTENT_TOOLS.get(d.intent or "")
        if tool is not None and offered is not None and tool not in offered:
            d.intent = "message"  # closed for bookings (after hours): take a message instead
            call, question, awaiting = self._next_step(d, offered)
            return call, _with(say("no_booking_now"), question), awaiting
        if d.intent == "end":
            return ToolCall("end_call", {}), None, None  # end_call says the goodbye
        if d.intent == "human":
            reason = "caller asked for a person"
            return ToolCall("transfer_to_human", {"reason": reason}), None, None
        if d.intent == "book":
            return self._booking_step(d)
        if d.intent in ("cancel", "reschedule"):
            return self._change_step(d)
        if d.intent == "message":
            if d.offer_pending:
                return None, "", "offer_message"
            if not d.name:
                return None, say("ask_name"), "name"
            if not d.message:
                return None, say("ask_message"), "message"
            if not d.phone and not d.this_number:
                return None, say("ask_phone"), "phone"
            args = {"caller_name": d.name, "message": d.message, "callback_number": d.phone or ""}
            return ToolCall("take_message", args), None, None
        return None, None, None

    def _booking_step(self, d: Dialog) -> Step:
        say, words = self._phrasing.say, self._phrasing
        if not d.service:
            return None, say("ask_service", services=words.service_names()), "service"
        if not d.day:
            return None, say("ask_day"), "day"
        if self._profile.opening_on(d.day) is None:
            day = f"{d.day:%A}"
            d.day = None
            return None, say("closed_day", day=day), "day"
        if d.slots is None or d.slots_for != (d.service, d.day):
            args = {"date": d.day.isoformat(), "service": d.service}
            return ToolCall("check_availability", args), None, None
        day = words.day_words(d.day)
        if not d.slots:
            service, d.day = d.service.lower(), None
            return None, say("no_slots", service=service, day=day), "day"
        in_part_slots = [t for t in d.slots if in_part(t, d.part)]
        offer = join_words([words.time_words(t) for t in nearest_slots(in_part_slots, d.time)])
        if not d.time and d.part and not in_part_slots:
            offer = join_words([words.time_words(t) for t in nearest_slots(d.slots, None)])
            return None, say("no_slots_part", day=day, part=d.part, slots=offer), "time"
        if not d.time and d.had_error:
            return None, say("ask_time_plain"), "time"
        if not d.time and d.part:
            return None, say("ask_time_part", day=day, part=d.part, slots=offer), "time"
        if not d.time:
            return None, say("ask_time", day=day, slots=offer), "time"
        if d.time not in d.slots:
            taken = words.time_words(d.time)
            offer = join_words([words.time_words(t) for t in nearest_slots(d.slots, d.time)])
            d.time = None
            return None, say("slot_taken", time=taken, day=day, slots=offer), "time"
        if not d.name:
            return None, say("ask_name"), "name"
        if d.ask_change:
            return None, say("ask_change"), "confirm"
        if not d.confirmed:
            when = {"day": day, "time": words.time_words(d.time)}
            read_back = say("confirm_book", service=d.service.lower(), name=d.name, **when)
            return None, read_back, "confirm"
        args = {
            "service": d.service,
            "start": f"{d.day.isoformat()}T{d.time:%H:%M}",
            "caller_name": d.name,
            "notes": "",
        }
        return ToolCall("book_appointment", args), None, None

    def _change_step(self, d: Dialog) -> Step:
        say, words = self._phrasing.say, self._phrasing
        if d.appointments is None:
            return ToolCall("find_my_appointments", {}), None, None
        if d.appointment is None:
            listed = [words.appointment_words(a) for a in d.appointments]
            return None, say("which_appointment", appointments=join_words(listed)), "which"
        appt = d.appointment
        if d.intent == "cancel" and not d.confirmed:
            read_back = say("confirm_cancel", what=words.appointment_words(appt))
            return None, read_back, "confirm"
        if d.intent == "cancel":
            return ToolCall("cancel_appointment", {"appointment_id": appt.id}), None, None
        if not d.day:
            return None, say("ask_new_day"), "new_day"
        if self._profile.opening_on(d.day) is None:
            day = f"{d.day:%A}"
            d.day = None
            return None, say("closed_day", day=day), "new_day"
        if not d.time:
            return None, say("ask_new_time", day=words.day_words(d.day)), "new_time"
        if d.ask_change:
            return None, say("ask_change"), "confirm"
        if not d.confirmed:
            new = {"day": words.day_words(d.day), "time": words.time_words(d.time)}
            read_back = say("confirm_move", what=words.appointment_words(appt), **new)
            return None, read_back, "confirm"
        args = {
            "appointment_id": d.appointment.id,
            "new_start": f"{d.day.isoformat()}T{d.time:%H:%M}",
        }
        return ToolCall("reschedule_appointment", args), None, None
