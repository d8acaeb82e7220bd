"""Where the colluding simulated attackers of one process pool their honest updates of a round.

The cohort attacks (ALIE, IPM, Min-Max in `workers.attacks`) are crafted from the round's benign updates.
A served attacker cannot see the honest nodes' updates, so it uses the papers' partial-knowledge variant:
the colluders train honestly, pool those updates here, and estimate μ and sigma from them. Colluders of
one fleet process meet at one `Collusion` (the process-wide `COLLUSION`), keyed by (experiment, round,
base model hash); an attacker alone gets only its own update back.

Who to wait for: every colluder that has pooled an update for the experiment before. A colluder that does
not show up within the timeout (stopped, no longer attacking, or slow) is forgotten, so one slow colluder
costs one round at most its timeout and never blocks a round forever; it rejoins with its next update.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np

RoundKey = tuple[int, int, str]  # (experiment id, round, base model hash)
STOP_CHECK_S = 0.2  # how often a waiting colluder looks at its stop flag
KEEP_ROUNDS = 8  # pooled rounds kept in memory; older ones are dropped


class Collusion:
    """A rendezvous of colluding attackers: each adds its honest update and gets everyone's back."""

    def __init__(self, *, keep_rounds: int = KEEP_ROUNDS) -> None:
        self._changed = threading.Condition()
        self._members: dict[int, set[str]] = {}  # experiment -> colluders expected each round
        self._rounds: OrderedDict[RoundKey, dict[str, np.ndarray]] = OrderedDict()
        self._keep_rounds = keep_rounds

    def exchange(
        self,
        key: RoundKey,
        member: str,
        update: np.ndarray,
        *,
        timeout_s: float,
        stop: threading.Event | None = None,
    ) -> np.ndarray:
        """Adds `member`'s (d,) honest update for the round; returns the pooled ones, (k, d) float32.

        Rows are sorted by member, so colluders that see the same pool craft the same update. Waits until
        every expected colluder has pooled this round, `timeout_s` passed, or `stop` is set.
        """
        vector = np.asarray(update, dtype=np.float32).reshape(-1).copy()
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._changed:
            members = self._members.setdefault(key[0], set())
            members.add(member)
            pooled = self._pool(key)
            sizes = {row.size for row in pooled.values()}
            if sizes and vector.size not in sizes:
                raise ValueError(f"update holds {vector.size} values, the round's pool {sizes.pop()}")
            pooled[member] = vector
            self._changed.notify_all()
            while not members <= pooled.keys():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (stop is not None and stop.is_set()):
                    members.intersection_update(pooled)  # forget who did not come
                    break
                self._changed.wait(min(remaining, STOP_CHECK_S))
            return np.stack([pooled[name] for name in sorted(pooled)])

    def _pool(self, key: RoundKey) -> dict[str, np.ndarray]:
        pooled = self._rounds.get(key)
        if pooled is None:
            pooled = self._rounds[key] = {}
            while len(self._rounds) > self._keep_rounds:
                self._rounds.popitem(last=False)  # waiters of a dropped round keep their own reference
        return pooled


COLLUSION = Collusion()  # the process's rendezvous, shared by every node of a fleet
