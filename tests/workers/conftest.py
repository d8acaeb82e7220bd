"""Fixtures for the node SDK tests: the digits splits, one torch thread per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.torch_threads import one_torch_thread
from workers.datasets import ExperimentData, load_builtin_split


@pytest.fixture(autouse=True, scope="module")
def single_torch_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread; restored afterwards so other folders see the default."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def digits() -> ExperimentData:
    return load_builtin_split("digits")
