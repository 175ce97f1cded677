"""The tablet flows in real Chromium: Debian's /usr/bin/chromium driven by Playwright's async
API (Playwright is only the driver here; it never downloads a browser of its own).

The app under test is `live_server` (tests/conftest.py), which serves the built frontend from
organisatrice/static: `make test` builds it first (`make frontend`). Screenshots go to
$SCREENSHOT_DIR (default: organisatrice-screenshots in the temp folder), named in the header.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from organisatrice.app import STATIC_DIR

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TABLET = {"width": 768, "height": 1024}
SCREENSHOT_DIR = Path(
    os.environ.get("SCREENSHOT_DIR") or Path(tempfile.gettempdir()) / "organisatrice-screenshots"
)

expect.set_options(timeout=15_000)


def pytest_report_header() -> str:
    return f"e2e screenshots: {SCREENSHOT_DIR}"


@pytest.fixture(scope="session")
def prerequisites() -> None:
    """The built UI and the browser; a missing one fails with what to run."""
    if not (STATIC_DIR / "index.html").exists():
        pytest.fail(
            f"the tablet UI is not built ({STATIC_DIR / 'index.html'} is missing): "
            "run `make frontend` (or `npm run build` in frontend/) before the e2e tests"
        )
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make test-packages)")


@pytest.fixture(scope="session")
async def browser(prerequisites: None) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def context(browser: Browser, live_server: str) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        base_url=live_server,
        viewport=TABLET,
        has_touch=True,
        is_mobile=False,
        locale="de-CH",
        # A Swiss tablet's clock: dates the screens propose ("today") are Zurich's, also in
        # the hour around midnight when the machine running the tests is on UTC.
        timezone_id="Europe/Zurich",
        service_workers="block",
    )
    context.set_default_timeout(15_000)
    yield context
    await context.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The Content-Security-Policy reports what it blocked on the console: a screen that needs
    # something the policy refuses is broken for its user, whether or not a test looks there.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
