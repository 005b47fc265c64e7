"""After-hours `forward` mode over HTTP: the webhook sends the call on with `<Dial>`, and a
forward nobody answers takes a message on the legacy path."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from devtools.fakes.twilio_rest_server import wav_bytes
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, cloud_settings, running_fakes, running_server
from tests.integration.test_screening_webhook import screening_profile
from zylin.telephony import SignatureChecker

pytestmark = pytest.mark.timeout(60)

SIGNER = SignatureChecker(AUTH_TOKEN)
FORWARD_TO = "+15551230077"
CALLER = "+15550100123"
MON_10AM = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
MON_6PM = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def form(n: int, **more: str) -> dict[str, str]:
    return {
        "CallSid": f"CA{n:032x}",
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": "+15555550199",
        "CallStatus": "in-progress",
        **more,
    }


async def post(client: httpx.AsyncClient, base: str, url: str, data: dict[str, str]) -> ET.Element:
    absolute = url if url.startswith("http") else base + url
    headers = {"X-Twilio-Signature": SIGNER.sign(absolute, data)}
    response = await client.post(absolute, data=data, headers=headers)
    assert response.status_code == 200, response.text
    return ET.fromstring(response.text)


async def test_forward_after_hours_dials_then_takes_a_message_if_unanswered(
    tmp_path: Path,
) -> None:
    profile = screening_profile(tmp_path, {})
    text = profile.read_text() + f'after_hours: {{mode: forward, forward_to: "{FORWARD_TO}"}}\n'
    profile.write_text(text)
    clock = [MON_6PM]
    async with (
        running_fakes() as fakes,
        running_server(
            cloud_settings(fakes, tmp_path, business_profile=profile), now=lambda: clock[0]
        ) as server,
        httpx.AsyncClient(timeout=30) as client,
    ):
        root = await post(client, server.url, "/twilio/voice", form(1))
        assert [el.tag for el in root] == ["Say", "Dial"]
        assert "closed right now" in (root[0].text or "")
        dial = root[1]
        assert (dial.text or "").strip() == FORWARD_TO
        assert dial.attrib["callerId"] == CALLER  # who is calling shows on the phone it rings
        assert dial.attrib["timeout"] == "20"
        assert dial.attrib["action"].endswith("/twilio/voice-legacy/dial-done")

        # Nobody answered: Twilio comes back to the action, and the caller leaves a message.
        root = await post(
            client, server.url, dial.attrib["action"], form(1, DialCallStatus="no-answer")
        )
        assert [el.tag for el in root] == ["Say", "Record", "Redirect"]
        record = root.find("Record")
        assert record is not None
        url = fakes.twilio.add_recording("RE" + "1" * 32, wav_bytes(b"\x00\x00" * 8000))
        message = form(1, RecordingUrl=url, RecordingSid="RE" + "1" * 32)
        await post(client, server.url, record.attrib["action"], message)

        detail = await server.state.repository.get_call_by_sid(form(1)["CallSid"])
        assert detail is not None and detail.call.caller_phone == CALLER
        kinds = [(a.kind, a.detail) for a in detail.actions]
        assert kinds[:2] == [
            ("after_hours", {"mode": "forward"}),
            ("transfer_result", {"dial_status": "no-answer"}),
        ]
        assert detail.call.end_reason == "legacy_message"
        messages = (await server.state.repository.list_messages()).items
        assert [m.call_sid for m in messages] == [form(1)["CallSid"]]

        # An answered forward ends as transferred.
        root = await post(client, server.url, "/twilio/voice", form(2))
        root = await post(
            client, server.url, root[1].attrib["action"], form(2, DialCallStatus="completed")
        )
        assert [el.tag for el in root] == ["Hangup"]
        done = await server.state.repository.get_call_by_sid(form(2)["CallSid"])
        assert done is not None and done.call.end_reason == "transferred"

        # While open, the same webhook streams the call to Zylin as usual.
        clock[0] = MON_10AM
        root = await post(client, server.url, "/twilio/voice", form(3))
        assert [el.tag for el in root] == ["Connect"]
        assert fakes.twilio.call_updates == []  # nothing needed the REST API
