"""Nodes of an experiment (registration needs a stake on chain) and wallets as the chain sees them."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.app.deps import ExperimentId, OrchestratorDep, WalletPath
from backend.app.schemas.nodes import NodePublic, NodeRegister, WalletPublic
from backend.orchestrator.experiments import Registration

router = APIRouter(prefix="/api", tags=["nodes"])


@router.get("/experiments/{experiment_id}/nodes", response_model=list[NodePublic])
def read_nodes(experiment_id: ExperimentId, orchestrator: OrchestratorDep) -> list[NodePublic]:
    """Registered nodes with on-chain balance, stake and eligibility, and their verdict and payout history."""
    return orchestrator.queries.nodes(experiment_id)


@router.post(
    "/experiments/{experiment_id}/nodes", response_model=NodePublic, status_code=status.HTTP_201_CREATED
)
def create_node(experiment_id: ExperimentId, body: NodeRegister, orchestrator: OrchestratorDep) -> NodePublic:
    """Register a wallet for an experiment, signed by its own key: 401 unless it is, 403 unless it is staked on
    chain, 409 if already registered or the experiment has all the nodes it takes."""
    row = orchestrator.experiments.register_node(
        experiment_id, body.address, body.kind, proof=Registration(body.nonce, body.signature)
    )
    (node,) = orchestrator.queries.nodes(experiment_id, row.address)
    return node


@router.get("/wallets/{address}", response_model=WalletPublic)
def read_wallet(address: WalletPath, orchestrator: OrchestratorDep) -> WalletPublic:
    """A wallet's balance, stake and eligibility, and its staking history on chain."""
    return orchestrator.queries.wallet(address)
