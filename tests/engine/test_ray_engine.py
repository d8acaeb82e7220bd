"""The Ray engine on a real local Ray (2 CPUs): the same seed gives the local engine's result bit for bit,
the nodes live on actors that hold their shards, and the engine runs without Ray installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import ray
import torch
import typer
from typer.testing import CliRunner

from backend.bench.rounds import round_wall_times
from backend.cli.engine import register
from backend.engine.executors import LocalExecutor
from backend.engine.ray_executor import RayExecutor, connect
from backend.engine.simulation import ExperimentConfig, prepare, run_simulation
from workers.attacks import AttackConfig
from workers.tensors import unflatten
from workers.wire import encode_tensors, model_hash

# Six nodes, one of them crafting ALIE from the honest cohort, so the cohort travels to an actor too.
CONFIG = ExperimentConfig(
    dataset="digits", num_nodes=6, rounds=2, malicious_indices=(4,), attack=AttackConfig(kind="alie"), seed=3
)


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    torch.set_num_threads(1)
    assert connect(num_cpus=2), "a Ray was already running in the test process"
    try:
        yield
    finally:
        ray.shutdown()


def test_the_ray_engine_gives_the_local_engines_result_bit_for_bit() -> None:
    local = run_simulation(CONFIG)
    state = prepare(CONFIG)  # what run_simulation prepares: the same seed, the same shards
    executor = RayExecutor(state.node_task, state.node_data)
    # One actor per CPU, each holding a contiguous group of nodes, training them as this process would.
    assert [list(g) for g in executor.groups] == [[0, 1, 2], [3, 4, 5]]
    assert ray.get([a.ready.remote() for a in executor.actors]) == [3, 3]
    first = executor.honest(0, state.global_weights)
    here = LocalExecutor(state.node_task, state.node_data).honest(0, state.global_weights)
    assert first.nodes.tolist() == [0, 1, 2, 3, 5]  # node 4 attacks
    assert first.deltas.tobytes() == here.deltas.tobytes()
    assert first.num_samples.tolist() == here.num_samples.tolist()

    on_ray = run_simulation(CONFIG, executor=lambda task, data: executor)
    assert on_ray.to_dict() == local.to_dict()  # every verdict, metric and round model hash
    assert on_ray.final_weights.tobytes() == local.final_weights.tobytes()
    assert [r.attacking[4] for r in on_ray.rounds] == [True, True]
    assert len({r.model_hash for r in on_ray.rounds}) == 2
    final = unflatten(on_ray.final_weights, state.template)  # the last hash is the final model's
    assert model_hash(encode_tensors(final)) == on_ray.rounds[-1].model_hash
    assert executor.actors == [] and ray.is_initialized(), (
        "closed, without shutting down a Ray it did not start"
    )


def test_fedshield_run_on_ray_prints_the_rounds_and_refuses_ray_flags_on_the_local_engine() -> None:
    root, bench, attack = typer.Typer(), typer.Typer(), typer.Typer()
    root.add_typer(bench, name="bench")
    root.add_typer(attack, name="attack")
    register(root, bench, attack)
    runner = CliRunner()
    result = runner.invoke(root, ["run", "--engine", "ray", "--nodes", "4", "--rounds", "1"])
    assert result.exit_code == 0, result.output
    assert "final accuracy" in result.output
    refused = runner.invoke(root, ["run", "--address", "auto"])
    assert refused.exit_code == 2 and "--address and --num-cpus apply to --engine ray only" in refused.output


def test_round_wall_times_gives_a_row_per_size_and_engine_on_the_connected_ray() -> None:
    rows = round_wall_times([12])
    assert [(r["nodes"], r["engine"], r["cpus"]) for r in rows] == [(12, "local", 1), (12, "ray", 2)]
    for row in rows:
        assert row["seconds"] == pytest.approx(row["node_seconds"] + row["close_seconds"])
        assert row["seconds"] > 0 and row["setup_seconds"] >= 0 and row["first_round_seconds"] > 0
    assert ray.is_initialized(), "the bench must not shut down a Ray it did not start"


def test_the_local_engine_runs_where_ray_is_not_installed_and_the_ray_engine_says_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed: importing it raises ImportError
        from backend.engine.executors import EngineUnavailable, executor_factory
        from backend.engine.simulation import ExperimentConfig, run_simulation
        result = run_simulation(ExperimentConfig(num_nodes=3, rounds=1), executor=executor_factory("local"))
        print("rounds", len(result.rounds))
        try:
            executor_factory("ray")
        except EngineUnavailable as exc:
            print("refused:", exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "rounds 1" in done.stdout
    assert "refused: the ray engine needs Ray: pip install '.[ray]'" in done.stdout
