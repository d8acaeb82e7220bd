"""Chain inspection: the deployment, settled rounds, and settlement transactions with decoded events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.app.deps import OptionalId, OptionalWallet, OrchestratorDep
from backend.app.schemas.chain import ChainRoundPublic, TransactionPublic
from backend.chain.errors import ChainError
from backend.orchestrator.errors import ChainUnavailable

router = APIRouter(prefix="/api/chain", tags=["chain"])


@router.get("/deployment", response_model=dict[str, Any])
def read_deployment(orchestrator: OrchestratorDep) -> dict[str, Any]:
    """The deployment file (chain id, rpc url, addresses, ABIs) for the dashboard's viem / wagmi."""
    try:
        return orchestrator.chain.deployment().model_dump(mode="json")
    except ChainError as exc:
        raise ChainUnavailable(str(exc)) from None


@router.get("/rounds", response_model=list[ChainRoundPublic])
def read_chain_rounds(orchestrator: OrchestratorDep) -> list[ChainRoundPublic]:
    """Rounds settled on chain, matched to this orchestrator's experiments and model hashes."""
    return orchestrator.queries.chain_rounds()


@router.get("/transactions", response_model=list[TransactionPublic])
def read_transactions(
    orchestrator: OrchestratorDep,
    experiment_id: OptionalId = None,
    round: OptionalId = None,
    wallet: OptionalWallet = None,
) -> list[TransactionPublic]:
    """Settlement transactions (hash, block, gas, from, to, decoded events), by experiment, round or wallet."""
    return orchestrator.queries.transactions(experiment_id=experiment_id, round_=round, wallet=wallet)
