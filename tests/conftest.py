"""Fixtures shared by every test folder: a real anvil with the contracts deployed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.chain.local import build_contracts, stop_process
from tests.support.chain import LocalChain, launch_chain


@pytest.fixture(scope="session")
def contracts_built() -> None:
    build_contracts()


@pytest.fixture(scope="session")
def session_chain(contracts_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalChain]:
    """One anvil per test session with the contracts deployed and dev accounts 1..4 staked."""
    local = launch_chain(tmp_path_factory.mktemp("chain"), staked_nodes=4)
    try:
        yield local
    finally:
        stop_process(local.process.pid)


@pytest.fixture
def chain(session_chain: LocalChain) -> Iterator[LocalChain]:
    """The session chain, rolled back after the test (anvil snapshots), so no test sees another's state."""
    snapshot = session_chain.rpc("evm_snapshot")
    try:
        yield session_chain
    finally:
        session_chain.rpc("evm_revert", snapshot)
