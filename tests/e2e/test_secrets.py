"""Secrets and the caller's number stay out of logs and out of what the server answers.

A full call (booking with texts, a failed text, a keypad transfer, hang-up) runs at
LOG_LEVEL=INFO with a loguru sink set up like production's (no variable values in
tracebacks) and the standard-library loggers captured too; then the log and the server's
HTTP answers (health, refusals, errors, metrics) are searched for every secret.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import httpx
import pytest
from loguru import logger

from devtools.caller import SimulatedCall
from devtools.fakes._base import wait_until
from devtools.fakes.openai_server import Text, ToolCall
from tests.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    DEEPGRAM_KEY,
    OPENAI_KEY,
    Fakes,
    RunningServer,
)

CALLER = "+15555550177"
SECRETS = {
    "Twilio auth token": AUTH_TOKEN,
    "Twilio basic auth": base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode(),
    "Deepgram key": DEEPGRAM_KEY,
    "OpenAI key": OPENAI_KEY,
    "caller's number": CALLER.removeprefix("+1"),  # with or without the country code
}


@pytest.fixture
def production_log(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Loguru at INFO as `configure_logging` sets it up, plus stdlib logging at INFO."""
    lines: list[str] = []
    sink = logger.add(
        lambda m: lines.append(str(m)),
        level="INFO",
        format="{level} | {name}:{function} - {message}",
        backtrace=False,
        diagnose=False,
    )
    caplog.set_level(logging.INFO)
    yield lines
    logger.remove(sink)
    lines.extend(f"{r.name}: {r.getMessage()}" for r in caplog.records)


def _leaks(text: str) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in text]


async def test_a_full_call_logs_no_secret_and_no_full_phone_number(
    zylin: RunningServer, fakes: Fakes, production_log: list[str]
) -> None:
    fakes.deepgram.queue_transcripts(["Book me a cleaning on Tuesday at ten thirty."])
    fakes.openai.queue_chat(
        ToolCall(
            "book_appointment",
            {"service": "Cleaning", "start": "2026-12-01T10:30", "caller_name": "Ann Lee"},
        ),
        Text("You're booked for Tuesday at ten thirty."),
    )
    fakes.twilio.fail_next(endpoint="messages")  # one text fails: its error is logged
    async with SimulatedCall(zylin.url, auth_token=AUTH_TOKEN, caller=CALLER) as call:
        await call.wait_for_reply(timeout=15)
        await call.say_text("Book me a cleaning on Tuesday at ten thirty")
        await call.wait_for_reply(timeout=20)
        await wait_until(lambda: len(fakes.twilio.messages) >= 1, within=10)
        await call.send_dtmf("0")
        await wait_until(lambda: any("Twiml" in u for u in fakes.twilio.call_updates), within=15)
    await wait_until(lambda: not zylin.state.active_calls, within=15)
    detail = await zylin.state.repository.get_call_by_sid(call.call_sid)
    assert detail is not None and "booked" in [a.kind for a in detail.actions]

    log = "\n".join(production_log)
    assert "Call started from +1***77" in log, "the log does name the caller, masked"
    assert "SMS" in log and "failed" in log, "the failed text was logged"
    leaking = [line for line in production_log if _leaks(line)]
    assert leaking == []
    assert _leaks(repr(zylin.settings)) == []


async def test_http_answers_carry_no_secrets(zylin: RunningServer, fakes: Fakes) -> None:
    url = zylin.url
    form = {"CallSid": "CA" + "1" * 32, "From": CALLER, "AccountSid": ACCOUNT_SID}
    async with httpx.AsyncClient() as http:
        answers = {
            "health": await http.get(f"{url}/health"),
            "metrics": await http.get(f"{url}/metrics"),
            "unsigned webhook": await http.post(f"{url}/twilio/voice", data=form),
            "bad signature": await http.post(
                f"{url}/twilio/voice", data=form, headers={"X-Twilio-Signature": "x"}
            ),
            "oversized body": await http.post(f"{url}/twilio/voice", content=b"x" * 70_000),
            "unknown route": await http.get(f"{url}/.env"),
            "api without admin token": await http.get(f"{url}/api/calls"),
            "media stream over HTTP": await http.get(f"{url}/media-stream/anything"),
        }
    assert answers["health"].status_code == 200
    assert answers["health"].json()["configured"] == {
        "deepgram": True,
        "openai": True,
        "twilio": True,
        "public_url": False,
    }
    assert answers["unsigned webhook"].status_code == 403
    assert answers["bad signature"].status_code == 403
    assert answers["oversized body"].status_code == 413
    for name, response in answers.items():
        text = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        assert _leaks(text) == [], name
        assert ACCOUNT_SID not in text, name
