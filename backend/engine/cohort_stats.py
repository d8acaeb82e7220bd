"""The cohort's statistics as array operations over its ``(n, d)`` update matrix, in bounded memory.

The shield's features are row reductions (norms, L1, energies, dot products) and column medians of the
round's float32 matrix. Both are computed a block at a time: a block of rows cast to float64 once for
every row reduction, a block of columns transposed once for every median. The matrix itself is never
copied whole, whatever ``n`` and ``d``, and each reduction is the same numpy call on the same float64
values as on the whole matrix: norms, L1 norms and medians are those of numpy on the whole matrix to the
last bit; sums through BLAS (dot products, the quiet-coordinate energy) may differ in their last bits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix

FloatArray = NDArray[np.floating]
F64 = NDArray[np.float64]

ROW_BLOCK = 1 << 16  # float64 values of one block of rows (512 KiB: its buffers stay in cache)
COLUMN_BLOCK = 1 << 21  # values of one block of columns (8 MiB in float32, transposed for medians)


def blocks(count: int, item_size: int, budget: int) -> Iterator[slice]:
    """Consecutive slices of ``count`` items of ``item_size`` values each, at most ``budget`` values a slice
    (always at least one item)."""
    step = max(1, budget // max(item_size, 1))
    for start in range(0, count, step):
        yield slice(start, min(start + step, count))


def column_medians(updates: FloatArray, *, absolute: bool = False) -> F64:
    """``np.median(updates.astype(float64), axis=0)`` (of ``abs(updates)`` when ``absolute``), bit for bit.

    Each block of columns is transposed so every column's values are contiguous, then partitioned in
    place; the float32 order statistics are exact in float64, and their mean is taken as numpy takes it.
    """
    n, d = updates.shape
    lo, hi = (n - 1) // 2, n // 2
    medians = np.empty(d, dtype=np.float64)
    for cols in blocks(d, n, COLUMN_BLOCK):
        block = np.ascontiguousarray(updates[:, cols].T)  # (b, n)
        if absolute:
            np.abs(block, out=block)
        block.partition([lo, hi] if hi != lo else lo, axis=1)
        low, high = block[:, lo].astype(np.float64), block[:, hi].astype(np.float64)
        medians[cols] = low if hi == lo else (low + high) / 2
    return medians


def row_norms(updates: FloatArray) -> F64:
    """``np.linalg.norm(updates.astype(float64), axis=1)``, a block of rows at a time."""
    n, d = updates.shape
    norms = np.empty(n, dtype=np.float64)
    for rows in blocks(n, d, ROW_BLOCK):
        norms[rows] = np.linalg.norm(updates[rows].astype(np.float64), axis=1)
    return norms


@dataclass(frozen=True)
class RowStatistics:
    """Per-update reductions of the cohort matrix, each ``(n,)`` float64."""

    norm: F64  # ‖Δ_i‖₂
    l1: F64  # ‖Δ_i‖₁
    energy: F64  # Σ Δ_ij²
    shifted_norm: F64 | None  # ‖offset + Δ_i‖₂, with an offset
    quiet_energy: F64 | None  # Σ over the quiet coordinates of Δ_ij², with a quiet mask
    dots: list[F64]  # Δ_i · r for each reference r, in order


def row_statistics(
    updates: FloatArray,
    *,
    offset: FloatArray | None = None,
    quiet: NDArray[np.bool_] | None = None,
    references: Sequence[FloatArray] = (),
) -> RowStatistics:
    """Every row reduction the shield needs, in one pass over blocks of rows cast to float64.

    Three float64 buffers of one block serve every block (no allocation per block): the rows, their
    squares, and a scratch for ``|Δ|`` and ``offset + Δ``.
    """
    n, d = updates.shape
    shift = None if offset is None else offset.astype(np.float64)
    weights = None if quiet is None else quiet.astype(np.float64)
    refs = [np.asarray(r, dtype=np.float64) for r in references]
    energy, l1 = np.empty(n), np.empty(n)
    shifted = None if shift is None else np.empty(n)
    quiet_part = None if weights is None else np.empty(n)
    dots = [np.empty(n) for _ in refs]
    step = next(blocks(n, d, ROW_BLOCK)).stop if n else 0
    x_buf, sq_buf, scratch_buf = (np.empty((step, d)) for _ in range(3))
    for rows in blocks(n, d, ROW_BLOCK):
        k = rows.stop - rows.start
        x, sq, scratch = x_buf[:k], sq_buf[:k], scratch_buf[:k]
        x[...] = updates[rows]
        np.multiply(x, x, out=sq)
        energy[rows] = sq.sum(axis=1)  # what np.linalg.norm sums: its square root is the norm, bit for bit
        l1[rows] = np.abs(x, out=scratch).sum(axis=1)
        if shifted is not None and shift is not None:
            np.add(x, shift, out=scratch)
            shifted[rows] = np.sqrt(np.multiply(scratch, scratch, out=scratch).sum(axis=1))
        if quiet_part is not None:
            quiet_part[rows] = sq @ weights
        for out, ref in zip(dots, refs, strict=True):
            out[rows] = x @ ref
    return RowStatistics(np.sqrt(energy), l1, energy, shifted, quiet_part, dots)


SKETCH_WIDTH = 1024  # columns of the residuals' sketch once a model has more parameters than this x 4
_SKETCH_SEED = 20260  # fixed: the sketch is part of what makes a verdict reproducible


def residual_cosines(updates: FloatArray, center: F64) -> F64:
    """Cosines between every pair of rows' residuals ``Δ_i - center``, ``(n, n)``, a block of columns at a
    time (never a float64 copy of the matrix).

    Beyond ``4 * SKETCH_WIDTH`` columns the residuals are first sketched to ``SKETCH_WIDTH`` (CountSketch
    [Charikar et al., 2002]: each column added, with a fixed random sign, into one of the sketch's
    columns), which keeps inner products in expectation at a cost of one pass over the matrix; near-copies
    stay near 1, independent rows near their true cosine within a few hundredths.
    """
    n, d = updates.shape
    sketched = d > 4 * SKETCH_WIDTH
    width = SKETCH_WIDTH if sketched else d
    rng = np.random.default_rng(_SKETCH_SEED)
    bucket = np.asarray(rng.integers(0, width, size=d) if sketched else np.arange(d), dtype=np.int64)
    sign: F64 = rng.choice(np.array([-1.0, 1.0]), size=d) if sketched else np.ones(d)
    projected = np.zeros((n, width))
    for cols in blocks(d, n, COLUMN_BLOCK):
        residual = updates[:, cols].astype(np.float64) - center[None, cols]  # (n, b)
        if sketched:  # one sparse product a block: column j of the block added, signed, into bucket[j]
            sketch = csr_matrix(
                (sign[cols], (np.arange(residual.shape[1]), bucket[cols])), shape=(residual.shape[1], width)
            )
            projected += np.asarray(sketch.T @ residual.T).T
        else:
            projected[:, cols] = residual
    norms = np.linalg.norm(projected, axis=1)
    unit = np.divide(projected, norms[:, None], out=np.zeros_like(projected), where=norms[:, None] > 0)
    cosines: F64 = unit @ unit.T
    return cosines
