"""Experiment lifecycle: create, start, pause, resume, stop; nodes joining; the Attack Lab's plan.

Transitions (anything else is a Conflict naming the current status):

    created --start--> running --pause--> paused --resume--> running
    running --(last round settled into the DB)--> completed        running --(error)--> failed --resume-->
    created | running | paused --stop--> stopped (final)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.db import repository as repo
from backend.db.base import SessionFactory, utcnow
from backend.db.models import ExperimentRow, ModelRow, NodeRow
from backend.db.statuses import ExperimentStatus, RoundStatus
from backend.ledger.chain_gateway import ChainGateway
from backend.orchestrator.data import DatasetCatalog
from backend.orchestrator.errors import Conflict, InvalidInput, NotEligible, NotFound, Unauthenticated
from backend.orchestrator.event_kinds import (
    AttackUpdated,
    ExperimentCreated,
    ExperimentTransitioned,
    LifecycleKind,
    NodeRegistered,
)
from backend.orchestrator.events import EventBus
from backend.orchestrator.messages import flt_text
from backend.orchestrator.model_store import ModelStore
from backend.orchestrator.specs import MAX_NODES, AttackPlan, ExperimentCreate, NodeKind
from workers.models import ModelSpec, build_model, model_spec_for
from workers.protocol import (
    REGISTER_MAX_AGE_S,
    MessageError,
    SignatureError,
    checksum,
    recover_registrant,
)
from workers.statuses import FINISHED
from workers.tensors import state_of

_TRANSITIONS: dict[str, tuple[tuple[ExperimentStatus, ...], ExperimentStatus, LifecycleKind]] = {
    # action: (statuses it applies to, new status, its event)
    "start": ((ExperimentStatus.CREATED,), ExperimentStatus.RUNNING, "experiment.started"),
    "pause": ((ExperimentStatus.RUNNING,), ExperimentStatus.PAUSED, "experiment.paused"),
    "resume": (
        (ExperimentStatus.PAUSED, ExperimentStatus.FAILED),
        ExperimentStatus.RUNNING,
        "experiment.resumed",
    ),
    "stop": (
        (ExperimentStatus.CREATED, ExperimentStatus.RUNNING, ExperimentStatus.PAUSED),
        ExperimentStatus.STOPPED,
        "experiment.stopped",
    ),
}


@dataclass(frozen=True)
class AmountsInForce:
    reward_flt: str
    slash_flt: str


def attacker_slots(plan: AttackPlan | None, num_nodes: int) -> set[int]:
    """Data slots whose simulated node attacks under ``plan`` (the last ``num_attackers`` slots)."""
    if plan is None or not plan.active or plan.nodes:
        return set()
    return set(range(max(0, num_nodes - plan.num_attackers), num_nodes))


def is_attacker(plan: AttackPlan | None, num_nodes: int, node: NodeRow, round_: int) -> bool:
    """Whether ``node`` attacks in ``round_`` under ``plan`` (only simulated nodes follow the plan)."""
    return attacks(plan, num_nodes, kind=node.kind, slot=node.slot, address=node.address, round_=round_)


def attacks(
    plan: AttackPlan | None, num_nodes: int, *, kind: str, slot: int | None, address: str, round_: int
) -> bool:
    """Whether the node in ``slot`` with wallet ``address`` attacks in ``round_`` under ``plan``."""
    if plan is None or not plan.active or round_ < plan.start_round or kind != "simulated":
        return False
    if plan.nodes:
        return address in {_checksum_or_none(a) for a in plan.nodes}
    return slot is not None and slot in attacker_slots(plan, num_nodes)


def _check_attack_classes(plan: AttackPlan, num_classes: int) -> None:
    try:
        plan.check_classes(num_classes)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _checksum_or_none(address: str) -> str | None:
    try:
        return checksum(address)
    except MessageError:
        return None


def round_deadline_s(config: Mapping[str, Any], default_s: float) -> float:
    """Seconds a round stays open under an experiment's ``config``: its own setting, else ``default_s``."""
    return float(config.get("round_deadline_s") or default_s)


def build_model_spec(config: ExperimentCreate, catalog: DatasetCatalog) -> ModelSpec:
    spec = catalog.get(config.dataset_id).spec
    auto = model_spec_for(spec)
    if config.model == "auto" or config.model == auto.kind:
        return auto
    if config.model == "cnn" and not spec.is_image:
        raise InvalidInput(f"model 'cnn' needs image samples; dataset {config.dataset_id!r} is tabular")
    if config.model == "mlp":
        width = min(256, max(32, 2 * _flat_size(spec.input_shape)))
        return ModelSpec("mlp", (_flat_size(spec.input_shape),), spec.num_classes, (width,))
    return auto


def _flat_size(shape: tuple[int, ...]) -> int:
    size = 1
    for d in shape:
        size *= d
    return size


# Registrations one experiment takes in all (simulated and external): each is a row and a quorum member.
MAX_REGISTRATIONS = MAX_NODES


@dataclass(frozen=True)
class Registration:
    """A wallet's proof that it asks to join itself: its EIP-712 `Register` signature and the nonce signed."""

    nonce: int  # Unix time of signing
    signature: str


def registration_refusal(
    domain: dict[str, Any], experiment_id: int, wallet: str, proof: Registration, now_s: float
) -> str | None:
    """Why `proof` does not show that `wallet`'s key asks to join `experiment_id` now, or None when it does."""
    if abs(now_s - proof.nonce) > REGISTER_MAX_AGE_S:
        return (
            f"registration nonce {proof.nonce} is not the time of signing (orchestrator's clock: {int(now_s)}, "
            f"taken within {REGISTER_MAX_AGE_S} s)"
        )
    try:
        signer = recover_registrant(domain, experiment_id, wallet, proof.nonce, proof.signature)
    except (SignatureError, MessageError) as exc:
        return f"registration signature unusable: {exc}"
    if signer != wallet:
        return f"registration is signed by {signer}, not by {wallet}: a node registers with its own key"
    return None


class ExperimentService:
    """Every change to an experiment's lifecycle, each recorded as an event."""

    def __init__(
        self,
        sessions: SessionFactory,
        bus: EventBus,
        catalog: DatasetCatalog,
        models: ModelStore,
        chain: ChainGateway,
        amounts: Callable[[], AmountsInForce],
        wake_runner: Callable[[], None],
        default_deadline_s: float,
    ) -> None:
        self._default_deadline_s = default_deadline_s
        self._sessions = sessions
        self._bus = bus
        self._catalog = catalog
        self._models = models
        self._chain = chain
        self._amounts = amounts
        self._wake_runner = wake_runner
        # Data slots promised to wallets that asked for a task before registering: address -> slot.
        self._reservations: dict[int, dict[str, int]] = {}
        self._slot_lock = threading.Lock()

    # -- create and read --------------------------------------------------------------------------------

    def create(self, config: ExperimentCreate) -> ExperimentRow:
        """Checks the dataset, provisions the initial global model (v1) and records the experiment."""
        info = self._catalog.get(config.dataset_id)
        if config.model == "cnn" and not info.spec.is_image:
            raise InvalidInput(f"model 'cnn' needs image samples; dataset {config.dataset_id!r} is tabular")
        spec = build_model_spec(config, self._catalog)
        if config.attack is not None:
            _check_attack_classes(config.attack, info.spec.num_classes)
        if config.num_nodes * 2 > info.num_samples:
            raise InvalidInput(
                f"dataset {config.dataset_id!r} has {info.num_samples} samples: too few for {config.num_nodes} nodes"
            )
        initial = state_of(build_model(spec, seed=config.seed))
        model_hash, size = self._models.save(initial)
        amounts = self._amounts()
        with self._bus.transaction() as pub:
            row = ExperimentRow(
                name=config.name,
                dataset_id=config.dataset_id,
                status=ExperimentStatus.CREATED,
                rounds=config.rounds,
                current_round=0,
                config=config.model_dump(mode="json"),
                attack=config.attack.model_dump(mode="json") if config.attack else None,
                model_spec=spec.to_dict(),
                initial_model_hash=model_hash,
                reward_flt=amounts.reward_flt,
                slash_flt=amounts.slash_flt,
            )
            pub.session.add(row)
            pub.session.flush()
            if pub.session.get(ModelRow, model_hash) is None:
                pub.session.add(ModelRow(hash=model_hash, experiment_id=row.id, version=1, size_bytes=size))
            pub.publish(
                ExperimentCreated(
                    experiment_id=row.id,
                    name=config.name,
                    dataset_id=config.dataset_id,
                    num_nodes=config.num_nodes,
                    rounds=config.rounds,
                    model_hash=model_hash,
                )
            )
        return row

    def deadline_s(self, row: ExperimentRow) -> float:
        return round_deadline_s(row.config, self._default_deadline_s)

    def get(self, experiment_id: int) -> ExperimentRow:
        with self._sessions() as session:
            row = session.get(ExperimentRow, experiment_id)
            if row is None:
                raise NotFound(f"no experiment {experiment_id}")
            return row

    # -- lifecycle --------------------------------------------------------------------------------------

    def transition(self, experiment_id: int, action: str) -> ExperimentRow:
        """Applies start / pause / resume / stop, or raises Conflict naming the current status."""
        allowed, new_status, kind = _TRANSITIONS[action]
        with self._bus.transaction() as pub:
            row = pub.session.get(ExperimentRow, experiment_id)
            if row is None:
                raise NotFound(f"no experiment {experiment_id}")
            if row.status not in allowed:
                raise Conflict(
                    f"cannot {action} experiment {experiment_id}: it is {row.status} "
                    f"({action} applies to {' or '.join(allowed)})"
                )
            row.status = new_status
            row.error = None
            if action == "stop":
                self._cancel_open_round(pub.session, row)
            elif action == "resume":
                open_round = repo.latest_round(pub.session, experiment_id)
                if open_round is not None and open_round.status == RoundStatus.OPEN:
                    open_round.deadline = utcnow() + timedelta(seconds=self.deadline_s(row))
            pub.publish(ExperimentTransitioned(kind=kind, experiment_id=experiment_id))
        self._wake_runner()
        return row

    @staticmethod
    def _cancel_open_round(session: Session, row: ExperimentRow) -> None:
        latest = repo.latest_round(session, row.id)
        if latest is not None and latest.status in (RoundStatus.OPEN, RoundStatus.SCREENING):
            latest.status = RoundStatus.CANCELLED

    def set_attack(self, experiment_id: int, plan: AttackPlan) -> ExperimentRow:
        """Puts a new attack plan in force; it applies from the next round opened."""
        with self._bus.transaction() as pub:
            row = pub.session.get(ExperimentRow, experiment_id)
            if row is None:
                raise NotFound(f"no experiment {experiment_id}")
            num_nodes = int(row.config["num_nodes"])
            _check_attack_classes(plan, ModelSpec.from_dict(row.model_spec).num_classes)
            if plan.num_attackers > num_nodes:
                raise InvalidInput(f"num_attackers ({plan.num_attackers}) exceeds num_nodes ({num_nodes})")
            if plan.nodes:
                bad = [a for a in plan.nodes if _checksum_or_none(a) is None]
                if bad:
                    raise InvalidInput(f"attack.nodes holds entries that are not 0x addresses: {bad[:5]}")
            row.attack = plan.model_dump(mode="json")
            pub.publish(AttackUpdated(experiment_id=experiment_id, attack=plan))
        return row

    # -- nodes --------------------------------------------------------------------------------------------

    def register_node(
        self, experiment_id: int, address: str, kind: str | None = None, *, proof: Registration
    ) -> NodeRow:
        """Registers a wallet that is staked on chain and signed the request; simulated nodes get a data slot."""
        try:
            wallet = checksum(address)
        except MessageError as exc:
            raise InvalidInput(str(exc)) from None
        refusal = registration_refusal(self._chain.eip712_domain(), experiment_id, wallet, proof, time.time())
        if refusal is not None:
            raise Unauthenticated(refusal)
        experiment = self.get(experiment_id)
        if experiment.status in FINISHED:
            raise Conflict(f"experiment {experiment_id} is {experiment.status}: it takes no new nodes")
        with self._sessions() as session:
            if repo.node(session, experiment_id, wallet) is not None:
                raise Conflict(f"{wallet} is already registered for experiment {experiment_id}")
        status = self._chain.node_status(wallet, max_age_s=0.0)  # ChainUnavailable: the route says 503
        if not status.eligible:
            raise NotEligible(
                f"{wallet} is not staked on chain (stake {status.stake / 10**18:g} FLT, not eligible): "
                "stake FLT in the staking contract first"
            )
        num_nodes = int(experiment.config["num_nodes"])
        with self._slot_lock, self._bus.transaction() as pub:
            registered = repo.nodes_of(pub.session, experiment_id)
            if len(registered) >= MAX_REGISTRATIONS:
                raise Conflict(
                    f"experiment {experiment_id} already has {MAX_REGISTRATIONS} nodes, the most it takes"
                )
            taken = {n.slot for n in registered if n.slot is not None}
            slot: int | None = None
            if kind != "external":
                slot = self._reservations.get(experiment_id, {}).get(wallet)
                if slot is None or slot in taken:
                    slot = self._free_slot(experiment_id, num_nodes, taken)
                if slot is None and kind == "simulated":
                    raise Conflict(f"experiment {experiment_id} already has its {num_nodes} simulated nodes")
            node_kind: NodeKind = "simulated" if slot is not None else "external"
            label = f"node-{slot + 1}" if slot is not None else f"ext-{wallet[2:6].lower()}"
            row = NodeRow(
                experiment_id=experiment_id,
                address=wallet,
                label=label,
                kind=node_kind,
                slot=slot,
                active=True,
            )
            pub.session.add(row)
            try:
                pub.session.flush()
            except IntegrityError:
                raise Conflict(f"{wallet} is already registered for experiment {experiment_id}") from None
            self._reservations.get(experiment_id, {}).pop(wallet, None)
            pub.publish(
                NodeRegistered(experiment_id=experiment_id, address=wallet, label=label, node_kind=node_kind)
            )
        self._wake_runner()
        return row

    def slot_for(self, experiment_id: int, address: str, registered: NodeRow | None) -> int | None:
        """The data slot of ``address``: its registered one, or one reserved for it until it registers."""
        if registered is not None:
            return registered.slot
        num_nodes = int(self.get(experiment_id).config["num_nodes"])
        with self._slot_lock:
            book = self._reservations.setdefault(experiment_id, {})
            if address in book:
                return book[address]
            with self._sessions() as session:
                taken = {n.slot for n in repo.nodes_of(session, experiment_id) if n.slot is not None}
            slot = self._free_slot(experiment_id, num_nodes, taken)
            if slot is not None:
                book[address] = slot
            return slot

    def _free_slot(self, experiment_id: int, num_nodes: int, taken: set[int]) -> int | None:
        reserved = set(self._reservations.get(experiment_id, {}).values())
        for slot in range(num_nodes):
            if slot not in taken and slot not in reserved:
                return slot
        return None


def amounts_from(reward: Decimal, slash: Decimal) -> AmountsInForce:
    return AmountsInForce(flt_text(reward), flt_text(slash))
