"""Free start times and every argument check, with an injected clock (New York business)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.storage_fixtures import example_profile
from tools.availability import busy_units, candidate_starts, free_starts, is_free, nearest_free
from tools.validation import (
    ToolInputError,
    check_day,
    check_start,
    clean_phone,
    clean_text,
    find_service,
    parse_appointment_id,
    parse_day,
    parse_start,
    say_when,
)

NY = ZoneInfo("America/New_York")
PROFILE = example_profile()
CLEANING = PROFILE.service("cleaning")
WHITENING = PROFILE.service("Whitening")
MONDAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=NY)  # Monday 8:00, before opening


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=NY)


def test_candidates_follow_hours_grid_and_length() -> None:
    assert CLEANING is not None and WHITENING is not None
    starts = candidate_starts(PROFILE, CLEANING.minutes, MONDAY)
    assert starts[0] == local(MONDAY, 9) and starts[1] == local(MONDAY, 9, 15)
    assert starts[-1] == local(MONDAY, 16, 30)  # 30 minutes must fit before 17:00
    friday = MONDAY + timedelta(days=4)
    assert candidate_starts(PROFILE, WHITENING.minutes, friday)[-1] == local(friday, 12)
    assert candidate_starts(PROFILE, 30, MONDAY + timedelta(days=5)) == []  # Saturday closed


def test_free_starts_respect_notice_and_existing_appointments() -> None:
    now = local(MONDAY, 10, 20)
    busy = [(local(MONDAY, 12), local(MONDAY, 12, 30))]
    starts = free_starts(PROFILE, 30, MONDAY, now, busy)
    assert starts[0] == local(MONDAY, 11, 30)  # 60 minutes' notice from 10:20
    assert local(MONDAY, 11, 45) not in starts  # would overlap 12:00
    assert local(MONDAY, 12) not in starts and local(MONDAY, 12, 15) not in starts
    assert local(MONDAY, 12, 30) in starts  # back to back is fine


def test_free_starts_beyond_horizon_and_past_are_empty() -> None:
    assert free_starts(PROFILE, 30, MONDAY - timedelta(days=7), NOW, []) == []
    far = MONDAY + timedelta(days=PROFILE.booking.max_days_ahead + 7)
    assert free_starts(PROFILE, 30, far, NOW, []) == []


def test_is_free_uses_the_database_slot_units() -> None:
    taken_busy = [(local(MONDAY, 10), local(MONDAY, 10, 30))]
    taken = busy_units(taken_busy)
    assert not is_free(local(MONDAY, 9, 45), 30, taken)
    assert is_free(local(MONDAY, 9, 30), 30, taken)
    assert is_free(local(MONDAY, 10, 30), 45, taken)


def test_nearest_free_looks_both_sides_and_skips_busy() -> None:
    busy = [(local(MONDAY, 9), local(MONDAY, 17))]  # Monday full
    tuesday = MONDAY + timedelta(days=1)
    nearest = nearest_free(PROFILE, 30, local(MONDAY, 11), NOW, busy, count=2)
    assert nearest == [local(tuesday, 9), local(tuesday, 9, 15)]
    around = nearest_free(PROFILE, 30, local(tuesday, 11), NOW, [], count=3)
    assert around == [local(tuesday, 10, 45), local(tuesday, 11), local(tuesday, 11, 15)]


@pytest.mark.parametrize("text", ["", "tomorrow", "2026-13-01", "2026-02-30", "30/11/2026", None])
def test_parse_day_refuses_malformed(text: object) -> None:
    with pytest.raises(ToolInputError, match="didn't understand that date"):
        parse_day(text)


def test_parse_day_and_start_accept_the_documented_formats() -> None:
    assert parse_day(" 2026-12-01 ") == date(2026, 12, 1)
    assert parse_start("2026-12-01T10:30", PROFILE) == local(date(2026, 12, 1), 10, 30)
    assert parse_start("2026-12-01 10:30:00", PROFILE) == local(date(2026, 12, 1), 10, 30)


@pytest.mark.parametrize("text", ["2026-12-01", "10:30", "2026-12-01T25:00", "next tuesday"])
def test_parse_start_refuses_malformed(text: str) -> None:
    with pytest.raises(ToolInputError, match="date and time"):
        parse_start(text, PROFILE)


def test_check_day_rules() -> None:
    with pytest.raises(ToolInputError, match="already passed"):
        check_day(PROFILE, MONDAY - timedelta(days=1), NOW)
    with pytest.raises(ToolInputError, match="90 days ahead"):
        check_day(PROFILE, MONDAY + timedelta(days=91), NOW)
    with pytest.raises(ToolInputError, match="closed on Saturdays"):
        check_day(PROFILE, MONDAY + timedelta(days=5), NOW)
    check_day(PROFILE, MONDAY, NOW)
    check_day(PROFILE, MONDAY + timedelta(days=88), NOW)  # a Thursday inside the horizon


def test_check_start_rules() -> None:
    assert CLEANING is not None and WHITENING is not None
    check_start(PROFILE, CLEANING, local(MONDAY, 9), NOW)
    with pytest.raises(ToolInputError, match="outside our hours"):
        check_start(PROFILE, CLEANING, local(MONDAY, 8, 30), NOW)
    with pytest.raises(ToolInputError, match="last Whitening starts at 4:00 PM"):
        check_start(PROFILE, WHITENING, local(MONDAY, 16, 30), NOW)
    with pytest.raises(ToolInputError, match="every 15 minutes"):
        check_start(PROFILE, CLEANING, local(MONDAY, 9, 10), NOW)
    late_now = local(MONDAY, 9, 30)
    with pytest.raises(ToolInputError, match="60 minutes' notice"):
        check_start(PROFILE, CLEANING, local(MONDAY, 10), late_now)
    with pytest.raises(ToolInputError, match="already passed"):
        check_start(PROFILE, CLEANING, local(MONDAY, 9), late_now)


def test_text_phone_service_and_id_checks() -> None:
    assert clean_text("  Ann \n Lee\x00 ", what="name", max_len=100, required=True) == "Ann Lee"
    with pytest.raises(ToolInputError, match="need the name"):
        clean_text("   ", what="name", max_len=100, required=True)
    with pytest.raises(ToolInputError, match="too long"):
        clean_text("x" * 101, what="name", max_len=100, required=True)
    assert clean_text(None, what="notes", max_len=1000, required=False) == ""
    assert clean_phone("(555) 123-4567") == "5551234567"
    assert clean_phone("+1 555.123.4567") == "+15551234567"
    assert clean_phone("") is None
    for bad in ("12", "call me", "+1" + "2" * 20):
        with pytest.raises(ToolInputError, match="phone number"):
            clean_phone(bad)
    assert find_service(PROFILE, " CLEANING ").name == "Cleaning"
    with pytest.raises(ToolInputError, match="Cleaning, Checkup and Whitening"):
        find_service(PROFILE, "haircut")
    assert parse_appointment_id("12") == 12 and parse_appointment_id(7) == 7
    for bad in ("abc", -1, True, "1" * 20):
        with pytest.raises(ToolInputError):
            parse_appointment_id(bad)


def test_times_are_said_the_way_people_say_them() -> None:
    assert say_when(local(date(2026, 12, 1), 10, 30)) == "Tuesday, December 1 at 10:30 AM"
    assert say_when(local(date(2026, 12, 1), 12, 5)) == "Tuesday, December 1 at 12:05 PM"
