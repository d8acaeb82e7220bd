"""Attack probe: the outcome the shield will give an attack, before it is launched, fast enough for a gauge.

The probe closes the same round the launched attack would produce, through the one engine
(``backend.engine.rounds.screened_cohort``, then ``backend.engine.shield.judge_round``, which is what
``screen_cohort`` runs): the experiment's nodes train honestly from the current global
model with the experiment's own local training, the last ``num_attackers`` of them attack as the launch
would make them (colluding on their own honest updates in the service, omniscient in simulation), and the
cohort is screened together with the experiment's root set and defense. The outcome it predicts is the
steady state of a sustained attack: the same screening judged a second time carries each attacker's
evidence as if it had already attacked for ``slash_window - 1`` rounds, which is what decides a slash.

Everything that does not depend on the attack is built once per (global-model hash, dataset) and cached:
the honest updates of every node and the trusted root update. What is left per call is the attack itself
(a transform of the cached honest updates, or for label flipping and backdoors the poisoned training),
the attacking rows' root-set forward passes (the honest rows' are computed once per reference), and one
screening of the cohort statistics, judged against the first and the sustained round's history.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from backend.engine.caching import LRUCache, array_digest
from backend.engine.rounds import (
    EngineSetup,
    RootSignals,
    model_logits,
    root_evidence,
    screened_cohort,
    trusted_update,
)
from backend.engine.shield import (
    DefenseConfig,
    DefenseHistory,
    Outcome,
    RootEvidence,
    ScreenedCohort,
    SignalCheck,
    UpdateVerdict,
    judge_round,
    signal_checks,
)
from workers.attacks import (
    AttackConfig,
    CohortKnowledge,
    crafted_update,
    is_active,
    malicious_local_update,
    needs_training,
)
from workers.datasets import load_builtin_split
from workers.models import model_spec_for
from workers.partition import partition_indices
from workers.task import carve_root, round_seed
from workers.tensors import Weights, flatten, state_of, unflatten
from workers.training import DEFAULT_TRAIN, train_local
from workers.wire import encode_tensors, model_hash

PROBE_NODES = 10  # nodes of a bare dataset's probe (an experiment's probe uses the experiment's own)
PROBE_ATTACKERS = 3  # attackers of a bare dataset's probe
WARMUP_ROUNDS = 3  # FedAvg rounds that give a bare dataset's global model something learned
_CACHE_SIZE = 16

NodeData = tuple[np.ndarray, np.ndarray]  # (x, y)


@dataclass(frozen=True)
class ProbeReference:
    """Everything a probe needs that does not depend on the attack: one experiment at one global model."""

    setup: EngineSetup  # the experiment's engine set-up (its defense is the default; a probe may override)
    global_weights: Weights
    base_hash: str  # keccak256 of the global model
    nodes: tuple[NodeData, ...]  # every node's data, in node order
    honest: np.ndarray  # (n, d) every node's honest update from global_weights
    round: int  # the round the probe stands for (1-based)

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    @functools.cached_property
    def honest_evidence(self) -> RootEvidence:
        """Root-set logits of every honest ``w + Δ_i``: a probe recomputes only its attackers' rows."""
        return root_evidence(self.setup, self.global_weights, self.honest)


@dataclass(frozen=True)
class ProbeResult:
    """The predicted outcome for the probed attacker, with every threshold test behind it."""

    outcome: Outcome
    rule: str | None  # the rule that would exclude or slash it
    reason: str
    checks: list[SignalCheck]  # every enabled rule against its thresholds
    features: dict[str, float]
    attack_active: bool  # False when the attack would not run yet (before its start round)
    first_round: Outcome  # the outcome of its first attacking round (before evidence accumulates)
    elapsed_ms: float

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    def to_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "accepted": self.accepted,
            "first_round": self.first_round.value,
            "rule": self.rule,
            "reason": self.reason,
            "attack_active": self.attack_active,
            "elapsed_ms": self.elapsed_ms,
            "features": self.features,
            "checks": [
                {
                    "rule": c.rule,
                    "feature": c.feature,
                    "value": c.value,
                    "threshold": c.threshold,
                    "slash_threshold": c.slash_threshold,
                    "bound": c.bound,
                    "tripped": c.tripped,
                    "outcome": c.outcome.value,
                }
                for c in self.checks
            ],
        }


@dataclass(frozen=True)
class LatencyReport:
    p50_ms: float
    p99_ms: float
    samples: int
    dataset: str


_setups: LRUCache[ProbeReference] = LRUCache(_CACHE_SIZE)
_poisoned: LRUCache[np.ndarray] = LRUCache(8 * _CACHE_SIZE)


def build_reference(
    setup: EngineSetup, global_weights: Weights, nodes: Sequence[NodeData], *, round_: int = 1
) -> ProbeReference:
    """Trains every node's honest update from ``global_weights`` (the slow, attack-independent part)."""
    honest = np.stack(
        [
            flatten(train_local(setup.spec, global_weights, x, y, setup.train,
                                seed=round_seed(setup.seed, round_, i)).delta)
            for i, (x, y) in enumerate(nodes)
        ]
    )  # fmt: skip
    base_hash = model_hash(encode_tensors(global_weights))
    return ProbeReference(setup, global_weights, base_hash, tuple(nodes), honest, round_)


def probe_setup(dataset: str = "digits", *, seed: int = 0) -> ProbeReference:
    """A cached probe for a built-in dataset: the product's defaults, a few FedAvg rounds from scratch."""
    return _setups.get_or_make((dataset, seed), lambda: _build_setup(dataset, seed))


def _build_setup(dataset: str, seed: int) -> ProbeReference:
    from workers.models import build_model

    data = load_builtin_split(dataset, seed=seed)
    train = data.train
    root_idx, pool = carve_root(train.y, seed)
    parts = partition_indices(train.y[pool], PROBE_NODES, "dirichlet", alpha=0.5, seed=seed)
    nodes = [(train.x[pool[p]], train.y[pool[p]]) for p in parts]
    spec = model_spec_for(train.spec)
    weights = state_of(build_model(spec, seed=seed))
    for r in range(1, WARMUP_ROUNDS + 1):
        deltas = [
            flatten(train_local(spec, weights, x, y, DEFAULT_TRAIN, seed=round_seed(seed, r, i)).delta)
            for i, (x, y) in enumerate(nodes)
        ]
        counts = np.array([len(y) for _, y in nodes], dtype=np.float64)
        weights = unflatten(flatten(weights) + (counts / counts.sum()) @ np.stack(deltas), weights)
    setup = EngineSetup(
        spec=spec,
        defense=DefenseConfig(),
        train=DEFAULT_TRAIN,
        root=(train.x[root_idx], train.y[root_idx]),
        test=None,
        seed=seed,
    )
    return build_reference(setup, weights, nodes, round_=WARMUP_ROUNDS + 1)


def attacked_updates(
    reference: ProbeReference, attack: AttackConfig, attackers: Sequence[int], *, omniscient: bool
) -> np.ndarray:
    """What each attacker sends under ``attack``: ``(len(attackers), d)``, in the order given."""
    setup, weights = reference.setup, reference.global_weights
    honest_ids = [i for i in range(reference.num_nodes) if i not in set(attackers)]
    known = reference.honest[honest_ids] if omniscient else reference.honest[list(attackers)]
    knowledge = CohortKnowledge(
        benign=known if len(known) else reference.honest[list(attackers)],
        num_nodes=reference.num_nodes,
        num_malicious=len(attackers),
    )
    rows = []
    for i in attackers:
        seed = round_seed(setup.seed, reference.round, i)
        if needs_training(attack):
            key = (reference.base_hash, array_digest(*reference.nodes[i]), attack, setup.train, seed)
            x, y = reference.nodes[i]

            def train(x: np.ndarray = x, y: np.ndarray = y, seed: int = seed) -> np.ndarray:
                update = malicious_local_update(
                    setup.spec, weights, x, y, setup.train, attack, reference.round - 1, seed,
                    knowledge=knowledge,
                )  # fmt: skip
                return flatten(update.delta)

            rows.append(_poisoned.get_or_make(key, train))
        else:
            delta = unflatten(reference.honest[i], weights)
            rows.append(flatten(crafted_update(delta, attack, np.random.default_rng(seed), knowledge)))
    return np.stack(rows)


def probe_attack(
    reference: ProbeReference,
    attack: AttackConfig,
    defense: DefenseConfig | None = None,
    *,
    num_attackers: int = 1,
    round_idx: int | None = None,
    omniscient: bool = False,
) -> ProbeResult:
    """Screens the round the launched attack would produce; predicts the first attacker's outcome.

    The attackers are the last ``num_attackers`` nodes, as the Attack Lab assigns them. ``round_idx``
    (0-based) only matters for ``attack.start_round``: before it the nodes are honest.
    """
    started = time.perf_counter()
    setup = replace(reference.setup, defense=defense) if defense is not None else reference.setup
    n = reference.num_nodes
    f = max(1, min(num_attackers, n))
    attackers = list(range(n - f, n))
    active = True if round_idx is None else is_active(attack, round_idx)
    changed = attackers if active and attack.kind != "none" else []
    updates = reference.honest.copy()
    if changed:
        updates[changed] = attacked_updates(reference, attack, changed, omniscient=omniscient)
    counts = [len(y) for _, y in reference.nodes]
    screened = screened_cohort(
        setup, reference.global_weights, reference.round, updates, counts,
        base_hash=reference.base_hash, signals=_probe_signals(setup, reference, updates, changed),
    )  # fmt: skip
    first = judge_round(screened)
    verdict = sustained_verdict(screened, attackers[0], n, setup.defense.slash_window)
    return ProbeResult(
        outcome=verdict.outcome,
        rule=verdict.rule,
        reason=verdict.reason,
        checks=signal_checks(verdict.features, setup.defense),
        features=verdict.features,
        attack_active=active,
        first_round=first[attackers[0]].outcome,
        elapsed_ms=1000 * (time.perf_counter() - started),
    )


SUSTAINED_ROUNDS = 5  # attacking rounds a launch is judged over (``launched_outcome``)


def launched_outcome(outcomes: Sequence[Outcome], window: int) -> Outcome:
    """A sustained attack's outcome: the most common one once the slash window has filled (a tie goes to
    the harsher outcome). The bench judges a launched attack by it, and the probe predicts it."""
    steady = list(outcomes[window - 1 :]) or list(outcomes)
    return max(Outcome, key=lambda o: (steady.count(o), list(Outcome).index(o)))


def sustained_verdict(screened: ScreenedCohort, attacker: int, n: int, window: int) -> UpdateVerdict:
    """The attacker's verdict once the same attack has run ``SUSTAINED_ROUNDS`` rounds: each round judged
    against the evidence of the rounds before (so accumulated evidence and the slash window count, as in a
    launch), and the verdict of the round whose outcome ``launched_outcome`` names, the last such round."""
    history = DefenseHistory()
    verdicts: list[UpdateVerdict] = []
    for _ in range(SUSTAINED_ROUNDS):
        judged = judge_round(screened, history)
        history.record(range(n), judged)
        verdicts.append(judged[attacker])
    outcome = launched_outcome([v.outcome for v in verdicts], window)
    return next(v for v in reversed(verdicts) if v.outcome is outcome)


def _probe_signals(
    setup: EngineSetup, reference: ProbeReference, updates: np.ndarray, changed: Sequence[int]
) -> RootSignals | None:
    """``root_signals`` of the probed cohort, from the honest rows' root-set logits (computed once per
    reference) and fresh logits for the ``changed`` (attacking) rows only."""
    if setup.root is None or not setup.defense.enabled:
        return None
    honest = reference.honest_evidence
    logits = honest.update_logits
    if changed:
        logits = logits.copy()
        logits[changed] = model_logits(
            setup.spec, reference.global_weights, updates[changed], setup.root[0],
            base=flatten(reference.global_weights),
        )  # fmt: skip
    trusted = trusted_update(setup, reference.global_weights, reference.round, reference.base_hash)
    return RootSignals(trusted, replace(honest, update_logits=logits))


def probe_dataset(
    dataset: str,
    attack: AttackConfig,
    defense: DefenseConfig | None = None,
    *,
    seed: int = 0,
    num_attackers: int = PROBE_ATTACKERS,
) -> ProbeResult:
    """``probe_attack`` on a built-in dataset's cached set-up (what the CLI and the bench call)."""
    return probe_attack(probe_setup(dataset, seed=seed), attack, defense, num_attackers=num_attackers)


def _latency_attacks(step: int) -> tuple[AttackConfig, ...]:
    """Every attack kind, with parameters that move each step like a dashboard slider."""
    return (
        AttackConfig(kind="sign_flip", scale=1.0 + 0.25 * step),
        AttackConfig(kind="gaussian", sigma=0.1 + 0.05 * step),
        AttackConfig(kind="gaussian", norm_matched=True),
        AttackConfig(kind="label_flip", flip_fraction=0.5 + 0.5 * ((step % 5) + 1) / 5),
        AttackConfig(kind="alie"),
        AttackConfig(kind="ipm", epsilon=0.5 + step),
        AttackConfig(kind="min_max"),
        AttackConfig(kind="backdoor", poison_fraction=0.3 + 0.1 * (step % 5)),
        AttackConfig(kind="free_rider"),
    )


def measure_probe_latency(dataset: str = "digits", *, repeats: int = 25, seed: int = 0) -> LatencyReport:
    """p50 / p99 of a probe once the dataset's set-up is cached, cycling through every attack kind.

    The attack parameters change every call (a dashboard slider moving); the set-up (warm-up rounds,
    honest updates) is excluded, as in the live service, and so is each poisoned training's first run.
    """
    reference = probe_setup(dataset, seed=seed)
    for attack in _latency_attacks(0):
        probe_attack(reference, attack, num_attackers=PROBE_ATTACKERS)
    times = []
    for i in range(repeats):
        for attack in _latency_attacks(i % 5):
            started = time.perf_counter()
            probe_attack(reference, attack, num_attackers=PROBE_ATTACKERS)
            times.append(1000 * (time.perf_counter() - started))
    return LatencyReport(
        float(np.percentile(times, 50)), float(np.percentile(times, 99)), len(times), dataset
    )
