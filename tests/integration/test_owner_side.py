"""The owner's side over HTTP: measures, acting on appointments and messages, setup, live calls."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest_asyncio

from devtools.fakes.twilio_rest_server import TwilioRestFake
from tests import storage_fixtures
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, RunningServer, running_server
from tests.integration.test_owner_api import (
    ADMIN,
    ANN,
    NOW,
    SID,
    Seeded,
    csrf_of,
    owner_settings,
    seed,
)
from tests.storage_fixtures import Clock, open_repository, utc
from zylin.storage.repository import Repository

EXTRA = {n: f"CA{n:032d}" for n in (4, 5, 6, 7, 8)}


async def seed_outcomes(repo: Repository) -> None:
    """Calls that failed, fell back, were screened, asked to book without booking, and one live.

    Costs: call 1 (2 min) $0.05, call 3 (1 min) $0.02.
    """
    await repo.update_call(SID[1], cost_usd=0.05, usage={"total_usd": 0.05})
    await repo.update_call(SID[3], cost_usd=0.02, usage={"total_usd": 0.02})
    for n, hour, reason, intent in (
        (4, 14, "error", None),
        (5, 15, "moved_to_legacy", None),
        (6, 16, "screened", None),  # a reason added by another feature: never "failed"
        (7, 17, "caller_hangup", "booking"),
    ):
        await repo.create_call(EXTRA[n], started_at=utc(2030, 1, 6, hour, 0), caller_phone=ANN)
        if intent:
            await repo.update_call(EXTRA[n], intent=intent)
        await repo.finish_call(EXTRA[n], end_reason=reason, ended_at=utc(2030, 1, 6, hour, 1))
    await repo.create_call(EXTRA[8], started_at=NOW, caller_phone="+15555550142")


@dataclass
class Side:
    """A server with seeded records, a signed-in browser, and the Twilio fake it texts through."""

    server: RunningServer
    browser: httpx.AsyncClient
    twilio: TwilioRestFake
    seeded: Seeded


@pytest_asyncio.fixture
async def side(tmp_path: Path) -> AsyncIterator[Side]:
    async with TwilioRestFake(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio:
        settings = owner_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'zylin.db'}",
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_api_base_url=twilio.base_url,
            recordings_dir=tmp_path / "recordings",
            public_url="https://zylin.example.com/shop",
        )
        async with (
            running_server(settings, now=lambda: NOW) as server,
            httpx.AsyncClient(base_url=server.url) as browser,
        ):
            seeded = await seed(server.state.repository)
            await seed_outcomes(server.state.repository)
            signed = await browser.post(
                "/dashboard/login", data={"token": ADMIN, "name": "Dr <Kim>"}
            )
            assert signed.status_code == 303
            yield Side(server=server, browser=browser, twilio=twilio, seeded=seeded)


async def test_stats_count_outcomes_latency_bookings_and_cost(side: Side) -> None:
    response = await side.browser.get(
        "/api/stats", params={"date_from": "2030-01-01", "date_to": "2030-01-07"}
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    calls = stats["calls"]
    assert (calls["total"], calls["answered"], calls["failed"], calls["fallback"]) == (8, 4, 1, 1)
    assert calls["other"] == 2  # the screened call and the one in progress
    assert calls["by_end_reason"]["screened"] == 1
    assert stats["latency"] == {
        "replies": 2,
        "avg_ms": 2200.0,
        "p95_ms": 3500.0,
        "target_ms": 3000.0,
        "over_target": 1,
    }
    assert stats["booking"] == {"calls": 2, "booked": 1, "completion": 0.5}
    assert (stats["transfers"], stats["messages"]) == (1, 2)
    cost = stats["cost"]
    assert (cost["calls_priced"], cost["total_usd"], cost["minutes"]) == (2, 0.07, 3.0)
    assert cost["per_call_usd"] == 0.035
    assert cost["per_2min_usd"] == round(0.07 / 3 * 2, 4)
    assert cost["target_per_2min_usd"] == 0.10
    days = {d["date"]: d for d in stats["by_day"]}
    assert list(days) == [f"2030-01-0{n}" for n in range(1, 8)]
    # Business days: call 2 (03:30 UTC Jan 6) belongs to Jan 5 in New York.
    assert days["2030-01-05"]["calls"]["answered"] == 2
    assert days["2030-01-06"]["calls"]["failed"] == 1 and days["2030-01-06"]["calls"]["other"] == 1
    assert days["2030-01-05"]["cost"]["per_2min_usd"] == 0.05

    default = (await side.browser.get("/api/stats")).json()
    assert (default["date_from"], default["date_to"]) == ("2029-12-09", "2030-01-07")
    assert len(default["by_day"]) == 30 and default["calls"]["total"] == 8
    for params, says in (
        ({"date_from": "2030-01-08", "date_to": "2030-01-07"}, "is before"),
        ({"date_from": "2028-01-01"}, "over 366 days"),
        ({"date_to": "tomorrow"}, "date_to must be a date"),
    ):
        bad = await side.browser.get("/api/stats", params=params)
        assert bad.status_code == 422 and says in bad.json()["detail"], bad.text


async def test_home_shows_measures_charts_and_calls_in_progress(side: Side) -> None:
    page = await side.browser.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert "How Zylin is doing" in html and "Last 30 days" in html
    assert html.count('<svg class="chart"') == 5 and 'class="target"' in html
    assert "<script" in html and 'src="/dashboard/static/live.js"' in html
    assert "2 unread messages" in html
    assert "+15555550142" in html  # the open call shows in "Calls in progress"

    async def live() -> list[str]:
        body = (await side.browser.get("/dashboard/live.json")).json()
        return [c["caller"] for c in body["calls"]]

    repo = side.server.state.repository
    assert await live() == ["+15555550142"]  # open, and recent: running on some worker
    # An open record from hours ago (a worker died mid-call) is not shown...
    stale = "CA" + "9" * 32
    await repo.create_call(stale, started_at=NOW - timedelta(hours=2), caller_phone="+15550001")
    assert await live() == ["+15555550142"]
    # ...unless this process's live-call registry says the call runs here.
    side.server.state.active_calls[stale] = object()  # type: ignore[assignment]
    try:
        assert await live() == ["+15550001", "+15555550142"]
    finally:
        side.server.state.active_calls.clear()
    await repo.finish_call(EXTRA[8], end_reason="bot_ended")
    assert await live() == []
    async with httpx.AsyncClient(base_url=side.server.url) as stranger:
        assert (await stranger.get("/dashboard/live.json")).status_code == 401


async def test_cancel_and_move_text_the_caller_and_are_audited(side: Side) -> None:
    soon, later, _cancelled = side.seeded.appointment_ids
    page = await side.browser.get(f"/dashboard/appointments/{later}")
    csrf = csrf_of(page.text)

    forged = await side.browser.post(f"/dashboard/appointments/{later}/cancel", data={"csrf": "0"})
    assert forged.status_code == 403
    assert (await side.server.state.repository.get_appointment(later)).status == "booked"

    taken = await side.browser.post(
        f"/dashboard/appointments/{later}/move",
        data={"csrf": csrf, "day": "2030-01-08", "at": "10:15"},  # Ann's cleaning is at 10:00
    )
    assert taken.status_code == 409 and "taken" in taken.text
    moved = await side.browser.post(
        f"/dashboard/appointments/{later}/move",
        data={"csrf": csrf, "day": "2030-03-02", "at": "09:30"},
    )
    assert moved.status_code == 303
    after = await side.server.state.repository.get_appointment(later)
    assert after.start_at == utc(2030, 3, 2, 14, 30)  # 09:30 in New York
    assert after.end_at - after.start_at == utc(2030, 3, 1, 15, 45) - utc(2030, 3, 1, 15, 0)

    cancelled = await side.browser.post(
        f"/dashboard/appointments/{soon}/cancel", data={"csrf": csrf}
    )
    assert cancelled.status_code == 303
    shown = await side.browser.get(cancelled.headers["location"])
    assert "Cancelled; the caller was texted." in shown.text
    assert "cancel appointment by <strong>Dr Kim</strong>" in shown.text
    assert (await side.server.state.repository.get_appointment(soon)).status == "cancelled"

    texts = [(m["To"], m["Body"]) for m in side.twilio.messages]
    assert texts == [
        ("+15555550177", texts[0][1]),
        (ANN, texts[1][1]),
    ], texts
    assert "moved to Saturday, March 2 at 9:30 AM (was Friday, March 1 at 10:00 AM)" in texts[0][1]
    assert "Cleaning on Tuesday, January 8 at 10:00 AM is cancelled" in texts[1][1]
    log = await side.server.state.repository.owner_actions()
    assert [(a.action, a.actor) for a in log] == [
        ("sms", "Dr Kim"),
        ("cancel_appointment", "Dr Kim"),
        ("sms", "Dr Kim"),
        ("move_appointment", "Dr Kim"),
    ]
    assert all(a.created_at == NOW for a in log)
    api = await side.browser.get("/api/changes", params={"target": f"appointment:{soon}"})
    assert [(c["action"], c["actor"]) for c in api.json()["items"]] == [
        ("sms", "Dr Kim"),
        ("cancel_appointment", "Dr Kim"),
    ]
    bad = await side.browser.get("/api/changes", params={"target": "x; drop"})
    assert bad.status_code == 422
    again = await side.browser.post(f"/dashboard/appointments/{soon}/cancel", data={"csrf": csrf})
    assert again.status_code == 409  # already cancelled: nothing changes, nothing texted
    assert len(side.twilio.messages) == 2


async def test_messages_unread_first_and_marked_handled_once(side: Side) -> None:
    page = await side.browser.get("/dashboard/messages")
    assert "2 unread of 2" in page.text
    ann = (await side.server.state.repository.list_messages()).items[0]
    done = await side.browser.post(
        f"/dashboard/messages/{ann.id}/handled", data={"csrf": csrf_of(page.text)}
    )
    assert done.status_code == 303
    page = await side.browser.get("/dashboard/messages")
    assert "1 unread of 2" in page.text
    # Unread first: Bob's older message now comes before Ann's handled one.
    assert page.text.index("Please call me back.") < page.text.index("Running late tomorrow.")
    assert "Handled by Dr &lt;Kim&gt;" not in page.text and "Handled by Dr Kim" in page.text
    api = (await side.browser.get("/api/messages")).json()["items"]
    assert api[0]["handled_by"] == "Dr Kim" and api[0]["handled_at"].startswith("2030-01-07")
    forged = await side.browser.post(f"/dashboard/messages/{ann.id}/handled", data={})
    assert forged.status_code == 403


async def test_setup_page_shows_webhooks_engines_profile_and_signatures(side: Side) -> None:
    page = (await side.browser.get("/dashboard/setup")).text
    for path in ("/twilio/voice", "/twilio/voice-legacy", "/twilio/status"):
        assert f"<code>https://zylin.example.com/shop{path}</code>" in page
    assert "pocketsphinx (demo)" in page and "eSpeak (demo)" in page
    assert "Checked on every webhook" in page
    assert "timezone: America/New_York" in page and "PRICE_TWILIO_PER_MIN" in page
    assert AUTH_TOKEN not in page and ADMIN not in page


async def test_call_page_and_its_recording_with_range(side: Side, tmp_path: Path) -> None:
    path = tmp_path / "recordings" / f"{SID[1]}.wav"
    path.parent.mkdir(parents=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(range(256)) * 64)
    await side.server.state.repository.update_call(SID[1], recording_path=str(path))
    call_id = side.seeded.call_ids[1]
    page = (await side.browser.get(f"/dashboard/calls/{call_id}")).text
    assert (
        f'<a href="/dashboard/appointments/{side.seeded.appointment_ids[0]}">Booked a cleaning'
        in page
    )
    assert "Could not text" in page  # the seeded sms_failed action, in words
    assert page.count("<tr class") == 2  # latency rows for Zylin's two replies only
    assert 'aria-label="Voice-to-voice per reply, by stage"' in page
    assert f'<audio controls preload="metadata" src="/dashboard/calls/{call_id}/recording"' in page

    whole = await side.browser.get(f"/dashboard/calls/{call_id}/recording")
    assert whole.status_code == 200 and whole.content == path.read_bytes()
    part = await side.browser.get(
        f"/dashboard/calls/{call_id}/recording", headers={"Range": "bytes=44-99"}
    )
    assert part.status_code == 206 and part.content == path.read_bytes()[44:100]
    assert part.headers["content-range"] == f"bytes 44-99/{path.stat().st_size}"
    # A path outside the recordings folder is never served.
    await side.server.state.repository.update_call(SID[1], recording_path="/etc/passwd")
    assert (await side.browser.get(f"/dashboard/calls/{call_id}/recording")).status_code == 404


async def test_every_new_page_needs_sign_in(side: Side) -> None:
    soon = side.seeded.appointment_ids[0]
    gets = [
        "/dashboard/appointments",
        f"/dashboard/appointments/{soon}",
        "/dashboard/messages",
        "/dashboard/setup",
        f"/dashboard/calls/{side.seeded.call_ids[1]}/recording",
    ]
    posts = [f"/dashboard/appointments/{soon}/cancel", f"/dashboard/appointments/{soon}/move"]
    posts.append("/dashboard/messages/1/handled")
    async with httpx.AsyncClient(base_url=side.server.url) as stranger:
        for route in gets:
            response = await stranger.get(route)
            assert response.status_code == 303, route
            assert response.headers["location"] == "/dashboard/login"
        for route in posts:
            response = await stranger.post(route, data={"csrf": "x"})
            assert response.status_code == 303, route
        assert (await stranger.get("/api/stats")).status_code == 401
    assert (await side.server.state.repository.get_appointment(soon)).status == "booked"


empty_db_url = storage_fixtures.empty_db_url  # SQLite, and PostgreSQL when it is set up


async def test_owner_side_storage_on_every_database(empty_db_url: str) -> None:
    """The queries behind the measures, live calls, unread-first and audited changes."""
    repo, engine = await open_repository(empty_db_url, Clock(NOW))
    try:
        seeded = await seed(repo)
        await seed_outcomes(repo)
        day = (utc(2030, 1, 5, 5, 0), utc(2030, 1, 8, 5, 0))
        facts = await repo.call_facts(*day)
        assert len(facts) == 8
        assert [f.booked for f in facts if f.intent == "booking"] == [True, False]
        assert sorted(ms for _at, ms in await repo.reply_latencies(*day)) == [900.0, 3500.0]
        assert len(await repo.transfer_times(*day)) == 1
        assert len(await repo.message_times(*day)) == 2
        assert [c.call_sid for c in await repo.open_calls(NOW - timedelta(hours=1))] == [EXTRA[8]]
        assert [c.call_sid for c in await repo.calls_by_sids([SID[2], "CAnone"])] == [SID[2]]

        ann = (await repo.list_messages()).items[0]
        assert (await repo.mark_message_handled(ann.id, by="Kim")).handled_by == "Kim"
        again = await repo.mark_message_handled(ann.id, by="Lee")
        assert again.handled_by == "Kim"  # the first owner to handle it stands
        assert [m.id for m in (await repo.list_messages(unread_first=True)).items][-1] == ann.id
        assert await repo.unread_message_count() == 1

        soon, later, _ = seeded.appointment_ids
        await repo.cancel(soon, by="Kim")
        start = utc(2030, 3, 4, 15, 0)
        await repo.reschedule(later, start_at=start, end_at=start + timedelta(minutes=45), by="Lee")
        log = [(a.action, a.actor, a.target) for a in await repo.owner_actions()]
        assert log == [
            ("move_appointment", "Lee", f"appointment:{later}"),
            ("cancel_appointment", "Kim", f"appointment:{soon}"),
            ("message_handled", "Kim", f"message:{ann.id}"),
        ]
    finally:
        await engine.dispose()
