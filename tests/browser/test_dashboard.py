"""The dashboard against the real stack: anvil + contracts, the orchestrator, ten node processes.

Tests run in file order on one stack: an empty dashboard first, then a training run that is attacked and
settled, the wallet flow, and last screenshots and an accessibility check of every populated view.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from backend.chain.client import flt
from tests.browser.conftest import DESKTOP, PHONE, axe_violations
from tests.browser.stack import WALLET_FUND_FLT, Stack

pytestmark = [pytest.mark.browser, pytest.mark.chain]

FLT = 10**18
STAKE = 100 * FLT  # what stake_fleet staked for every node


def test_empty_dashboard_says_what_to_do(stack: Stack, new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.goto(f"{stack.url}/#/overview")
    expect(page.get_by_text("No experiment yet")).to_be_visible()
    expect(page.get_by_role("link", name="Create an experiment")).to_be_visible()
    expect(page.locator("[data-stream-status]").first).to_have_attribute("data-stream-status", "live")
    expect(page.locator("[data-block]").first).to_have_attribute("data-block", re.compile(r"^\d+$"))
    page.get_by_role("link", name="Explorer").click()
    expect(page.get_by_text("No round settled yet")).to_be_visible()
    expect(page.get_by_text("No settlement transactions yet")).to_be_visible()


def test_event_stream_shows_reconnecting_then_recovers(stack: Stack, new_page: Callable[..., Page]) -> None:
    """While /api/events fails the dashboard says so; once it answers again the stream is live, and what
    happened meanwhile is filled in from /api/events/log. (Last-Event-ID resume is the browser's own
    EventSource behaviour against the orchestrator, covered by the API tests.)"""
    page = new_page()
    page.route("**/api/events", lambda route: route.fulfill(status=503, body="orchestrator restarting"))
    page.goto(f"{stack.url}/#/overview")
    status = page.locator("[data-stream-status]").first
    expect(status).to_have_attribute("data-stream-status", "reconnecting")
    expect(status).to_contain_text("Reconnecting")
    page.unroute("**/api/events")
    expect(status).to_have_attribute("data-stream-status", "live", timeout=30_000)
    expect(status).to_contain_text("Live")


def _wei(locator: object) -> int:
    value = locator.get_attribute("data-wei")  # type: ignore[attr-defined]
    assert value is not None, "amount not read from the chain"
    return int(value)


@pytest.mark.timeout(600)
def test_training_run_is_attacked_caught_slashed_and_settled(
    stack: Stack, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    page.goto(f"{stack.url}/#/experiments")

    # Create and start a clean run from a preset, long enough to attack it midway.
    create = page.get_by_test_id("create-experiment")
    create.get_by_text("Digits · IID · clean", exact=True).click()
    create.get_by_label("Rounds", exact=True).fill("40")
    create.get_by_role("button", name="Create and start").click()
    expect(create.get_by_role("status")).to_contain_text("started")
    create.get_by_role("link", name="Watch it on the Overview").click()

    # The charts grow as rounds are aggregated.
    accuracy = page.get_by_role("figure", name="Global accuracy per round")
    expect(accuracy).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"), timeout=90_000)
    points = accuracy.get_attribute("data-points")
    expect(accuracy).not_to_have_attribute("data-points", str(points), timeout=60_000)
    expect(page.get_by_role("figure", name="Global loss per round")).to_be_visible()
    expect(page.get_by_test_id("count-nodes")).to_have_text("10")

    nodes = page.locator("[data-node]")
    expect(nodes).to_have_count(10)
    honest = page.get_by_role("listitem", name="Node node-1", exact=True)
    honest_balance = _wei(honest.get_by_test_id("node-balance"))
    target = page.get_by_role("listitem", name="Node node-10", exact=True)  # the last slots attack

    # Attack Lab: a sign flip by two nodes; the gauge predicts it caught before launch.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Attack Lab").click()
    page.get_by_text("Sign flipping", exact=True).click()
    intensity = page.get_by_label(re.compile("^Intensity"))
    intensity.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(page.locator("output").first).to_have_text("\u00d73.5")
    expect(page.get_by_label("Attacking nodes")).to_have_value("2")
    verdict = page.get_by_test_id("predicted-verdict")
    # Caught: left out, or left out and slashed, as the check's evidence allows.
    expect(verdict).to_have_attribute("data-verdict", re.compile("^(excluded|slashed)$"), timeout=90_000)
    expect(verdict).to_contain_text(re.compile("Predicted: (excluded|slashed)"))
    expect(verdict).to_contain_text("Will be caught")
    expect(page.locator('[data-feature][data-caught="true"]').first).to_be_visible()
    _cards_agree_with_verdict(page)
    page.get_by_role("button", name="Launch attack").click()
    expect(page.get_by_text(re.compile(r"Attackers attack from round \d+"))).to_be_visible()
    page.get_by_role("link", name="Watch it on the Overview").click()

    # The log shows the shield at work and the chain paying and slashing.
    log = page.get_by_role("log")
    # An update left out (excluded or slashed) says so in the log, whichever verdict event carried it.
    rejected = log.locator('[data-outcome="excluded"], [data-outcome="slashed"]').first
    expect(rejected).to_be_visible(timeout=120_000)
    expect(rejected).to_contain_text("left out")
    slashed = log.locator('[data-kind="wallet.slashed"]').first
    expect(slashed).to_be_visible(timeout=120_000)
    expect(slashed).to_contain_text("Slashed wallet")
    expect(target.locator('[data-verdict="excluded"], [data-verdict="slashed"]')).to_be_visible(
        timeout=60_000
    )
    expect(target.get_by_text("attacker")).to_be_visible()

    # Balances and stakes as the chain has them: the attacker's stake drops, honest balances rise.
    expect(target.get_by_test_id("node-stake")).not_to_have_attribute("data-wei", str(STAKE), timeout=60_000)
    assert _wei(target.get_by_test_id("node-stake")) < STAKE
    expect(honest.get_by_test_id("node-balance")).not_to_have_attribute(
        "data-wei", str(honest_balance), timeout=60_000
    )
    assert _wei(honest.get_by_test_id("node-balance")) > honest_balance
    left_out = int(page.get_by_test_id("count-excluded").inner_text())
    assert left_out + int(page.get_by_test_id("count-slashed-updates").inner_text()) > 0

    # The slash's link opens its transaction in the Explorer, highlighted, with the decoded Slashed event.
    link = slashed.get_by_role("link", name=re.compile("^View transaction tx 0x"))
    tx = (link.get_attribute("href") or "").split("tx=")[-1]
    assert re.fullmatch(r"0x[0-9a-fA-F]{64}", tx), tx
    link.click()
    expect(page).to_have_url(re.compile(rf"#/explorer\?tx={tx}$"))
    card = page.locator(f'[data-tx="{tx}"]')
    expect(card).to_have_attribute("data-highlighted", "true")
    expect(card.locator('[data-event="Slashed"]').first).to_be_visible()
    expect(card.locator('[data-event="RoundSettled"]')).to_be_visible()
    expect(page.locator("[data-chain-round]").first).to_contain_text("matches")

    # Stop the run from its controls (frees the machine for the next tests).
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Overview").click()
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_test_id("experiment-status")).to_have_text("stopped")


# How far each gauge card, and the verdict above them, go: a card never goes further than the verdict.
_SEVERITY = {"clear": 0, "flagged": 1, "accepted": 1, "excluded": 2, "slashed": 3}


def _cards_agree_with_verdict(page: Page) -> None:
    """Every gauge card's state is at most the predicted verdict (no "Slashed" card under "left out, not
    slashed"), and a verdict that catches the attack has a card past its limit."""
    verdict = page.get_by_test_id("predicted-verdict").get_attribute("data-verdict") or ""
    states = page.locator("[data-feature]").evaluate_all("cards => cards.map((c) => c.dataset.outcome)")
    assert states and all(_SEVERITY[s] <= _SEVERITY[verdict] for s in states), (verdict, states)
    if verdict != "accepted":
        assert any(s != "clear" for s in states), (verdict, states)


def test_wallet_connects_switches_network_and_stakes(stack: Stack, new_page: Callable[..., Page]) -> None:
    # The injected wallet starts on Ethereum mainnet's id: the dashboard must ask to switch.
    page = new_page(
        wallet={"rpcUrl": stack.chain.rpc_url, "account": stack.wallet_address, "startChainId": 1}
    )
    page.goto(f"{stack.url}/#/wallet")
    page.get_by_role("button", name="Connect FedShield Test Wallet").click()
    expect(page.get_by_test_id("connected-address")).to_contain_text(stack.wallet_address)
    expect(page.get_by_test_id("wrong-network")).to_contain_text("Wrong network")
    page.get_by_role("button", name=re.compile("^Switch to")).click()
    expect(page.get_by_test_id("wrong-network")).to_have_count(0)

    balance, stake = page.get_by_test_id("wallet-balance"), page.get_by_test_id("wallet-stake")
    expect(balance).to_have_text(f"{WALLET_FUND_FLT} FLT")
    expect(stake).to_have_text("0 FLT")
    expect(page.get_by_test_id("wallet-eligible")).to_contain_text("Not eligible")

    # Approve, then stake: two transactions, each confirmed.
    form = page.get_by_test_id("stake-form")
    form.get_by_label("Amount to stake (FLT)").fill("40")
    form.get_by_role("button", name="Stake", exact=True).click()
    expect(page.locator('[data-tx-step="approve"]')).to_have_attribute("data-status", "confirmed")
    expect(page.locator('[data-tx-step="stake"]')).to_have_attribute("data-status", "confirmed")
    expect(stake).to_have_text("40 FLT")
    expect(balance).to_have_text(f"{WALLET_FUND_FLT - 40} FLT")
    expect(page.get_by_test_id("wallet-eligible")).to_contain_text("Eligible")

    # Request an unstake: the amount moves to pending with its unlock time.
    unstake = page.get_by_test_id("unstake-form")
    unstake.get_by_label("Amount to unstake (FLT)").fill("10")
    unstake.get_by_role("button", name="Request unstake").click()
    expect(page.locator('[data-tx-step="unstake"]')).to_have_attribute("data-status", "confirmed")
    expect(stake).to_have_text("30 FLT")
    expect(page.get_by_test_id("wallet-pending")).to_have_text("10 FLT")

    # Withdrawing inside the cooldown fails with the contract's own error, decoded.
    page.get_by_role("button", name="Withdraw", exact=True).click()
    step = page.locator('[data-tx-step="withdraw"]')
    expect(step).to_have_attribute("data-status", "failed")
    expect(step).to_contain_text("Cooldown active")

    # An over-large unstake is refused before the wallet opens, with the decoded InsufficientStake.
    unstake.get_by_label("Amount to unstake (FLT)").fill("1000")
    unstake.get_by_role("button", name="Request unstake").click()
    expect(page.locator('[data-tx-step="unstake"]')).to_contain_text("Insufficient stake")

    status = stack.chain.client().node_status(stack.wallet_address)
    assert (status.stake, status.balance) == (flt(30), flt(WALLET_FUND_FLT - 40))


VIEWS: list[tuple[str, str, str]] = [
    # (route, its navigation label, a selector visible once the view shows real data)
    ("overview", "Overview", '[aria-label="Global accuracy per round"]'),
    ("attack-lab", "Attack Lab", '[data-testid="predicted-verdict"]'),
    ("wallet", "Wallet", '[data-testid="wallet-balance"]'),
    ("explorer", "Explorer", "[data-tx]"),
    ("experiments", "Experiments", "[data-experiment]"),
]


@pytest.mark.timeout(600)
def test_every_view_screenshots_and_has_no_serious_accessibility_violations(
    stack: Stack, new_page: Callable[..., Page], screenshot_dir: Path
) -> None:
    found: dict[str, list[dict[str, object]]] = {}
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = new_page(
            viewport,
            wallet={"rpcUrl": stack.chain.rpc_url, "account": stack.wallet_address, "startChainId": 31337},
        )
        page.goto(f"{stack.url}/#/wallet")
        page.get_by_role("button", name="Connect FedShield Test Wallet").click()
        page.mouse.move(viewport["width"] - 2, viewport["height"] - 2)  # no hover effects in the shots
        for view, nav_label, ready in VIEWS:
            page.goto(f"{stack.url}/#/{view}")
            expect(page.locator(ready).first).to_be_visible(timeout=90_000)
            if label == "desktop":
                current = page.get_by_role("navigation", name="Main").locator('[aria-current="page"]')
                expect(current).to_have_text(nav_label)
            page.screenshot(path=str(screenshot_dir / f"{view}-{label}.png"), full_page=True)
            violations = axe_violations(page)
            if violations:
                found[f"{view} ({label})"] = violations
        if label == "phone":
            # The navigation collapses behind a menu button on a phone.
            page.get_by_role("button", name="Open menu").click()
            expect(page.locator("#mobile-nav")).to_be_visible()
            page.screenshot(path=str(screenshot_dir / "menu-phone.png"))
    assert not found, f"serious or critical accessibility violations: {found}"
