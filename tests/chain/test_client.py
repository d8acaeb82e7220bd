"""The Python chain client against a real anvil: reads, settlement, history and every actionable error."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY, address_of_key, dev_account
from backend.chain.client import ChainClient, RoundSettlement, flt
from backend.chain.deployment import write_deployment
from backend.chain.errors import (
    ChainError,
    ChainUnreachable,
    ContractReverted,
    DeploymentFileError,
    InsufficientFunds,
    NoContractAtAddress,
    WrongChain,
)
from backend.chain.local import free_port, stake_impersonated, stop_process, top_up_gas
from tests.support.chain import LocalChain, launch_chain
from tests.support.server import wait_for


def _hash() -> str:
    return "0x" + secrets.token_hex(32)


def test_settle_round_pays_accepted_slashes_caught_and_records_model_hash(chain: LocalChain) -> None:
    client = chain.client()
    honest, attacker = chain.deployment.demo_nodes[:3], chain.deployment.demo_nodes[3]
    params = client.parameters()
    before = {a: client.node_status(a) for a in [*honest, attacker]}
    treasury_before = client.flt_balance(params.treasury)
    model_hash = _hash()
    round_id = client.last_round_id() + 1

    result = client.settle_round(round_id, model_hash, _hash(), honest, [attacker])

    for node in honest:
        assert client.node_status(node).balance == before[node].balance + flt(10)
    assert client.node_status(attacker).stake == before[attacker].stake - flt(15)
    assert client.flt_balance(params.treasury) == treasury_before + flt(15)
    assert client.round_model_hash(round_id) == model_hash
    assert client.last_round_id() == round_id
    rewarded = {e.args["node"] for e in result.events_named("RewardPaid")}
    assert rewarded == set(honest)
    (slash,) = result.events_named("Slashed")
    assert (slash.args["node"], slash.args["amount"]) == (attacker, flt(15))
    (settled,) = result.events_named("RoundSettled")
    assert settled.args["modelHash"] == model_hash


def test_replayed_and_skipped_round_ids_revert_with_decoded_error(chain: LocalChain) -> None:
    client = chain.client()
    nodes = chain.deployment.demo_nodes
    settled = client.last_round_id() + 1
    client.settle_round(settled, _hash(), _hash(), nodes, [])
    balances = [client.flt_balance(n) for n in nodes]

    with pytest.raises(ContractReverted) as replay:
        client.settle_round(settled, _hash(), _hash(), nodes, [])
    assert replay.value.error == "RoundOutOfOrder"
    assert replay.value.args_by_name == {"expected": settled + 1, "given": settled}
    assert f"RoundOutOfOrder(expected={settled + 1}, given={settled})" in str(replay.value)

    with pytest.raises(ContractReverted) as skip:
        client.settle_round(settled + 2, _hash(), _hash(), nodes, [])
    assert skip.value.args_by_name == {"expected": settled + 1, "given": settled + 2}
    assert [client.flt_balance(n) for n in nodes] == balances


def test_history_reads_rounds_rewards_and_slashes_from_events(chain: LocalChain) -> None:
    client = chain.client()
    a, b, c, d = chain.deployment.demo_nodes
    first = client.last_round_id() + 1
    history_before = len(client.wallet_history(d))
    client.settle_round(first, _hash(), _hash(), [a, b, c], [d])
    client.settle_round(first + 1, _hash(), _hash(), [a, b], [c, d])

    rounds = [r for r in client.settled_rounds() if r.round_id >= first]
    assert [r.round_id for r in rounds] == [first, first + 1]
    assert set(rounds[0].rewards) == {a, b, c} and set(rounds[0].slashes) == {d}
    assert set(rounds[1].rewards) == {a, b} and set(rounds[1].slashes) == {c, d}
    history = client.wallet_history(d)
    assert history[0].name == "Staked"
    assert [e.name for e in history[history_before:]] == ["Slashed", "Slashed"]


def test_transaction_reads_a_mined_settlement_as_the_client_built_it(chain: LocalChain) -> None:
    client = chain.client()
    nodes = chain.deployment.demo_nodes
    sent = client.settle_round(client.last_round_id() + 1, _hash(), _hash(), nodes[:2], [nodes[2]])

    mined = client.transaction(sent.tx_hash)

    assert mined == sent
    assert mined.succeeded and mined.gas_used > 0 and mined.to == client.staking.address
    assert [e.name for e in mined.events].count("RewardPaid") == 2
    assert client.transaction(_hash()) is None  # a hash the chain never saw


def test_transaction_of_a_reverted_settlement_says_it_failed(chain: LocalChain) -> None:
    client = chain.client()
    sender = client.sender_for(client.orchestrator)
    taken = client.last_round_id()  # already settled (or 0): settleRound refuses it once mined
    call = client.settle_call(RoundSettlement(taken, _hash(), _hash(), chain.deployment.demo_nodes, []))
    signed = sender.resign(call, nonce=sender.pending_nonce(), gas=300_000, fees=sender.market_fees())

    tx_hash = sender.broadcast(signed.raw)
    # Anvil answers the send before its miner has written the receipt: wait on the receipt, not on a guess.
    mined = wait_for(
        lambda: client.transaction(tx_hash), timeout_s=30.0, what="the reverted settlement's receipt"
    )

    assert not mined.succeeded and mined.events == []
    assert mined.block_number == client.head()


def test_settled_rounds_without_payouts_reads_only_the_round_events(chain: LocalChain) -> None:
    client = chain.client()
    nodes = chain.deployment.demo_nodes
    root = _hash()
    client.settle_round(client.last_round_id() + 1, _hash(), root, nodes[:3], [nodes[3]])

    (bare,) = [r for r in client.settled_rounds(with_payouts=False) if r.results_root == root]
    (full,) = [r for r in client.settled_rounds() if r.results_root == root]

    assert (bare.rewards, bare.slashes) == ({}, {})
    assert set(full.rewards) == set(nodes[:3]) and set(full.slashes) == {nodes[3]}
    assert (bare.round_id, bare.tx_hash) == (full.round_id, full.tx_hash)


def test_dev_chain_helpers_fund_gas_and_stake_without_the_key(chain: LocalChain) -> None:
    client = chain.client()
    wallet = address_of_key(secrets.token_bytes(32))
    assert client.eth_balance(wallet) == 0
    top_up_gas(client, wallet, 10**18)
    assert client.eth_balance(wallet) == 10**18
    client.fund(wallet, flt(30))

    stake_impersonated(client, wallet, flt(20))

    status = client.node_status(wallet)
    assert (status.stake, status.balance, status.eligible) == (flt(20), flt(10), True)
    with pytest.raises(ChainError, match="no_such_method"):
        client.rpc("no_such_method")


def test_node_status_reads_stake_pending_and_eligibility(chain: LocalChain) -> None:
    client = chain.client()
    node = dev_account(1)
    status = client.node_status(node.address)
    assert status.stake >= flt(10) and status.eligible
    client.request_unstake(node, status.stake - flt(5))
    after = client.node_status(node.address)
    assert after.stake == flt(5) and after.pending == status.pending + status.stake - flt(5)
    assert after.unlock_at > 0
    assert not after.eligible, "a stake under the minimum is not eligible"


def test_chain_id_is_asked_once_not_before_every_call(
    chain: LocalChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = chain.client()
    provider: Any = client.w3.provider
    asked: list[str] = []
    real = provider._make_request

    def counted(method: str, params: Any) -> Any:
        asked.append(method)
        return real(method, params)

    monkeypatch.setattr(provider, "_make_request", counted)
    for i in (1, 2, 3):
        assert client.node_status(dev_account(i).address).stake > 0
    assert asked.count("eth_call") >= 3 and "eth_chainId" not in asked


def test_concurrent_sends_on_one_key_never_collide(chain: LocalChain) -> None:
    client = chain.client()
    recipients = [Account.create().address for _ in range(24)]
    nodes = [dev_account(i) for i in range(5, 9)]
    for node in nodes:
        client.fund(node.address, flt(50))

    def fund(address: str) -> str:
        return client.fund(address, flt(1)).tx_hash

    def stake(node_index: int) -> str:
        return client.stake(nodes[node_index], flt(20)).tx_hash

    with ThreadPoolExecutor(max_workers=12) as pool:
        funded = list(pool.map(fund, recipients))
        list(pool.map(stake, range(len(nodes))))
    assert len(set(funded)) == len(recipients)
    assert all(client.flt_balance(r) == flt(1) for r in recipients)
    assert all(client.node_status(n.address).stake == flt(20) for n in nodes)


def test_concurrent_settlements_of_one_round_pay_once(chain: LocalChain) -> None:
    client = chain.client()
    nodes = chain.deployment.demo_nodes
    before = [client.flt_balance(n) for n in nodes]
    round_id = client.last_round_id() + 1
    outcomes: list[str] = []
    lock = threading.Lock()

    def settle() -> None:
        try:
            client.settle_round(round_id, _hash(), _hash(), nodes, [])
            outcome = "settled"
        except ContractReverted as exc:
            outcome = exc.error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=settle) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["RoundOutOfOrder"] * 7 + ["settled"]
    assert [client.flt_balance(n) for n in nodes] == [b + flt(10) for b in before]


def test_only_the_orchestrator_role_settles(chain: LocalChain) -> None:
    outsider_key = "0x" + bytes(dev_account(7).key).hex()
    client = ChainClient(chain.deployment, outsider_key)
    with pytest.raises(ContractReverted) as err:
        client.settle_round(client.last_round_id() + 1, _hash(), _hash(), chain.deployment.demo_nodes, [])
    assert err.value.error == "AccessControlUnauthorizedAccount"
    assert err.value.args_by_name["account"] == dev_account(7).address


def test_unreachable_chain_names_the_url(chain: LocalChain) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnreachable, match=url.replace(".", r"\.")):
        ChainClient(chain.deployment, ANVIL_ORCHESTRATOR_KEY, rpc_url=url)


def test_stale_deployment_file_is_named(chain: LocalChain, tmp_path: Path) -> None:
    stale = chain.deployment.model_copy(
        update={"staking": chain.deployment.staking.model_copy(update={"address": Account.create().address})}
    )
    path = tmp_path / "stale.json"
    write_deployment(path, stale)
    with pytest.raises(NoContractAtAddress, match="stale"):
        ChainClient.from_file(path, ANVIL_ORCHESTRATOR_KEY)
    with pytest.raises(DeploymentFileError, match="not found"):
        ChainClient.from_file(tmp_path / "missing.json", ANVIL_ORCHESTRATOR_KEY)


def test_deployment_for_another_chain_is_refused(chain: LocalChain) -> None:
    other = chain.deployment.model_copy(update={"chain_id": 421614})
    with pytest.raises(WrongChain, match="421614"):
        ChainClient(other, ANVIL_ORCHESTRATOR_KEY)


def test_insufficient_flt_and_insufficient_gas_are_actionable(chain: LocalChain) -> None:
    client = chain.client()
    poor = dev_account(9)  # has ETH but no FLT
    with pytest.raises(InsufficientFunds, match="ERC20InsufficientBalance"):
        client.stake(poor, flt(10))
    broke = Account.create()  # has neither ETH nor FLT
    with pytest.raises(InsufficientFunds, match="ETH"):
        ChainClient(chain.deployment, "0x" + bytes(broke.key).hex()).fund(poor.address, 0)


def test_arbitrum_sepolia_path_deploys_on_chain_421614(contracts_built: None, tmp_path: Path) -> None:
    rehearsal = launch_chain(tmp_path, chain_id=421614, staked_nodes=1)
    try:
        client = rehearsal.client()
        assert rehearsal.deployment.chain_id == 421614
        assert client.parameters().reward == flt(10)
        assert client.node_status(rehearsal.deployment.demo_nodes[0]).eligible
    finally:
        stop_process(rehearsal.process.pid)
