"""The owner's unanswered-questions page: grouped and counted from real call records, and
"add to FAQ" writes the profile (validated, backed up) and new calls answer from it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.harness import cloud_settings, running_fakes, running_server
from tests.integration.test_owner_api import csrf_of
from zylin.business import load_profile
from zylin.config import ROOT
from zylin.prompts import render_system_prompt

pytestmark = pytest.mark.timeout(60)

ADMIN = "questions-admin-token-0123456789"
PUBLIC = "https://zylin.example.com"  # behind a proxy: browsers name this origin, not ours
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
EXCHANGES = [
    ("Do you do root canals?", "I'm not sure about that, but I can take a message."),
    ("do you do root canal treatment", "I don't have that information, sorry."),
    ("Is there wheelchair access?", "I'm not certain. I can take a message for the team."),
    ("What are your opening hours?", "We're open nine to five on weekdays."),
]


def backups(folder: Path) -> list[Path]:
    return list(folder.glob("profile.yaml.*.bak"))


async def test_questions_are_listed_grouped_and_one_click_adds_them_to_the_faq(
    tmp_path: Path,
) -> None:
    profile_path = tmp_path / "profile.yaml"
    shutil.copy(ROOT / "business" / "example_profile.yaml", profile_path)
    async with running_fakes() as fakes:
        settings = cloud_settings(
            fakes, tmp_path, admin_token=ADMIN, business_profile=profile_path, public_url=PUBLIC
        )
        async with (
            running_server(settings, now=lambda: NOW) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):
            repo = server.state.repository
            for n, (question, reply) in enumerate(EXCHANGES, 1):
                sid = f"CA{n:032x}"
                await repo.create_call(sid, started_at=NOW - timedelta(hours=n))
                await repo.add_turn(sid, seq=1, role="user", text=question)
                await repo.add_turn(sid, seq=2, role="assistant", text=reply)

            assert (await client.get("/dashboard/questions")).status_code == 303  # sign in
            owner = {"Authorization": f"Bearer {ADMIN}"}
            page = await client.get("/dashboard/questions", headers=owner)
            assert page.status_code == 200, page.text
            html = page.text
            assert "Do you do root canals?" in html and "asked 2 times" in html
            assert "Is there wheelchair access?" in html and "asked 1 time" in html
            assert "opening hours" not in html  # answered from the profile
            assert html.index("root canals") < html.index("wheelchair")  # most asked first

            assert "script-src 'self'" in page.headers["content-security-policy"]  # Pages'
            form = {"question": "Do you do root canals?", "answer": "Yes, on Tuesdays."}
            bad = await client.post(
                "/dashboard/questions/faq", data={**form, "answer": " "}, headers=owner
            )
            assert bad.status_code == 422 and "The answer must be" in bad.text
            assert backups(tmp_path) == []  # nothing written

            # A signed-in browser behind the proxy: the page's CSRF value is what counts.
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
                await browser.post("/dashboard/login", data={"token": ADMIN, "name": "Kim"})
                here = {"Origin": PUBLIC}
                forged = await browser.post("/dashboard/questions/faq", data=form, headers=here)
                assert forged.status_code == 403 and "Reload the page" in forged.text
                csrf = csrf_of((await browser.get("/dashboard/questions")).text)
                added = await browser.post(
                    "/dashboard/questions/faq", data={**form, "csrf": csrf}, headers=here
                )
            assert added.status_code == 303, added.text
            assert added.headers["location"] == "/dashboard/questions?added=1"
            [change] = (await client.get("/api/changes", headers=owner)).json()["items"]
            assert (change["actor"], change["action"], change["target"]) == (
                "Kim",
                "add_faq",
                "profile:faq",
            )
            assert change["detail"] == {"question": form["question"], "answer": form["answer"]}

            [backup] = backups(tmp_path)
            assert load_profile(backup).faq == load_profile(profile_path).faq[:-1]
            assert load_profile(profile_path).faq[-1].a == "Yes, on Tuesdays."
            # New calls answer it: the server's profile and the system prompt have it now.
            prompt = render_system_prompt(
                server.state.prompts, server.state.profile, now=NOW, caller_known=True
            )
            assert "Q: Do you do root canals? A: Yes, on Tuesdays." in prompt
            after = (await client.get("/dashboard/questions", headers=owner)).text
            assert "root canal" not in after and "wheelchair" in after


async def test_every_worker_picks_up_an_edited_profile_for_new_calls(tmp_path: Path) -> None:
    """Another worker process added a FAQ entry, or the owner edited the file: the next call
    this process answers uses it; an edit that does not validate is not used."""
    from tests.harness import ACCOUNT_SID, AUTH_TOKEN
    from zylin.business.faq_file import add_faq_entry
    from zylin.telephony import SignatureChecker

    profile_path = tmp_path / "profile.yaml"
    shutil.copy(ROOT / "business" / "example_profile.yaml", profile_path)
    signer = SignatureChecker(AUTH_TOKEN)
    async with running_fakes() as fakes:
        settings = cloud_settings(fakes, tmp_path, business_profile=profile_path)
        async with (
            running_server(settings, now=lambda: NOW) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as client,
        ):

            async def incoming_call(n: int) -> None:
                form = {"CallSid": f"CA{n:032x}", "AccountSid": ACCOUNT_SID, "From": "+15550100"}
                signature = signer.sign(server.url + "/twilio/voice", form)
                answer = await client.post(
                    "/twilio/voice", data=form, headers={"X-Twilio-Signature": signature}
                )
                assert answer.status_code == 200

            await incoming_call(1)
            add_faq_entry(profile_path, "Do you do root canals?", "Yes.", now=NOW)
            await incoming_call(2)
            assert server.state.profile.faq[-1].q == "Do you do root canals?"

            profile_path.write_text(profile_path.read_text() + "timezone: Mars/Olympus\n")
            await incoming_call(3)  # not valid: the last good profile stays
            assert server.state.profile.timezone == "America/New_York"
            assert server.state.profile.faq[-1].q == "Do you do root canals?"
