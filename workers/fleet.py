"""Many simulated nodes in one process: `python -m workers.fleet --orchestrator URL --keys-from-stdin`.

Each node is a `NodeClient` with its own wallet, HTTP client and thread; the threads mostly sleep between
polls, and at most `--parallel` of them train at a time, each with torch limited to one thread, so a 2-core
machine hosts a hundred nodes in four processes. Keys come from stdin (one 0x hex key a line) or the
environment (`FEDSHIELD_NODE_KEYS`, comma or newline separated), never from the command line, which any
user can read in `ps`; `--dev-accounts START:COUNT` derives anvil's public development keys instead.

Simulated attackers running a cohort attack (ALIE, IPM, Min-Max) collude within the process: each pools
its honest update of the round in `workers.collusion.COLLUSION` and crafts from the pooled ones, the
papers' partial-knowledge variant; attackers in other processes do not see each other.

The process ends when every node has stopped: the experiment finished, SIGTERM / SIGINT arrived, or the
process given as `--parent-pid` is gone (so a fleet never outlives the orchestrator that started it). It
prints one JSON line per node on stdout at the end: address, rounds submitted, rejections.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from types import FrameType

import torch
from eth_account import Account

from workers.node import NodeClient, NodeReport, configure_logging

log = logging.getLogger("fedshield.fleet")

KEYS_ENV = "FEDSHIELD_NODE_KEYS"
# The public mnemonic anvil derives its development accounts from; only for local chains.
ANVIL_TEST_MNEMONIC = "test test test test test test test test test test test junk"
PARENT_CHECK_S = 1.0


def dev_keys(start: int, count: int, mnemonic: str = ANVIL_TEST_MNEMONIC) -> list[str]:
    """Private keys of anvil's development accounts start..start+count-1 (m/44'/60'/0'/0/i)."""
    Account.enable_unaudited_hdwallet_features()
    return [
        "0x" + bytes(Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key).hex()
        for i in range(start, start + count)
    ]


def parse_keys(text: str) -> list[str]:
    """Keys separated by newlines or commas; blank entries and #-comments ignored."""
    keys = []
    for line in text.replace(",", "\n").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            keys.append(entry)
    return keys


def run_fleet(
    orchestrator_url: str,
    keys: Sequence[str],
    *,
    experiment_id: int | None = None,
    parallel: int = 1,
    parent_pid: int | None = None,
    stop: threading.Event | None = None,
) -> list[NodeReport]:
    """Runs one node per key until all of them stop; `stop` (or the parent's exit) stops them all."""
    slots = threading.Semaphore(parallel)
    nodes = []
    for number, key in enumerate(keys, start=1):
        try:
            nodes.append(NodeClient(orchestrator_url, key, training_slots=slots))
        except (ValueError, TypeError):  # never echo the key itself
            raise ValueError(f"node key #{number} is not a valid private key (0x + 64 hex digits)") from None
    stop = stop or threading.Event()
    reports: dict[str, NodeReport] = {}

    def serve(node: NodeClient) -> None:
        try:
            reports[node.address] = node.run(experiment_id)
        except Exception:  # one node's bug must not take the others down
            log.exception("%s: node crashed", node.label)
            node.report.stopped_because = "crashed"
            node.report.failed = True
            reports[node.address] = node.report
        finally:
            node.close()

    threads = [
        threading.Thread(target=serve, args=(n,), name=f"node-{n.address[:8]}", daemon=True) for n in nodes
    ]
    for thread in threads:
        thread.start()
    log.info("fleet of %d nodes serving %s", len(nodes), orchestrator_url)
    while any(t.is_alive() for t in threads):
        if stop.wait(PARENT_CHECK_S) or (parent_pid is not None and os.getppid() != parent_pid):
            if not stop.is_set():
                log.warning("parent process %s is gone: stopping the fleet", parent_pid)
            stop.set()
            for node in nodes:
                node.stop()
            break
    for thread in threads:
        thread.join()
    return [reports.get(n.address, n.report) for n in nodes]


class FleetHost:
    """`run_fleet` behind a run / stop pair, for a host that calls in from another process (a Ray actor).

    `run` blocks until the nodes stop and returns their reports as dicts; `stop`, called meanwhile on
    another thread, stops them. Training uses one torch thread, as in a fleet process.
    """

    def __init__(self) -> None:
        torch.set_num_threads(1)
        self._stop = threading.Event()

    def run(
        self, orchestrator_url: str, keys: Sequence[str], experiment_id: int | None, parallel: int = 1
    ) -> list[dict[str, object]]:
        reports = run_fleet(
            orchestrator_url, keys, experiment_id=experiment_id, parallel=parallel, stop=self._stop
        )
        return [asdict(r) for r in reports]

    def stop(self) -> None:
        self._stop.set()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.fleet", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--orchestrator", required=True, help="Base URL of the orchestrator, e.g. http://127.0.0.1:8000"
    )
    parser.add_argument(
        "--experiment", type=int, default=None, help="Experiment id (default: the newest running)"
    )
    parser.add_argument(
        "--keys-from-stdin", action="store_true", help="Read node keys from stdin, one a line"
    )
    parser.add_argument(
        "--dev-accounts", metavar="START:COUNT", help="Use anvil's dev accounts START..START+COUNT-1"
    )
    parser.add_argument("--parallel", type=int, default=1, help="Nodes training at the same time (default 1)")
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="Stop when this parent process exits (checked each second)",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level, "%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.dev_accounts:
        start, _, count = args.dev_accounts.partition(":")
        keys = dev_keys(int(start), int(count or 1))
    elif args.keys_from_stdin:
        keys = parse_keys(sys.stdin.read())
    else:
        keys = parse_keys(os.environ.get(KEYS_ENV, ""))
    if not keys:
        parser.error(
            f"no node keys: pass --keys-from-stdin, set {KEYS_ENV}, or use --dev-accounts START:COUNT"
        )
    if args.parallel < 1:
        parser.error("--parallel must be at least 1")

    # One thread per training node: nodes share the cores through --parallel and processes, not threads.
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping the fleet", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        reports = run_fleet(
            args.orchestrator,
            keys,
            experiment_id=args.experiment,
            parallel=args.parallel,
            parent_pid=args.parent_pid,
            stop=stop,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for report in reports:
        print(json.dumps(asdict(report)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
