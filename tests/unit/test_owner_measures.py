"""The owner's measures, charts, action sentences, cost and session names, without I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from zylin.call.record.cost import Prices, call_cost
from zylin.call.record.usage import CallUsage
from zylin.end_reason import EndReason
from zylin.owner.action_text import describe
from zylin.owner.auth import clean_name, csrf_value, session_cookie_value, session_name
from zylin.owner.charts import Stack, Target, bar_chart
from zylin.owner.measures import Facts, Targets, measures, outcome, percentile
from zylin.storage.repository import ActionRecord, CallFacts

NY = ZoneInfo("America/New_York")
T0 = datetime(2030, 1, 6, 15, 0, tzinfo=UTC)  # Jan 6, 10:00 in New York


def test_end_reasons_sort_into_outcomes_and_new_ones_are_other() -> None:
    # Today's reasons each have an outcome; a reason added later counts as "other" until it
    # is placed, so it can never inflate the failures.
    today = (
        "caller_hangup",
        "bot_ended",
        "transferred",
        "moved_to_legacy",
        "error",
        "max_duration",
        "silence",
        "stream_flood",
        "shutdown",
        "legacy_goodbye",
        "legacy_message",
        "legacy_no_input",
        "legacy_error",
        "legacy_max_turns",
        "completed",
        "busy",
        "failed",
        "no_answer",
        "canceled",
    )
    assert set(today) <= {r.value for r in EndReason}
    assert {r: outcome(r) for r in today if outcome(r) == "other"} == {}
    assert outcome("bot_ended") == outcome("transferred") == "answered"
    assert outcome("error") == outcome("no_answer") == "failed"
    assert outcome("moved_to_legacy") == outcome("legacy_message") == "fallback"
    assert outcome("screened") == "other"  # a spam call turned away: never failed or missed
    assert outcome(None) == "other"  # still in progress


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.95) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def _call(n: int, at: datetime, reason: str | None, **kw: object) -> CallFacts:
    values = {"intent": None, "cost_usd": None, "booked": False, **kw}
    return CallFacts(n, at, at + timedelta(minutes=1), reason, **values)  # type: ignore[arg-type]


def test_measures_by_business_day_with_cost_per_two_minutes() -> None:
    late = datetime(2030, 1, 6, 3, 0, tzinfo=UTC)  # still Jan 5 in New York
    facts = Facts(
        calls=[
            _call(1, late, "bot_ended", intent="booking", booked=True, cost_usd=0.03),
            _call(2, T0, "error"),
            _call(3, T0, "legacy_message", cost_usd=0.01),
            _call(4, T0, "screened", intent="booking"),
        ],
        latencies=[(late, 1000.0), (T0, 4000.0)],
        transfers=[T0],
        messages=[late, T0],
    )
    result = measures(facts, date(2030, 1, 5), date(2030, 1, 6), NY, Targets(3000.0, 0.10))
    assert result["calls"] | {"by_end_reason": None} == {
        "total": 4,
        "answered": 1,
        "failed": 1,
        "fallback": 1,
        "other": 1,
        "by_end_reason": None,
    }
    assert result["booking"] == {"calls": 2, "booked": 1, "completion": 0.5}
    assert result["latency"]["over_target"] == 1 and result["latency"]["p95_ms"] == 4000.0
    assert result["cost"]["per_2min_usd"] == 0.04 and result["cost"]["per_call_usd"] == 0.02
    first, second = result["by_day"]
    assert first["date"] == "2030-01-05" and first["calls"]["answered"] == 1
    assert first["messages"] == 1 and second["messages"] == 1 and second["transfers"] == 1
    assert second["booking"]["completion"] == 0.0 and second["latency"]["avg_ms"] == 4000.0


def test_chart_escapes_labels_and_draws_the_target_line() -> None:
    svg = str(
        bar_chart(
            "Calls <b>",
            ["<script>", "b"],
            [Stack("x&y", "#000", [1.0, None])],
            fmt=str,
            target=Target(2.0, "budget"),
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "x&amp;y" in svg
    assert svg.count("<rect") == 1 and 'class="target"' in svg
    assert "style=" not in svg  # presentation attributes only: the CSP forbids inline styles


@pytest.mark.parametrize(
    ("kind", "detail", "text", "link"),
    [
        (
            "booked",
            {"appointment_id": 7, "service": "Cleaning", "start": "2026-12-02T11:00"},
            "Booked a cleaning, Wed 2 Dec 11:00",
            "/dashboard/appointments/7",
        ),
        (
            "rescheduled",
            {
                "appointment_id": 7,
                "service": "Exam",
                "start": "2026-12-03T09:30",
                "previous_when": "Wednesday, December 2 at 11:00 AM",
            },
            "Moved an exam to Thu 3 Dec 09:30 (was Wednesday, December 2 at 11:00 AM)",
            "/dashboard/appointments/7",
        ),
        (
            "message",
            {"message_id": 3, "caller_name": "Ann"},
            "Took a message from Ann",
            "/dashboard/messages#message-3",
        ),
        (
            "sms",
            {"recipient": "caller", "purpose": "booked"},
            "Texted the caller the booking confirmation",
            None,
        ),
        ("transfer", {"outcome": "transferred"}, "Put the call through to you", None),
        ("something_new", None, "Something new", None),
    ],
)
def test_actions_read_as_sentences(
    kind: str, detail: dict | None, text: str, link: str | None
) -> None:
    line = describe(ActionRecord(1, 1, kind, detail, T0))
    assert (line.text, line.link) == (text, link)


def test_cost_bills_started_minutes_and_reported_usage() -> None:
    prices = Prices(
        twilio_per_min=0.01,
        stt_per_min=0.006,
        llm_input_per_mtok=0.4,
        llm_output_per_mtok=1.6,
        tts_per_mchar=15.0,
    )
    usage = CallUsage(llm_input_tokens=10_000, llm_output_tokens=500, tts_chars=1000)
    cost = call_cost(usage, 61.0, prices)
    assert cost["parts_usd"] == {"twilio": 0.02, "stt": 0.0061, "llm": 0.0048, "tts": 0.015}
    assert cost["total_usd"] == 0.0459 and cost["usage"]["stt_secs"] == 61.0
    reported = call_cost(CallUsage(stt_reported_secs=30.0), 61.0, prices)
    assert reported["parts_usd"]["stt"] == 0.003


def test_session_carries_a_signed_name_and_csrf_is_tied_to_it() -> None:
    value = session_cookie_value("k" * 20, T0, "Dr <Kim>")
    assert session_name(value, "k" * 20, T0) == "Dr Kim" == clean_name("Dr <Kim>")
    assert session_name(value, "other-token-1234", T0) is None
    assert session_name(value, "k" * 20, T0 + timedelta(hours=13)) is None
    issued, name, mac = value.split(".")
    forged = f"{issued}.{name[::-1]}.{mac}"
    assert session_name(forged, "k" * 20, T0) is None
    assert csrf_value(value, "k" * 20) != csrf_value(forged, "k" * 20)
    assert clean_name("   ") == "owner"
