"""One background thread of the orchestrator (the round runner's, the settlement outbox's): started, woken
early when there is work, and stopped (joined) with the orchestrator."""

from __future__ import annotations

import threading
from collections.abc import Callable


class BackgroundThread:
    """A daemon thread running ``body``, which loops on `wait` until it returns False (stop was asked)."""

    def __init__(self, name: str, body: Callable[[], None]) -> None:
        self._name = name
        self._body = body
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._body, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def wait(self, timeout_s: float) -> bool:
        """Sleep until woken or ``timeout_s`` passed; False once the thread is asked to stop."""
        self._wake.wait(timeout_s)
        self._wake.clear()
        return not self._stop.is_set()
