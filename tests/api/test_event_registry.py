"""The event registry: one model per kind, its message made from its fields, its wire form as documented.

Pure: each kind is built as its publisher builds it, stored as the bus stores it (place columns + data),
read back and checked against the schema the API documents for the stream (`StreamedEvent`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from backend.app.schemas.events import StreamedEvent, event_json
from backend.orchestrator.event_kinds import (
    EVENT_TYPE_BY_KIND,
    EVENT_TYPES,
    AttackUpdated,
    EventPayload,
    ExperimentCompleted,
    ExperimentCreated,
    ExperimentFailed,
    ExperimentTransitioned,
    ModelAggregated,
    NodeDeactivated,
    NodeRegistered,
    RoundOpened,
    TxConfirmed,
    TxFailed,
    TxRequeued,
    TxSent,
    UpdateAccepted,
    UpdateExcluded,
    UpdateReceived,
    UpdateSlashed,
    WalletPaid,
    kinds_of,
    parse_event,
)
from backend.orchestrator.events import Event
from backend.orchestrator.specs import AttackPlan

NODE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
TX = "0x" + "ab" * 32
HASH = "0x" + "cd" * 32

# Every kind as its publisher builds it, with the text the dashboard shows for it.
SAMPLES: list[tuple[EventPayload, str]] = [
    (
        ExperimentCreated(experiment_id=1, name="demo", dataset_id="mnist", num_nodes=5, rounds=3, model_hash=HASH),
        "Experiment 1 created: demo on mnist, 5 nodes, 3 rounds",
    ),
    (ExperimentTransitioned(kind="experiment.started", experiment_id=1), "Experiment 1 started"),
    (ExperimentTransitioned(kind="experiment.paused", experiment_id=1), "Experiment 1 paused"),
    (ExperimentTransitioned(kind="experiment.resumed", experiment_id=1), "Experiment 1 resumed"),
    (ExperimentTransitioned(kind="experiment.stopped", experiment_id=1), "Experiment 1 stopped"),
    (ExperimentCompleted(experiment_id=1, rounds=3, accuracy=0.9123), "Experiment 1 completed after 3 rounds: accuracy 91.2%"),
    (ExperimentFailed(experiment_id=1, error="RuntimeError: boom"), "Experiment 1 failed: RuntimeError: boom"),
    (
        AttackUpdated(experiment_id=1, attack=AttackPlan(kind="sign_flip", num_attackers=2, start_round=2)),
        "Attack plan of experiment 1: sign_flip by 2 nodes from round 2",
    ),
    (
        NodeRegistered(experiment_id=1, address=NODE, label="node-1", node_kind="simulated"),
        "Node node-1 joined: 0x7099…79C8",
    ),
    (
        NodeDeactivated(experiment_id=1, address=NODE, label="node-1"),
        "Node node-1 (0x7099…79C8) left the quorum: stake below the minimum",
    ),
    (
        NodeDeactivated(
            experiment_id=1, address=NODE, label="node-1", reason="no update by round 2's deadline"
        ),
        "Node node-1 (0x7099…79C8) left the quorum: no update by round 2's deadline",
    ),
    (RoundOpened(experiment_id=1, round=2, base_model_hash=HASH), "Round 2 opened"),
    (
        RoundOpened(experiment_id=1, round=2, base_model_hash=HASH, reopened=True),
        "Round 2 reopened after a restart",
    ),
    (
        UpdateReceived(experiment_id=1, round=2, address=NODE, label="node-1", num_samples=120, update_hash=HASH),
        "Received update from 0x7099…79C8 (node-1) for round 2",
    ),
    (
        UpdateAccepted(experiment_id=1, round=2, address=NODE, label="node-1", rule=None, reason="within bounds"),
        "Accepted update from 0x7099…79C8 (node-1)",
    ),
    (
        UpdateExcluded(experiment_id=1, round=2, address=NODE, label="node-1", rule="norm", reason="norm 9 above 3"),
        "Excluded update from 0x7099…79C8, not slashed: norm 9 above 3",
    ),
    (
        UpdateSlashed(experiment_id=1, round=2, address=NODE, label="node-1", rule="cosine", reason="cosine -0.98"),
        "Slashed 0x7099…79C8: cosine -0.98",
    ),
    (
        ModelAggregated(
            experiment_id=1, round=2, model_hash=HASH, version=3, accuracy=0.5, loss=1.2, accepted=3, excluded=1,
            slashed=1, tp=2, fp=0, tn=3, fn=0, results_root=HASH,
        ),
        "Aggregated v3: 3 of 5 updates accepted, 1 excluded, 1 slashed, accuracy 50.0%",
    ),
    (
        WalletPaid(kind="wallet.rewarded", experiment_id=1, round=2, address=NODE, amount_flt="10", tx_hash=TX),
        "Rewarded wallet 0x7099…79C8: 10 FLT, tx 0xabababab…",
    ),
    (
        WalletPaid(kind="wallet.slashed", experiment_id=1, round=2, address=NODE, amount_flt="15", tx_hash=TX),
        "Slashed wallet 0x7099…79C8: 15 FLT, tx 0xabababab…",
    ),
    (
        TxSent(experiment_id=1, round=2, chain_round_id=7, tx_hash=TX, nonce=4, replacing=None),
        "Settling round 2 on chain as round 7",
    ),
    (
        TxSent(experiment_id=1, round=2, chain_round_id=7, tx_hash=TX, nonce=4, replacing=HASH),
        "Settlement of round 2 stuck in 0xcdcdcdcd…: sent again at nonce 4 with higher fees",
    ),
    (
        TxConfirmed(experiment_id=1, round=2, tx_hash=TX, block_number=40, gas_used=90000, chain_round_id=7),
        "Round 2 settled in tx 0xabababab…, block 40",
    ),
    (
        TxConfirmed(
            experiment_id=1, round=2, tx_hash=TX, block_number=40, gas_used=1, chain_round_id=7, repaired=True
        ),
        f"Round 2 settlement corrected from the chain: recorded as chain round 7, tx {TX}, as the chain holds it",
    ),
    (
        TxFailed(experiment_id=1, round=2, error="node unreachable. details", retrying=True),
        "Settlement of round 2 delayed: node unreachable; retrying",
    ),
    (
        TxFailed(experiment_id=1, round=2, error="reverted: NotStaked", retrying=False),
        "Settlement of round 2 failed: reverted: NotStaked",
    ),
    (
        TxRequeued(experiment_id=1, round=2, previous_chain_round_id=7, reason="its transaction vanished"),
        "Settlement of round 2 goes back to pending: its transaction vanished; it will be sent again",
    ),
]  # fmt: skip


def test_every_kind_is_registered_once_with_a_dotted_name_and_has_a_sample() -> None:
    kinds = [k for t in EVENT_TYPES for k in kinds_of(t)]
    assert len(kinds) == len(set(kinds)) == len(EVENT_TYPE_BY_KIND) == 22
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+", k) for k in kinds), kinds
    assert {payload.kind for payload, _ in SAMPLES} == set(kinds)


@pytest.mark.parametrize(
    ("payload", "message"), SAMPLES, ids=lambda v: v.kind if isinstance(v, EventPayload) else ""
)
def test_stored_event_reads_back_as_its_model_says_its_message_and_matches_the_documented_schema(
    payload: EventPayload, message: str
) -> None:
    assert payload.message() == message
    data = payload.data()
    assert not {"kind", "experiment_id", "round"} & data.keys()  # the place is in its own columns
    event = Event(
        1, datetime.now(UTC), payload.kind, payload.experiment_id, payload.at_round(), message, data
    )
    assert parse_event(event.kind, payload.experiment_id, event.round, event.data) == payload
    wire = event_json(event)
    documented = StreamedEvent.model_validate(wire).root
    assert documented.kind == payload.kind  # type: ignore[attr-defined]


def test_a_verdict_event_carries_its_outcome_and_aggregation_its_rejected_count() -> None:
    slashed = UpdateSlashed(experiment_id=1, round=1, address=NODE, label="n", rule="r", reason="why")
    assert slashed.data()["outcome"] == "slashed"
    aggregated = next(p for p, _ in SAMPLES if isinstance(p, ModelAggregated))
    assert aggregated.data()["rejected"] == 2


def test_a_payload_missing_a_field_or_with_an_unknown_one_is_refused() -> None:
    with pytest.raises(ValueError, match="base_model_hash"):
        parse_event("round.opened", 1, 2, {})
    with pytest.raises(ValueError, match="surprise"):
        parse_event("round.opened", 1, 2, {"base_model_hash": HASH, "surprise": 1})
