"""The owner's dashboard in a real browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.harness import RunningServer, running_server
from tests.integration.test_owner_api import ADMIN, ANN, NOW, TWILIO_SECRET, owner_settings, seed

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("ZYLIN_SCREENSHOT_DIR", "/tmp"))
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


@pytest_asyncio.fixture
async def seeded_server(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, dict[int, int]]]:
    settings = owner_settings(f"sqlite+aiosqlite:///{tmp_path / 'zylin.db'}")
    async with running_server(settings, now=lambda: NOW) as server:
        seeded = await seed(server.state.repository)
        yield server, seeded.call_ids


async def test_owner_signs_in_and_reads_a_call(
    seeded_server: tuple[RunningServer, dict[int, int]],
) -> None:
    from playwright.async_api import async_playwright, expect

    server, call_ids = seeded_server
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if "Security Policy" in m.text or "404" in m.text
                    else None
                ),
            )

            await page.goto(server.url + "/dashboard")
            assert page.url.endswith("/dashboard/login")
            await expect(page.get_by_text("Demo mode:")).to_be_visible()

            await page.fill("#token", "not-the-token")
            await page.click("button[type=submit]")
            await expect(page.get_by_role("alert")).to_have_text("That token is not right.")

            await page.fill("#token", ADMIN)
            await page.click("button[type=submit]")
            await page.wait_for_url(server.url + "/dashboard")
            await expect(page.get_by_role("heading", name="Recent calls")).to_be_visible()
            rows = page.locator("table.calls tbody tr")
            await expect(rows).to_have_count(3)
            first_call = rows.nth(2)
            await expect(first_call).to_contain_text(ANN)
            await expect(first_call).to_contain_text("booking")
            await expect(first_call).to_contain_text("<script>alert(1)</script>")  # as text
            await expect(first_call).to_contain_text("2,200 ms")
            await expect(page.locator("#appointments")).to_contain_text("Ann <Lee>")
            await expect(page.locator("#messages")).to_contain_text("Running late tomorrow.")

            cookies = await context.cookies()
            (session,) = [c for c in cookies if c.get("name") == "zylin_session"]
            assert session.get("httpOnly") and session.get("sameSite") == "Strict"
            assert ADMIN not in session.get("value", ADMIN)
            assert await page.evaluate("document.cookie") == ""  # HttpOnly: scripts can't read it
            await page.screenshot(path=str(SCREENSHOTS / "zylin_dashboard.png"), full_page=True)

            # Filter by intent through the form.
            await page.select_option("select[name=intent]", "question")
            await page.click("form.filters button[type=submit]")
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_contain_text("+15555550177")
            await page.click("text=Clear")
            await expect(rows).to_have_count(3)

            await first_call.locator("a").click()
            await page.wait_for_url(f"{server.url}/dashboard/calls/{call_ids[1]}")
            transcript = page.locator("#transcript")
            await expect(transcript).to_contain_text("Hi, I'd like to book a cleaning.")
            await expect(transcript).to_contain_text("We have Tuesday at ten")
            cut = transcript.locator("li.interrupted")
            await expect(cut).to_have_count(1)
            await expect(cut).to_contain_text("interrupted")
            await expect(cut.locator("del")).to_have_text("Is there anything else I can help with?")
            await expect(cut).to_contain_text("the struck-through words were not heard")
            await expect(page.locator("#actions")).to_contain_text("booked")
            await expect(page.locator("#latency tr.over")).to_have_count(1)
            await expect(page.locator("#latency tfoot")).to_contain_text("2,200 ms")
            body = await page.content()
            assert TWILIO_SECRET not in body and ADMIN not in body
            await page.screenshot(path=str(SCREENSHOTS / "zylin_call.png"), full_page=True)

            await page.click("text=Sign out")
            await page.wait_for_url(server.url + "/dashboard/login")
            await page.goto(server.url + "/dashboard")
            assert page.url.endswith("/dashboard/login")
            assert not problems, f"CSP violations, missing resources or errors: {problems}"
        finally:
            await browser.close()
