"""The sender against a real anvil: it heals a stale nonce, turns a receipt timeout into a chain error, and
replaces a pending transaction at the same nonce with higher fees so that only one of the two is mined."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_account import Account

from backend.chain import sender as sender_module
from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY, dev_account
from backend.chain.client import ChainClient, flt
from backend.chain.errors import ChainError, ReceiptTimeout
from backend.chain.sender import Fees
from tests.support.chain import LocalChain


@pytest.fixture
def manual_mining(chain: LocalChain) -> Iterator[LocalChain]:
    """Transactions wait in anvil's pool until the test mines (automine is not part of a snapshot)."""
    chain.rpc("evm_setAutomine", False)
    try:
        yield chain
    finally:
        chain.rpc("evm_setAutomine", True)


def test_fees_bump_by_at_least_an_eighth_and_never_below_the_market() -> None:
    bumped = Fees(1_000, 100).bumped(Fees(10, 0))
    assert bumped == Fees(1_125, 113)
    assert Fees(0, 0).bumped(Fees(0, 0)) == Fees(1, 1)  # a zero fee still moves up
    assert Fees(1_000, 100).bumped(Fees(5_000, 400)) == Fees(5_000, 400)


def test_sender_resyncs_when_another_process_spent_its_nonce(chain: LocalChain) -> None:
    ours = chain.client()
    theirs = ChainClient(chain.deployment, ANVIL_ORCHESTRATOR_KEY)  # another process with the same key
    node = dev_account(1).address
    before = ours.flt_balance(node)
    ours.fund(node, flt(1))  # our sender now caches the next nonce
    theirs.fund(node, flt(1))  # ... which the other process spends
    ours.fund(node, flt(1))  # "nonce too low": resync from the chain's pending nonce, send again
    assert ours.flt_balance(node) == before + flt(3)
    sender = ours.sender_for(ours.orchestrator)
    assert sender.pending_nonce() == sender.mined_nonce()


def test_receipt_timeout_is_a_chain_error_and_forgets_the_local_nonce(
    manual_mining: LocalChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "RECEIPT_TIMEOUT_S", 0.5)
    client = manual_mining.client()
    with pytest.raises(ReceiptTimeout) as timed_out:
        client.fund(dev_account(2).address, flt(1))
    assert isinstance(timed_out.value, ChainError)  # the outbox's `except ChainError` catches it
    sender = client.sender_for(client.orchestrator)
    assert sender._next_nonce is None  # read again from the chain on the next send
    manual_mining.rpc("evm_mine")
    assert sender.pending_nonce() == sender.mined_nonce()


def test_replacement_at_the_same_nonce_wins_and_the_original_is_never_mined(
    manual_mining: LocalChain,
) -> None:
    client = manual_mining.client()
    sender = client.sender_for(client.orchestrator)
    nonce = sender.pending_nonce()
    market = sender.market_fees()
    first = sender.sign_value(Account.create().address, 1, nonce=nonce, fees=market)
    second = sender.sign_value(sender.address, 0, nonce=nonce, fees=market.bumped(market))
    assert sender.broadcast(first.raw) == first.tx_hash
    assert sender.known(first.tx_hash)
    assert sender.broadcast(second.raw) == second.tx_hash  # replaces the first in the pool
    manual_mining.rpc("evm_mine")
    assert client.transaction(second.tx_hash) is not None
    assert client.transaction(first.tx_hash) is None
    assert sender.mined_nonce() == nonce + 1
    with pytest.raises(ChainError):  # the original can never come back: its nonce is spent
        sender.broadcast(first.raw)
