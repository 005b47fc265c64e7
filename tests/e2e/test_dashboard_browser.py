"""The owner's dashboard in a real browser (Debian chromium driven by Playwright).

Screenshots of every page go to `ZYLIN_SCREENSHOT_DIR`, by default `test-output/screenshots/`
(ignored by git).
"""

from __future__ import annotations

import asyncio
import os
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from devtools.fakes.twilio_rest_server import TwilioRestFake
from tests.harness import ACCOUNT_SID, AUTH_TOKEN, RunningServer, running_server
from tests.integration.test_owner_api import ADMIN, ANN, NOW, SID, Seeded, owner_settings, seed
from tests.integration.test_owner_side import seed_outcomes

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("ZYLIN_SCREENSHOT_DIR", ROOT / "test-output" / "screenshots"))
PHONE = {"width": 375, "height": 740}
# Never let the browser reach out: no updates, sync, or background fetches.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian chromium at /usr/bin/chromium (apt-get install -y chromium)",
    ),
]


@dataclass
class Shop:
    """A running server with seeded records, and the Twilio fake its texts go to."""

    server: RunningServer
    twilio: TwilioRestFake
    seeded: Seeded


@pytest_asyncio.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    await asyncio.to_thread(SCREENSHOTS.mkdir, parents=True, exist_ok=True)
    async with TwilioRestFake(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as twilio:
        settings = owner_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'zylin.db'}",
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_api_base_url=twilio.base_url,
            recordings_dir=tmp_path / "recordings",
        )
        async with running_server(settings, now=lambda: NOW) as server:
            repo = server.state.repository
            seeded = await seed(repo)
            await seed_outcomes(repo)
            await repo.update_call(
                SID[1],
                usage={
                    "total_usd": 0.05,
                    "parts_usd": {"twilio": 0.025, "stt": 0.0154, "llm": 0.0046, "tts": 0.005},
                    "usage": {
                        "call_secs": 120.0,
                        "stt_secs": 120.0,
                        "llm_in": 9000,
                        "llm_out": 400,
                        "tts_chars": 333,
                    },
                },
            )
            path = tmp_path / "recordings" / f"{SID[1]}.wav"
            path.parent.mkdir()
            with wave.open(str(path), "wb") as wav:
                wav.setnchannels(2)
                wav.setsampwidth(2)
                wav.setframerate(8000)
                wav.writeframes(bytes(8000 * 4))  # one second of silence
            await repo.update_call(SID[1], recording_path=str(path))
            yield Shop(server=server, twilio=twilio, seeded=seeded)


async def _browser(pw: Any) -> Any:
    return await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def _watch(page: Any) -> list[str]:
    """Collects script errors, CSP violations and missing resources."""
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: (
            problems.append(m.text) if "Security Policy" in m.text or "404" in m.text else None
        ),
    )
    return problems


async def _sign_in(page: Any, url: str, name: str = "Dr Kim") -> None:
    await page.goto(url + "/dashboard")
    assert page.url.endswith("/dashboard/login")
    await page.fill("#name", name)
    await page.fill("#token", ADMIN)
    await page.click("button[type=submit]")
    await page.wait_for_url(url + "/dashboard")


async def _shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def test_owner_reads_measures_and_a_call_then_acts(shop: Shop) -> None:
    from playwright.async_api import async_playwright, expect

    server = shop.server
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            problems = _watch(page)

            await page.goto(server.url + "/dashboard/setup")
            assert page.url.endswith("/dashboard/login")  # signed out: sent to sign in
            await expect(page.get_by_text("Demo mode:")).to_be_visible()
            await page.fill("#token", "not-the-token")
            await page.click("button[type=submit]")
            await expect(page.get_by_role("alert")).to_have_text("That token is not right.")
            await _shot(page, "login")
            await _sign_in(page, server.url)

            # The measures, each with its chart.
            measures = page.locator("#measures")
            await expect(measures.get_by_role("heading", name="Last 30 days")).to_be_visible()
            await expect(measures.locator("svg.chart")).to_have_count(5)
            await expect(page.locator("#chart-latency line.target")).to_have_count(1)
            await expect(page.locator("#chart-cost line.target")).to_have_count(1)
            month = measures.locator(".window").nth(2)
            await expect(month.locator("dd.answered")).to_have_text("4")
            await expect(month.locator("dd.failed")).to_have_text("2")
            await expect(month).to_contain_text("2,200 ms / 3,500 ms")
            await expect(month).to_contain_text("50 %")
            await expect(page.locator("#calls table.calls tbody tr")).to_have_count(8)
            await expect(page.locator("#calls")).to_contain_text("<script>alert(1)</script>")
            live = page.locator("#live ul li")
            await expect(live).to_have_text(["+15555550142 since 10:00:00 · 0:00"])

            # A call starts: it shows up without a reload.
            await server.state.repository.create_call(
                "CA" + "5" * 32, started_at=NOW, caller_phone="+15555550188"
            )
            await expect(live).to_have_count(2, timeout=10_000)
            await expect(live.nth(1)).to_have_text("+15555550188 since 10:00:00 · 0:00")
            await expect(page.locator("#live .count")).to_have_text("2")
            await _shot(page, "home")

            # A call's page: actions in words, the stacked latency chart, the recording.
            await page.click(f'a[href="/dashboard/calls/{shop.seeded.call_ids[1]}"]')
            await expect(page.locator("#transcript")).to_contain_text("No thanks <b>bye</b>")
            # Two replies x (LLM, TTS, the rest): the seeded replies carry no STT figure.
            await expect(page.locator("#latency svg.chart rect")).to_have_count(6)
            await expect(page.locator("#latency line.target")).to_have_count(1)
            await expect(page.locator("#latency tbody tr")).to_have_count(2)
            await expect(page.locator("#latency tr.over")).to_have_count(1)
            await expect(page.locator("#cost")).to_contain_text("9000 tokens in")
            duration = await page.locator("#recording audio").evaluate(
                "a => new Promise(ok => a.readyState > 0 ? ok(a.duration)"
                " : a.addEventListener('loadedmetadata', () => ok(a.duration)))"
            )
            assert abs(duration - 1.0) < 0.01
            booked = page.locator("#actions a", has_text="Booked a cleaning, Tue 8 Jan 10:00")
            await _shot(page, "call")

            # Cancel the appointment it made; the caller gets a text.
            await booked.click()
            await expect(page.locator("#appointment")).to_contain_text("Ann <Lee>")
            await _shot(page, "appointment")
            await page.click("button.danger")
            await expect(page.locator("p.notice")).to_have_text("Cancelled; the caller was texted.")
            await expect(page.locator("#history")).to_contain_text("cancel appointment by Dr Kim")
            assert [m["To"] for m in shop.twilio.messages] == [ANN]

            # Mark a message handled; unread ones stay first.
            await page.click("nav >> text=Messages")
            unread = page.locator("#messages li.unread")
            await expect(unread).to_have_count(2)
            await unread.first.get_by_role("button", name="Mark handled").click()
            await expect(unread).to_have_count(1)
            handled = page.locator("#messages li.handled")
            await expect(handled).to_contain_text("Handled by Dr Kim")
            await _shot(page, "messages")

            await page.click("nav >> text=Setup")
            await expect(page.locator("#signatures")).to_contain_text("checked")
            await expect(page.locator("#engines")).to_contain_text("pocketsphinx (demo)")
            await _shot(page, "setup")
            await page.click("nav >> text=Appointments")
            await _shot(page, "appointments")

            await page.click("text=Sign out")
            await page.wait_for_url(server.url + "/dashboard/login")
            await page.goto(server.url + "/dashboard/messages")
            assert page.url.endswith("/dashboard/login")
            assert not problems, f"CSP violations, missing resources or errors: {problems}"
        finally:
            await browser.close()


async def test_every_page_fits_a_phone_screen(shop: Shop) -> None:
    from playwright.async_api import async_playwright

    server = shop.server
    paths = [
        "/dashboard",
        f"/dashboard/calls/{shop.seeded.call_ids[1]}",
        "/dashboard/appointments",
        f"/dashboard/appointments/{shop.seeded.appointment_ids[0]}",
        "/dashboard/messages",
        "/dashboard/setup",
        "/dashboard/questions",
        "/dashboard/screening",
        "/dashboard/phone",
    ]
    async with async_playwright() as pw:
        browser = await _browser(pw)
        try:
            context = await browser.new_context(viewport=PHONE, is_mobile=True)
            page = await context.new_page()
            problems = _watch(page)
            await page.goto(server.url + "/dashboard/login")
            wide = await _too_wide(page)
            assert not wide, ("login", wide)
            await _sign_in(page, server.url)
            for path in paths:
                await page.goto(server.url + path)
                wide = await _too_wide(page)
                assert not wide, (path, wide)
                await _shot(page, "phone_" + (path.strip("/").replace("/", "_") or "home"))
            sign_out = page.get_by_role("button", name="Sign out")
            box = await sign_out.bounding_box()
            assert box is not None and box["x"] + box["width"] <= PHONE["width"]
            assert not problems, problems
        finally:
            await browser.close()


async def _too_wide(page: Any) -> list[str]:
    """What makes the page wider than the screen, or scrolls sideways inside it."""
    return await page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const found = [];
          if (document.documentElement.scrollWidth > width) {
            found.push('page ' + document.documentElement.scrollWidth + ' > ' + width);
          }
          for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            if (box.width && (box.right > width + 0.5 || box.left < -0.5)) {
              found.push(el.tagName + '.' + el.className + ' ' + Math.round(box.right));
            }
            if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible'
                && el.tagName !== 'PRE') {
              found.push('scrolls: ' + el.tagName + '.' + el.className);
            }
          }
          return found.slice(0, 10);
        }"""
    )
