"""The owner's screening page: blocking a number writes the profile and the next call from it
is refused; screened calls are listed with why; unblocking lets it through again."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from tests.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    cloud_settings,
    running_fakes,
    running_server,
)
from tests.integration.test_owner_api import csrf_of
from zylin.business import load_profile
from zylin.config import ROOT
from zylin.telephony import SignatureChecker

pytestmark = pytest.mark.timeout(60)

ADMIN = "screening-admin-token-0123456789"
SPAMMER = "+15550100666"


async def test_the_owner_blocks_and_unblocks_a_number_from_the_dashboard(tmp_path: Path) -> None:
    profile_path = tmp_path / "profile.yaml"
    shutil.copy(ROOT / "business" / "example_profile.yaml", profile_path)
    signer = SignatureChecker(AUTH_TOKEN)
    owner = {"Authorization": f"Bearer {ADMIN}"}
    async with running_fakes() as fakes:
        settings = cloud_settings(fakes, tmp_path, admin_token=ADMIN, business_profile=profile_path)
        async with (
            running_server(settings) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):

            async def call_from(n: int, caller: str) -> str:
                form = {"CallSid": f"CA{n:032x}", "AccountSid": ACCOUNT_SID, "From": caller}
                headers = {"X-Twilio-Signature": signer.sign(server.url + "/twilio/voice", form)}
                answer = await client.post("/twilio/voice", data=form, headers=headers)
                return ET.fromstring(answer.text)[0].tag

            assert (await client.get("/dashboard/screening")).status_code == 303  # sign in
            assert await call_from(1, SPAMMER) == "Connect"

            # The owner adds a number to the file by hand after this worker loaded it: the
            # dashboard's block and unblock below must keep it.
            by_hand = "+15550100777"
            text = profile_path.read_text(encoding="utf-8")
            profile_path.write_text(
                text.replace("blocklist: []", f'blocklist: ["{by_hand}"]'), encoding="utf-8"
            )

            here = {**owner, "Origin": server.url}
            bad = await client.post(
                "/dashboard/screening/block", data={"number": "call me"}, headers=here
            )
            assert bad.status_code == 422 and "is not an E.164 phone number" in bad.text
            blocked = await client.post(
                "/dashboard/screening/block", data={"number": "+1 555 010 0666"}, headers=here
            )
            assert blocked.status_code == 303
            assert load_profile(profile_path).screening.blocklist == [SPAMMER, by_hand]
            assert await call_from(2, SPAMMER) == "Reject"

            page = (await client.get("/dashboard/screening", headers=owner)).text
            assert SPAMMER in page and "blocklist" in page  # listed, and the call screened

            # A signed-in browser's form needs the page's CSRF value, not just the cookie.
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
                await browser.post("/dashboard/login", data={"token": ADMIN, "name": "Kim"})
                forged = await browser.post(
                    "/dashboard/screening/unblock",
                    data={"number": SPAMMER},
                    headers={"Origin": server.url},
                )
                assert forged.status_code == 403
                form_page = (await browser.get("/dashboard/screening")).text
                unblocked = await browser.post(
                    "/dashboard/screening/unblock",
                    data={"number": SPAMMER, "csrf": csrf_of(form_page)},
                    headers={"Origin": server.url},
                )
            assert unblocked.status_code == 303
            assert load_profile(profile_path).screening.blocklist == [by_hand]
            assert await call_from(3, SPAMMER) == "Connect"
            assert await call_from(4, by_hand) == "Reject"
            # Who changed the blocklist, and how, is in the audit log (newest first).
            changes = (await client.get("/api/changes", headers=owner)).json()["items"]
            assert [(c["actor"], c["action"], c["target"], c["detail"]) for c in changes] == [
                ("Kim", "unblock_number", "profile:blocklist", {"number": SPAMMER}),
                ("owner (API token)", "block_number", "profile:blocklist", {"number": SPAMMER}),
            ]
