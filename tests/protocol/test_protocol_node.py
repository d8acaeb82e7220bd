"""The node loop over real HTTP: real training, real signatures, real safetensors, real intake."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.chain.accounts import dev_account
from workers.attacks import AttackConfig
from workers.datasets import load_builtin, split_train_test
from workers.node import DataFile, NodeClient, NodeReport
from workers.task import round_seed
from workers.tensors import flatten
from workers.training import train_local

ACCOUNTS = [dev_account(i) for i in range(1, 5)]
KEYS = ["0x" + bytes(a.key).hex() for a in ACCOUNTS]
ADDRESSES = [a.address for a in ACCOUNTS]
REPO = Path(__file__).resolve().parents[2]


def _run_nodes(
    url: str, keys: list[str], **kw: Any
) -> tuple[list[NodeClient], list[threading.Thread], dict[str, NodeReport]]:
    nodes = [NodeClient(url, key, **kw) for key in keys]
    reports: dict[str, NodeReport] = {}
    threads = [threading.Thread(target=lambda n=n: reports.__setitem__(n.address, n.run(1))) for n in nodes]
    for t in threads:
        t.start()
    return nodes, threads, reports


def _join(nodes: list[NodeClient], threads: list[threading.Thread], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    alive = [n.address for n, t in zip(nodes, threads, strict=True) if t.is_alive()]
    for n in nodes:
        n.stop()
    for t in threads:
        t.join(10)
    assert not alive, f"nodes still running after {timeout_s}s: {alive}"


def _cosine(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    va, vb = flatten(a), flatten(b)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))


def test_simulated_nodes_train_sign_and_post_every_round_until_the_experiment_completes(
    orchestrator: Any,
) -> None:
    attacker = ADDRESSES[2]
    fake, url = orchestrator(
        nodes=ADDRESSES[:3], rounds=2, attackers={attacker: AttackConfig(kind="sign_flip", scale=3.0)}
    )

    nodes, threads, reports = _run_nodes(url, KEYS[:3])
    _join(nodes, threads)

    assert fake.status == "completed" and not fake.rejected
    assert [(r.round, r.update.address) for r in fake.received].count((1, attacker)) == 1
    assert sorted((r.round, r.update.address) for r in fake.received) == sorted(
        (round_, a) for round_ in (1, 2) for a in ADDRESSES[:3]
    )
    for address in ADDRESSES[:3]:
        assert reports[address].submitted_rounds == [1, 2]
        assert reports[address].stopped_because == "experiment 1 completed"
        assert not reports[address].failed
    # Each simulated node trained on its own share: the honest updates differ, the attacker's points backwards.
    first = {r.update.address: r.update for r in fake.received if r.round == 1}
    honest_a, honest_b, flipped = first[ADDRESSES[0]], first[ADDRESSES[1]], first[attacker]
    assert not torch.equal(honest_a.delta["head.weight"], honest_b.delta["head.weight"])
    assert _cosine(honest_a.delta, honest_b.delta) > 0.2
    assert _cosine(flipped.delta, honest_a.delta) < -0.2
    assert fake.base_hash != fake.initial_hash


def test_a_node_with_its_own_csv_trains_on_it_conformed_and_scaled_like_the_experiment(
    orchestrator: Any, tmp_path: Path
) -> None:
    # Experiment on breast_cancer; the node's file has the columns reversed and text labels.
    node = ADDRESSES[0]
    fake, url = orchestrator(nodes=[], external=[node], rounds=1, dataset="breast_cancer")
    raw = load_builtin("breast_cancer")
    mine, _ = split_train_test(raw, test_fraction=0.5, seed=3)
    columns = list(reversed(raw.spec.feature_names))
    path = tmp_path / "clinic.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["diagnosis", *columns])
        for x, y in zip(mine.x, mine.y, strict=True):
            by_name = dict(zip(raw.spec.feature_names, x.tolist(), strict=True))
            writer.writerow([raw.spec.class_names[y], *(repr(by_name[c]) for c in columns)])

    nodes, threads, reports = _run_nodes(url, KEYS[:1], data=DataFile(path, "diagnosis"))
    _join(nodes, threads)

    assert fake.status == "completed" and not fake.rejected
    (received,) = fake.received
    assert received.update.address == node and received.update.num_samples == len(mine)
    # The same training on the same samples, scaled with the experiment's standardizer, in-process:
    assert fake.data.standardizer is not None
    expected = train_local(
        fake.spec,
        _initial_weights(fake),
        fake.data.standardizer.apply(mine).x,
        mine.y,
        fake.train_config,
        seed=round_seed(int(node, 16), 1, 1),
    )
    for name, tensor in expected.delta.items():
        torch.testing.assert_close(received.update.delta[name], tensor, rtol=1e-4, atol=1e-6)
    assert reports[node].submitted_rounds == [1]


def _initial_weights(fake: Any) -> dict[str, torch.Tensor]:
    from workers.models import build_model
    from workers.tensors import state_of

    return state_of(build_model(fake.spec, seed=fake.seed))


def test_a_model_whose_bytes_do_not_match_its_hash_is_never_trained_on(
    orchestrator: Any, wait_for: Any
) -> None:
    fake, url = orchestrator(nodes=ADDRESSES[:1], corrupt_models=True)
    nodes, threads, _ = _run_nodes(url, KEYS[:1])
    wait_for(lambda: fake.model_downloads >= 2, 30, "the node to fetch (and refetch) the model")
    for n in nodes:
        n.stop()
    _join(nodes, threads, timeout_s=10)
    assert fake.received == [] and fake.rejected == []


def test_a_refused_update_is_reported_and_not_retried_in_that_round(orchestrator: Any) -> None:
    honest, unstaked = ADDRESSES[:2]
    fake, url = orchestrator(nodes=[honest, unstaked], unstaked={unstaked}, rounds=1)
    nodes, threads, reports = _run_nodes(url, KEYS[:2])
    _join(nodes, threads)

    assert fake.status == "completed"
    assert [r.update.address for r in fake.received] == [honest]
    ((round_, status, reason),) = reports[unstaked].rejections
    assert (round_, status) == (1, 403) and "no eligible stake" in reason
    assert reports[unstaked].submitted_rounds == []
    assert len(fake.rejected) == 1


def test_a_task_asking_to_sign_for_another_domain_stops_the_node_naming_the_field(orchestrator: Any) -> None:
    def usd_coin(document: dict[str, Any]) -> None:
        document["eip712"]["domain"]["name"] = "USD Coin"  # a token permit's domain, not FedShield's

    fake, url = orchestrator(nodes=ADDRESSES[:1], tamper=usd_coin)
    nodes, threads, reports = _run_nodes(url, KEYS[:1])
    _join(nodes, threads)

    report = reports[ADDRESSES[0]]
    assert report.failed and "task this node cannot use" in report.stopped_because
    assert "eip712.domain" in report.stopped_because and "'USD Coin'" in report.stopped_because
    assert fake.received == [] and fake.rejected == [] and fake.model_downloads == 0


def _worker_process(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    code = "import typer; from workers.cli import worker_command; typer.run(worker_command)"
    return subprocess.Popen(
        [sys.executable, "-c", code, "--orchestrator", url, *args],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO)} | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_worker_cli_takes_its_key_from_the_environment_and_stops_cleanly_on_sigterm(
    orchestrator: Any, wait_for: Any
) -> None:
    fake, url = orchestrator(nodes=ADDRESSES[:1], status="paused")
    worker = _worker_process(url, "--experiment", "1", env={"FEDSHIELD_NODE_KEY": KEYS[0]})
    try:
        wait_for(lambda: fake.task_requests >= 2, 30, "the worker to poll the paused experiment")
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0, output
    assert ADDRESSES[0] in output and "SIGTERM" in output and "stopped" in output
    assert KEYS[0][2:] not in output


def test_worker_cli_warns_that_a_key_on_the_command_line_is_visible(orchestrator: Any) -> None:
    _, url = orchestrator(nodes=ADDRESSES[:1], status="completed")
    worker = _worker_process(url, "--key", KEYS[0], "--experiment", "1", env={"FEDSHIELD_NODE_KEY": ""})
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert "visible to every user in the process list" in output
    assert "experiment 1 completed" in output
    assert KEYS[0][2:] not in output
