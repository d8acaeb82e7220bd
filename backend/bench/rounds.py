"""Wall time of one simulated round at growing node counts: the local engine against Ray.

A round is what ``fedshield run`` does each round: the node side (every node trains from the global model
with the product's local training and its Δ is encoded) and the orchestrator side (``close_round``:
decoding, screening, aggregation, evaluation). The nodes hold a synthetic table shaped like digits (64
features, 10 classes, ``SAMPLES_PER_NODE`` rows per node, so the model is a 9.6k-parameter MLP),
generated for each size, since 5,000 nodes would leave digits' 1,437 training rows less than one sample a
node. Setting the nodes up (for Ray: starting the actors and shipping each its shards) and the first round
(each process's first torch calls) are timed apart from the steady round.

``python -m backend.bench.rounds 100 1000 [--num-cpus N] [--address auto]`` prints the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import make_classification

from backend.engine.executors import ENGINES, Engine, ExecutorFactory, executor_factory
from backend.engine.simulation import ExperimentConfig, collect_submissions, prepare, run_round
from workers.task import ROOT_SET_SIZE

SAMPLES_PER_NODE = 8
FEATURES, CLASSES = 64, 10
TEST_FRACTION = 0.2


def synthetic_table(path: Path, num_nodes: int, *, seed: int = 0) -> Path:
    """An NPZ (x float32, y int64) with enough rows for ``num_nodes`` nodes, the root set and a test split."""
    rows = math.ceil((num_nodes * SAMPLES_PER_NODE + ROOT_SET_SIZE) / (1 - TEST_FRACTION))
    x, y = make_classification(
        n_samples=rows, n_features=FEATURES, n_informative=FEATURES // 2, n_classes=CLASSES, random_state=seed
    )
    np.savez(path, x=x.astype(np.float32), y=y.astype(np.int64))
    return path


def time_round(config: ExperimentConfig, engine: Engine, executor: ExecutorFactory) -> dict[str, Any]:
    """Sets up ``config``'s nodes on ``executor``, runs a first round, and times the second (steady) one."""
    state = prepare(config)
    started = time.perf_counter()
    nodes = executor(state.node_task, state.node_data)
    try:
        ready = time.perf_counter()
        run_round(state, collect_submissions(state, nodes))  # first calls warm each process's torch
        warm = time.perf_counter()
        submissions = collect_submissions(state, nodes)
        trained = time.perf_counter()
        run_round(state, submissions)
        closed = time.perf_counter()
    finally:
        nodes.close()
    return {
        "nodes": config.num_nodes,
        "engine": engine,
        "seconds": closed - warm,
        "node_seconds": trained - warm,
        "close_seconds": closed - trained,
        "first_round_seconds": warm - ready,
        "setup_seconds": ready - started,
    }


def round_wall_times(
    sizes: Sequence[int], *, num_cpus: int | None = None, address: str | None = None
) -> list[dict[str, Any]]:
    """One row per size and engine: ``{"nodes", "engine", "seconds", "cpus", ...}``.

    ``seconds`` is the wall time of a steady round (the second: nodes and ``close_round``), split into
    ``node_seconds`` and ``close_seconds``; ``first_round_seconds`` is the first, which pays each process's
    first torch calls; ``setup_seconds`` is placing the nodes (for Ray: actors started, shards shipped).
    The local engine trains on one thread of this process; Ray uses a local Ray of ``num_cpus`` CPUs
    (default: every core), or the cluster at ``address``.
    """
    import ray

    from backend.engine.ray_executor import cluster_cpus, connect

    owns_ray = connect(address, num_cpus)
    try:
        cpus = {"local": 1, "ray": cluster_cpus()}
        rows = []
        with tempfile.TemporaryDirectory(prefix="fedshield-rounds-") as tmp:
            for size in sizes:
                table = synthetic_table(Path(tmp) / f"nodes-{size}.npz", size)
                config = ExperimentConfig(
                    dataset=str(table), num_nodes=size, rounds=2, test_fraction=TEST_FRACTION
                )
                for engine in ENGINES:
                    row = time_round(config, engine, executor_factory(engine))
                    rows.append({**row, "cpus": cpus[engine], "machine_cpus": os.cpu_count(),
                                 "samples_per_node": SAMPLES_PER_NODE})  # fmt: skip
        return rows
    finally:
        if owns_ray:
            ray.shutdown()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m backend.bench.rounds", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("sizes", type=int, nargs="+", help="Node counts, e.g. 100 1000 5000")
    parser.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray (default: all)")
    parser.add_argument("--address", default=None, help="Join this Ray cluster instead (auto, ray://...)")
    args = parser.parse_args(argv)
    if any(size < 1 for size in args.sizes):
        parser.error("node counts must be positive")
    import torch

    torch.set_num_threads(1)  # the local engine's one thread, as `fedshield run` uses by default
    print(json.dumps(round_wall_times(args.sizes, num_cpus=args.num_cpus, address=args.address), indent=2))


if __name__ == "__main__":
    main()
