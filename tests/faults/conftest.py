"""Fixtures of the fault drills: a chain image (contracts deployed, nodes staked) that every drill loads into
its own anvil, so each drill starts from the same chain in well under a second and breaks only its own."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.chain.accounts import ANVIL_ORCHESTRATOR_KEY, dev_account
from backend.chain.client import ChainClient, flt
from backend.chain.deployment import write_deployment
from backend.chain.local import deploy_contracts, free_port, fund_and_stake_nodes
from tests.faults.stack import ATTACKER, HONEST, Anvil, Drill, make_drill


@pytest.fixture(scope="session")
def chain_image(contracts_built: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(anvil state file, deployment file) of a chain with the contracts and the drill's nodes staked."""
    tmp = tmp_path_factory.mktemp("chain-image")
    anvil = Anvil(free_port(), tmp / "image.json", tmp / "anvil.log")
    anvil.start()
    try:
        deployment = deploy_contracts(anvil.url, ANVIL_ORCHESTRATOR_KEY)
        client = ChainClient(deployment, ANVIL_ORCHESTRATOR_KEY)
        fund_and_stake_nodes(client, range(HONEST[0], HONEST[-1] + 1))
        attacker = dev_account(ATTACKER)
        client.fund(attacker.address, flt(100))
        client.stake(attacker, flt(25))
        honest = [str(dev_account(i).address) for i in HONEST]  # `chain settle-example` pays these
        write_deployment(tmp / "deployment.json", deployment.model_copy(update={"demo_nodes": honest}))
    finally:
        anvil.stop()  # SIGTERM: anvil writes the state file
    return anvil.state_file, tmp / "deployment.json"


@pytest.fixture
def drill(chain_image: tuple[Path, Path], tmp_path: Path) -> Iterator[Drill]:
    world = make_drill(tmp_path, *chain_image)
    try:
        yield world
    finally:
        world.anvil.stop()
        if (tmp_path / "state").exists():
            shutil.rmtree(tmp_path / "state", ignore_errors=True)
