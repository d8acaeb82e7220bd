"""`fedshield bench api` end to end at tiny sizes: a real anvil, the orchestrator and the bare ceiling in their
own uvicorn processes, the load generator in another; every phase's round closes and every read answers."""

from __future__ import annotations

import json
import subprocess
import sys

from backend.settings import REPO_ROOT


def test_bench_api_measures_every_read_while_rounds_close(contracts_built: None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backend.cli", "bench", "api", "--clients", "4", "--updates", "6",
         "--ceiling-s", "0.5", "--json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert (report["clients"], report["updates"]) == (4, 6)
    assert report["ceiling"]["throughput_rps"] > 0 and report["ceiling"]["errors"] == {}
    assert set(report["endpoints"]) == {"status", "log", "probe"}
    for name, endpoint in report["endpoints"].items():
        assert endpoint["ok"] == endpoint["requests"] > 0, name
        assert endpoint["errors"] == {}, name
        assert endpoint["p50_ms"] <= endpoint["p99_ms"], name
        assert endpoint["share_of_ceiling"] > 0, name
        assert endpoint["round"]["posted"] == {"202": 6}, name
        assert endpoint["round"]["closed"] and endpoint["round"]["next_round_opened"], name
        assert endpoint["loop_lag_max_ms"] is not None, name
    targets = report["targets"]
    assert {"status_p99_ms", "status_share_of_ceiling", "no_errors", "rounds_kept_closing"} <= set(targets)
    assert targets["no_errors"]["met"] and targets["rounds_kept_closing"]["met"]
    assert report["machine"]["cpus"] >= 1
