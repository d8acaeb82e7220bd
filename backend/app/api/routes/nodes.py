"""Nodes of an experiment (registration needs a stake on chain) and wallets as the chain sees them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import cast

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from backend.app.deps import ExperimentId, OrchestratorDep, SessionDep, WalletPath
from backend.app.schemas.nodes import (
    ChainEventPublic,
    LastVerdict,
    NodeKind,
    NodePublic,
    NodeRegister,
    WalletPublic,
    WalletStatus,
)
from backend.chain.client import NodeStatus, to_flt
from backend.chain.errors import ChainError
from backend.db import repository as repo
from backend.db.models import ExperimentRow, NodeRow
from backend.engine.detection import Outcome
from backend.orchestrator.errors import ChainUnavailable, NotFound
from backend.orchestrator.experiments import attacks
from backend.orchestrator.messages import flt_text
from backend.orchestrator.service import Orchestrator
from backend.orchestrator.specs import AttackPlan

router = APIRouter(prefix="/api", tags=["nodes"])
_status_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="node-status")


def _statuses(orchestrator: Orchestrator, addresses: list[str]) -> dict[str, NodeStatus | None]:
    def one(address: str) -> NodeStatus | None:
        try:
            return orchestrator.chain.node_status(address)
        except (ChainUnavailable, ChainError):
            return None

    return dict(zip(addresses, _status_pool.map(one, addresses), strict=True))


def _nodes_public(
    orchestrator: Orchestrator, session: Session, experiment: ExperimentRow, *, only: str | None = None
) -> list[NodePublic]:
    """Every node of the experiment, or just the one at address ``only`` (its chain status read alone)."""
    nodes = [n for n in repo.nodes_of(session, experiment.id) if only is None or n.address == only]
    statuses = _statuses(orchestrator, [n.address for n in nodes])
    verdicts = repo.verdicts(session, experiment.id)
    payouts = _payouts(orchestrator, session, experiment.id)
    plan = AttackPlan.model_validate(experiment.attack) if experiment.attack else None
    num_nodes = int(experiment.config["num_nodes"])
    upcoming = max(experiment.current_round, plan.start_round if plan else 1)
    found = []
    for node in nodes:
        mine = [v for v in verdicts if v.node_address == node.address]
        last = mine[-1] if mine else None
        chain = statuses.get(node.address)
        rewarded, slashed = payouts.get(node.address, (Decimal(0), Decimal(0)))
        found.append(
            NodePublic(
                address=node.address,
                label=node.label,
                kind=cast(NodeKind, node.kind),
                slot=node.slot,
                active=node.active,
                malicious=_malicious(plan, num_nodes, node, upcoming),
                balance_flt=flt_text(to_flt(chain.balance)) if chain else None,
                stake_flt=flt_text(to_flt(chain.stake)) if chain else None,
                pending_flt=flt_text(to_flt(chain.pending)) if chain else None,
                eligible=chain.eligible if chain else None,
                last_verdict=LastVerdict(
                    round=last.round,
                    accepted=last.accepted,
                    outcome=Outcome(last.outcome),
                    rule=last.rule,
                    reason=last.reason,
                )
                if last
                else None,
                accepted_rounds=sum(v.outcome == Outcome.ACCEPTED for v in mine),
                excluded_rounds=sum(v.outcome == Outcome.EXCLUDED for v in mine),
                slashed_rounds=sum(v.outcome == Outcome.SLASHED for v in mine),
                rejected_rounds=sum(not v.accepted for v in mine),
                rewarded_flt=flt_text(rewarded),
                slashed_flt=flt_text(slashed),
            )
        )
    return found


def _payouts(
    orchestrator: Orchestrator, session: Session, experiment_id: int
) -> dict[str, tuple[Decimal, Decimal]]:
    """FLT rewarded and slashed per node: what the chain holds for this experiment's rounds. While the
    chain is unreachable, what the confirmed settlements recorded (the reconciler keeps them equal)."""
    try:
        on_chain = orchestrator.inspector.payouts(experiment_id)
        return {a: (to_flt(r), to_flt(s)) for a, (r, s) in on_chain.items()}
    except (ChainUnavailable, ChainError):
        pass
    recorded: dict[str, tuple[Decimal, Decimal]] = {}
    for settlement in repo.settlements_of(session, experiment_id):
        if settlement.status != "confirmed":
            continue
        for address, paid in (settlement.payouts or {}).items():
            rewarded, slashed = recorded.get(address, (Decimal(0), Decimal(0)))
            recorded[address] = (
                rewarded + Decimal(paid.get("rewarded", "0")),
                slashed + Decimal(paid.get("slashed", "0")),
            )
    return recorded


def _malicious(plan: AttackPlan | None, num_nodes: int, node: NodeRow, round_: int) -> bool:
    return attacks(plan, num_nodes, kind=node.kind, slot=node.slot, address=node.address, round_=round_)


@router.get("/experiments/{experiment_id}/nodes", response_model=list[NodePublic])
def read_nodes(
    experiment_id: ExperimentId, orchestrator: OrchestratorDep, session: SessionDep
) -> list[NodePublic]:
    """Registered nodes with on-chain balance, stake and eligibility, and their verdict and payout history."""
    experiment = session.get(ExperimentRow, experiment_id)
    if experiment is None:
        raise NotFound(f"no experiment {experiment_id}")
    return _nodes_public(orchestrator, session, experiment)


@router.post(
    "/experiments/{experiment_id}/nodes", response_model=NodePublic, status_code=status.HTTP_201_CREATED
)
def create_node(
    experiment_id: ExperimentId, body: NodeRegister, orchestrator: OrchestratorDep, session: SessionDep
) -> NodePublic:
    """Register a wallet for an experiment: 422 unless it is staked on chain, 409 if already registered."""
    row = orchestrator.experiments.register_node(experiment_id, body.address, body.kind)
    experiment = session.get(ExperimentRow, experiment_id)
    assert experiment is not None
    # Only this node's chain status: a fleet of n registering must not cost n^2 chain reads.
    return _nodes_public(orchestrator, session, experiment, only=row.address)[0]


@router.get("/wallets/{address}", response_model=WalletPublic)
def read_wallet(address: WalletPath, orchestrator: OrchestratorDep) -> WalletPublic:
    """A wallet's balance, stake and eligibility, and its staking history on chain."""
    status_, history = orchestrator.inspector.wallet(address)
    return WalletPublic(
        address=status_.address,
        status=WalletStatus(
            balance_flt=flt_text(to_flt(status_.balance)),
            stake_flt=flt_text(to_flt(status_.stake)),
            pending_flt=flt_text(to_flt(status_.pending)),
            unlock_at=status_.unlock_at,
            eligible=status_.eligible,
        ),
        history=[ChainEventPublic.of(e) for e in history],
    )
