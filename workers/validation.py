"""One way to say what a pydantic model refused: every field named, for errors the node and API show."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_core import ErrorDetails


def validation_text(errors: Sequence[ErrorDetails], limit: int = 10) -> str:
    """`simulation.node_index: Input should be ...; round: ...`: the first `limit` issues, each with its field."""
    parts = []
    for error in errors[:limit]:
        where = ".".join(str(p) for p in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])  # no field: the document itself
    return "; ".join(parts) or "invalid input"
