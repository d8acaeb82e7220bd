"""The event bus: every step of a round becomes a durable event with an integer id, streamed live.

What each kind of event holds and says is defined once, in backend/orchestrator/event_kinds.py; writers
publish those models.

Ordering without gaps. Writers publish events inside ``bus.transaction()``, which holds one lock from the
first insert to the commit, so events commit in id order: a reader that has seen id ``n`` and asks for
``id > n`` can never miss an event that commits later with a smaller id. After each commit the
new events go to an in-memory tail (so live subscribers rarely touch the database) and the event loop is
woken. Rule that keeps this deadlock-free: never enter ``transaction()`` while holding another open write
transaction.

``version`` counts the transactions committed, events or not, and moves only after a commit: a read model
built after reading version ``v`` stays true while the version is still ``v``, as long as every write to
what it shows goes through ``transaction()`` (backend/app/read_cache.py relies on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.base import SessionFactory, utcnow
from backend.db.models import EventRow
from backend.orchestrator.event_kinds import EventPayload

TAIL_SIZE = 4096
PAGE = 500


@dataclass(frozen=True)
class Event:
    """One event as stored and streamed; ``data`` holds the fields of its kind (its model in event_kinds.py).

    ``kind`` and ``data`` stay open here: the log keeps every event ever written, and one written by an older
    orchestrator still reads.
    """

    id: int
    ts: datetime
    kind: str
    experiment_id: int | None
    round: int | None
    message: str
    data: dict[str, Any]

    @classmethod
    def of(cls, row: EventRow) -> Event:
        return cls(row.id, row.ts, row.kind, row.experiment_id, row.round, row.message, dict(row.data))


@dataclass
class Publisher:
    """A session plus the events recorded in it; the bus publishes them when the session commits."""

    session: Session
    rows: list[EventRow] = field(default_factory=list)

    def publish(self, event: EventPayload) -> None:
        row = EventRow(
            ts=utcnow(),
            kind=event.kind,
            experiment_id=event.experiment_id,
            round=event.at_round(),
            message=event.message(),
            data=event.data(),
        )
        self.session.add(row)
        self.session.flush()  # assigns the id now, so ids follow emission order
        self.rows.append(row)


class EventBus:
    """Durable, ordered events with live fan-out to asyncio subscribers."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._tail: deque[Event] = deque(maxlen=TAIL_SIZE)
        with sessions() as session:
            self._floor = int(session.scalar(select(func.coalesce(func.max(EventRow.id), 0))) or 0)
        self.latest_id = self._floor  # every event with id > _floor is in the tail
        self.version = 0  # transactions committed; bumped after each commit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._closed = False

    # -- writing ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Publisher]:
        """A session in which to change state and ``publish`` events; commits both, then wakes subscribers."""
        with self._lock:
            with self._sessions() as session:
                publisher = Publisher(session)
                yield publisher
                session.commit()
            self.version += 1
            events = [Event.of(row) for row in publisher.rows]
            for event in events:
                if len(self._tail) == self._tail.maxlen:
                    self._floor = self._tail[0].id
                self._tail.append(event)
                self.latest_id = event.id
        if events:
            self._wake()

    def publish(self, event: EventPayload) -> None:
        """One event in a transaction of its own."""
        with self.transaction() as pub:
            pub.publish(event)

    # -- reading ----------------------------------------------------------------------------------------

    def after(self, last_id: int, limit: int = PAGE) -> list[Event]:
        """Events with id > ``last_id`` in id order (blocking: may read the database)."""
        with self._lock:
            if last_id >= self._floor:
                return [e for e in self._tail if e.id > last_id][:limit]
        return self.page(after=last_id, limit=limit)

    def page(
        self,
        *,
        after: int = 0,
        before: int | None = None,
        limit: int = PAGE,
        kind: str | None = None,
        experiment_id: int | None = None,
    ) -> list[Event]:
        """Stored events with id > ``after`` in id order or, with ``before``, the ``limit`` ids just below it,
        newest first; only kinds starting with ``kind`` and of ``experiment_id``, if given."""
        query = select(EventRow)
        if kind:
            query = query.where(EventRow.kind.startswith(kind, autoescape=True))
        if experiment_id is not None:
            query = query.where(EventRow.experiment_id == experiment_id)
        if before is not None:
            query = query.where(EventRow.id < before).order_by(EventRow.id.desc())
        else:
            query = query.where(EventRow.id > after).order_by(EventRow.id)
        with self._sessions() as session:
            return [Event.of(r) for r in session.scalars(query.limit(limit))]

    async def stream(self, last_id: int, *, wait_s: float = 15.0) -> AsyncIterator[Event]:
        """Every event after ``last_id``, then each new one as it commits; ends when the bus closes."""
        # An id from the future (a client of a database since reset) would skip the events to come.
        last_id = min(last_id, self.latest_id)
        while not self._closed:
            changed = self._changed
            if last_id < self.latest_id or last_id < self._floor:
                batch = await asyncio.to_thread(self.after, last_id)
                for event in batch:
                    yield event
                    last_id = event.id
                if batch:
                    continue
            if changed is None:
                await asyncio.sleep(0.2)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), wait_s)

    # -- loop plumbing ----------------------------------------------------------------------------------

    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._changed = asyncio.Event()
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop shut down in between
            loop.call_soon_threadsafe(self._set_changed)

    def _set_changed(self) -> None:
        if self._changed is not None:
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()
