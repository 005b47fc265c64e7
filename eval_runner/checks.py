"""The deterministic checks: tools called and not, appointments left, words said and not."""

from __future__ import annotations

from collections.abc import Sequence

from eval_runner.scenario import AppointmentSpec, Scenario
from eval_runner.text_call import Transcript
from zylin.business import BusinessProfile
from zylin.storage.repository import AppointmentRecord

MAX_LISTED = 4


def failures(
    scenario: Scenario,
    transcript: Transcript,
    booked: Sequence[AppointmentRecord],
    profile: BusinessProfile,
) -> list[str]:
    """Every way the call missed the scenario's expectations, in words; empty when it passed."""
    expect = scenario.expect
    reasons = [f"error: {e}" for e in transcript.errors[:MAX_LISTED]]
    played = sum(1 for who, _ in transcript.lines if who == "caller")
    if played < len(scenario.turns):
        unsaid = scenario.turns[played]
        reasons.append(
            f"{transcript.ended or 'the call stopped'} after turn {played} of "
            f"{len(scenario.turns)}; the caller never got to say {unsaid!r}"
        )
    called = [use.name for use in transcript.tools]
    for tool in expect.tools:
        if tool not in called:
            reasons.append(f"{tool} was not called ({_called(called)})")
    for use in transcript.tools:
        if use.name in expect.not_tools:
            reasons.append(f"{use.name} was called with {use.arguments} -> {use.result}")
    for spec in expect.appointments:
        if not any(matches(spec, a, profile) for a in booked):
            reasons.append(f"no {spec.describe()} is booked ({_booked(booked, profile)})")
    for spec in expect.not_appointments:
        hits = [a for a in booked if matches(spec, a, profile)]
        if hits:
            reasons.append(f"{describe(hits[0], profile)} is booked, and should not be")
    said = [line.casefold() for line in transcript.said]
    for options in expect.said:
        if not any(o.casefold() in line for o in options for line in said):
            wanted = " or ".join(repr(o) for o in options)
            reasons.append(f"Zylin never said {wanted} (last: {_last(transcript)!r})")
    for words in expect.not_said:
        hit = next((line for line in transcript.said if words.casefold() in line.casefold()), None)
        if hit is not None:
            reasons.append(f"Zylin said {words!r}: {hit!r}")
    return reasons


def matches(
    spec: AppointmentSpec, appointment: AppointmentRecord, profile: BusinessProfile
) -> bool:
    """Whether a booked appointment has every field the spec gives."""
    start = appointment.start_at.astimezone(profile.tz)
    return (
        (spec.service is None or _same(spec.service, appointment.service))
        and (spec.date is None or spec.date == start.date())
        and (spec.time is None or (spec.time.hour, spec.time.minute) == (start.hour, start.minute))
        and (spec.name is None or _same(spec.name, appointment.caller_name))
        and (spec.phone is None or spec.phone == appointment.caller_phone)
    )


def describe(appointment: AppointmentRecord, profile: BusinessProfile) -> str:
    """'Cleaning on 2026-12-02 at 10:00 for Alex Tester'."""
    start = appointment.start_at.astimezone(profile.tz)
    return (
        f"{appointment.service} on {start.date().isoformat()} at {start:%H:%M} "
        f"for {appointment.caller_name}"
    )


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _called(names: list[str]) -> str:
    return f"called: {', '.join(names)}" if names else "no tool was called"


def _booked(booked: Sequence[AppointmentRecord], profile: BusinessProfile) -> str:
    if not booked:
        return "nothing is booked"
    listed = "; ".join(describe(a, profile) for a in booked[:MAX_LISTED])
    more = f" and {len(booked) - MAX_LISTED} more" if len(booked) > MAX_LISTED else ""
    return f"booked: {listed}{more}"


def _last(transcript: Transcript) -> str:
    said = transcript.said
    return said[-1] if said else ""
