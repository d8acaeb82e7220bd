"""The live event stream (Server-Sent Events with integer ids and Last-Event-ID resume) and its paged log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.app.deps import MAX_EVENT_ID, Cursor, OptionalId, OrchestratorDep
from backend.app.read_cache import ReadCacheDep
from backend.app.schemas.events import EventLog, EventPublic
from backend.db.models import EventRow
from backend.orchestrator.events import Event

router = APIRouter(prefix="/api/events", tags=["events"])
RETRY_MS = 2000
KIND_PATTERN = r"^[a-z._]*$"


def _wanted(event: Event, kind: str | None, experiment_id: int | None) -> bool:
    return (kind is None or event.kind.startswith(kind)) and (
        experiment_id is None or event.experiment_id in (experiment_id, None)
    )


@router.get("", response_class=EventSourceResponse)
async def stream_events(
    request: Request,
    orchestrator: OrchestratorDep,
    last_event_id: Annotated[
        str | None, Header(max_length=40, description="resume after this event id")
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_EVENT_ID, description="start after this id (for clients that cannot set headers)"),
    ] = None,
    kind: Annotated[
        str | None,
        Query(max_length=40, pattern=KIND_PATTERN, description="only kinds starting with this prefix"),
    ] = None,
    experiment_id: OptionalId = None,
) -> AsyncIterator[ServerSentEvent]:
    """Live events: without Last-Event-ID (or `after`) from now on; with it, every event after that id first."""
    bus = orchestrator.bus
    start = bus.latest_id
    if after is not None:
        start = after
    elif last_event_id is not None and last_event_id.strip().isdigit():
        start = min(int(last_event_id.strip()), MAX_EVENT_ID)  # a resume point past every id: only new ones
    yield ServerSentEvent(comment="fedshield events", retry=RETRY_MS)
    async for event in bus.stream(start):
        if await request.is_disconnected():
            break
        if _wanted(event, kind, experiment_id):
            yield ServerSentEvent(
                data=EventPublic.of(event).model_dump(mode="json"), event=event.kind, id=str(event.id)
            )


@router.get("/log", response_model=EventLog)
async def read_event_log(
    orchestrator: OrchestratorDep,
    cache: ReadCacheDep,
    after: Cursor = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: Annotated[str | None, Query(max_length=40, pattern=KIND_PATTERN)] = None,
    experiment_id: OptionalId = None,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_EVENT_ID, description="newest first: events with id below this")
    ] = None,
) -> Response:
    """A page of the event log in id order (or, with `before`, the page just below that id, newest first)."""

    def build() -> bytes:  # events are written only through the bus: a page holds until its version moves
        with orchestrator.sessions() as session:
            page = _event_page(session, after, limit, kind, experiment_id, before)
        return page.model_dump_json(by_alias=True).encode()

    return await cache.response(orchestrator.bus, ("log", after, limit, kind, experiment_id, before), build)


def _event_page(
    session: Session, after: int, limit: int, kind: str | None, experiment_id: int | None, before: int | None
) -> EventLog:
    query = select(EventRow)
    if kind:
        query = query.where(EventRow.kind.startswith(kind, autoescape=True))
    if experiment_id is not None:
        query = query.where(EventRow.experiment_id == experiment_id)
    if before is not None:
        rows = list(
            session.scalars(query.where(EventRow.id < before).order_by(EventRow.id.desc()).limit(limit))
        )
    else:
        rows = list(session.scalars(query.where(EventRow.id > after).order_by(EventRow.id).limit(limit)))
    events = [EventPublic.of(Event.of(r)) for r in rows]
    next_after = max((e.id for e in events), default=after) if before is None else after
    return EventLog(events=events, next_after=next_after)
