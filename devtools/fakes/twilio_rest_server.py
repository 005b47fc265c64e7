"""Twilio REST API 2010-04-01 subset (call update and fetch, SMS, recordings) for tests."""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import secrets
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import numpy as np
import soundfile
from aiohttp import web

from devtools.fakes._base import FakeServer, run_forever

API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_AUTH_TOKEN = "test-twilio-token"
ERRORS_URL = "https://www.twilio.com/docs/errors/{code}"
TWILIO_API_URL = "https://api.twilio.com"


def _now() -> str:
    """Twilio dates are RFC 2822 with a numeric zone, e.g. 'Tue, 25 Nov 2026 14:37:00 +0000'."""
    return format_datetime(datetime.now(UTC).replace(microsecond=0)).replace("-0000", "+0000")


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def wav_bytes(pcm: bytes, sample_rate: int = 8000) -> bytes:
    """16-bit mono PCM in a WAV container, as Twilio serves a recording's `.wav`."""
    out = io.BytesIO()
    soundfile.write(out, np.frombuffer(pcm, dtype="<i2"), sample_rate, "PCM_16", format="WAV")
    return out.getvalue()


def _error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": ERRORS_URL.format(code=code),
        "status": status,
        **extra,
    }
    return web.json_response(body, status=status)


class TwilioRestFake(FakeServer):
    """The Twilio REST calls Zylin makes: end/redirect a call, fetch it, and send an SMS.

    Responses carry the fields the `twilio` SDK reads, so `CallInstance` and `MessageInstance`
    parse as with the real API. Any call SID is treated as an in-progress call unless
    `strict_calls` is set or the call was marked ended.
    """

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str | None = DEFAULT_AUTH_TOKEN,
        api_keys: dict[str, str] | None = None,
        strict_calls: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the fake.

        Args:
            account_sid: The only account the fake serves (must match the URL's AccountSid).
            auth_token: Password for Basic auth as `account_sid`; None accepts any credentials.
            api_keys: Extra `{api_key_sid: secret}` pairs accepted as Basic auth.
            strict_calls: Unknown call SIDs get 404 (otherwise they are created in-progress).
            host: Interface to bind (keep 127.0.0.1).
            port: Port to bind; 0 picks a free one.
        """
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_keys = dict(api_keys or {})
        self.strict_calls = strict_calls
        self.calls: dict[str, dict[str, Any]] = {}
        self._ended: set[str] = set()
        self._sent: dict[str, dict[str, Any]] = {}
        self.recordings: dict[str, bytes] = {}
        self._failures: deque[tuple[int, str | None]] = deque()
        # Recorded for assertions.
        self.call_updates: list[dict[str, Any]] = []
        self.call_fetches: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self.recording_fetches: list[str] = []
        self.requests: list[dict[str, Any]] = []
        super().__init__(host=host, port=port)

    # ----- scripting -------------------------------------------------------------------------

    def add_call(
        self,
        call_sid: str,
        *,
        from_: str = "+15555550100",
        to: str = "+15555550199",
        status: str = "in-progress",
        direction: str = "inbound",
    ) -> dict[str, Any]:
        """Register a live call (needed with `strict_calls`); returns its JSON resource."""
        now = _now()
        call = {
            "sid": call_sid,
            "account_sid": self.account_sid,
            "parent_call_sid": None,
            "date_created": now,
            "date_updated": now,
            "to": to,
            "to_formatted": to,
            "from": from_,
            "from_formatted": from_,
            "phone_number_sid": "PN" + "0" * 32,
            "status": status,
            "start_time": now,
            "end_time": None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "direction": direction,
            "answered_by": None,
            "annotation": None,
            "api_version": API_VERSION,
            "forwarded_from": None,
            "group_sid": None,
            "caller_name": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call_sid}.json",
            "subresource_uris": {
                name.lower(): f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{call_sid}/"
                f"{name}.json"
                for name in ("Notifications", "Recordings", "Payments", "Events", "Siprec")
            },
        }
        self.calls[call_sid] = call
        self._ended.discard(call_sid)
        return call

    def add_recording(self, recording_sid: str, wav: bytes) -> str:
        """Serve `wav` as a recording; returns its `RecordingUrl` exactly as Twilio sends it.

        Twilio's URL is absolute on api.twilio.com with no extension; clients rewrite the host
        to this fake's `base_url` (as Zylin does with `TWILIO_API_BASE_URL`).
        """
        self.recordings[recording_sid] = wav
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{recording_sid}"
        return TWILIO_API_URL + path

    def mark_call_ended(self, call_sid: str) -> None:
        """From now on the call is gone: its URL answers 404 (Twilio error 20404)."""
        self._ended.add(call_sid)

    # ----- faults ----------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, *, endpoint: str | None = None) -> None:
        """Answer the next `n` requests with `status`.

        Args:
            n: How many requests fail.
            status: HTTP status to answer.
            endpoint: "calls", "messages" or "recordings" to fail only that resource; None
                fails any.
        """
        self._failures.extend([(status, endpoint)] * n)

    # ----- server ----------------------------------------------------------------------------

    def _setup_routes(self, app: web.Application) -> None:
        base = f"/{API_VERSION}/Accounts/{{account_sid}}"
        app.router.add_post(base + "/Calls/{call_sid}.json", self._handle_call_update)
        app.router.add_get(base + "/Calls/{call_sid}.json", self._handle_call_fetch)
        app.router.add_post(base + "/Messages.json", self._handle_message_create)
        app.router.add_get(base + "/Messages/{message_sid}.json", self._handle_message_fetch)
        app.router.add_get(base + "/Recordings/{recording}", self._handle_recording_fetch)
        app.router.add_get("/_fake/stats", self._handle_stats)

    def stats(self) -> dict[str, Any]:
        """Recorded requests as JSON-able data (also served at `GET /_fake/stats`)."""
        return {
            "call_updates": self.call_updates,
            "call_fetches": self.call_fetches,
            "messages": self.messages,
            "recording_fetches": self.recording_fetches,
            "requests": len(self.requests),
        }

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    def _check_auth(self, request: web.Request) -> web.Response | None:
        """Basic auth as AccountSid + token (or API key + secret), and the URL's account."""
        user = password = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = None
        if self.auth_token is not None:
            valid = (user == self.account_sid and password == self.auth_token) or (
                user in self.api_keys and self.api_keys[user] == password
            )
            if not valid:
                response = _error(
                    401, 20003, "Authenticate", detail="Your AccountSid or AuthToken was incorrect."
                )
                response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
                return response
        if request.match_info["account_sid"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return None

    def _injected_failure(self, endpoint: str) -> web.Response | None:
        if self._failures and self._failures[0][1] in (None, endpoint):
            status, _ = self._failures.popleft()
            return _error(status, 20500, "An internal server error has occurred")
        return None

    def _lookup_call(self, request: web.Request) -> dict[str, Any] | web.Response:
        call_sid = request.match_info["call_sid"]
        if call_sid in self._ended or (self.strict_calls and call_sid not in self.calls):
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return self.calls.get(call_sid) or self.add_call(call_sid)

    async def _handle_call_update(self, request: web.Request) -> web.Response:
        form = {k: _one_or_all(v) for k, v in _group(await request.post()).items()}
        self.requests.append({"method": "POST", "path": request.path, "form": form})
        if (denied := self._check_auth(request)) is not None:
            return denied
        if (failed := self._injected_failure("calls")) is not None:
            return failed
        call = self._lookup_call(request)
        if isinstance(call, web.Response):
            return call
        self.call_updates.append({"AccountSid": self.account_sid, "CallSid": call["sid"], **form})
        redirect = "Twiml" in form or "Url" in form
        if redirect and call["status"] not in ("queued", "ringing", "in-progress"):
            return _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        status = form.get("Status")
        now = _now()
        if status in ("completed", "canceled"):
            call["status"] = status
            call["end_time"] = now
            call["duration"] = "0"
        call["date_updated"] = now
        return web.json_response(call)

    async def _handle_call_fetch(self, request: web.Request) -> web.Response:
        self.requests.append({"method": "GET", "path": request.path, "form": {}})
        if (denied := self._check_auth(request)) is not None:
            return denied
        if (failed := self._injected_failure("calls")) is not None:
            return failed
        call = self._lookup_call(request)
        if isinstance(call, web.Response):
            return call
        self.call_fetches.append(call["sid"])
        return web.json_response(call)

    async def _handle_message_create(self, request: web.Request) -> web.Response:
        form = {k: _one_or_all(v) for k, v in _group(await request.post()).items()}
        self.requests.append({"method": "POST", "path": request.path, "form": form})
        if (denied := self._check_auth(request)) is not None:
            return denied
        if (failed := self._injected_failure("messages")) is not None:
            return failed
        if not form.get("To"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
            return _error(400, 21602, "Message body is required.")
        sid = _sid("SM")
        now = _now()
        body = form.get("Body") or ""
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "to": form["To"],
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(_as_list(form.get("MediaUrl")))),
            "num_segments": "1" if len(body) <= 160 else str(-(-len(body) // 153)),
            "price": None,
            "price_unit": "USD",
            "status": "accepted" if not form.get("From") else "queued",
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json",
                "feedback": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/"
                "Feedback.json",
            },
        }
        self.messages.append({"AccountSid": self.account_sid, "Sid": sid, **form})
        self._sent[sid] = message
        return web.json_response(message, status=201)

    async def _handle_message_fetch(self, request: web.Request) -> web.Response:
        self.requests.append({"method": "GET", "path": request.path, "form": {}})
        if (denied := self._check_auth(request)) is not None:
            return denied
        message = self._sent.get(request.match_info["message_sid"])
        if message is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(message)

    async def _handle_recording_fetch(self, request: web.Request) -> web.Response:
        """The media (`.wav`, `.mp3` or no extension: WAV here) or `.json` metadata."""
        self.requests.append({"method": "GET", "path": request.path, "form": {}})
        if (denied := self._check_auth(request)) is not None:
            return denied
        if (failed := self._injected_failure("recordings")) is not None:
            return failed
        sid, _, ext = request.match_info["recording"].partition(".")
        audio = self.recordings.get(sid)
        if audio is None or ext not in ("", "wav", "mp3", "json"):
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        self.recording_fetches.append(sid)
        if ext == "json":
            return web.json_response(
                {
                    "sid": sid,
                    "account_sid": self.account_sid,
                    "api_version": API_VERSION,
                    "channels": 1,
                    "status": "completed",
                    "source": "RecordVerb",
                    "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{sid}.json",
                }
            )
        return web.Response(body=audio, content_type="audio/x-wav")


def _group(data: Any) -> dict[str, list[str]]:
    """Collect a form MultiDict into lists so repeated fields (MediaUrl) are not lost."""
    grouped: dict[str, list[str]] = {}
    for key, value in data.items():
        grouped.setdefault(key, []).append(str(value))
    return grouped


def _one_or_all(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone: `python -m devtools.fakes.twilio_rest_server --port 18003`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18003)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    args = parser.parse_args(argv)
    run_forever(
        TwilioRestFake(
            account_sid=args.account_sid,
            auth_token=args.auth_token,
            host=args.host,
            port=args.port,
        )
    )


if __name__ == "__main__":
    main()
