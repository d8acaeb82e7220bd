"""The real FedShield stack for the dashboard's browser tests: anvil with the contracts, the orchestrator
(uvicorn, serving frontend/dist at /), and a fleet of simulated node processes staked on chain.

`python -m tests.browser.stack` runs it until Ctrl-C and prints the dashboard's URL (handy for a look).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from backend.app.main import create_app
from backend.chain.accounts import dev_account
from backend.chain.client import flt
from backend.chain.local import free_port, stop_process
from backend.cli.fleet import Fleet, stake_fleet
from backend.orchestrator.service import Orchestrator
from backend.settings import REPO_ROOT, Settings
from tests.support.chain import LocalChain, launch_chain
from tests.support.server import live_server

DIST = REPO_ROOT / "frontend" / "dist"


# A dev wallet outside the fleet (accounts 1..num_nodes) that the wallet test connects and stakes with.
WALLET_ACCOUNT = 40
WALLET_FUND_FLT = 500


@dataclass
class Stack:
    url: str
    chain: LocalChain
    orchestrator: Orchestrator
    fleet: Fleet | None  # None: the orchestrator's own pool gives every experiment its nodes
    node_addresses: list[str]
    wallet_address: str


def dashboard_app(orchestrator: Orchestrator) -> object:
    """The orchestrator's app, serving the built dashboard at / as it does in production."""
    return create_app(orchestrator=orchestrator)


@contextlib.contextmanager
def running_stack(
    tmp: Path, *, num_nodes: int = 10, round_deadline_s: float = 30.0, node_pool: bool = False
) -> Iterator[Stack]:
    """Everything the dashboard talks to, torn down in reverse order. With `node_pool`, no fleet of our own:
    the orchestrator's standing pool (wallets 1..num_nodes) starts nodes for each experiment, as `serve --fleet`."""
    if not (DIST / "index.html").is_file():
        raise RuntimeError(f"{DIST}/index.html missing: run `npm run build` in frontend/ first")
    chain = launch_chain(tmp)
    try:
        client = chain.client()
        addresses = [] if node_pool else stake_fleet(client, num_nodes, first_account=1)
        # Funded before the orchestrator starts sending, so no two senders share the orchestrator's nonces.
        wallet = dev_account(WALLET_ACCOUNT).address
        client.fund(wallet, flt(WALLET_FUND_FLT))
        port = free_port()
        settings = Settings(
            port=port,
            node_pool=num_nodes if node_pool else 0,
            state_dir=tmp / "state",
            deployment_file=chain.deployment_file,
            rpc_url=chain.rpc_url,
            database_url=f"sqlite:///{tmp / 'fedshield.db'}",
            frontend_dist=DIST,
            round_deadline_s=round_deadline_s,
            runner_tick_s=0.1,
            outbox_retry_s=0.3,
        )
        orchestrator = Orchestrator(settings)
        try:
            with live_server(dashboard_app(orchestrator), port=port) as url:
                if node_pool:
                    yield Stack(url, chain, orchestrator, None, addresses, wallet)
                    return
                # Every node serves the newest running experiment: the browser creates and starts it.
                fleet = Fleet.start(
                    url, None, num_nodes, nodes_per_process=5, first_account=1, log_dir=tmp / "fleet"
                )
                try:
                    yield Stack(url, chain, orchestrator, fleet, addresses, wallet)
                finally:
                    fleet.stop()
        finally:
            orchestrator.stop()
    finally:
        stop_process(chain.process.pid)


if __name__ == "__main__":
    import tempfile

    from backend.chain.local import build_contracts

    build_contracts()
    with tempfile.TemporaryDirectory(prefix="fedshield-stack-") as tmp, running_stack(Path(tmp)) as stack:
        print(
            f"dashboard: {stack.url}   chain: {stack.chain.rpc_url}   nodes: {len(stack.node_addresses)}",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)
