"""Every kind of event the orchestrator publishes, defined once: its name, its fields and its message.

A publisher builds one of these models and hands it to the bus (``pub.publish(RoundOpened(...))``). The bus
stores ``experiment_id`` and ``round`` in their own columns, the other fields as the event's ``data`` and
``message()`` as its text; the SSE stream and the event log send them as they are stored
(backend/app/schemas/events.py), and the dashboard's types are generated from the same models
(frontend/src/api/schema.d.ts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, computed_field

from backend.engine.shield import Outcome
from backend.orchestrator.messages import short_address, short_hash
from backend.orchestrator.specs import AttackPlan, NodeKind

# The fields that are the event's place (own columns, top-level on the wire), not part of its data.
PLACE_FIELDS = frozenset({"kind", "experiment_id", "round"})


class EventPayload(BaseModel):
    """One event: its kind, the experiment it concerns, its fields; ``message()`` says it in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    experiment_id: int

    def message(self) -> str:
        raise NotImplementedError

    def at_round(self) -> int | None:
        """The round it concerns, if any."""
        return None

    def data(self) -> dict[str, Any]:
        """The fields stored as the event's data (JSON-ready)."""
        return self.model_dump(mode="json", exclude=set(PLACE_FIELDS))


class RoundEvent(EventPayload):
    """An event about one round of the experiment."""

    round: int

    def at_round(self) -> int | None:
        return self.round


# -- experiments ----------------------------------------------------------------------------------------


class ExperimentCreated(EventPayload):
    kind: Literal["experiment.created"] = "experiment.created"
    name: str
    dataset_id: str
    num_nodes: int
    rounds: int
    model_hash: str  # the initial global model

    def message(self) -> str:
        return (
            f"Experiment {self.experiment_id} created: {self.name} on {self.dataset_id}, "
            f"{self.num_nodes} nodes, {self.rounds} rounds"
        )


LifecycleKind = Literal["experiment.started", "experiment.paused", "experiment.resumed", "experiment.stopped"]


class ExperimentTransitioned(EventPayload):
    """Started, paused, resumed or stopped by its owner: the kind names which."""

    kind: LifecycleKind

    def message(self) -> str:
        return f"Experiment {self.experiment_id} {self.kind.removeprefix('experiment.')}"


class ExperimentCompleted(EventPayload):
    kind: Literal["experiment.completed"] = "experiment.completed"
    rounds: int
    accuracy: float | None  # of the last completed round's model; None without one

    def message(self) -> str:
        accuracy = f": accuracy {self.accuracy:.1%}" if self.accuracy is not None else ""
        return f"Experiment {self.experiment_id} completed after {self.rounds} rounds{accuracy}"


class ExperimentFailed(EventPayload):
    kind: Literal["experiment.failed"] = "experiment.failed"
    error: str

    def message(self) -> str:
        return f"Experiment {self.experiment_id} failed: {self.error}"


class AttackUpdated(EventPayload):
    kind: Literal["attack.updated"] = "attack.updated"
    attack: AttackPlan  # the plan now in force; it applies from the next round opened

    def message(self) -> str:
        plan = self.attack
        who = f"{len(plan.nodes)} chosen nodes" if plan.nodes else f"{plan.num_attackers} nodes"
        text = "no attack" if not plan.active else f"{plan.kind} by {who} from round {plan.start_round}"
        return f"Attack plan of experiment {self.experiment_id}: {text}"


# -- nodes ----------------------------------------------------------------------------------------------


class NodeRegistered(EventPayload):
    kind: Literal["node.registered"] = "node.registered"
    address: str
    label: str
    node_kind: NodeKind

    def message(self) -> str:
        return f"Node {self.label} joined: {short_address(self.address)}"


class NodeDeactivated(EventPayload):
    kind: Literal["node.deactivated"] = "node.deactivated"
    address: str
    label: str
    # Why it left the quorum: its stake fell below the minimum, or it let a round's deadline pass (it joins
    # the quorum again with its next accepted post).
    reason: str = "stake below the minimum"

    def message(self) -> str:
        return f"Node {self.label} ({short_address(self.address)}) left the quorum: {self.reason}"


# -- rounds, updates, models ----------------------------------------------------------------------------


class RoundOpened(RoundEvent):
    kind: Literal["round.opened"] = "round.opened"
    base_model_hash: str
    reopened: bool = False  # opened again after a restart dropped its updates

    def message(self) -> str:
        return (
            f"Round {self.round} reopened after a restart" if self.reopened else f"Round {self.round} opened"
        )


class UpdateReceived(RoundEvent):
    kind: Literal["update.received"] = "update.received"
    address: str
    label: str
    num_samples: int
    update_hash: str

    def message(self) -> str:
        return f"Received update from {short_address(self.address)} ({self.label}) for round {self.round}"


class VerdictEvent(RoundEvent):
    """The shield's verdict on one node's update (backend/engine/shield/verdicts.py)."""

    address: str
    label: str
    outcome: Outcome
    rule: str | None  # the rule that excluded or slashed it; None when accepted
    reason: str


class UpdateAccepted(VerdictEvent):
    kind: Literal["update.accepted"] = "update.accepted"
    outcome: Literal[Outcome.ACCEPTED] = Outcome.ACCEPTED

    def message(self) -> str:
        return f"Accepted update from {short_address(self.address)} ({self.label})"


class UpdateExcluded(VerdictEvent):
    kind: Literal["update.excluded"] = "update.excluded"
    outcome: Literal[Outcome.EXCLUDED] = Outcome.EXCLUDED

    def message(self) -> str:
        return f"Excluded update from {short_address(self.address)}, not slashed: {self.reason}"


class UpdateSlashed(VerdictEvent):
    kind: Literal["update.slashed"] = "update.slashed"
    outcome: Literal[Outcome.SLASHED] = Outcome.SLASHED

    def message(self) -> str:
        return f"Slashed {short_address(self.address)}: {self.reason}"


# By outcome; each fixes its kind and outcome, so the publisher passes the rest.
VERDICT_EVENTS: dict[Outcome, Callable[..., VerdictEvent]] = {
    Outcome.ACCEPTED: UpdateAccepted,
    Outcome.EXCLUDED: UpdateExcluded,
    Outcome.SLASHED: UpdateSlashed,
}


class ModelAggregated(RoundEvent):
    kind: Literal["model.aggregated"] = "model.aggregated"
    model_hash: str
    version: int  # the new global model's version (round + 1)
    accuracy: float | None
    loss: float | None
    accepted: int
    excluded: int
    slashed: int
    tp: int  # attackers excluded or slashed
    fp: int  # honest nodes excluded or slashed
    tn: int  # honest nodes accepted
    fn: int  # attackers accepted
    results_root: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rejected(self) -> int:
        """Excluded + slashed (kept for older clients)."""
        return self.excluded + self.slashed

    def message(self) -> str:
        cohort = self.accepted + self.excluded + self.slashed
        return (
            f"Aggregated v{self.version}: {self.accepted} of {cohort} updates accepted, {self.excluded} excluded, "
            f"{self.slashed} slashed, accuracy {(self.accuracy or 0.0):.1%}"
        )


# -- the chain ------------------------------------------------------------------------------------------


PayoutKind = Literal["wallet.rewarded", "wallet.slashed"]


class WalletPaid(RoundEvent):
    """What the settlement paid a wallet (``wallet.rewarded``) or took from it (``wallet.slashed``)."""

    kind: PayoutKind
    address: str
    amount_flt: str  # decimal FLT
    tx_hash: str

    def message(self) -> str:
        verb = self.kind.removeprefix("wallet.").capitalize()
        return f"{verb} wallet {short_address(self.address)}: {self.amount_flt} FLT, tx {short_hash(self.tx_hash)}"


class TxSent(RoundEvent):
    kind: Literal["tx.sent"] = "tx.sent"
    chain_round_id: int
    tx_hash: str
    nonce: int
    replacing: str | None  # the stuck transaction this one replaces at a higher fee

    def message(self) -> str:
        if self.replacing is None:
            return f"Settling round {self.round} on chain as round {self.chain_round_id}"
        return (
            f"Settlement of round {self.round} stuck in {short_hash(self.replacing)}: sent again at nonce "
            f"{self.nonce} with higher fees"
        )


class TxConfirmed(RoundEvent):
    kind: Literal["tx.confirmed"] = "tx.confirmed"
    tx_hash: str
    block_number: int
    gas_used: int
    chain_round_id: int
    found_after_restart: bool = False  # the outbox found it on chain after a restart
    repaired: bool = False  # the reconciler corrected the database from the chain

    def message(self) -> str:
        if self.repaired:
            return (
                f"Round {self.round} settlement corrected from the chain: recorded as chain round "
                f"{self.chain_round_id}, tx {self.tx_hash}, as the chain holds it"
            )
        note = " (found on chain after a restart)" if self.found_after_restart else ""
        return f"Round {self.round} settled in tx {short_hash(self.tx_hash)}, block {self.block_number}{note}"


class TxFailed(RoundEvent):
    kind: Literal["tx.failed"] = "tx.failed"
    error: str
    retrying: bool  # True: delayed, the outbox sends it again; False: failed for good

    def message(self) -> str:
        if self.retrying:
            return f"Settlement of round {self.round} delayed: {self.error.split('. ')[0]}; retrying"
        return f"Settlement of round {self.round} failed: {self.error}"


class TxRequeued(RoundEvent):
    kind: Literal["tx.requeued"] = "tx.requeued"
    previous_chain_round_id: int | None
    reason: str

    def message(self) -> str:
        return f"Settlement of round {self.round} goes back to pending: {self.reason}; it will be sent again"


# The registry: every kind the orchestrator publishes, in the order the dashboard documents them.
EVENT_TYPES: tuple[type[EventPayload], ...] = (
    ExperimentCreated,
    ExperimentTransitioned,
    ExperimentCompleted,
    ExperimentFailed,
    AttackUpdated,
    NodeRegistered,
    NodeDeactivated,
    RoundOpened,
    UpdateReceived,
    UpdateAccepted,
    UpdateExcluded,
    UpdateSlashed,
    ModelAggregated,
    WalletPaid,
    TxSent,
    TxConfirmed,
    TxFailed,
    TxRequeued,
)


def kinds_of(event_type: type[EventPayload]) -> tuple[str, ...]:
    """The kinds a payload type publishes as (the values of its ``kind`` Literal)."""
    return get_args(event_type.model_fields["kind"].annotation)


EVENT_TYPE_BY_KIND: dict[str, type[EventPayload]] = {k: t for t in EVENT_TYPES for k in kinds_of(t)}


def parse_event(kind: str, experiment_id: int, round_: int | None, data: dict[str, Any]) -> EventPayload:
    """A stored event back as its payload model (raises KeyError for a kind not in the registry)."""
    event_type = EVENT_TYPE_BY_KIND[kind]
    fields = {k: v for k, v in data.items() if k not in event_type.model_computed_fields}
    fields.update(kind=kind, experiment_id=experiment_id)
    if round_ is not None:
        fields["round"] = round_
    return event_type.model_validate(fields)
