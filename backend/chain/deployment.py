"""The deployment file: chain id, contract addresses, ABIs and deployment block, read by backend and frontend."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from backend.chain.errors import DeploymentFileError


class DeployedContract(BaseModel):
    """One deployed contract: where it is and how to talk to it."""

    address: str
    abi: list[dict[str, Any]]


class Deployment(BaseModel):
    """What a deployment wrote; the file is the single source of addresses for every component."""

    chain_id: int
    rpc_url: str
    deployer: str
    deployment_block: int
    token: DeployedContract
    staking: DeployedContract
    # Demo nodes that `chain up` funded and staked, by address (empty on a public network).
    demo_nodes: list[str] = Field(default_factory=list)


def load_deployment(path: Path) -> Deployment:
    """Read and validate a deployment file, naming the file in every error."""
    try:
        raw = path.read_text()
    except FileNotFoundError:
        raise DeploymentFileError(
            f"deployment file {path} not found: run `fedshield chain up` (or `scripts/demo`) first"
        ) from None
    try:
        return Deployment.model_validate_json(raw)
    except ValidationError as exc:
        raise DeploymentFileError(f"deployment file {path} is malformed: {exc}") from None


def write_deployment(path: Path, deployment: Deployment) -> None:
    """Write atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".deployment-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(deployment.model_dump(), fh, indent=2)
    os.replace(tmp, path)
