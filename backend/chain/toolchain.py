"""Where the npm-installed Foundry binaries and the project's solc-js wrapper live."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules" / "@foundry-rs"
SOLC_WRAPPER = REPO_ROOT / "contracts" / "tools" / "solc"


class ToolchainMissing(RuntimeError):
    """A Foundry binary is not installed."""


def foundry_binary(tool: str) -> Path:
    """The real binary of ``tool`` (forge, anvil, cast), not npm's Node launcher, so its PID is the tool's."""
    candidate = NODE_MODULES / f"{tool}-linux-amd64" / "bin" / tool
    if candidate.exists():
        return candidate
    found = shutil.which(tool)
    if found:
        return Path(found)
    raise ToolchainMissing(
        f"{tool} not found at {candidate}: run scripts/setup to install the Solidity toolchain"
    )


def forge_env() -> dict[str, str]:
    """Environment for forge: our solc-js wrapper, offline, from the repository root."""
    env = dict(os.environ)
    env["FOUNDRY_SOLC"] = str(SOLC_WRAPPER)
    env["FOUNDRY_OFFLINE"] = "true"
    return env
