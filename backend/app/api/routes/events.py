"""The live event stream (Server-Sent Events with integer ids and Last-Event-ID resume) and its paged log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from backend.app.deps import MAX_EVENT_ID, Cursor, OptionalId, OrchestratorDep
from backend.app.read_cache import ReadCacheDep
from backend.app.schemas.events import EventLog, StreamedEvent, event_json
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
) -> AsyncIterator[StreamedEvent]:
    """Live events: without Last-Event-ID (or `after`) from now on; with it, every event after that id first.

    Each SSE message names the event's kind (`event:`) and id (`id:`); its data is the event (`StreamedEvent`).
    """
    # The annotation documents the messages' data; they go out as ServerSentEvent, which FastAPI sends as given.
    bus = orchestrator.bus
    start = bus.latest_id
    if after is not None:
        start = after
    elif last_event_id is not None and last_event_id.strip().isdigit():
        start = min(int(last_event_id.strip()), MAX_EVENT_ID)  # a resume point past every id: only new ones
    yield ServerSentEvent(comment="fedshield events", retry=RETRY_MS)  # type: ignore[misc]
    async for event in bus.stream(start):
        if await request.is_disconnected():
            break
        if _wanted(event, kind, experiment_id):
            yield ServerSentEvent(  # type: ignore[misc]
                data=event_json(event), event=event.kind, id=str(event.id)
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
        page = orchestrator.queries.event_log(
            after=after, limit=limit, kind=kind, experiment_id=experiment_id, before=before
        )
        return page.model_dump_json(by_alias=True).encode()

    return await cache.response(orchestrator.bus, ("log", after, limit, kind, experiment_id, before), build)
