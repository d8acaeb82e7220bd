"""Events of the live stream and its paged log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from backend.orchestrator.events import Event


class EventPublic(BaseModel):
    id: int
    ts: datetime
    kind: str
    experiment_id: int | None
    round: int | None
    message: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventPublic:
        return cls(
            id=event.id,
            ts=event.ts,
            kind=event.kind,
            experiment_id=event.experiment_id,
            round=event.round,
            message=event.message,
            data=event.data,
        )


class EventLog(BaseModel):
    events: list[EventPublic]
    next_after: int  # pass as `after` for the next page (the last id returned, or `after` itself)
