"""A new user against the real stack whose orchestrator keeps a standing pool of simulated nodes (as
`fedshield serve --fleet` and scripts/demo do): no terminal, only the dashboard. They create an experiment
from a preset, give it simulated nodes with one click, start it and see round 3 settle on chain; then every
view fits a 390 px phone without horizontal scrolling, and each view is photographed at both sizes into
docs/screenshots/ (the README's pictures)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from backend.settings import REPO_ROOT
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.stack import Stack, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.chain]

DOCS_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# Each view, and what shows once it holds real data (the wallet view: its page, no wallet connected).
VIEWS = {
    "overview": '[aria-label="Global accuracy per round"]',
    "experiments": "[data-experiment]",
    "attack-lab": '[data-testid="predicted-verdict"]',
    "wallet": "main h1",
    "explorer": "[data-tx]",
}
# What sticks out past the phone's edge (the outermost such elements), for the failure message.
WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .filter((e) => !(e.parentElement?.getBoundingClientRect().right > document.documentElement.clientWidth + 1))
    .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`.slice(0, 160))"""
POOL = 4  # simulated nodes: enough for a run, few enough for two shared cores


@pytest.fixture(scope="module")
def pooled(contracts_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("pooled-stack"), num_nodes=POOL, node_pool=True) as running:
        yield running


@pytest.mark.timeout(300)
def test_a_new_user_gives_an_experiment_nodes_and_sees_round_3_settle(
    pooled: Stack, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    page.goto(f"{pooled.url}/#/experiments")
    create = page.get_by_test_id("create-experiment")
    create.get_by_text("Digits · IID · clean", exact=True).click()
    create.get_by_label("Nodes", exact=True).fill(str(POOL))
    create.get_by_label("Rounds", exact=True).fill("3")
    create.get_by_label("Start right away").uncheck()
    create.get_by_role("button", name="Create", exact=True).click()
    expect(create.get_by_role("status")).to_contain_text("created")

    # The experiment's page says how to give it nodes: one click, or the worker command.
    nodes = page.get_by_role("region", name=re.compile(r"^Nodes of experiment #1"))
    expect(nodes.get_by_label("Worker command")).to_contain_text(
        f"fedshield worker --orchestrator {pooled.url} --experiment 1"
    )
    nodes.get_by_label("of which attack").fill("1")
    nodes.get_by_role("button", name=f"Add {POOL} simulated nodes, 1 attacking").click()
    expect(nodes.get_by_role("status")).to_contain_text(
        f"Started {POOL} staked simulated nodes; 1 of them attack from the next round"
    )
    page.get_by_role("group", name="Control experiment #1").get_by_role("button", name="Start").click()
    expect(nodes).to_contain_text(f"{POOL} of {POOL} registered", timeout=60_000)

    rounds = page.get_by_role("table", name="Rounds of experiment #1")
    third = rounds.locator('tr[data-round="3"]')
    expect(third).to_contain_text("confirmed", timeout=180_000)


@pytest.mark.timeout(180)
def test_every_view_fits_a_phone_and_is_photographed(pooled: Stack, new_page: Callable[..., Page]) -> None:
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for viewport, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = new_page(viewport)
        for view, ready in VIEWS.items():
            page.goto(f"{pooled.url}/#/{view}?exp=1")
            expect(page.locator(ready).first).to_be_visible(timeout=60_000)
            widths = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if viewport is PHONE:
                assert widths[0] <= widths[1], (
                    f"{view} is {widths[0]} px wide on a {widths[1]} px phone: {page.evaluate(WIDEST)}"
                )
            page.screenshot(path=str(DOCS_SCREENSHOTS / f"{view}-{label}.png"), full_page=True)
