"""The lean node install: `fedshield worker` runs without the server's packages, and the base install has all it imports."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SERVER_MODULES = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "psycopg",
    "uvicorn",
    "alembic",
    "web3",
    "pydantic_settings",
)

# Run in a fresh interpreter with the server's packages made unimportable, as on a machine that installed
# only `fedshield[node]`: importing one fails at once instead of passing unnoticed.
NODE_WITHOUT_SERVER = """
import importlib.abc, json, sys
SERVER = set(json.loads(sys.argv[1]))

class LeanInstall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in SERVER:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the node install)", name=name)
        return None

sys.meta_path.insert(0, LeanInstall())
import workers.node, workers.cli, workers.fleet
from backend.cli import app
sys.argv = ["fedshield", "worker", "--help"]
try:
    app()
except SystemExit as exc:
    print("exit", exc.code)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in SERVER)))
"""


def test_fedshield_worker_runs_without_fastapi_sqlalchemy_psycopg_or_web3() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NODE_WITHOUT_SERVER, json.dumps(SERVER_MODULES)],
        cwd=REPO,
        env=os.environ | {"PYTHONPATH": str(REPO), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    *help_lines, exit_line, loaded = done.stdout.strip().splitlines()
    assert exit_line == "exit 0" and "--orchestrator" in "\n".join(help_lines)
    assert json.loads(loaded) == []


def _imported_distributions(package: Path) -> set[str]:
    """The distributions whose modules the files of `package` import (the standard library and itself aside)."""
    tops: set[str] = set()
    for file in package.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                tops.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops.add(node.module.split(".")[0])
    third_party = tops - set(sys.stdlib_module_names) - {package.name, "__future__"}
    owners = importlib.metadata.packages_distributions()
    return {canonicalize_name(dist) for top in third_party for dist in owners[top]}


def test_the_base_install_holds_every_package_the_node_imports_and_none_of_the_server() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    server = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["server"]}
    assert _imported_distributions(REPO / "workers") <= base
    assert {"fastapi", "sqlalchemy", "psycopg", "uvicorn", "alembic", "web3"} <= server and not base & server
