"""An experiment's lifecycle, as the orchestrator stores it and the node reads it from its task."""

from __future__ import annotations

from enum import StrEnum


class ExperimentStatus(StrEnum):
    """Where an experiment is: ``created`` → ``running`` ⇄ ``paused`` → ``stopped`` / ``completed`` / ``failed``.

    A failed experiment can be resumed; a stopped or completed one is final.
    """

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"


# The statuses in which no round will open: a node stops working for such an experiment.
FINISHED = frozenset({ExperimentStatus.STOPPED, ExperimentStatus.COMPLETED, ExperimentStatus.FAILED})
