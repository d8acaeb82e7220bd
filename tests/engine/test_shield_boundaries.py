"""The shield's layout holds: its modules import only those before them, its thresholds are read as typed
fields (no ``getattr`` by name), and only calibration reaches for training. Parsed, not imported."""

from __future__ import annotations

import ast
from pathlib import Path

from backend.settings import REPO_ROOT

SHIELD = REPO_ROOT / "backend" / "engine" / "shield"
ORDER = ("config", "features", "signals", "history", "verdicts", "aggregation", "calibration")
TRAINING = ("torch", "workers", "backend.engine.rounds")  # what rehearsing honest rounds needs


def _imports(path: Path) -> list[str]:
    """The modules ``path`` imports at module level (so not those of a ``TYPE_CHECKING`` block)."""
    found = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(node.module or "")
    return found


def test_every_shield_module_is_in_the_dependency_order() -> None:
    assert {p.stem for p in SHIELD.glob("*.py")} == {"__init__", *ORDER}


def test_shield_modules_import_only_those_before_them() -> None:
    for position, name in enumerate(ORDER):
        later = {f"backend.engine.shield.{m}" for m in ORDER[position:]}
        imported = set(_imports(SHIELD / f"{name}.py"))
        assert not imported & later, f"{name}.py imports {sorted(imported & later)}"
        assert "backend.engine.shield" not in imported or name == "calibration"


def test_only_calibration_reaches_for_training() -> None:
    for path in SHIELD.glob("*.py"):
        reaches = [m for m in _imports(path) if m.startswith(TRAINING)]
        assert not reaches or path.stem == "calibration", f"{path.name} imports {reaches}"


def test_no_threshold_is_looked_up_by_name() -> None:
    for path in SHIELD.glob("*.py"):
        calls = [
            node.lineno
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
        ]
        assert not calls, f"{path.name} calls getattr on lines {calls}"
