"""Screening on the voice webhook: blocked numbers and callers over the rate limit are refused
before anything is paid for, and each is recorded with end reason `screened`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.harness import ACCOUNT_SID, AUTH_TOKEN, cloud_settings, running_fakes, running_server
from zylin.config import ROOT
from zylin.telephony import SignatureChecker

pytestmark = pytest.mark.timeout(60)

SIGNER = SignatureChecker(AUTH_TOKEN)
BLOCKED = "+15550100666"
REGULAR = "+15550100123"


def screening_profile(tmp_path: Path, screening: dict[str, Any]) -> Path:
    """The example profile with a `screening:` section of the test's own."""
    data = yaml.safe_load((ROOT / "business" / "example_profile.yaml").read_text())
    data["screening"] = screening
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def webhook(
    client: httpx.AsyncClient, base: str, path: str, n: int, caller: str
) -> ET.Element:
    form = {
        "CallSid": f"CA{n:032x}",
        "AccountSid": ACCOUNT_SID,
        "From": caller,
        "To": "+15555550199",
        "CallStatus": "ringing",
    }
    headers = {"X-Twilio-Signature": SIGNER.sign(base + path, form)}
    response = await client.post(path, data=form, headers=headers)
    assert response.status_code == 200, response.text
    return ET.fromstring(response.text)


async def test_blocked_numbers_and_callers_over_the_rate_limit_are_refused_and_recorded(
    tmp_path: Path,
) -> None:
    profile = screening_profile(
        tmp_path,
        {"blocklist": ["+1 555 010 0666"], "rate_limit": {"calls": 3, "minutes": 10}},
    )
    async with (
        running_fakes() as fakes,
        running_server(cloud_settings(fakes, tmp_path, business_profile=profile)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        repo = server.state.repository
        blocked = await webhook(client, server.url, "/twilio/voice", 1, BLOCKED)
        assert [(el.tag, el.attrib) for el in blocked] == [("Reject", {"reason": "busy"})]
        # The legacy path, when Twilio sends a call there itself, screens the same way.
        blocked = await webhook(client, server.url, "/twilio/voice-legacy", 2, BLOCKED)
        assert [el.tag for el in blocked] == ["Reject"]

        answered = [await webhook(client, server.url, "/twilio/voice", n, REGULAR) for n in (3, 4)]
        answered.append(await webhook(client, server.url, "/twilio/voice-legacy", 5, REGULAR))
        assert [[el.tag for el in root] for root in answered] == [
            ["Connect"],
            ["Connect"],
            ["Say", "Record", "Redirect"],
        ]
        for n in (3, 4):  # the streamed calls' records, as their media streams would open them
            await repo.create_call(f"CA{n:032x}", caller_phone=REGULAR)
        fourth = await webhook(client, server.url, "/api/twilio/voice", 6, REGULAR)
        assert [el.tag for el in fourth] == ["Reject"]
        # Another number is not held back by this one's calls.
        other = await webhook(client, server.url, "/twilio/voice", 7, "+15550100124")
        assert [el.tag for el in other] == ["Connect"]

        for n, why in ((1, "blocklist"), (2, "blocklist"), (6, "rate_limit")):
            detail = await repo.get_call_by_sid(f"CA{n:032x}")
            assert detail is not None
            assert detail.call.end_reason == "screened" and detail.call.ended_at is not None
            assert [(a.kind, a.detail) for a in detail.actions] == [("screened", {"why": why})]
        assert b'zylin_calls_total{end_reason="screened"} 3.0' in server.state.metrics.render()
        assert fakes.deepgram.connections == 0 and fakes.openai.chat_requests == []
