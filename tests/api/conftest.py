"""Fixtures of the API suite: the session's real anvil, a fresh database per test on SQLite and on
PostgreSQL (a throwaway cluster this session starts and drops), and the orchestrator app built on them.

Every test that takes `db_url` runs twice: `[sqlite]` and `[postgresql]`. Without PostgreSQL binaries the
`[postgresql]` runs are skipped, never silently passed.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from backend.app.main import create_app
from backend.chain.accounts import dev_account
from backend.chain.client import ChainClient
from backend.chain.local import fund_and_stake_nodes
from backend.orchestrator.service import Orchestrator
from backend.settings import Settings
from tests.api.pg_cluster import ThrowawayPostgres, find_pg_bin
from tests.support.chain import LocalChain

FIRST_ACCOUNT = 40  # dev accounts below are left to other suites sharing the session chain
UNSTAKED_ACCOUNT = 127  # a funded anvil dev account that never stakes


@dataclass
class ApiChain:
    """The session's anvil; hands out freshly staked dev wallets so tests never share one by accident."""

    local: LocalChain
    _next: Iterator[int] = field(default_factory=lambda: itertools.count(FIRST_ACCOUNT))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def deployment_file(self) -> Path:
        return self.local.deployment_file

    def client(self) -> ChainClient:
        return self.local.client()

    def staked_wallets(self, count: int) -> list[LocalAccount]:
        """``count`` dev wallets funded with FLT and staked (100 FLT each)."""
        with self._lock:
            indices = [next(self._next) for _ in range(count)]
        assert indices[-1] < UNSTAKED_ACCOUNT, "out of dev accounts: start anvil with more"
        fund_and_stake_nodes(self.client(), range(indices[0], indices[-1] + 1))
        return [dev_account(i) for i in indices]

    @staticmethod
    def unstaked_wallet() -> LocalAccount:
        return dev_account(UNSTAKED_ACCOUNT)


@pytest.fixture(scope="session")
def api_chain(session_chain: LocalChain) -> ApiChain:
    """The session's anvil (tests/conftest.py), shared: rounds get chain ids from lastRoundId at send time."""
    return ApiChain(session_chain)


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres | None]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        yield None
        return
    cluster = ThrowawayPostgres(bin_dir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


_db_counter = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database for this test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fedshield.db'}"
    cluster: ThrowawayPostgres | None = request.getfixturevalue("postgres")
    if cluster is None:
        # scripts/setup --browser installs PostgreSQL; a missing server must fail the run, not hide half of it.
        pytest.fail("PostgreSQL binaries not installed: scripts/setup --browser installs them")
    return cluster.create_database(f"fedshield_{next(_db_counter)}")


def make_settings(tmp_path: Path, db_url: str, chain: ApiChain, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "state_dir": tmp_path / "state",
        "deployment_file": chain.deployment_file,
        "database_url": db_url,
        "frontend_dist": tmp_path / "no-dashboard",
        "round_deadline_s": 30.0,
        "runner_tick_s": 0.1,
        "outbox_retry_s": 0.3,
        "compute_processes": 0,  # close rounds on the runner thread: no worker start-up per test
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, db_url: str, api_chain: ApiChain) -> Settings:
    return make_settings(tmp_path, db_url, api_chain)


@pytest.fixture
def orchestrator(settings: Settings) -> Iterator[Orchestrator]:
    running = Orchestrator(settings)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def client(orchestrator: Orchestrator) -> Iterator[TestClient]:
    with TestClient(create_app(orchestrator=orchestrator)) as test_client:
        yield test_client
