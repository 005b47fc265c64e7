"""Fetch a `<Record>` recording from Twilio, only from Twilio's API host and our own account."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import httpx

TWILIO_API = "https://api.twilio.com"
MAX_RECORDING_BYTES = 8 * 1024 * 1024  # 30 s at 8 kHz is ~0.5 MB; anything far larger is wrong
_RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
_RECORDING_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Recordings/"
    r"(?P<sid>RE[0-9a-fA-F]{32})(?:\.(?:wav|mp3|json))?$"
)


class RecordingError(RuntimeError):
    """The recording could not be fetched; the message says why (no secrets in it)."""


def recording_media_url(
    recording_url: str | None,
    recording_sid: str | None,
    *,
    account_sid: str,
    api_base: str | None,
) -> str:
    """The `.wav` URL to download, on `api_base` (`TWILIO_API_BASE_URL`) or Twilio's API.

    The auth token goes with the download, so a `RecordingUrl` that is not a recording of our
    account on a twilio.com host is refused rather than fetched: a forged form (possible when
    signature checks are off) must not be able to collect our credentials.
    """
    base = (api_base or TWILIO_API).rstrip("/")
    if recording_url:
        parts = urlsplit(recording_url)
        host = (parts.hostname or "").lower()
        allowed = {urlsplit(base).hostname or "", "api.twilio.com"}
        if host not in allowed and not host.endswith(".twilio.com"):
            raise RecordingError(f"RecordingUrl host {host!r} is not Twilio's")
        path = parts.path
    elif recording_sid and _RECORDING_SID.match(recording_sid):
        path = f"/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}"
    else:
        raise RecordingError("no RecordingUrl or RecordingSid in the request")
    match = _RECORDING_PATH.match(path)
    if match is None or match["account"] != account_sid:
        raise RecordingError("RecordingUrl is not a recording of this account")
    return f"{base}/2010-04-01/Accounts/{account_sid}/Recordings/{match['sid']}.wav"


async def download_recording(
    url: str,
    *,
    account_sid: str,
    auth_token: str,
    timeout_secs: float = 8.0,
    not_ready_retries: int = 1,
    retry_delay_secs: float = 0.5,
) -> bytes:
    """The recording's WAV bytes (HTTP Basic with the account SID and auth token).

    Twilio can answer 404 for a moment right after the recording ends, so a 404 is retried
    `not_ready_retries` times before giving up.
    """
    async with httpx.AsyncClient(
        timeout=timeout_secs, auth=(account_sid, auth_token), follow_redirects=True
    ) as client:
        for attempt in range(not_ready_retries + 1):
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                raise RecordingError(f"recording download failed: {type(exc).__name__}") from exc
            if response.status_code == 404 and attempt < not_ready_retries:
                await asyncio.sleep(retry_delay_secs)
                continue
            if response.status_code != 200:
                raise RecordingError(f"recording download answered HTTP {response.status_code}")
            if len(response.content) > MAX_RECORDING_BYTES:
                raise RecordingError(f"recording is too large ({len(response.content)} bytes)")
            return response.content
    raise RecordingError("recording download gave up")  # not reached: the loop returns or raises
