"""A deterministic stand-in for the LLM: intent rules over the context, same tool-calling path."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from loguru import logger
from pipecat.frames.frames import (
    Frame,
    FunctionCallFromLLM,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
)
from pipecat.processors.aggregators.llm_context import (
    LLMContext,
    LLMSpecificMessage,
    standard_message_text,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.llm_service import LLMService
from pipecat.services.settings import LLMSettings

from zylin.business.profile import WEEKDAY_NAMES, WEEKDAYS, BusinessProfile
from zylin.local.demo_understanding import Utterance, understand
from zylin.local.spoken import MONTH_WORDS, money_words, ordinal_words, time_words

DEFAULT_PHRASES = Path(__file__).with_name("demo_phrases.yaml")
_TASKS = ("book", "cancel", "reschedule", "message")
_MAX_CALLS_PER_TURN = 4


@dataclass(frozen=True)
class ToolCall:
    """A tool the brain wants run, by the contract's names."""

    name: str
    arguments: dict[str, Any]


@dataclass
class Appointment:
    """An appointment as `find_my_appointments` reported it."""

    id: Any  # passed back exactly as the tool gave it (an int for Zylin's tools)
    service: str | None
    start: datetime | None


@dataclass
class Dialog:
    """Conversation state, rebuilt from the context messages on every inference."""

    intent: str | None = None
    service: str | None = None
    day: date | None = None
    time: time | None = None
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

    def reset_task(self) -> None:
        """Forget the finished task's slots; keep who the caller is."""
        self.intent = None
        self.service = self.day = self.time = self.message = None
        self.hint_service = self.hint_day = None
        self.slots = self.slots_for = None
        self.appointments = None
        self.appointment = None
        self.offer_pending = False


@dataclass
class Reply:
    """What one inference produces: words to say and at most one tool call."""

    text: str
    call: ToolCall | None
    awaiting: str | None


def _parse_tool_content(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except json.JSONDecodeError:
            return content
    return content


def _error_of(result: Any) -> str | None:
    if isinstance(result, Mapping) and result.get("error"):
        return str(result["error"])
    if isinstance(result, str) and result not in ("COMPLETED",):
        return result
    return None


def _as_time(value: Any) -> time | None:
    if isinstance(value, Mapping):
        value = value.get("start") or value.get("time")
    if not isinstance(value, str):
        return None
    try:
        if "T" in value or " " in value.strip():
            return datetime.fromisoformat(value).time().replace(second=0, microsecond=0)
        return time.fromisoformat(value).replace(second=0, microsecond=0)
    except ValueError:
        return None


def _as_datetime(value: Any, tz: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(tz) if parsed.tzinfo else parsed


def _slot_list(result: Any) -> list[time]:
    """Free start times from a `check_availability` result, whatever its exact shape."""
    items: Any = result
    if isinstance(result, Mapping):
        items = next(
            (
                result[k]
                for k in ("free_times", "slots", "available", "times", "starts")
                if isinstance(result.get(k), list)
            ),
            [],
        )
    if not isinstance(items, list):
        return []
    return sorted({t for t in (_as_time(i) for i in items) if t is not None})


def _appointment_list(result: Any, tz: Any) -> list[Appointment]:
    items: Any = result
    if isinstance(result, Mapping):
        items = result.get("appointments", [])
    out = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        ident = item.get("appointment_id", item.get("id"))
        if ident is None:
            continue
        service = item.get("service")
        out.append(
            Appointment(
                id=ident,
                service=str(service) if service else None,
                start=_as_datetime(item.get("start"), tz),
            )
        )
    return out


class DemoBrain:
    """The dialog policy: pure functions of the profile, the clock and the context messages."""

    def __init__(
        self, profile: BusinessProfile, now: Callable[[], datetime], phrases: Mapping[str, str]
    ) -> None:
        """Keep the profile, the injected clock and the phrasing table."""
        self._profile = profile
        self._now = now
        self._phrases = phrases

    # -- phrasing -------------------------------------------------------------------------
    def say(self, key: str, **values: Any) -> str:
        """A phrase from the YAML table with its placeholders filled."""
        text = self._phrases[key].format(business=self._profile.name, **values)
        return re.sub(r"(?<!\.)\.\.(?!\.)", ".", text)  # "a.m.." -> "a.m."

    def day_words(self, day: date) -> str:
        """ "Monday, November thirtieth" (spelled out so eSpeak and STT agree)."""
        return f"{day:%A}, {MONTH_WORDS[day.month - 1].capitalize()} {ordinal_words(day.day)}"

    @staticmethod
    def time_words(t: time) -> str:
        """Clock time as said aloud."""
        return time_words(t.hour, t.minute)

    def _join(self, items: list[str]) -> str:
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + " and " + items[-1]

    def _service_names(self) -> str:
        return self._join([s.name.lower() for s in self._profile.services]).replace(" and ", " or ")

    def _hours_text(self, day: date | None) -> str:
        if day is not None:
            window = self._profile.opening_on(day)
            name = f"{day:%A}"
            if window is None:
                return self.say("hours_day_closed", day=name)
            return self.say(
                "hours_day_open",
                day=name,
                opens=time_words(window.opens.hour, window.opens.minute),
                closes=time_words(window.closes.hour, window.closes.minute),
            )
        return self.say("hours_intro", hours=self._week_hours())

    def _week_hours(self) -> str:
        parts = []
        for key in WEEKDAYS:
            window = self._profile.hours.get(key)
            when = (
                f"{time_words(window.opens.hour, window.opens.minute)} to "
                f"{time_words(window.closes.hour, window.closes.minute)}"
                if window
                else "closed"
            )
            parts.append(f"{WEEKDAY_NAMES[key]} {when}")
        return "; ".join(parts)

    def _prices(self) -> str:
        return self._join(
            [f"{s.name.lower()} {money_words(s.price)}" for s in self._profile.services if s.price]
        )

    def sample_lines(self, today: date) -> list[str]:
        """Every phrase, filled with this business's values: all a caller can hear from the
        brain, so the simulated caller's recognizer can learn Zylin's side of a demo call."""
        days = [today + timedelta(days=n) for n in range(14)]
        times = [self.time_words(time(h, m)) for h in range(7, 20) for m in (0, 15, 30, 45)]
        services = self._profile.services
        values: dict[str, list[str]] = {
            "day": [self.day_words(d) for d in days] + [f"{d:%A}" for d in days[:7]],
            "time": times,
            "opens": times,
            "closes": times,
            "slots": [self._join(times[i : i + 3]) for i in range(len(times) - 2)],
            "service": [s.name.lower() for s in services],
            "services": [self._service_names()],
            "price": [money_words(s.price) for s in services if s.price],
            "minutes": [str(s.minutes) for s in services],
            "hours": [self._week_hours()],
            "prices": [self._prices()],
            "answer": [faq.a for faq in self._profile.faq],
            "name": ["there", "Ann Lee", "Robert", "Maria"],
        }
        values["times"] = values["slots"]
        values["appointments"] = [
            f"a {service} on {day} at {at}"
            for service, day, at in zip(
                values["service"] * 5, values["day"], times[8::4], strict=False
            )
        ]
        lines = []
        for key, template in self._phrases.items():
            names = sorted({n for n in re.findall(r"\{(\w+)\}", template) if n != "business"})
            options = {n: values.get(n) or [""] for n in names}
            for i in range(max((len(o) for o in options.values()), default=1)):
                lines.append(self.say(key, **{n: o[i % len(o)] for n, o in options.items()}))
        return lines

    def _info_notes(self, u: Utterance) -> list[str]:
        notes: list[str] = []
        service = self._profile.service(u.service) if u.service else None
        for info in u.info:
            if info == "hours":
                notes.append(self._hours_text(u.day))
            elif info == "services":
                notes.append(self.say("services", services=self._service_names()))
            elif info == "price" and service is not None:
                key = "price" if service.price else "price_unknown"
                price = money_words(service.price) if service.price else ""
                notes.append(
                    self.say(
                        key, service=service.name.lower(), price=price, minutes=service.minutes
                    )
                )
            elif info == "price":
                notes.append(self.say("prices", prices=self._prices()))
            elif info == "duration" and service is not None:
                notes.append(
                    self.say("duration", service=service.name.lower(), minutes=service.minutes)
                )
        if u.faq_answer:
            notes.append(self.say("faq", answer=u.faq_answer))
        return notes

    # -- state updates --------------------------------------------------------------------
    def on_user(self, d: Dialog, text: str) -> None:
        """Fold one caller turn into the dialog state."""
        d.notes = []
        d.calls_this_turn = 0
        d.last_call = None
        d.had_error = False
        u = understand(text, self._profile, self._now(), awaiting=d.awaiting)
        if d.awaiting == "offer_message" and u.intent != "end":
            d.offer_pending = False
            if u.no and not u.intent:
                d.reset_task()
                d.notes.append(self.say("what_else"))
                return
        if d.awaiting == "message" and u.intent != "end":
            d.message = text.strip()
            return
        if d.awaiting == "anything_else" and not u.intent and not u.info and not u.faq_answer:
            if u.no:
                u.intent = "end"
            elif not (u.service or u.day or u.time):
                d.notes.append(self.say("what_else"))
        if u.intent in ("end", "human"):
            d.intent = u.intent
            return
        if u.intent in _TASKS and u.intent != d.intent:
            d.reset_task()
            d.intent = u.intent
        elif d.intent is None and (u.service or u.day or u.time) and not u.info:
            d.intent = "book"  # "a cleaning on Monday" on its own means a booking
        d.notes.extend(self._info_notes(u))
        if u.name and (d.awaiting == "name" or not d.name or u.intent is None):
            d.name = u.name
        if u.phone:
            d.phone = u.phone
        if u.this_number or (d.awaiting == "phone" and u.yes and not u.phone):
            d.this_number = True
        if u.message and d.intent == "message":
            d.message = u.message
        if d.intent in ("cancel", "reschedule") and d.awaiting == "which":
            self._choose_appointment(d, u)
            return
        if d.intent in ("cancel", "reschedule") and d.appointment is None:
            d.hint_service = u.service or d.hint_service
            if d.intent == "cancel":
                d.hint_day = u.day or d.hint_day
                return
        if d.intent in ("book", "reschedule"):
            if u.service and d.intent == "book":
                d.service = u.service
            if u.day:
                d.day = u.day
            if u.time:
                d.time = u.time

    def _choose_appointment(self, d: Dialog, u: Utterance) -> None:
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

    def on_tool_result(self, d: Dialog, call: ToolCall, result: Any) -> None:
        """Fold a tool's result into the state; notes carry what must be said about it."""
        d.calls_this_turn += 1
        d.last_call = call
        error = _error_of(result)
        name = call.name
        if name == "end_call":
            d.finished = True
            return
        if name == "transfer_to_human":
            if error:
                d.notes.append(self.say("transfer_failed", error=error))
            elif isinstance(result, Mapping) and result.get("say"):
                d.notes.append(str(result["say"]))
            if not error and isinstance(result, Mapping) and result.get("status") == "transferring":
                d.finished = True
            else:  # the owner can't be reached: offer a message instead
                d.reset_task()
                d.intent = "message"
                d.offer_pending = True
            return
        if error:
            d.had_error = True
            d.notes.append(self.say("tool_error", error=error))
        if name == "check_availability":
            if error:
                d.day = d.time = None
                d.slots = d.slots_for = None
            else:
                d.slots = _slot_list(result)
                d.slots_for = (str(call.arguments.get("service")), d.day or date.min)
                if not d.slots and isinstance(result, Mapping) and result.get("message"):
                    d.notes.append(str(result["message"]))
                    if result.get("nearest_in_words"):
                        d.notes.append(self.say("nearest", times=result["nearest_in_words"]))
                    d.day = None
                    d.slots = d.slots_for = None
        elif name == "book_appointment":
            if error:
                if d.slots is not None and d.time is not None and d.time in d.slots:
                    d.slots.remove(d.time)  # offer the other free times straight away
                d.time = None
            else:
                service = d.service or str(call.arguments.get("service"))
                d.notes.append(
                    self.say(
                        "booked",
                        service=service.lower(),
                        day=self.day_words(d.day) if d.day else "",
                        time=self.time_words(d.time) if d.time else "",
                        name=d.name or "",
                    )
                )
                self._task_done(d)
        elif name == "find_my_appointments":
            d.appointments = [] if error else _appointment_list(result, self._profile.tz)
            if not error and not d.appointments:
                d.notes.append(self.say("no_appointments"))
                self._task_done(d)
            elif error:
                d.reset_task()
            elif len(d.appointments) == 1:
                d.appointment = d.appointments[0]
            else:
                self._choose_appointment(
                    d,
                    Utterance(
                        text="", words=[], service=d.hint_service, day=d.hint_day, ordinal=None
                    ),
                )
        elif name == "cancel_appointment":
            if not error:
                appt = d.appointment
                if appt and appt.start and appt.service:
                    d.notes.append(
                        self.say(
                            "cancelled",
                            service=appt.service.lower(),
                            day=self.day_words(appt.start.date()),
                            time=self.time_words(appt.start.time()),
                        )
                    )
                else:
                    d.notes.append(self.say("cancelled_plain"))
                self._task_done(d)
            else:
                d.reset_task()
        elif name == "reschedule_appointment":
            if not error and d.day and d.time:
                d.notes.append(
                    self.say("rescheduled", day=self.day_words(d.day), time=self.time_words(d.time))
                )
                self._task_done(d)
            elif error:
                d.time = None
        elif name == "take_message":
            if not error:
                d.notes.append(self.say("message_taken", name=d.name or "there"))
                self._task_done(d)
            else:
                d.reset_task()

    def _task_done(self, d: Dialog) -> None:
        d.reset_task()
        d.notes.append(self.say("anything_else"))
        d.awaiting = "anything_else"

    # -- policy ---------------------------------------------------------------------------
    def decide(self, d: Dialog) -> Reply:
        """The next thing to say and/or the next tool to call."""
        notes = list(d.notes)
        text = " ".join(notes)
        if d.finished:
            return Reply(text, None, None)
        if d.calls_this_turn >= _MAX_CALLS_PER_TURN:
            d.reset_task()
            return Reply(self._with(text, self.say("tool_unavailable")), None, None)
        call, question, awaiting = self._next_step(d)
        if call is not None and call == d.last_call:
            logger.warning(f"demo brain: {call.name} repeated with the same arguments; giving up")
            d.reset_task()
            return Reply(self._with(text, self.say("tool_unavailable")), None, None)
        if call is not None:
            return Reply(self._with(text, question), call, None)
        if awaiting is not None:
            return Reply(self._with(text, question), None, awaiting)
        if notes:
            if d.awaiting == "anything_else" and notes[-1] == self.say("anything_else"):
                return Reply(text, None, "anything_else")
            if notes[-1] == self.say("what_else"):
                return Reply(text, None, None)
            return Reply(self._with(text, self.say("anything_else")), None, "anything_else")
        return Reply(self.say("fallback"), None, None)

    @staticmethod
    def _with(text: str, more: str | None) -> str:
        return f"{text} {more}".strip() if more else text

    def _next_step(self, d: Dialog) -> tuple[ToolCall | None, str | None, str | None]:
        """(tool call, words to say with it or the question to ask, the slot asked for)."""
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
                return None, self.say("ask_name"), "name"
            if not d.message:
                return None, self.say("ask_message"), "message"
            if not d.phone and not d.this_number:
                return None, self.say("ask_phone"), "phone"
            args = {"caller_name": d.name, "message": d.message, "callback_number": d.phone or ""}
            return ToolCall("take_message", args), None, None
        return None, None, None

    def _booking_step(self, d: Dialog) -> tuple[ToolCall | None, str | None, str | None]:
        if not d.service:
            return None, self.say("ask_service", services=self._service_names()), "service"
        if not d.day:
            return None, self.say("ask_day"), "day"
        if self._profile.opening_on(d.day) is None:
            day = f"{d.day:%A}"
            d.day = None
            return None, self.say("closed_day", day=day), "day"
        if d.slots is None or d.slots_for != (d.service, d.day):
            args = {"date": d.day.isoformat(), "service": d.service}
            return ToolCall("check_availability", args), None, None
        day = self.day_words(d.day)
        offer = self._join([self.time_words(t) for t in self._nearest(d.slots, d.time)])
        if not d.slots:
            service, d.day = d.service.lower(), None
            return None, self.say("no_slots", service=service, day=day), "day"
        if not d.time and d.had_error:
            return None, self.say("ask_time_plain"), "time"
        if not d.time:
            return None, self.say("ask_time", day=day, slots=offer), "time"
        if d.time not in d.slots:
            taken = self.time_words(d.time)
            d.time = None
            return None, self.say("slot_taken", time=taken, day=day, slots=offer), "time"
        if not d.name:
            return None, self.say("ask_name"), "name"
        args = {
            "service": d.service,
            "start": f"{d.day.isoformat()}T{d.time:%H:%M}",
            "caller_name": d.name,
            "notes": "",
        }
        return ToolCall("book_appointment", args), None, None

    @staticmethod
    def _nearest(slots: list[time], wanted: time | None, count: int = 3) -> list[time]:
        if wanted is None:
            return slots[:count]
        minutes = wanted.hour * 60 + wanted.minute
        best = sorted(slots, key=lambda t: abs(t.hour * 60 + t.minute - minutes))[:count]
        return sorted(best)

    def _change_step(self, d: Dialog) -> tuple[ToolCall | None, str | None, str | None]:
        if d.appointments is None:
            return ToolCall("find_my_appointments", {}), None, None
        if d.appointment is None:
            listed = []
            for a in d.appointments:
                when = (
                    f"{self.day_words(a.start.date())} at {self.time_words(a.start.time())}"
                    if a.start
                    else "an appointment"
                )
                listed.append(f"a {(a.service or 'visit').lower()} on {when}")
            return None, self.say("which_appointment", appointments=self._join(listed)), "which"
        if d.intent == "cancel":
            return ToolCall("cancel_appointment", {"appointment_id": d.appointment.id}), None, None
        if not d.day:
            return None, self.say("ask_new_day"), "new_day"
        if self._profile.opening_on(d.day) is None:
            day = f"{d.day:%A}"
            d.day = None
            return None, self.say("closed_day", day=day), "new_day"
        if not d.time:
            return None, self.say("ask_new_time", day=self.day_words(d.day)), "new_time"
        args = {
            "appointment_id": d.appointment.id,
            "new_start": f"{d.day.isoformat()}T{d.time:%H:%M}",
        }
        return ToolCall("reschedule_appointment", args), None, None

    # -- replay ---------------------------------------------------------------------------
    def respond(self, messages: list[Any]) -> Reply:
        """Replay the conversation to rebuild the state, then decide the next reply."""
        d = Dialog()
        calls: dict[str, ToolCall] = {}
        reply: Reply | None = None
        for message in messages:
            if isinstance(message, LLMSpecificMessage) or not isinstance(message, Mapping):
                continue
            role = message.get("role")
            if role == "user":
                d.awaiting = reply.awaiting if reply else d.awaiting
                self.on_user(d, standard_message_text(message))  # type: ignore[arg-type]
                reply = self.decide(d)
            elif role == "assistant":
                for tc in message.get("tool_calls") or []:
                    fn = tc.get("function", {})
                    try:
                        args = json.loads(fn.get("arguments") or "{}")
                    except json.JSONDecodeError:
                        args = {}
                    calls[str(tc.get("id"))] = ToolCall(str(fn.get("name")), args)
            elif role == "tool":
                content = message.get("content")
                call = calls.get(str(message.get("tool_call_id")))
                if call is None or content == "IN_PROGRESS":
                    continue
                d.awaiting = reply.awaiting if reply else d.awaiting
                self.on_tool_result(d, call, _parse_tool_content(content))
                reply = self.decide(d)
            if reply is not None and reply.text:
                d.notes = []  # said once; later replies must not repeat them
        if reply is None:
            return Reply(self.say("greeting"), None, None)
        return reply


def load_phrases(path: Path = DEFAULT_PHRASES) -> dict[str, str]:
    """The phrasing table; fails at start-up, not mid-call, if it is not a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} must map phrase names to text")
    return {str(k): str(v) for k, v in data.items()}


class DemoBrainLLMService(LLMService):
    """An `LLMService` that answers from the business profile with fixed rules, no API.

    It reads the same `LLMContext` the OpenAI service would, speaks with `LLMTextFrame`s
    between start/end frames, and asks for tools with `FunctionCallFromLLM` through
    `run_function_calls`, so the registered tools, the assistant aggregator and the re-run
    after a tool result all work exactly as in a real call.
    """

    def __init__(
        self,
        *,
        profile: BusinessProfile,
        now: Callable[[], datetime],
        phrases_path: Path = DEFAULT_PHRASES,
        **kwargs: Any,
    ) -> None:
        """Create the brain.

        Args:
            profile: The business it answers for.
            now: Clock (aware datetimes) used to resolve "tomorrow" or "Monday".
            phrases_path: YAML table of everything it says.
            **kwargs: Passed to `LLMService`.
        """
        settings = LLMSettings(
            model="zylin-demo-brain",
            system_instruction=None,
            temperature=None,
            max_tokens=None,
            top_p=None,
            top_k=None,
            frequency_penalty=None,
            presence_penalty=None,
            seed=None,
            filter_incomplete_user_turns=False,
            user_turn_completion_config=None,
        )
        kwargs.setdefault("run_in_parallel", False)
        super().__init__(settings=settings, **kwargs)
        self._brain = DemoBrain(profile, now, load_phrases(phrases_path))

    def can_generate_metrics(self) -> bool:
        """Processing time is reported like a real LLM's."""
        return True

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        """Answer each `LLMContextFrame`; pass everything else along."""
        await super().process_frame(frame, direction)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        await self.push_frame(LLMFullResponseStartFrame())
        await self.start_processing_metrics()
        try:
            await self._respond(frame.context)
        except Exception as e:  # a rule bug must cost one reply, not the call
            await self.push_error(error_msg=f"demo brain failed: {e}", exception=e)
        finally:
            await self.stop_processing_metrics()
            await self.push_frame(LLMFullResponseEndFrame())

    async def _respond(self, context: LLMContext) -> None:
        reply = self._brain.respond(context.get_messages())
        if reply.text:
            await self._push_llm_text(reply.text)
        if reply.call is not None:
            await self.run_function_calls(
                [
                    FunctionCallFromLLM(
                        function_name=reply.call.name,
                        tool_call_id=f"demo_{uuid.uuid4().hex[:12]}",
                        arguments=reply.call.arguments,
                        context=context,
                    )
                ]
            )
