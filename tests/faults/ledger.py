"""The ledger check every fault drill ends with: the chain, the database (through the API) and the verdicts
tell one story, with no FLT lost and none paid twice.

1. every completed round is settled exactly once on chain (its results root in exactly one RoundSettled,
   under the chain round id and transaction the API reports);
2. on-chain rewards = reward times accepted verdicts, per node and per round;
3. slashes = the slash amounts taken, each capped at what the node still had staked;
4. treasury and total supply moved by exactly the slashes and the rewards;
5. the API's per-node figures (rewarded, slashed, balance, stake) equal the chain's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from backend.chain.client import ChainClient, flt


@dataclass(frozen=True)
class Baseline:
    """The chain before the drill: stakes (with pending), treasury balance and total supply."""

    stakes: dict[str, int]
    treasury: int
    supply: int

    @classmethod
    def take(cls, chain: ChainClient, addresses: list[str]) -> Baseline:
        stakes = {}
        for address in addresses:
            status = chain.node_status(address)
            stakes[address] = status.stake + status.pending
        treasury = chain.flt_balance(chain.parameters().treasury)
        supply = int(chain.token.functions.totalSupply().call())
        return cls(stakes, treasury, supply)


@dataclass(frozen=True)
class LedgerFigures:
    rounds: int
    rewarded_wei: int
    slashed_wei: int
    lost_wei: int  # owed by the verdicts but not paid or taken on chain
    doubled_wei: int  # paid or taken on chain beyond what the verdicts owe

    def line(self) -> str:
        return (
            f"{self.rounds} rounds, {Decimal(self.rewarded_wei) / 10**18} FLT rewarded, "
            f"{Decimal(self.slashed_wei) / 10**18} FLT slashed, {Decimal(self.lost_wei) / 10**18} FLT lost, "
            f"{Decimal(self.doubled_wei) / 10**18} FLT doubled"
        )


def _get(http: httpx.Client, path: str) -> Any:
    response = http.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:500]}"
    return response.json()


def _slashed(verdict: dict[str, Any]) -> bool:
    # Three-outcome verdicts (accepted / excluded / slashed) say so; the boolean model slashes every reject.
    outcome = verdict.get("outcome")
    return outcome == "slashed" if outcome is not None else not verdict["accepted"]


def check_ledger(
    url: str,
    chain: ChainClient,
    experiment_ids: list[int],
    baseline: Baseline,
    *,
    foreign_rounds: frozenset[int] = frozenset(),
) -> LedgerFigures:
    """Asserts the five properties above for ``experiment_ids``: the only settlements on this chain besides
    ``foreign_rounds`` (chain round ids another process settled; counted in treasury and supply only)."""
    settled = chain.settled_rounds()
    by_root = Counter(r.results_root.lower() for r in settled)
    chain_by_root = {r.results_root.lower(): r for r in settled}
    parameters = chain.parameters()
    expected_reward: dict[str, int] = defaultdict(int)
    expected_slash: dict[str, int] = defaultdict(int)
    remaining = dict(baseline.stakes)
    ours: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for experiment_id in experiment_ids:
            for r in _get(http, f"/api/experiments/{experiment_id}/rounds"):
                if r["status"] != "completed":
                    continue
                s = r["settlement"]
                assert s is not None and s["status"] == "confirmed", (experiment_id, r["round"], s)
                root = s["results_root"].lower()
                assert by_root[root] == 1, f"round {r['round']} settled {by_root[root]} times on chain"
                on_chain = chain_by_root[root]
                assert on_chain.round_id == s["chain_round_id"], (on_chain.round_id, s["chain_round_id"])
                assert on_chain.tx_hash.lower() == s["tx_hash"].lower()
                assert on_chain.model_hash.lower() == r["model_hash"].lower()
                verdicts = _get(http, f"/api/experiments/{experiment_id}/rounds/{r['round']}/verdicts")
                ours.append((on_chain.round_id, {"experiment_id": experiment_id, **r}, verdicts))
        # Slashes are taken in chain order, each capped at what is left of the stake.
        for _, r, verdicts in sorted(ours, key=lambda item: item[0]):
            on_chain = chain_by_root[r["settlement"]["results_root"].lower()]
            accepted = {v["node_address"] for v in verdicts if v["accepted"]}
            assert set(on_chain.rewards) == accepted, (r["round"], on_chain.rewards, accepted)
            for address in accepted:
                assert on_chain.rewards[address] == parameters.reward
                expected_reward[address] += parameters.reward
            for v in verdicts:
                if not _slashed(v):
                    continue
                address = v["node_address"]
                take = min(parameters.slash, remaining.get(address, 0))
                remaining[address] = remaining.get(address, 0) - take
                expected_slash[address] += take
                assert on_chain.slashes.get(address, 0) == take, (r["round"], address, on_chain.slashes, take)
        paid: dict[str, int] = defaultdict(int)
        taken: dict[str, int] = defaultdict(int)
        foreign_paid = foreign_taken = 0
        roots = {r["settlement"]["results_root"].lower() for _, r, _ in ours}
        for r in settled:
            if r.results_root.lower() not in roots:
                assert r.round_id in foreign_rounds, f"chain round {r.round_id} is no completed round of ours"
                foreign_paid += sum(r.rewards.values())
                foreign_taken += sum(r.slashes.values())
                continue
            for address, wei in r.rewards.items():
                paid[address] += wei
            for address, wei in r.slashes.items():
                taken[address] += wei
        addresses = set(paid) | set(taken) | set(expected_reward) | set(expected_slash)
        lost = sum(
            max(0, expected_reward[a] - paid[a]) + max(0, expected_slash[a] - taken[a]) for a in addresses
        )
        doubled = sum(
            max(0, paid[a] - expected_reward[a]) + max(0, taken[a] - expected_slash[a]) for a in addresses
        )
        assert (lost, doubled) == (0, 0), f"{lost} wei lost, {doubled} wei doubled"
        treasury = chain.flt_balance(parameters.treasury)
        supply = int(chain.token.functions.totalSupply().call())
        assert treasury - baseline.treasury == sum(taken.values()) + foreign_taken
        assert supply - baseline.supply == sum(paid.values()) + foreign_paid
        for experiment_id in experiment_ids:
            for node in _get(http, f"/api/experiments/{experiment_id}/nodes"):
                address = node["address"]
                mine = {
                    root
                    for _, r, _ in ours
                    if r["experiment_id"] == experiment_id
                    for root in [r["settlement"]["results_root"].lower()]
                }
                rewarded = sum(chain_by_root[x].rewards.get(address, 0) for x in mine)
                slashed = sum(chain_by_root[x].slashes.get(address, 0) for x in mine)
                assert flt(node["rewarded_flt"]) == rewarded, (address, node["rewarded_flt"], rewarded)
                assert flt(node["slashed_flt"]) == slashed, (address, node["slashed_flt"], slashed)
                status = chain.node_status(address)
                assert flt(node["balance_flt"]) == status.balance
                assert flt(node["stake_flt"]) == status.stake
    return LedgerFigures(len(ours), sum(paid.values()), sum(taken.values()), lost, doubled)
