"""Fixtures for the node SDK tests: the digits splits, one torch thread per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from workers.datasets import ExperimentData, load_builtin_split


@pytest.fixture(autouse=True, scope="module")
def single_torch_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread; restored afterwards so other folders see the default."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def digits() -> ExperimentData:
    return load_builtin_split("digits")
