"""The served shield end to end: 10 real node processes, 2 of them sign-flipping, train a 50-round experiment
against the real orchestrator and a real anvil. No honest node loses FLT to a slash, the attackers are
slashed, and every `Slashed` event on chain traces back to a screened update: its verdict (outcome slashed,
with the evidence it rests on) and its signed submission in the database, under the round's results root.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from backend.db import repository as repo
from backend.db.models import SubmissionRow
from backend.engine.shield import Outcome
from backend.ledger.results_root import VerdictLeaf, results_root
from tests.support.chain import LocalChain
from tests.support.served import served_experiment

pytestmark = pytest.mark.chain

NODES, ATTACKERS, ROUNDS = 10, 2, 50
BODY: dict[str, Any] = {
    "name": "served shield",
    "dataset_id": "digits",
    "num_nodes": NODES,
    "rounds": ROUNDS,
    "attack": {"kind": "sign_flip", "num_attackers": ATTACKERS},  # the last two data slots
}  # local training and defense: the product's defaults


def test_ten_served_nodes_for_fifty_rounds_slash_only_the_attackers_and_every_slash_traces_to_a_verdict(
    chain: LocalChain, tmp_path: Path
) -> None:
    client = chain.client()
    first_block = client.head() + 1
    with served_experiment(chain, tmp_path, BODY, nodes_per_process=5, round_deadline_s=20.0) as served:
        rounds = served.wait_until_settled(400)
        nodes = {n["address"]: n for n in served.get("/nodes")}
        honest, attackers = served.addresses[: NODES - ATTACKERS], served.addresses[NODES - ATTACKERS :]
        with served.service.sessions() as session:
            verdicts = repo.verdicts(session, served.experiment_id)
            settlements = {s.chain_round_id: s for s in repo.settlements_of(session, served.experiment_id)}
            submissions = {
                (s.round, s.node_address): s
                for s in session.query(SubmissionRow).filter_by(experiment_id=served.experiment_id)
            }
    assert [r["round"] for r in rounds] == list(range(1, ROUNDS + 1))
    by_key = {(v.round, v.node_address): v for v in verdicts}
    outcomes = Counter((v.node_address in attackers, v.outcome) for v in verdicts)

    # Honest work is never slashed: not one verdict, not one event, not one FLT of stake.
    assert outcomes[(False, Outcome.SLASHED.value)] == 0, outcomes
    slashed_events = client.events(("Slashed",), from_block=first_block)
    assert not [e for e in slashed_events if e.args["node"] in honest]
    for address in honest:
        status = client.node_status(address)
        assert status.stake == 100 * 10**18 and status.pending == 0 and status.eligible, status
    # ...and it is paid: one reward per accepted round.
    rewards = Counter(e.args["node"] for e in client.events(("RewardPaid",), from_block=first_block))
    for address in honest:
        accepted = sum(v.node_address == address and v.outcome == Outcome.ACCEPTED.value for v in verdicts)
        assert rewards[address] == accepted > 0

    # The attackers are slashed on chain, never paid for an attacking round, and once their stake is
    # below the minimum they leave the quorum.
    slashed_on_chain = Counter(e.args["node"] for e in slashed_events)
    for address in attackers:
        assert slashed_on_chain[address] >= 1, slashed_on_chain
        assert not client.node_status(address).eligible
        assert not nodes[address]["active"] and nodes[address]["slashed_rounds"] == slashed_on_chain[address]
        assert rewards[address] == 0, rewards
    assert all(nodes[a]["active"] for a in honest)

    # Every slash on chain is a screened update: settlement, verdict with its evidence, signed submission.
    settled = {e.args["roundId"]: e for e in client.events(("RoundSettled",), from_block=first_block)}
    for event in slashed_events:
        settlement = settlements[event.args["roundId"]]
        assert settlement.tx_hash == event.tx_hash and event.args["node"] in settlement.slashed
        verdict = by_key[(settlement.round, event.args["node"])]
        assert verdict.outcome == Outcome.SLASHED.value and verdict.rule and verdict.reason
        assert "evidence" in verdict.features and any(
            k.startswith("evidence_") and k.endswith("_mean") for k in verdict.features
        ), verdict.features
        submission = submissions[(settlement.round, event.args["node"])]
        assert submission.signature.startswith("0x") and submission.update_hash.startswith("0x")
    # ...and each round's verdicts, as stored, are exactly what its on-chain results root commits to.
    for chain_round_id, settlement in settlements.items():
        round_ = rounds[settlement.round - 1]
        leaves = [
            VerdictLeaf(
                v.node_address, Outcome(v.outcome), v.rule, submissions[(v.round, v.node_address)].update_hash
            )
            for v in verdicts
            if v.round == settlement.round
        ]
        root = results_root(
            served.experiment_id, settlement.round, round_["model_hash"], round_["accuracy"], leaves
        )
        assert settled[chain_round_id].args["resultsRoot"] == root == settlement.results_root
