"""Per-task calibration: the shield's thresholds fit to the experiment's own honest spread.

A constant threshold fit on one task's honest grid excludes honest work on another (a two-class census
table whose skewed honest nodes point away from the root update) and lets attackers through on a third.
So before the first round the orchestrator rehearses honest rounds on what it holds, its clean root set:
pseudo-nodes are drawn from the root set as large and as skewed as the experiment's nodes, each trains with the
experiment's own local training from the experiment's initial model, and the pseudo-cohort is screened by
the same feature code a real round uses, for ``CALIBRATION_ROUNDS`` FedAvg rounds. What honest nodes of
this model, data and training show on each signal sets:

- ``exclude_z``: at least ``margin`` times the largest suspicion any pseudo-node reached in one round
  (never below the configured floor, and at most ``max_scale`` times it);
- ``cusum_allowance``: the evidence an honest node shows per round for free: the least allowance (never
  below the configured one, at most ``max_scale`` times it) at which no pseudo-node's accumulated evidence
  (CUSUM [Page, 1954]) passes ``cusum_exclude / margin``, so it rises only for a node that leans further
  than honest nodes of this task do, round after round.

This is the honest-simulation half of the calibration the issue asks for; the cohort's own history is the
other (``DefenseHistory``'s evidence, read by every verdict). Deterministic: the same experiment gives the
same calibration in the simulation, the service's worker process and the probe.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from pydantic import BaseModel, ConfigDict

from backend.engine.caching import LRUCache, array_digest
from backend.engine.rounds import EngineSetup, root_evidence
from backend.engine.shield import SIGNALS, DefenseConfig, cusum, screen_cohort_features
from workers.models import build_model
from workers.partition import PartitionScheme
from workers.task import round_seed
from workers.tensors import flatten, state_of, unflatten
from workers.training import train_local

CALIBRATION_ROUNDS = 8  # honest rehearsal rounds on the root set: honest spread grows as the model converges
PSEUDO_NODES = 12  # honest pseudo-nodes drawn from the root set
CALIBRATION_SLOT = (
    1 << 30
)  # the rehearsal's seed slots (this and above), apart from every node's and the root update's


class Calibration(BaseModel):
    """What the rehearsal measured and the thresholds it set; recorded with the experiment."""

    model_config = ConfigDict(frozen=True)

    pseudo_nodes: int
    rounds: int
    max_suspicion: dict[str, float]  # per signal: the largest one-round suspicion of an honest pseudo-node
    exclude_z: float  # what the defense uses
    cusum_allowance: float


def pseudo_nodes(
    y: np.ndarray, nodes: int, samples: int, partition: PartitionScheme, alpha: float, seed: int
) -> list[np.ndarray]:
    """Root-set indices of each pseudo-node: ``samples`` draws with replacement, in the class proportions a
    node of the experiment's partition would hold (Dirichlet(alpha) per node; uniform for IID), so each
    pseudo-node is as large and as skewed as a real node and its update as noisy."""
    classes = np.unique(y)
    rng = np.random.default_rng([seed, 15485863])
    members = [np.flatnonzero(y == c) for c in classes]
    parts = []
    for _ in range(nodes):
        weights = (
            rng.dirichlet(np.full(len(classes), alpha))
            if partition == "dirichlet"
            else np.full(len(classes), 1.0 / len(classes))
        )
        drawn = rng.choice(len(classes), size=samples, p=weights)
        parts.append(
            np.sort(
                np.concatenate(
                    [rng.choice(members[c], size=int((drawn == c).sum())) for c in range(len(classes))]
                )
            )
        )
    return parts


def calibrate(setup: EngineSetup, partition: PartitionScheme, alpha: float, node_samples: int, *,
              margin: float = 1.25, max_scale: float = 3.0) -> Calibration:  # fmt: skip
    """Rehearses honest rounds on ``setup``'s root set from the experiment's initial model (the one
    ``build_model(spec, seed)`` gives the simulation and the service alike) and sets the task's thresholds.

    ``node_samples``: how many samples a typical node of the experiment holds."""
    defense, train = setup.defense, setup.train
    nodes = PSEUDO_NODES
    if setup.root is None or not defense.enabled or len(setup.root[1]) < 2:
        return _uncalibrated(defense, 0)
    x, y = setup.root
    parts = pseudo_nodes(y, nodes, max(node_samples, 2), partition, alpha, setup.seed)
    weights = state_of(build_model(setup.spec, seed=setup.seed))
    suspicion: dict[str, list[float]] = {s.name: [] for s in SIGNALS}
    sequences: dict[tuple[int, str], list[float]] = {}  # (pseudo-node, signal): its evidence, round by round
    for r in range(1, CALIBRATION_ROUNDS + 1):
        deltas = np.stack(
            [
                flatten(train_local(setup.spec, weights, x[p], y[p], train,
                                    seed=round_seed(setup.seed, r, CALIBRATION_SLOT + 1 + i)).delta)
                for i, p in enumerate(parts)
            ]
        )  # fmt: skip
        trusted = train_local(
            setup.spec, weights, x, y, train, seed=round_seed(setup.seed, r, CALIBRATION_SLOT)
        )
        counts = [len(p) for p in parts]
        steps = [train.epochs * math.ceil(c / train.batch_size) for c in counts]
        screened = screen_cohort_features(
            deltas, counts, flatten(weights), defense, trusted_update=flatten(trusted.delta),
            root_evidence=root_evidence(setup, weights, deltas), local_steps=steps,
        )  # fmt: skip
        for i, row in enumerate(screened.features):
            for signal in SIGNALS:
                z = row.get(f"{signal.feature}_z")
                if z is not None:
                    suspicion[signal.name].append(max(z if signal.side == "high" else -z, 0.0))
                if signal.slashes and f"evidence_{signal.name}" in row:
                    sequences.setdefault((i, signal.name), []).append(row[f"evidence_{signal.name}"])
        weights = unflatten(flatten(weights) + (np.asarray(counts) / sum(counts)) @ deltas, weights)
    largest = {name: float(max(values, default=0.0)) for name, values in suspicion.items()}
    # Pseudo-nodes draw from the same hundred root samples, so how alike they are says nothing of real
    # nodes: the copy signal keeps its configured line.
    cohort_largest = max((v for k, v in largest.items() if k not in ("free_riding", "copy")), default=0.0)
    exclude_z = float(np.clip(margin * cohort_largest, defense.exclude_z, max_scale * defense.exclude_z))
    allowance = honest_allowance(
        list(sequences.values()), defense.cusum_exclude / margin, defense.cusum_allowance,
        max_scale * defense.cusum_allowance,
    )  # fmt: skip
    return Calibration(
        pseudo_nodes=nodes,
        rounds=CALIBRATION_ROUNDS,
        max_suspicion=largest,
        exclude_z=exclude_z,
        cusum_allowance=allowance,
    )


def honest_allowance(sequences: list[list[float]], bar: float, low: float, high: float) -> float:
    """The least CUSUM allowance in ``[low, high]`` at which no rehearsed honest node's accumulated evidence
    passes ``bar`` (bisection: the sum only falls as the allowance rises)."""

    def clear(k: float) -> bool:
        return all(cusum(seq, k) <= bar for seq in sequences)

    if clear(low):
        return low
    if not clear(high):
        return high
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (low, middle) if clear(middle) else (middle, high)
    return high


def _uncalibrated(defense: DefenseConfig, nodes: int) -> Calibration:
    return Calibration(
        pseudo_nodes=nodes, rounds=0, max_suspicion={},
        exclude_z=defense.exclude_z, cusum_allowance=defense.cusum_allowance,
    )  # fmt: skip


def calibrated(defense: DefenseConfig, calibration: Calibration) -> DefenseConfig:
    """The defense with the task's thresholds: what every round of the experiment is screened with."""
    if not defense.calibrate:
        return defense
    return defense.model_copy(
        update={"exclude_z": calibration.exclude_z, "cusum_allowance": calibration.cusum_allowance}
    )


_calibrations: LRUCache[Calibration] = LRUCache(32)


def typical_node_samples(pool: int, num_nodes: int) -> int:
    """The samples a node of the experiment holds on average: what its pseudo-nodes hold (the service and
    the simulation both size them so, from the pool the nodes are partitioned from)."""
    return max(pool // max(num_nodes, 1), 1)


def calibrated_setup(
    setup: EngineSetup, partition: PartitionScheme, alpha: float, node_samples: int
) -> tuple[EngineSetup, Calibration]:
    """``setup`` screening with its task's calibrated thresholds, and the calibration; cached per
    experiment (the service's worker process closes many rounds of one, the probe asks again and again)."""
    if not setup.defense.calibrate or setup.root is None:
        found = _uncalibrated(setup.defense, 0)
        return setup, found
    key = (setup.spec, setup.train, setup.defense, setup.seed, partition, alpha, node_samples,
           array_digest(*setup.root))  # fmt: skip
    found = _calibrations.get_or_make(key, lambda: calibrate(setup, partition, alpha, node_samples))
    return replace(setup, defense=calibrated(setup.defense, found)), found
