"""Fixtures of the dashboard's browser tests: the real stack (module scope) and Debian's Chromium, driven by
Playwright, with an optional injected EIP-1193 wallet. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.settings import REPO_ROOT
from tests.browser.stack import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
AXE = REPO_ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
WALLET_JS = Path(__file__).with_name("injected_wallet.js")
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LAUNCH_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.chain]


@pytest.fixture(scope="module")
def stack(contracts_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("browser-stack"), num_nodes=10) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is not installed: scripts/setup --browser installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh temporary profile (its own --user-data-dir).
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


class PageErrors(list[str]):
    """Uncaught page errors; a test fails on any."""


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def new_page(browser: object, page_errors: PageErrors) -> Iterator[Callable[..., object]]:
    """Opens pages (desktop by default), recording uncaught errors; closes them after the test."""
    contexts: list[object] = []

    def open_page(viewport: dict[str, int] = DESKTOP, wallet: dict[str, object] | None = None) -> object:
        context = browser.new_context(viewport=viewport, reduced_motion="reduce")  # type: ignore[attr-defined]
        context.set_default_timeout(20_000)
        if wallet is not None:
            context.add_init_script(
                script=f"window.__FEDSHIELD_TEST_WALLET__ = {json.dumps(wallet)};\n" + WALLET_JS.read_text()
            )
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()  # type: ignore[attr-defined]
    assert not page_errors, f"uncaught errors in the page: {page_errors}"


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


def axe_violations(page: object) -> list[dict[str, object]]:
    """axe-core's serious and critical violations on the current page."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    violations: list[dict[str, object]] = page.evaluate(  # type: ignore[attr-defined]
        """async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                           nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary) }))"""
    )
    return violations
