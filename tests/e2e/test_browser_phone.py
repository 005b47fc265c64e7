"""The browser phone in a real browser: headless chromium with a fake microphone, demo mode.

The microphone is a WAV made with eSpeak (a pause, a question, a pause; chromium loops it).
The page's AudioWorklet turns it into 8 kHz mu-law on the Media Streams socket, plays Zylin's
audio back and echoes the marks; the call must run the real pipeline and leave a record.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from devtools.fakes._base import wait_until
from tests.e2e.conftest import OPEN_NOW
from tests.e2e.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS
from tests.harness import RunningServer, running_server
from tests.integration.test_owner_api import csrf_of
from zylin.business.faq_file import add_faq_entry
from zylin.call.capacity import reserve_slot
from zylin.config import ROOT, Settings
from zylin.engines import Engines
from zylin.local.espeak import synthesize

ADMIN = "browser-phone-admin-token-0123456789"
QUESTION = "Is there parking?"
ASSETS = ("phone.js", "phone-worklet.js", "phone.css")
SCREENSHOTS = Path(os.environ.get("ZYLIN_SCREENSHOT_DIR", ROOT / "test-output" / "screenshots"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def microphone_wav(path: Path, *, before_secs: float, after_secs: float) -> Path:
    """What the fake microphone says: silence while Zylin greets, the question, silence."""
    pcm, rate = synthesize(QUESTION)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\0\0" * int(rate * before_secs) + pcm + b"\0\0" * int(rate * after_secs))
    return path


async def zylin_turns(api: httpx.AsyncClient, *, at_least: int, within: float = 20.0) -> list[str]:
    """Zylin's recorded lines in the newest call, once it has `at_least` of them."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        calls = (await api.get("/api/calls")).json()["items"]
        if calls:
            detail = (await api.get(f"/api/calls/{calls[0]['id']}")).json()
            said = [t["text"] for t in detail["turns"] if t["role"] == "assistant"]
            if len(said) >= at_least:
                return said
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"Zylin's line {at_least} was not recorded within {within} s")
        await asyncio.sleep(0.2)


@pytest_asyncio.fixture
async def demo_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    profile = tmp_path / "profile.yaml"  # (a test edits it, as another worker would)
    shutil.copy(ROOT / "business" / "example_profile.yaml", profile)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        business_profile=profile,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'phone.db'}",
        admin_token=ADMIN,
        silence_prompt_secs=30.0,
        max_concurrent_calls=1,  # a browser call takes a line like any call
        recordings_dir=tmp_path / "recordings",
    )
    assert Engines.choose(settings).any_demo
    async with running_server(settings, now=lambda: OPEN_NOW) as server:
        yield server


async def test_owner_calls_zylin_from_the_browser(
    demo_server: RunningServer, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    server = demo_server
    wav = microphone_wav(tmp_path / "caller.wav", before_secs=8.5, after_secs=20.0)
    greeting = server.state.prompts.greeting(server.state.profile)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    api = httpx.AsyncClient(base_url=server.url, headers=headers)
    async with api, async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            page = await (await browser.new_context()).new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type == "error" else None,
            )

            await page.goto(server.url + "/dashboard/phone")  # signed out: sent to sign in
            assert page.url.endswith("/dashboard/login")
            await page.fill("#token", ADMIN)
            await page.click("button[type=submit]")
            await page.wait_for_url(server.url + "/dashboard")
            await page.click('nav a[href="/dashboard/phone"]')
            await page.wait_for_url(server.url + "/dashboard/phone")

            await page.click("#call")
            zylin = page.locator("#transcript li.bot .bubble")
            caller = page.locator("#transcript li.caller .bubble")
            await expect(zylin.first).to_have_text(greeting, timeout=15_000)
            await expect(caller.first).to_contain_text("parking", timeout=20_000)
            # The answer, spoken: recorded once Zylin stopped speaking, and shown as said.
            answer = (await zylin_turns(api, at_least=2))[1]
            assert "free parking behind the building" in answer  # from the business profile
            await expect(zylin.nth(1)).to_have_text(answer)
            await expect(page.locator("#status")).to_have_text("Listening…", timeout=15_000)
            await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / "browser_phone.png"), full_page=True)

            await page.click("#hangup")
            await expect(page.locator("#status")).to_have_text("You hung up.")
            await page.set_viewport_size({"width": 375, "height": 800})  # on a phone
            inner, outer = await page.evaluate(
                "() => { const c = document.getElementById('phone');"
                " return [c.scrollWidth, c.clientWidth]; }"
            )
            assert inner <= outer <= 375  # the call card fits (the header is base.html's)
            await page.screenshot(path=str(SCREENSHOTS / "browser_phone_375.png"), full_page=True)
            await page.click("#record-link")  # the call's record, like any other call's
            await page.wait_for_url(re.compile(r".*/dashboard/calls/\d+$"))
            await expect(page.get_by_role("heading", name="Call from browser")).to_be_visible()
            assert problems == []

            await wait_until(lambda: not server.state.active_calls, within=15)
            assert await reserve_slot(server.state, "CA" + "1" * 32, hold_secs=60)  # a phone call
            await page.goto(server.url + "/dashboard/phone")
            await page.click("#call")
            await expect(page.get_by_role("alert")).to_contain_text("Every line is busy")
            await expect(page.locator("#call")).to_be_enabled()
            assert [p for p in problems if "503" not in p] == []  # the refused start, only
        finally:
            await browser.close()

        calls = (await api.get("/api/calls")).json()["items"]
        assert [c["caller_phone"] for c in calls] == ["browser"]
        detail = (await api.get(f"/api/calls/{calls[0]['id']}")).json()
    assert detail["call"]["call_sid"].startswith("BR")
    assert detail["call"]["end_reason"] == "caller_hangup"
    turns = [(t["role"], t["text"]) for t in detail["turns"]]
    assert turns[0] == ("assistant", greeting)
    said = [_normal(text) for role, text in turns if role == "user"]
    assert "is there parking" in said
    answers = [t for t in detail["turns"][1:] if t["role"] == "assistant"]
    assert answers[0]["text"] == answer and not answers[0]["interrupted"]


async def _refused(url: str, headers: dict[str, str]) -> int:
    """The HTTP status a WebSocket upgrade got instead of a socket."""
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers=headers, open_timeout=5):
            pass
    return refused.value.response.status_code


async def test_browser_phone_needs_sign_in_a_form_token_and_a_free_line(
    demo_server: RunningServer,
) -> None:
    server = demo_server
    async with httpx.AsyncClient(base_url=server.url) as web:
        page = await web.get("/dashboard/phone")
        assert (page.status_code, page.headers["location"]) == (303, "/dashboard/login")
        assert (await web.post("/dashboard/phone/calls")).status_code == 401
        assets = [f"/dashboard/static/{name}" for name in ASSETS]
        for path in assets:
            assert (await web.get(path)).status_code == 401  # only for the signed-in page
        assert (await web.get("/dashboard/static/style.css")).status_code == 200  # sign-in's
        record = await web.get("/dashboard/phone/calls/BR" + "0" * 32)
        assert (record.status_code, record.headers["location"]) == (303, "/dashboard/login")
        assert (await web.post("/dashboard/login", data={"token": ADMIN})).status_code == 303
        page = await web.get("/dashboard/phone")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["permissions-policy"].startswith("microphone=(self)")
        assert 'src="/dashboard/static/phone.js"' in page.text
        for path in assets:
            assert (await web.get(path)).status_code == 200
        found = re.search(r'data-csrf="([0-9a-f]{64})"', page.text)
        assert found is not None
        csrf = found.group(1)
        assert csrf_of(page.text) == csrf  # one CSRF value: the sign-out form's too
        cookie = f"zylin_session={web.cookies['zylin_session']}"

        for headers in (
            {},
            {"X-Zylin-CSRF": "0" * 64},
            {"X-Zylin-CSRF": csrf, "Origin": "https://evil.example"},
        ):
            refused = await web.post("/dashboard/phone/calls", headers=headers)
            assert refused.status_code == 403
            assert "Reload the page" in refused.json()["error"]
        started = await web.post("/dashboard/phone/calls", headers={"X-Zylin-CSRF": csrf})
        assert started.status_code == 201
        call = started.json()
        assert call["call_sid"].startswith("BR")
        busy = await web.post("/dashboard/phone/calls", headers={"X-Zylin-CSRF": csrf})
        assert busy.status_code == 503  # the one line is held for the first call
        assert "Every line is busy" in busy.json()["error"]

    ws = server.url.replace("http://", "ws://")
    stream = ws + call["stream_path"]
    twilio_token = server.state.tokens.issue("CA" + "0" * 32)
    assert await _refused(stream, {}) == 403  # signed out
    assert await _refused(stream, {"Cookie": cookie, "Origin": "https://evil.example"}) == 403
    assert await _refused(f"{ws}/dashboard/phone/stream/{twilio_token}", {"Cookie": cookie}) == 403
    assert await _refused(stream + "x", {"Cookie": cookie}) == 403  # a forged token
    # Another worker added a FAQ entry: a browser call, like a phone call, picks it up.
    add_faq_entry(server.settings.business_profile, "Do you do root canals?", "Yes.", now=OPEN_NOW)
    async with connect(stream, additional_headers={"Cookie": cookie}, open_timeout=5) as socket:
        await socket.send('{"event": "start", "start": {"streamSid": "MZ1", "callSid": "BR1"}}')
        await socket.wait_closed()  # the token was minted for another call
    assert socket.close_code == 1008
    assert server.state.active_calls == {}
    assert server.state.profile.faq[-1].q == "Do you do root canals?"

    async with httpx.AsyncClient(base_url=server.url, cookies=web.cookies) as web:
        page = await web.get("/dashboard/phone")
        out = await web.post("/dashboard/logout", data={"csrf": csrf_of(page.text)})
        assert (out.status_code, out.headers["location"]) == (303, "/dashboard/login")
