"""The owner's API and dashboard over HTTP against the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from loguru import logger

from tests import storage_fixtures
from tests.harness import RunningServer, running_server
from tests.storage_fixtures import utc
from zylin.config import Settings
from zylin.owner.auth import session_cookie_value
from zylin.storage.repository import Repository

empty_db_url = storage_fixtures.empty_db_url  # a new SQLite file / PostgreSQL database per test

ADMIN = "owner-token-0123456789abcdef"
TWILIO_SECRET = "twilio-auth-secret-xyz987"
NOW = utc(2030, 1, 7, 15, 0)  # Monday 10:00 in New York, the example business's timezone
ANN, BOB = "+15555550100", "+15555550177"
SID = {n: f"CA{n:032d}" for n in (1, 2, 3)}


def owner_settings(database_url: str, **overrides: Any) -> Settings:
    """Demo engines (no call is placed), the owner's token, a Twilio secret to leak-test."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN,
        "twilio_auth_token": TWILIO_SECRET,
        "twilio_account_sid": "AC" + "0" * 32,
        "demo_mode": True,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass(frozen=True)
class Seeded:
    """Ids of what `seed` stored."""

    call_ids: dict[int, int]
    appointment_ids: list[int]


async def seed(repo: Repository) -> Seeded:
    """Three calls (one with a full record), appointments in and out of range, two messages.

    Call 2 starts at 03:30 UTC on Jan 6, which is still Jan 5 in New York: date filters must
    use the business's days, not UTC's.
    """
    ids: dict[int, int] = {}
    c1 = await repo.create_call(
        SID[1],
        started_at=utc(2030, 1, 5, 14, 0),
        stream_sid="MZ" + "1" * 32,
        caller_phone=ANN,
        called_phone="+15555550199",
    )
    ids[1] = c1.id
    turns = [
        ("user", "Hi, I'd like to book a cleaning.", {"stt_ms": 180.0}),
        (
            "assistant",
            "Of course. We have Tuesday at ten or Wednesday at two.",
            {"llm_ttfb_ms": 400.0, "tts_ttfb_ms": 200.0, "voice_to_voice_ms": 900.0},
        ),
        ("user", "Tuesday at ten, please.", {"stt_ms": 220.0}),
        (
            "assistant",
            "Booked: a cleaning on Tuesday at ten. Is there anything else I can help with?",
            {
                "llm_ttfb_ms": 600.0,
                "tts_ttfb_ms": 300.0,
                "voice_to_voice_ms": 3500.0,
                "interrupted": True,
                "heard_text": "Booked: a cleaning on Tuesday at ten.",
            },
        ),
        ("user", "No thanks <b>bye</b>", {"stt_ms": 200.0}),
    ]
    for seq, (role, text, values) in enumerate(turns):
        await repo.add_turn(SID[1], seq=seq, role=role, text=text, **values)
    appointment = await repo.book(
        service="Cleaning",
        start_at=utc(2030, 1, 8, 15, 0),
        end_at=utc(2030, 1, 8, 15, 30),
        caller_name="Ann <Lee>",
        caller_phone=ANN,
        call_sid=SID[1],
    )
    await repo.add_action(
        SID[1],
        "booked",
        {"appointment_id": appointment.id, "service": "Cleaning", "start": "2030-01-08T10:00"},
    )
    # A careless writer put secrets in free-form JSON: the API must not pass them on.
    await repo.add_action(
        SID[1], "sms_failed", {"error": f"bad credentials {TWILIO_SECRET}", "auth_token": "x1"}
    )
    await repo.add_escalation(call_sid=SID[1], reason="wanted the owner", outcome="transferred")
    await repo.update_call(
        SID[1], intent="booking", summary="Ann booked a cleaning <script>alert(1)</script>"
    )
    await repo.finish_call(SID[1], end_reason="bot_ended", ended_at=utc(2030, 1, 5, 14, 2))

    c2 = await repo.create_call(SID[2], started_at=utc(2030, 1, 6, 3, 30), caller_phone=BOB)
    ids[2] = c2.id
    await repo.update_call(SID[2], intent="question", summary="Asked about opening hours.")
    await repo.finish_call(SID[2], end_reason="caller_hangup", ended_at=utc(2030, 1, 6, 3, 31))

    c3 = await repo.create_call(SID[3], started_at=utc(2030, 1, 7, 14, 0), caller_phone=ANN)
    ids[3] = c3.id
    await repo.update_call(SID[3], intent="message", summary="Left a message for the dentist.")
    await repo.finish_call(SID[3], end_reason="caller_hangup", ended_at=utc(2030, 1, 7, 14, 1))

    later = await repo.book(
        service="Checkup",
        start_at=utc(2030, 3, 1, 15, 0),
        end_at=utc(2030, 3, 1, 15, 45),
        caller_name="Bob",
        caller_phone=BOB,
    )
    cancelled = await repo.book(
        service="Checkup",
        start_at=utc(2030, 1, 9, 15, 0),
        end_at=utc(2030, 1, 9, 15, 45),
        caller_name="Cy",
        caller_phone="+15555550111",
    )
    await repo.cancel(cancelled.id)
    await repo.add_message(
        caller_name="Bob", message="Please call me back.", caller_phone=BOB, callback_number=None
    )
    await repo.add_message(
        caller_name="Ann",
        message="Running late tomorrow.",
        caller_phone=ANN,
        callback_number="+15555550123",
        call_sid=SID[3],
    )
    return Seeded(call_ids=ids, appointment_ids=[appointment.id, later.id, cancelled.id])


@dataclass
class Owner:
    """A running server with seeded records and a client that sends the owner's token."""

    server: RunningServer
    client: httpx.AsyncClient
    seeded: Seeded


@pytest_asyncio.fixture
async def owner(empty_db_url: str) -> AsyncIterator[Owner]:
    async with (
        running_server(owner_settings(empty_db_url), now=lambda: NOW) as server,
        httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}
        ) as client,
    ):
        seeded = await seed(server.state.repository)
        yield Owner(server=server, client=client, seeded=seeded)


ROUTES = ["/api/calls", "/api/calls/1", "/api/appointments", "/api/messages", "/api/stats"]


def csrf_of(html: str) -> str:
    """The CSRF value of a page's forms."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, "the page has no form with a CSRF value"
    return match.group(1)


# --- Auth --------------------------------------------------------------------------------


async def test_api_is_off_without_admin_token(empty_db_url: str) -> None:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    try:
        settings = owner_settings(empty_db_url, admin_token=None)
        async with running_server(settings) as server, httpx.AsyncClient() as client:
            for route in [*ROUTES, "/api/calls?date_from=bad"]:
                for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer x"}):
                    response = await client.get(server.url + route, headers=headers)
                    assert response.status_code == 404, route
            page = await client.get(server.url + "/dashboard")
            assert page.status_code == 404
            assert "ADMIN_TOKEN" in page.text and "is off" in page.text
            login = await client.post(server.url + "/dashboard/login", data={"token": ""})
            assert login.status_code == 404 and "set-cookie" not in login.headers
    finally:
        logger.remove(sink)
    assert any("OFF" in line and "ADMIN_TOKEN" in line for line in lines)


async def test_empty_admin_token_also_means_off(empty_db_url: str) -> None:
    settings = owner_settings(empty_db_url, admin_token="")
    async with running_server(settings) as server, httpx.AsyncClient() as client:
        response = await client.get(server.url + "/api/calls", headers={"Authorization": "Bearer"})
        assert response.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {ADMIN}x"},
        {"Authorization": f"Basic {ADMIN}"},
        {"Authorization": ADMIN},
        {"Cookie": f"zylin_session={ADMIN}"},
        {"Cookie": "zylin_session=1893942000.deadbeef"},
    ],
    ids=["none", "wrong", "longer", "basic", "no-scheme", "raw-cookie", "forged-cookie"],
)
async def test_api_refuses_without_the_token(owner: Owner, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=owner.server.url) as stranger:
        for route in [*ROUTES, "/api/calls?date_from=not-a-date", "/api/calls?limit=0"]:
            response = await stranger.get(route, headers=headers)
            assert response.status_code == 401, route
            assert response.headers["www-authenticate"] == "Bearer"
            assert "Ann" not in response.text


# --- Calls -------------------------------------------------------------------------------


async def test_calls_newest_first_with_limit_offset_pagination(owner: Owner) -> None:
    ids = owner.seeded.call_ids
    everything = (await owner.client.get("/api/calls")).json()
    assert [c["id"] for c in everything["items"]] == [ids[3], ids[2], ids[1]]
    assert everything["total"] == 3 and everything["next_offset"] is None
    assert everything["timezone"] == "America/New_York"

    first = (await owner.client.get("/api/calls", params={"limit": 2})).json()
    assert [c["id"] for c in first["items"]] == [ids[3], ids[2]]
    assert (first["total"], first["limit"], first["offset"], first["next_offset"]) == (3, 2, 0, 2)
    second = (await owner.client.get("/api/calls", params={"limit": 2, "offset": 2})).json()
    assert [c["id"] for c in second["items"]] == [ids[1]]
    assert second["next_offset"] is None
    beyond = (await owner.client.get("/api/calls", params={"offset": 10})).json()
    assert beyond["items"] == [] and beyond["total"] == 3

    call = everything["items"][2]
    assert call["caller_phone"] == ANN  # the owner's own data, in full
    assert call["intent"] == "booking" and call["end_reason"] == "bot_ended"
    assert call["started_at"].startswith("2030-01-05T14:00:00")
    assert call["duration_secs"] == 120.0
    assert call["turn_count"] == 5
    assert call["avg_voice_to_voice_ms"] == 2200.0  # (900 + 3500) / 2
    assert everything["items"][0]["avg_voice_to_voice_ms"] is None
    assert everything["items"][0]["turn_count"] == 0  # a call with no transcript


async def test_call_filters(owner: Owner) -> None:
    ids = owner.seeded.call_ids

    async def found(**params: str) -> list[int]:
        response = await owner.client.get("/api/calls", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [c["id"] for c in body["items"]]

    assert await found(intent="booking") == [ids[1]]
    assert await found(intent="QUESTION") == [ids[2]]
    assert await found(intent="cancel") == []
    assert await found(caller=ANN) == [ids[3], ids[1]]
    assert await found(caller="0177") == [ids[2]]
    assert await found(caller="(555) 555-0177") == [ids[2]]
    # Business days (New York): call 2 at 03:30 UTC Jan 6 is the evening of Jan 5 there.
    assert await found(date_from="2030-01-05", date_to="2030-01-05") == [ids[2], ids[1]]
    assert await found(date_from="2030-01-06") == [ids[3]]
    assert await found(date_to="2030-01-06") == [ids[2], ids[1]]
    assert await found(date_from="2030-01-07", date_to="2030-01-07") == [ids[3]]
    assert await found(date_from="2030-01-05", intent="booking", caller="0100") == [ids[1]]
    assert await found(date_from="", intent="", caller="") == [ids[3], ids[2], ids[1]]


async def test_call_detail_has_the_whole_record(owner: Owner) -> None:
    response = await owner.client.get(f"/api/calls/{owner.seeded.call_ids[1]}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    call = body["call"]
    assert call["call_sid"] == SID[1] and call["stream_sid"] == "MZ" + "1" * 32
    assert call["called_phone"] == "+15555550199" and call["caller_phone"] == ANN
    assert call["summary"].startswith("Ann booked a cleaning")
    assert [t["seq"] for t in body["turns"]] == [0, 1, 2, 3, 4]
    assert [t["role"] for t in body["turns"]] == ["user", "assistant"] * 2 + ["user"]
    cut = body["turns"][3]
    assert cut["interrupted"] is True
    assert cut["heard_text"] == "Booked: a cleaning on Tuesday at ten."
    assert cut["text"].endswith("anything else I can help with?")
    assert cut["over_target"] is True and body["turns"][1]["over_target"] is False
    assert body["turns"][1]["llm_ttfb_ms"] == 400.0 and body["turns"][0]["stt_ms"] == 180.0
    assert [a["kind"] for a in body["actions"]] == ["booked", "sms_failed"]
    assert body["actions"][0]["detail"]["service"] == "Cleaning"
    assert body["escalations"][0]["outcome"] == "transferred"
    latency = body["latency"]
    assert latency["avg"] == {
        "stt_ms": 200.0,
        "llm_ttfb_ms": 500.0,
        "tts_ttfb_ms": 250.0,
        "voice_to_voice_ms": 2200.0,
    }
    assert latency["turns_measured"] == 2 and latency["turns_over_target"] == 1
    assert latency["target_ms"] == 3000 and latency["max_voice_to_voice_ms"] == 3500.0

    by_sid = (await owner.client.get(f"/api/calls/{SID[1]}")).json()
    assert by_sid == body
    assert (await owner.client.get("/api/calls/999999")).status_code == 404
    assert (await owner.client.get(f"/api/calls/CA{'9' * 32}")).status_code == 404
    bad = await owner.client.get("/api/calls/abc")
    assert bad.status_code == 422 and "call SID" in bad.json()["detail"]
    browser_sid = "BR" + "7" * 32  # the browser phone's calls, by the SID its page knows
    await owner.server.state.repository.create_call(browser_sid, started_at=NOW)
    by_browser_sid = await owner.client.get(f"/api/calls/{browser_sid}")
    assert by_browser_sid.status_code == 200, by_browser_sid.text
    assert by_browser_sid.json()["call"]["call_sid"] == browser_sid


async def test_no_secrets_in_api_responses(owner: Owner) -> None:
    bodies = [
        (await owner.client.get(route)).text
        for route in [*ROUTES, f"/api/calls/{owner.seeded.call_ids[1]}"]
    ]
    for body in bodies:
        assert ADMIN not in body and TWILIO_SECRET not in body
    detail = (await owner.client.get(f"/api/calls/{owner.seeded.call_ids[1]}")).json()
    leaked = detail["actions"][1]["detail"]
    assert leaked == {"error": "bad credentials [redacted]", "auth_token": "[redacted]"}


@pytest.mark.parametrize(
    ("route", "params", "says"),
    [
        ("/api/calls", {"date_from": "2030-13-01"}, "date_from must be a date as YYYY-MM-DD"),
        ("/api/calls", {"date_from": "yesterday"}, "date_from must be a date as YYYY-MM-DD"),
        ("/api/calls", {"date_to": "2030-1-5"}, "date_to must be a date as YYYY-MM-DD"),
        ("/api/calls", {"date_from": "2030-01-07", "date_to": "2030-01-05"}, "is before"),
        ("/api/calls", {"intent": "DROP TABLE calls"}, "intent must be a word"),
        ("/api/calls", {"caller": "ann"}, "caller must be digits"),
        ("/api/calls", {"limit": "0"}, None),
        ("/api/calls", {"limit": "1000"}, None),
        ("/api/calls", {"offset": "-1"}, None),
        ("/api/calls", {"limit": "ten"}, None),
        ("/api/appointments", {"start": "2030/01/01"}, "start must be a date as YYYY-MM-DD"),
        ("/api/appointments", {"end": "soon"}, "end must be a date as YYYY-MM-DD"),
        ("/api/appointments", {"start": "2030-01-01", "end": "2032-01-01"}, "over 366 days"),
        ("/api/messages", {"date_from": "2030-02-30"}, "date_from must be a date"),
        ("/api/messages", {"limit": "201"}, None),
        # Days at the ends of the calendar: no overflow (it was a 500), a clear answer.
        ("/api/stats", {"date_to": "0001-01-05"}, "date_to must be a day from 1900-01-01"),
        ("/api/stats", {"date_to": "9999-12-31"}, "date_to must be a day from 1900-01-01"),
        ("/api/calls", {"date_to": "9999-12-31"}, "date_to must be a day from 1900-01-01"),
    ],
)
async def test_bad_query_parameters_get_422(
    owner: Owner, route: str, params: dict[str, str], says: str | None
) -> None:
    response = await owner.client.get(route, params=params)
    assert response.status_code == 422, response.text
    if says is not None:
        assert says in response.json()["detail"]


# --- Appointments and messages -----------------------------------------------------------


async def test_appointments_default_to_the_next_30_days(owner: Owner) -> None:
    soon, later, cancelled = owner.seeded.appointment_ids
    body = (await owner.client.get("/api/appointments")).json()
    assert (body["start"], body["end"]) == ("2030-01-07", "2030-02-06")
    assert [a["id"] for a in body["items"]] == [soon]
    assert body["items"][0]["caller_name"] == "Ann <Lee>"
    assert body["items"][0]["start_at"].startswith("2030-01-08T15:00:00")

    wide = await owner.client.get(
        "/api/appointments", params={"start": "2030-01-01", "end": "2030-03-01"}
    )
    assert [a["id"] for a in wide.json()["items"]] == [soon, later]
    with_cancelled = await owner.client.get(
        "/api/appointments", params={"start": "2030-01-09", "include_cancelled": "true"}
    )
    items = with_cancelled.json()["items"]
    assert [(a["id"], a["status"]) for a in items] == [(cancelled, "cancelled")]
    # Local days: Mar 1 10:00 New York is inside "2030-03-01", not inside "2030-02-28".
    edge = await owner.client.get(
        "/api/appointments", params={"start": "2030-02-28", "end": "2030-02-28"}
    )
    assert edge.json()["items"] == []


async def test_messages_newest_first_and_paginated(owner: Owner) -> None:
    body = (await owner.client.get("/api/messages")).json()
    assert [m["caller_name"] for m in body["items"]] == ["Ann", "Bob"]
    assert body["items"][0]["callback_number"] == "+15555550123"
    assert body["items"][0]["call_sid"] == SID[3]
    page = (await owner.client.get("/api/messages", params={"limit": 1, "offset": 1})).json()
    assert [m["caller_name"] for m in page["items"]] == ["Bob"]
    assert (page["total"], page["next_offset"]) == (2, None)
    first = (await owner.client.get("/api/messages", params={"limit": 1})).json()
    assert first["next_offset"] == 1
    assert (await owner.client.get("/api/messages", params={"date_to": "2020-01-01"})).json()[
        "items"
    ] == []


# --- Dashboard over HTTP -----------------------------------------------------------------


async def test_dashboard_sign_in_sets_an_hmac_cookie_not_the_token(owner: Owner) -> None:
    async with httpx.AsyncClient(base_url=owner.server.url) as browser:
        first = await browser.get("/dashboard")
        assert first.status_code == 303 and first.headers["location"] == "/dashboard/login"
        form = await browser.get("/dashboard/login")
        assert form.status_code == 200 and 'name="token"' in form.text
        assert "Demo mode" in form.text  # demo engines: the banner shows on every page

        wrong = await browser.post("/dashboard/login", data={"token": "guess"})
        assert wrong.status_code == 401 and "not right" in wrong.text
        assert "set-cookie" not in wrong.headers

        signed = await browser.post("/dashboard/login", data={"token": ADMIN})
        assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert ADMIN not in cookie

        page = await browser.get("/dashboard")
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        # Caller-controlled text is escaped, never markup.
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert "2,200 ms" in page.text
        appointments = await browser.get("/dashboard/appointments")
        assert "Ann &lt;Lee&gt;" in appointments.text
        assert "Running late tomorrow." in (await browser.get("/dashboard/messages")).text
        # The session cookie also opens the JSON API (same owner, same browser).
        assert (await browser.get("/api/calls")).status_code == 200

        detail = await browser.get(f"/dashboard/calls/{owner.seeded.call_ids[1]}")
        assert detail.status_code == 200
        assert "interrupted" in detail.text and "were not heard" in detail.text
        assert "No thanks &lt;b&gt;bye&lt;/b&gt;" in detail.text
        assert TWILIO_SECRET not in detail.text and ADMIN not in detail.text
        missing = await browser.get("/dashboard/calls/424242")
        assert missing.status_code == 404

        bad_filter = await browser.get("/dashboard", params={"date_from": "nope"})
        assert bad_filter.status_code == 422 and "YYYY-MM-DD" in bad_filter.text

        refused = await browser.post("/dashboard/logout")  # no CSRF value: a forged form
        assert refused.status_code == 403 and (await browser.get("/dashboard")).status_code == 200
        out = await browser.post("/dashboard/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        assert (await browser.get("/dashboard")).status_code == 303
        assert (await browser.get("/api/calls")).status_code == 401


async def test_dashboard_accepts_bearer_and_expires_sessions(owner: Owner) -> None:
    page = await owner.client.get("/dashboard")
    assert page.status_code == 200 and "Recent calls" in page.text
    stale = session_cookie_value(ADMIN, NOW - timedelta(hours=13))
    async with httpx.AsyncClient(
        base_url=owner.server.url, cookies={"zylin_session": stale}
    ) as browser:
        assert (await browser.get("/api/calls")).status_code == 401
        fresh = session_cookie_value(ADMIN, NOW - timedelta(hours=1))
        browser.cookies.set("zylin_session", fresh)
        assert (await browser.get("/api/calls")).status_code == 200
