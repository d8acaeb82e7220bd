"""The aggregate of the accepted updates, each with bounded influence: claimed sample counts capped at a
multiple of their median, norms clipped to a multiple of the accepted median [Sun et al., 2019], then the
configured aggregator (``backend.engine.aggregators``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from backend.engine.aggregators import get_aggregator
from backend.engine.cohort_stats import row_norms
from backend.engine.shield.config import DefenseConfig
from backend.engine.shield.features import FloatArray
from backend.engine.shield.verdicts import UpdateVerdict


def bounded_weights(num_samples: Sequence[int], cap: float) -> NDArray[np.float64]:
    """Sample counts capped at ``cap`` times their median: a claimed count cannot buy the aggregate."""
    counts = np.asarray([float(c) for c in num_samples], dtype=np.float64)
    limit = cap * float(np.median(counts))
    return np.minimum(counts, max(limit, 1.0))


def clip_to_median_norm(
    updates: FloatArray, multiple: float = 1.0, *, norms: NDArray[np.float64] | None = None
) -> FloatArray:
    """Each row scaled down to at most ``multiple`` times the rows' median norm [Sun et al., 2019, "Can You
    Really Backdoor Federated Learning?"]: no accepted update moves the aggregate by more than a couple of
    typical ones, while honest nodes with more data (more local steps, larger updates) still count.

    Only the rows above the bound are rescaled (in float64, then back to the matrix's dtype); when none is,
    ``updates`` itself is returned, uncopied. ``norms``: the rows' norms when already measured."""
    norms = row_norms(updates) if norms is None else norms
    bound = multiple * float(np.median(norms))
    over = np.flatnonzero(norms > bound)
    if not over.size:
        return updates
    clipped = updates.copy()
    factor = bound / norms[over]
    clipped[over] = (updates[over].astype(np.float64) * factor[:, None]).astype(updates.dtype)
    return clipped


def aggregate_accepted(
    updates: FloatArray,
    num_samples: Sequence[int],
    accepted: Sequence[int],
    config: DefenseConfig,
    *,
    norms: NDArray[np.float64] | None = None,
) -> FloatArray:
    """The configured aggregate of the accepted rows, each with bounded influence; zeros when none.

    ``norms``: every row's ``‖Δ‖`` when screening already measured it (``update_norm``)."""
    if not accepted:
        return np.zeros(updates.shape[1], dtype=updates.dtype)
    rows = np.asarray(accepted, dtype=np.int64)
    everyone = len(rows) == len(updates) and bool((rows == np.arange(len(rows))).all())
    chosen = updates if everyone else updates[rows]  # a view when every update is accepted
    if config.enabled and config.clip_to_median_norm:
        chosen = clip_to_median_norm(
            chosen, config.clip_multiple, norms=None if norms is None else norms[rows]
        )
    weights = bounded_weights([num_samples[i] for i in rows], config.sample_weight_cap)
    num_malicious = int(config.aggregator_malicious_fraction * len(rows))
    aggregate = get_aggregator(config.aggregator)
    return aggregate(chosen, weights, num_malicious=num_malicious)


def aggregate_verdicts(
    updates: FloatArray, num_samples: Sequence[int], verdicts: Sequence[UpdateVerdict], config: DefenseConfig
) -> FloatArray:
    """``aggregate_accepted`` of the updates the verdicts accept, with the norms screening measured."""
    accepted = [v.index for v in verdicts if v.accepted]
    norms = np.array([v.features["update_norm"] for v in verdicts], dtype=np.float64)
    return aggregate_accepted(updates, num_samples, accepted, config, norms=norms)
