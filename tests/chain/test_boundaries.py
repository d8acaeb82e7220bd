"""The chain stays behind its client: no module of the backend outside `backend/chain/` imports web3 or
eth_account, or reaches for a client's ``w3``. Parsed, not imported, so the test takes milliseconds."""

from __future__ import annotations

import ast
from pathlib import Path

from backend.settings import REPO_ROOT

BACKEND = REPO_ROOT / "backend"
CHAIN = BACKEND / "chain"
CHAIN_LIBRARIES = ("web3", "eth_account")


def _outside_chain() -> list[Path]:
    return [p for p in sorted(BACKEND.rglob("*.py")) if not p.is_relative_to(CHAIN)]


def _reaches(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            modules = []
        found += [f"line {node.lineno}: imports {m}" for m in modules if m.split(".")[0] in CHAIN_LIBRARIES]
        if isinstance(node, ast.Attribute) and node.attr == "w3":
            found.append(f"line {node.lineno}: uses .w3")
    return found


def test_nothing_outside_backend_chain_touches_web3() -> None:
    modules = _outside_chain()
    assert len(modules) > 50  # the walk found the backend, not an empty folder
    offenders = {
        str(p.relative_to(REPO_ROOT)): hits for p in modules if (hits := _reaches(ast.parse(p.read_text())))
    }
    assert offenders == {}


def test_the_check_sees_each_way_of_reaching_the_chain() -> None:
    source = "import web3\nfrom eth_account import Account\nfrom web3.types import TxReceipt\nclient.w3.eth\n"
    assert _reaches(ast.parse(source)) == [
        "line 1: imports web3",
        "line 2: imports eth_account",
        "line 3: imports web3.types",
        "line 4: uses .w3",
    ]
