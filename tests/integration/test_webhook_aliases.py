"""The original design's webhook paths: same TwiML, each signed over its own URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.harness import ACCOUNT_SID, AUTH_TOKEN, cloud_settings, running_fakes, running_server
from zylin.telephony import SignatureChecker

pytestmark = pytest.mark.timeout(60)

SIGNER = SignatureChecker(AUTH_TOKEN)
ALIASES = {
    "/twilio/voice": "/api/twilio/voice",
    "/twilio/voice-legacy": "/api/twilio/voice-legacy",
}
ALIASES_STREAM = "/api/twilio/voice"


def form(n: int) -> dict[str, str]:
    return {
        "CallSid": f"CA{n:032x}",
        "AccountSid": ACCOUNT_SID,
        "From": "+15555550100",
        "To": "+15555550199",
        "CallStatus": "ringing",
    }


def shape(xml: str) -> list[tuple[str, dict[str, str], str]]:
    """Every element with its attributes and text, the stream's single-use token left out."""
    out = []
    for el in ET.fromstring(xml).iter():
        attrs = dict(el.attrib)
        if "url" in attrs and "/media-stream/" in attrs["url"]:
            attrs["url"] = attrs["url"].rsplit("/", 1)[0]
        out.append((el.tag, attrs, (el.text or "").strip()))
    return out


async def signed_post(
    client: httpx.AsyncClient, base: str, path: str, data: dict[str, str], signed_for: str
) -> httpx.Response:
    """POST `data` to `path`, signed as Twilio would for the URL `signed_for`."""
    headers = {"X-Twilio-Signature": SIGNER.sign(base + signed_for, data)}
    return await client.post(path, data=data, headers=headers)


async def test_original_paths_answer_the_same_twiml_signed_over_their_own_url(
    tmp_path: Path,
) -> None:
    async with (
        running_fakes() as fakes,
        running_server(cloud_settings(fakes, tmp_path)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=30) as client,
    ):
        sids = iter(range(1, 100))
        legacy_alias_sid = ""
        for path, alias in ALIASES.items():
            answers = []
            for url_path in (path, alias):
                data = form(next(sids))
                response = await signed_post(client, server.url, url_path, data, url_path)
                assert response.status_code == 200, (url_path, response.text)
                assert response.headers["content-type"].startswith("application/xml")
                answers.append(shape(response.text))
                if url_path == "/api/twilio/voice-legacy":
                    legacy_alias_sid = data["CallSid"]
            assert answers[0] == answers[1], path
            assert len(answers[0]) > 2  # a real document, not an empty <Response/>

            # A signature made for the other path is refused: each checks its own URL.
            for signed_for, posted_to in ((path, alias), (alias, path)):
                data = form(next(sids))
                response = await signed_post(client, server.url, posted_to, data, signed_for)
                assert response.status_code == 403, (signed_for, posted_to)
            assert (await client.post(alias, data=form(next(sids)))).status_code == 403

        data = form(next(sids))
        stream = await signed_post(client, server.url, "/api/twilio/voice", data, ALIASES_STREAM)
        assert "/media-stream/" in stream.text
        # The legacy alias recorded its call as the legacy path does.
        detail = await server.state.repository.get_call_by_sid(legacy_alias_sid)
        assert detail is not None
        assert [a.kind for a in detail.actions] == ["legacy_path"]
