"""The shield's memory across rounds: each node's recent evidence, and that evidence accumulated.

Evidence accumulates the way sequential tests accumulate likelihood [Page, 1954, CUSUM]: ``cusum`` sums a
node's evidence round after round, less an allowance an honest node shows for free, so a node leaning the
same way every round is left out before any single round would (``judge_round``), and a slash rests on the
mean of a node's evidence over its last rounds (``backend.engine.shield.verdicts``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from backend.engine.shield.config import DefenseConfig, Outcome
from backend.engine.shield.signals import SIGNALS

if TYPE_CHECKING:  # verdicts read the history: the dependency runs that way
    from backend.engine.shield.verdicts import UpdateVerdict


@dataclass
class NodeRecord:
    """What the shield remembers about one node: its outcomes and its recent evidence, newest last."""

    seen: int = 0
    accepted: int = 0
    evidence: dict[str, list[float]] = field(default_factory=dict)  # per signal, the last rounds' evidence


@dataclass
class DefenseHistory:
    """Cross-round memory, keyed by node id; ``judge_round`` reads it, the caller ``record``s a round."""

    nodes: dict[Hashable, NodeRecord] = field(default_factory=dict)
    keep: int = 50  # evidence values kept per node (the window never needs more)

    def record_one(self, node_id: Hashable, outcome: Outcome, features: dict[str, float]) -> None:
        """Adds one verdict, as stored (the service replays its verdict rows through this)."""
        node = self.nodes.setdefault(node_id, NodeRecord())
        node.seen += 1
        node.accepted += int(outcome is Outcome.ACCEPTED)
        for signal in SIGNALS:
            key = f"evidence_{signal.name}"
            if key in features:
                past = node.evidence.get(signal.name, [])
                node.evidence[signal.name] = [*past, float(features[key])][-self.keep :]

    def record(self, node_ids: Sequence[Hashable], verdicts: Sequence[UpdateVerdict]) -> None:
        """Adds one round's verdicts to the nodes' records."""
        for verdict in verdicts:
            self.record_one(node_ids[verdict.index], verdict.outcome, verdict.features)

    def evidence_of(self, node_id: Hashable) -> dict[str, list[float]]:
        node = self.nodes.get(node_id)
        return {} if node is None else {k: list(v) for k, v in node.evidence.items()}


def cusum(evidence: Sequence[float], allowance: float) -> float:
    """Page's one-sided CUSUM [Page, 1954] over a node's evidence, oldest first: ``S = max(0, S + e - k)``.

    An honest node's evidence hovers below the allowance ``k`` and its sum keeps returning to 0; a node
    leaning the same way round after round gains ``e - k`` each round, however far below a single round's
    threshold each ``e`` stays."""
    total = 0.0
    for value in evidence:
        total = max(0.0, total + float(value) - allowance)
    return total


def accumulated_evidence(
    features: dict[str, float], past: dict[str, list[float]], config: DefenseConfig
) -> dict[str, float]:
    """Each slashing signal's CUSUM over the node's past evidence and this round's."""
    return {
        s.name: cusum([*past.get(s.name, []), features[f"evidence_{s.name}"]], config.cusum_allowance)
        for s in SIGNALS
        if s.slashes and s.accumulates and f"evidence_{s.name}" in features
    }
