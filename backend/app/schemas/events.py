"""Events of the live stream and its paged log, and the schema of each kind (from the event registry)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Annotated, Any, Union

from pydantic import BaseModel, Field, RootModel, TypeAdapter, create_model

from backend.orchestrator.event_kinds import EVENT_TYPES, PLACE_FIELDS, EventPayload, RoundEvent
from backend.orchestrator.events import Event

_EVENT = TypeAdapter(Event)


def event_json(event: Event) -> dict[str, Any]:
    """An event as the stream sends it (the log's events are the same)."""
    return _EVENT.dump_python(event, mode="json")


class EventLog(BaseModel):
    events: list[Event]
    next_after: int  # pass as `after` for the next page (the last id returned, or `after` itself)


class _Envelope(BaseModel):
    id: int
    ts: datetime
    message: str


def _streamed(event_type: type[EventPayload]) -> type[BaseModel]:
    """`Event` of the kinds one payload model covers: ``kind`` their Literal, ``data`` the model's own fields."""
    name = event_type.__name__
    fields: dict[str, Any] = {
        n: (f.annotation, copy.copy(f)) for n, f in event_type.model_fields.items() if n not in PLACE_FIELDS
    }
    fields.update({n: (c.return_type, ...) for n, c in event_type.model_computed_fields.items()})
    data = create_model(f"{name}Data", __doc__=event_type.__doc__, **fields)
    kind: Any = event_type.model_fields["kind"].annotation
    return create_model(
        f"{name}Event",
        __base__=_Envelope,
        kind=(kind, ...),
        experiment_id=(int, ...),
        round=(int if issubclass(event_type, RoundEvent) else None, ...),
        data=(data, ...),
    )


_ANY_STREAMED: Any = Annotated[Union[tuple(_streamed(t) for t in EVENT_TYPES)], Field(discriminator="kind")]  # noqa: UP007


class StreamedEvent(RootModel[_ANY_STREAMED]):
    """Every kind of event the orchestrator publishes, told apart by ``kind``: what the stream's and the
    log's events hold (as `Event`)."""
