# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the disk refused, kept in memory in order and retried until it takes them.

A full disk (or an I/O error, or a store locked for too long) must not cost a
call record, an agent's notes or a wrap-up, and must not stop the call. The
console sends every write of its own through :meth:`HeldWrites.run`:

- while the store takes writes, ``run`` is just the write, and returns its result;
- when the store raises :class:`~console.core.store.StorageFaultError`, the write
  is held (in memory, in order) and ``run`` returns None; so is every later
  write until the held ones are on disk, so that they land in the order made
  (a call's answer never before its ring);
- a retry every ``retry_s`` seconds writes what is held, oldest first, and
  stops at the first refusal;
- :meth:`HeldWrites.behind` makes a write in turn without waiting for it: the
  records of an engine event (a call ringing, answered) never keep the screen
  from showing it while the disk is slow or another program holds the store's
  lock (SQLite's busy timeout). Every write asked for later, behind or run,
  goes after it.

A write given a ``key`` replaces a held write with the same key instead of
queueing behind it (the notes of one call: only the latest text matters).

What is held is lost if the console is killed before the disk frees up; the
start-up recovery (``AgentScreen._close_left_open``, at the engine's hello)
then closes the calls it finds open, so nothing is silently dropped, and the console says all along
what is not saved (:meth:`HeldWrites.summary`). Nothing here logs the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from console.core.records import dataclass
from console.core.store_faults import StorageFaultError, storage_fault

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_S = 5.0
"""Seconds between attempts to write what is held."""


@dataclass(slots=True)
class _Held:
    what: str
    """What it is, for the agent: "call record", "notes", "wrap-up"…"""
    write: Callable[[], Awaitable[object]]
    key: object | None


class HeldWrites:
    """The console's writes, held in memory while the store refuses them.

    ``on_change`` is called whenever the set of held writes or the fault
    changes (the status bar shows it); ``on_saved`` after held writes reach
    the disk (the history list refreshes).
    """

    def __init__(
        self,
        *,
        on_change: Callable[[], None] | None = None,
        on_saved: Callable[[], Awaitable[None]] | None = None,
        retry_s: float = RETRY_S,
    ) -> None:
        self._held: list[_Held] = []
        self._lock = asyncio.Lock()
        self._retry: asyncio.Task[None] | None = None
        self.on_change = on_change
        self.on_saved = on_saved
        self.retry_s = retry_s
        self.fault: StorageFaultError | None = None
        """Why writes are held (None when nothing is)."""
        self.dropped = 0
        """Held writes the store later refused for good (not a disk fault): logged, counted."""
        self._behind: asyncio.Task[Any] | None = None
        """The last write put in line (by :meth:`behind`, or by :meth:`run` behind those):
        the next one starts when it is done."""

    @property
    def count(self) -> int:
        """How many writes are held."""
        return len(self._held)

    def summary(self) -> str:
        """What is not on disk yet, in words ("" when nothing): "2 call records, notes"."""
        counts = Counter(held.what for held in self._held)
        return ", ".join(
            f"{n} {what}s" if n > 1 and not what.endswith("s") else what
            for what, n in counts.items()
        )

    async def run(
        self, what: str, write: Callable[[], Awaitable[T]], *, key: object | None = None
    ) -> T | None:
        """``write()``'s result, or None when it is held (the disk refused it, or
        older writes are still held). Other errors propagate as before."""
        if self._behind is not None and not self._behind.done():
            # Writes made behind are still to come: this one goes after them. Shielded:
            # a caller that gives up does not take the write out of the line.
            now = functools.partial(self._write_now, what, write, key)
            return await asyncio.shield(self._in_turn(now))
        return await self._write_now(what, write, key)

    async def write(
        self,
        what: str,
        write: Callable[[], Awaitable[object]],
        *,
        behind: bool,
        key: object | None = None,
    ) -> None:
        """:meth:`behind` when ``behind``, else :meth:`run` (its result not wanted): for
        the writers whose callers choose (an engine event's records go behind)."""
        if behind:
            self.behind(what, write, key=key)
        else:
            await self.run(what, write, key=key)

    def behind(
        self, what: str, write: Callable[[], Awaitable[object]], *, key: object | None = None
    ) -> None:
        """Make ``write`` after every write asked for before it, without waiting for it
        (held as :meth:`run` holds it). A failure that is not the disk is logged (its
        kind only) and counted in :attr:`dropped`: nobody waits to be told."""
        self._in_turn(functools.partial(self._write_behind, what, write, key))

    async def settled(self) -> None:
        """Wait until every write asked for so far is made or held."""
        if self._behind is not None:
            await asyncio.wait([self._behind])

    def _in_turn(self, write: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        """``write()`` in a task that starts once the last one asked for has finished."""
        before = self._behind

        async def after() -> T:
            if before is not None:
                await asyncio.wait([before])
            return await write()

        task = asyncio.get_running_loop().create_task(after())
        self._behind = task
        return task

    async def _write_behind(
        self, what: str, write: Callable[[], Awaitable[object]], key: object | None
    ) -> None:
        try:
            await self._write_now(what, write, key)
        except Exception as exc:  # noqa: BLE001 - nobody awaits it: say so, go on with the rest
            self.dropped += 1
            log.error("a %s could not be written: %s", what, type(exc).__name__)
            self._changed()

    async def _write_now(
        self, what: str, write: Callable[[], Awaitable[T]], key: object | None
    ) -> T | None:
        async with self._lock:
            if self._held:
                self._hold(_Held(what, write, key))
                return None
            try:
                return await write()
            except Exception as exc:
                fault = storage_fault(exc)
                if fault is None:
                    raise
                self.fault = fault
                self._hold(_Held(what, write, key))
                log.warning("store refused a write (%s); holding it in memory", fault)
                return None

    async def flush(self) -> bool:
        """Write what is held, oldest first, until the store refuses; True when all is on disk."""
        wrote = 0
        async with self._lock:
            while self._held:
                held = self._held[0]
                try:
                    await held.write()
                except Exception as exc:
                    fault = storage_fault(exc)
                    if fault is not None:
                        self.fault = fault
                        break
                    # Not the disk: this write will never succeed (a bug, a row the
                    # store refuses). Say so without the data, and go on with the rest.
                    self.dropped += 1
                    log.error("a held %s could not be written: %s", held.what, type(exc).__name__)
                self._held.pop(0)
                wrote += 1
            if not self._held:
                self.fault = None
        if wrote:
            self._changed()
            if self.on_saved is not None:
                await self.on_saved()
        return not self._held

    async def close(self) -> None:
        """Make what is asked for behind, then stop retrying (what is still held stays in
        :attr:`count`)."""
        await self.settled()
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
            self._retry = None

    def _hold(self, held: _Held) -> None:
        if held.key is not None:
            for index, older in enumerate(self._held):
                if older.key == held.key:
                    self._held[index] = held
                    self._changed()
                    return
        self._held.append(held)
        self._changed()
        if self._retry is None or self._retry.done():
            self._retry = asyncio.get_running_loop().create_task(self._retry_until_saved())

    async def _retry_until_saved(self) -> None:
        while True:
            await asyncio.sleep(self.retry_s)
            try:
                if await self.flush():
                    return
            except Exception as exc:  # noqa: BLE001 - a retry loop must outlive any one failure
                # The type only: a message or traceback could carry the data.
                log.error("retrying held writes failed: %s", type(exc).__name__)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
