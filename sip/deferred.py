# SPDX-License-Identifier: GPL-2.0-or-later
"""Actions the engine runs later, on its own thread, outside the library's callbacks."""

from __future__ import annotations

import time
from collections.abc import Callable

from sip.engine_log import logger

log = logger(__name__)


class DeferredActions:
    """A list of (due time, action); the engine's loop runs the due ones each turn."""

    def __init__(self) -> None:
        self._due: list[tuple[float, Callable[[], None]]] = []

    def add(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` after ``delay`` seconds."""
        self._due.append((time.monotonic() + delay, action))

    def due_in(self) -> float | None:
        """Seconds until the next action is due (negative: overdue); None when none waits."""
        if not self._due:
            return None
        return min(at for at, _ in self._due) - time.monotonic()

    def run_due(self) -> None:
        """Run every action that is due, in order; one that fails is logged, not raised."""
        if not self._due:
            return
        now = time.monotonic()
        due = [item for item in self._due if item[0] <= now]
        if not due:
            return
        self._due = [item for item in self._due if item[0] > now]
        for _, action in due:
            try:
                action()
            except Exception:
                log.exception("deferred engine action failed")
