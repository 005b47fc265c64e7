"""The home page: the promised measures with their charts, calls in progress, recent calls."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from zylin.owner.charts import Stack, Target, bar_chart, legend
from zylin.owner.live import live_calls
from zylin.owner.measures import Targets, load_facts, measures
from zylin.owner.records import BadQuery, CallFilters, calls_page, day_range
from zylin.owner.render import Pages

if TYPE_CHECKING:
    from zylin.state import AppState

PAGE_SIZE = 25
INTENTS = ("booking", "reschedule", "cancel", "question", "message", "escalation", "other")
CHART_DAYS = 30
BLUE, ORANGE, RED, GREEN, GREY = "#2f6fde", "#e08a1e", "#b42318", "#2e9e6a", "#9aa3b0"


def targets_of(state: AppState) -> Targets:
    """The budget lines from the settings."""
    return Targets(
        voice_to_voice_ms=float(state.settings.turn_latency_target_ms),
        cost_per_2min_usd=state.settings.cost_target_per_2min,
    )


async def stats_for(state: AppState, first: date, last: date) -> dict[str, Any]:
    """The measures for the business's days [first, last] (what `/api/stats` returns)."""
    tz = state.profile.tz
    start, end = day_range(first, last, tz, first_name="date_from", last_name="date_to")
    assert start is not None and end is not None
    facts = await load_facts(state.repository, start, end)
    return measures(facts, first, last, tz, targets_of(state))


def charts(month: dict[str, Any]) -> list[dict[str, Markup | str]]:
    """One small chart per measure, a bar per day of the month shown."""
    days = month["by_day"]
    labels = [date.fromisoformat(d["date"]).strftime("%d %b") for d in days]
    calls = [
        Stack("answered", BLUE, [d["calls"]["answered"] for d in days]),
        Stack("failed", RED, [d["calls"]["failed"] for d in days]),
        Stack("fallback", ORANGE, [d["calls"]["fallback"] for d in days]),
    ]
    latency = [Stack("p95 voice-to-voice", BLUE, [d["latency"]["p95_ms"] for d in days])]
    booking = [Stack("bookings completed", GREEN, [d["booking"]["completion"] for d in days])]
    handed = [
        Stack("transfers", BLUE, [d["transfers"] for d in days]),
        Stack("messages", GREY, [d["messages"] for d in days]),
    ]
    cost = [Stack("cost per 2-minute call", GREEN, [d["cost"]["per_2min_usd"] for d in days])]
    v2v_target = Target(month["latency"]["target_ms"], "budget")
    cost_target = Target(month["cost"]["target_per_2min_usd"], "target")

    def count(v: float) -> str:
        return f"{v:.0f}"

    return [
        {
            "id": "chart-calls",
            "title": "Calls per day",
            "svg": bar_chart("Calls per day", labels, calls, fmt=count, floor_max=4),
            "legend": legend(calls),
        },
        {
            "id": "chart-latency",
            "title": "p95 voice-to-voice per day",
            "svg": bar_chart(
                "p95 voice-to-voice per day",
                labels,
                latency,
                fmt=lambda v: f"{v / 1000:.1f} s",
                target=v2v_target,
            ),
            "legend": legend(latency),
        },
        {
            "id": "chart-booking",
            "title": "Booking completion per day",
            "svg": bar_chart(
                "Booking completion per day", labels, booking, fmt=lambda v: f"{v * 100:.0f} %"
            ),
            "legend": legend(booking),
        },
        {
            "id": "chart-handoffs",
            "title": "Transfers and messages per day",
            "svg": bar_chart(
                "Transfers and messages per day", labels, handed, fmt=count, floor_max=4
            ),
            "legend": legend(handed),
        },
        {
            "id": "chart-cost",
            "title": "Cost per 2-minute call",
            "svg": bar_chart(
                "Cost per 2-minute call",
                labels,
                cost,
                fmt=lambda v: f"${v:.3f}",
                target=cost_target,
                floor_max=0.01,
            ),
            "legend": legend(cost),
        },
    ]


def add_routes(router: APIRouter, pages: Pages) -> None:
    """`GET /dashboard`, the home page."""

    @router.get("/dashboard")
    async def overview(
        request: Request,
        date_from: str | None = None,
        date_to: str | None = None,
        intent: str | None = None,
        caller: str | None = None,
        offset: int = 0,
    ) -> Response:
        if (refused := pages.gate(request)) is not None:
            return refused
        state: AppState = request.app.state.zylin
        tz = state.profile.tz
        raw = {"date_from": date_from, "date_to": date_to, "intent": intent, "caller": caller}
        error = None
        try:
            filters = CallFilters.parse(date_from, date_to, intent, caller)
            calls = await calls_page(
                state.repository, filters, tz, limit=PAGE_SIZE, offset=max(0, offset)
            )
        except BadQuery as exc:
            error, filters = str(exc), CallFilters()
            calls = await calls_page(state.repository, filters, tz, limit=PAGE_SIZE, offset=0)
        today = state.now().astimezone(tz).date()
        windows = [
            ("Today", await stats_for(state, today, today)),
            ("Last 7 days", await stats_for(state, today - timedelta(days=6), today)),
        ]
        month = await stats_for(state, today - timedelta(days=CHART_DAYS - 1), today)
        windows.append(("Last 30 days", month))

        def link(new_offset: int) -> str:
            return "/dashboard?" + urlencode({**filters.as_query(), "offset": new_offset})

        prev_offset = calls["offset"] - PAGE_SIZE
        return pages.page(
            request,
            "overview.html",
            status=422 if error else 200,
            error=error,
            raw={k: v or "" for k, v in raw.items()},
            intents=INTENTS,
            calls=calls,
            prev_link=link(max(0, prev_offset)) if calls["offset"] > 0 else None,
            next_link=link(calls["next_offset"]) if calls["next_offset"] is not None else None,
            windows=windows,
            charts=charts(month),
            live=await live_calls(state),
            unread=await state.repository.unread_message_count(),
        )
