"""Free start times from opening hours, service length, booking rules and existing appointments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from zylin.business.profile import BusinessProfile
from zylin.storage.models import slot_units

# How many days either side of a wanted time "nearest free slots" looks at.
NEAREST_SEARCH_DAYS = 7


def candidate_starts(profile: BusinessProfile, minutes: int, day: date) -> list[datetime]:
    """Every start on `day`'s grid (each `slot_minutes` from opening) that ends by closing."""
    window = profile.opening_on(day)
    if window is None:
        return []
    opens = datetime.combine(day, window.opens, tzinfo=profile.tz)
    closes = datetime.combine(day, window.closes, tzinfo=profile.tz)
    step = timedelta(minutes=profile.booking.slot_minutes)
    length = timedelta(minutes=minutes)
    starts = []
    start = opens
    while start + length <= closes:
        starts.append(start)
        start += step
    return starts


def busy_units(busy: Iterable[tuple[datetime, datetime]]) -> set[datetime]:
    """The slot units (as in `appointment_slots`) taken by existing appointments."""
    units: set[datetime] = set()
    for start, end in busy:
        units.update(slot_units(start, end))
    return units


def is_free(start: datetime, minutes: int, taken: set[datetime]) -> bool:
    """Whether an appointment at `start` would claim no taken unit (what the database checks)."""
    return not any(u in taken for u in slot_units(start, start + timedelta(minutes=minutes)))


def bookable(profile: BusinessProfile, start: datetime, now: datetime) -> bool:
    """Enough notice, and not beyond the booking horizon."""
    earliest = now + timedelta(minutes=profile.booking.min_notice_minutes)
    return start >= earliest and start.date() <= profile.days_ahead_limit(now)


def free_starts(
    profile: BusinessProfile,
    minutes: int,
    day: date,
    now: datetime,
    busy: Iterable[tuple[datetime, datetime]],
) -> list[datetime]:
    """Business-local start times on `day` that can be booked now, earliest first."""
    taken = busy_units(busy)
    return [
        start
        for start in candidate_starts(profile, minutes, day)
        if bookable(profile, start, now) and is_free(start, minutes, taken)
    ]


def search_range(
    profile: BusinessProfile, wanted: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """The UTC-comparable span `nearest_free` looks at, for fetching existing appointments."""
    today = profile.local_now(now).date()
    first = max(today, wanted.date() - timedelta(days=NEAREST_SEARCH_DAYS))
    last = min(profile.days_ahead_limit(now), wanted.date() + timedelta(days=NEAREST_SEARCH_DAYS))
    start = datetime.combine(first, datetime.min.time(), tzinfo=profile.tz)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=profile.tz)
    return start, end


def nearest_free(
    profile: BusinessProfile,
    minutes: int,
    wanted: datetime,
    now: datetime,
    busy: Iterable[tuple[datetime, datetime]],
    *,
    count: int = 3,
) -> list[datetime]:
    """The `count` bookable starts closest to `wanted` (either side), in time order.

    Looks `NEAREST_SEARCH_DAYS` either side of the wanted day; pass appointments covering
    `search_range(...)` as `busy`.
    """
    taken = busy_units(busy)
    first, end = search_range(profile, wanted, now)
    candidates: list[datetime] = []
    day = first.date()
    while day < end.date():
        candidates.extend(
            s
            for s in candidate_starts(profile, minutes, day)
            if bookable(profile, s, now) and is_free(s, minutes, taken)
        )
        day += timedelta(days=1)
    candidates.sort(key=lambda s: (abs((s - wanted).total_seconds()), s))
    return sorted(candidates[:count])
