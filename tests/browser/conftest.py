"""End-to-end browser harness: Playwright (sync API) driving Debian's Chromium against pytest-django's
`live_server`.

Tests here must be `@pytest.mark.django_db(transaction=True)` (the live server runs in another thread
with its own connection, so it only sees committed rows) and `@pytest.mark.browser`.

On a failure, a full-page screenshot of the test's page is saved under `test-results/` at the repo root.
"""

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

# Playwright's sync API drives its driver through an asyncio event loop that it keeps *running* in the
# test's (main) thread, switching in and out of it with greenlets. Django's `async_unsafe` guard sees a
# running loop in the current thread and would raise SynchronousOnlyOperation on every ORM call the
# test makes (factories, fixtures, the transactional flush at teardown), even though those calls are
# ordinary blocking code that never runs inside the loop. The guard is a false positive here, so we
# turn it off while Playwright runs — only then: the rest of the suite keeps the guard (and the
# browser tests run last, see tests/conftest.py).
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root; Chromium refuses its sandbox for root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # The network is closed: keep Chromium from phoning home (and from stalling on it).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 10_000
REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "test-results"
DEFAULT_PASSWORD = "correct horse battery staple"  # what tests.factories.UserFactory sets

# Web-first assertions (`expect(...)`) wait up to this long, like the page's own actions.
expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


# ---------------------------------------------------------------- failure screenshots


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (item.rep_setup / rep_call / rep_teardown) so fixtures
    can tell, while tearing down, whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(item) -> bool:
    return any(getattr(getattr(item, f"rep_{when}", None), "failed", False) for when in ("setup", "call"))


def _screenshot_path(item) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid).strip("_")
    return RESULTS_DIR / f"{name}.png"


# ---------------------------------------------------------------- browser fixtures


@pytest.fixture(scope="session")
def playwright() -> Playwright:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            yield pw
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Browser:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need it (Playwright's own browser "
            "download does not work here). Install it with `make test` (or `apt-get install chromium`).",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, live_server) -> BrowserContext:
    """A fresh browser context (no cookies, no storage) per test; relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, request) -> Page:
    page = context.new_page()
    yield page
    if _failed(request.node) and not page.is_closed():
        RESULTS_DIR.mkdir(exist_ok=True)
        path = _screenshot_path(request.node)
        try:
            page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # noqa: BLE001 - a screenshot must never mask the real failure
            print(f"could not save failure screenshot {path}: {exc}")
        else:
            print(f"failure screenshot: {path} (page URL {page.url})")


@pytest.fixture
def api_request(playwright: Playwright, live_server):
    """An HTTP client with no cookies at all: what an integrator's script sees. Unlike `page.request`,
    it does not share the logged-in page's session, so only the credentials it sends count."""
    ctx = playwright.request.new_context(base_url=live_server.url)
    yield ctx
    ctx.dispose()


@pytest.fixture
def log_in() -> Callable[..., None]:
    """log_in(page, user_or_email, password=DEFAULT_PASSWORD): sign in through the real login form and
    wait until the header shows the account."""

    def _log_in(page: Page, user, password: str = DEFAULT_PASSWORD) -> None:
        email = user if isinstance(user, str) else user.email
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("account-link")).to_have_text(email)

    return _log_in
