# SPDX-License-Identifier: GPL-2.0-or-later
"""Where the floor's events come from: the hub, or this machine's local store.

Both sources hand out :class:`FloorEvent` records in sequence order and let a
reader wait for more. A reader remembers the last ``seq`` it handled and asks
for what comes after it, so a reconnect (or a restart with ``--from-seq``)
neither misses nor repeats an event.

Every row is checked (:func:`~console.floor_view.rows.check_row`): a row
that is not a floor record comes out as a :class:`BadRow` in its place, so
readers report it and move past it. Whose event a row is comes from where it
was written (the hub login; locally, this workstation's agent), never from
the payload.

A hub that refuses the login (wrong password, unknown user or database) is a
configuration error, :class:`HubLoginRefusedError`; a hub that cannot be reached
is retried for as long as it takes.

This module is plain Python (no Textual): ``careline queue tail`` runs it
without a UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from console.core.config import AgentConfig, ConfigError
from console.core.reports.feedback import MeasuredStep
from console.core.reports.figures import ReportData
from console.core.reports.local import read_local
from console.core.reports.weeks import ReportWeeks
from console.core.store import Store, StoreKey
from console.core.text import safe_text
from console.floor_view.rows import (
    MAX_PAYLOAD_BYTES,
    BadRow,
    FloorEvent,
    FloorRecord,
    check_row,
    parse_time,
)
from console.floor_view.worklists import (
    HUB_PROGRESS_SQL,
    WorklistProgress,
    local_progress,
    progress_of,
)

if TYPE_CHECKING:
    import psycopg

APPLICATION_NAME = "careline-tail"
"""``application_name`` of every hub connection a floor reader opens."""

CHANNEL = "careline_floor"
"""The hub's doorbell: ``pg_notify('careline_floor', seq::text)`` on every insert."""


__all__ = ["BadRow", "FloorEvent", "FloorRecord", "FloorSource", "HubFloor", "LocalFloor"]

DEFAULT_AGENT_ID = AgentConfig().id
"""The agent of a workstation whose configuration names none."""


class HubLoginRefusedError(ConfigError):
    """The hub refused the login: retrying cannot help, the configuration must change."""


class FloorSource(Protocol):
    """A sequence of floor events that can be read from any point and waited on."""

    async def events_after(self, seq: int, limit: int = 500) -> list[FloorRecord]:
        """Up to ``limit`` rows with a sequence number above ``seq``, in order, each
        a :class:`FloorEvent` or (not a floor record) a :class:`BadRow`."""
        ...

    async def wait(self, max_wait_s: float) -> None:
        """Return when new events may be there, or after ``max_wait_s`` seconds."""
        ...

    async def last_seq(self) -> int:
        """The highest sequence number stored now (0 when there is none)."""
        ...

    async def worklist_progress(self) -> list[WorklistProgress]:
        """Each worklist's progress now, by list id (the floor's items: the hub's, or
        without one this machine's)."""
        ...

    async def report(
        self, weeks: ReportWeeks, *, sl_seconds: int, steps: Sequence[MeasuredStep]
    ) -> ReportData:
        """The weekly report of ``weeks`` (``careline report``'s figures, as the login
        may see them)."""
        ...

    async def close(self) -> None:
        """Release connections; the source is not used afterwards."""
        ...


class LocalFloor:
    """The floor as this machine's local store records it (no hub needed).

    Reads the outbox's ``agent_state`` and ``call_event`` rows, whether or not
    they were delivered to a hub yet, and polls for new ones. Every row is
    this workstation's agent's (``agent_id``): one naming another is bad.
    """

    def __init__(self, store: Store, poll_s: float = 0.25, *, agent_id: str) -> None:
        self._store = store
        self.poll_s = poll_s
        self.agent_id = agent_id
        """This workstation's agent: whose every row in the store is."""

    @classmethod
    async def open(
        cls,
        path: Path,
        key: StoreKey | None = None,
        poll_s: float = 0.25,
        *,
        agent_id: str = DEFAULT_AGENT_ID,
    ) -> LocalFloor:
        """Open the store at ``path`` (a :class:`~console.core.store.StoreError` if it cannot)."""
        return cls(await Store.open(path, key), poll_s, agent_id=agent_id)

    async def events_after(self, seq: int, limit: int = 500) -> list[FloorRecord]:
        """Up to ``limit`` floor rows of the outbox after ``seq``, in order."""
        # An over-long payload is measured, not fetched.
        rows = await self._store.fetch_all(
            "SELECT seq, kind, CASE WHEN length(CAST(payload AS BLOB)) <= ? THEN payload END, "
            "length(CAST(payload AS BLOB)), substr(created_at, 1, 40) FROM outbox "
            "WHERE seq > ? AND kind IN ('agent_state', 'call_event') ORDER BY seq LIMIT ?",
            (MAX_PAYLOAD_BYTES, seq, limit),
        )
        now = datetime.now(UTC)
        return [
            check_row(
                int(number),
                str(kind),
                self.agent_id,
                payload if isinstance(payload, str) else None,
                parse_time(created_at, now),
                int(size or 0),
            )
            for number, kind, payload, size, created_at in rows
        ]

    async def wait(self, max_wait_s: float) -> None:
        """SQLite has no doorbell: sleep one poll interval (at most ``max_wait_s``)."""
        await asyncio.sleep(min(self.poll_s, max_wait_s))

    async def last_seq(self) -> int:
        """The highest floor seq in the outbox now."""
        rows = await self._store.fetch_all(
            "SELECT coalesce(max(seq), 0) FROM outbox WHERE kind IN ('agent_state', 'call_event')"
        )
        return int(rows[0][0])

    async def worklist_progress(self) -> list[WorklistProgress]:
        """Each worklist's progress in this store."""
        return await local_progress(self._store)

    async def report(
        self, weeks: ReportWeeks, *, sl_seconds: int, steps: Sequence[MeasuredStep]
    ) -> ReportData:
        """The weekly report of ``weeks`` from this store."""
        data, _ = await read_local(
            self._store, weeks, sl_seconds=sl_seconds, steps=steps, agent_id=self.agent_id
        )
        return data

    async def close(self) -> None:
        """Close the store."""
        await self._store.close()


# The payload comes as text, so that this module parses it (a depth bomb is a
# bad row, not a crash in the driver); over-long payloads and out-of-range
# times (which Python cannot represent) are not fetched at all.
_HUB_ROWS = """
SELECT seq, left(agent_id, 65), left(kind, 32),
       CASE WHEN octet_length(body) <= %s THEN body END, octet_length(body),
       CASE WHEN at >= '2000-01-01Z' AND at < '2100-01-01Z' THEN at END
FROM (SELECT seq, agent_id, kind, payload::text AS body, at FROM careline.floor_events
      WHERE seq > %s ORDER BY seq LIMIT %s) AS page
ORDER BY seq
"""


def _log(message: str) -> None:
    print(f"careline: {message}", file=sys.stderr, flush=True)


class HubFloor:
    """The floor as the hub records it: ``careline.floor_events`` in PostgreSQL.

    One connection LISTENs on the ``careline_floor`` doorbell, another runs
    the catch-up queries. When either drops, both are reopened with capped
    exponential backoff and jitter; the caller's next ``events_after(last)``
    resumes where it left off. The methods never raise for a lost hub: they
    keep reconnecting (``on_status`` hears "connected"/"reconnecting"). A
    refused login raises :class:`HubLoginRefusedError` instead: no retry fixes it.

    Reading ``seq > last`` misses nothing because the hub hands out seqs
    under a transaction lock held until commit (``careline.next_in_order``):
    seqs become visible in order. Gaps (rolled-back inserts, the serial's own
    default) are normal and skipped.
    """

    def __init__(
        self,
        dsn: str,
        *,
        max_backoff_s: float = 5.0,
        on_status: Callable[[str], None] = _log,
    ) -> None:
        self.dsn = dsn
        self.max_backoff_s = max_backoff_s
        self.on_status = on_status
        """Hears connection news (a wallboard shows it; the tail prints it to stderr)."""
        self._listen: psycopg.AsyncConnection[Any] | None = None
        self._query: psycopg.AsyncConnection[Any] | None = None
        self.reconnects = 0
        """How many times the connections were reopened after a failure."""
        self._worklists_refused = False

    async def _connect(self) -> tuple[psycopg.AsyncConnection[Any], psycopg.AsyncConnection[Any]]:
        import psycopg

        delay = 0.1
        failed = False
        while True:
            if self._listen is not None and self._query is not None:
                return self._listen, self._query
            try:
                listen = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, application_name=APPLICATION_NAME
                )
                query = await psycopg.AsyncConnection.connect(
                    self.dsn, autocommit=True, application_name=APPLICATION_NAME
                )
                await listen.execute(f"LISTEN {CHANNEL}")
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._drop()
                refusal = login_refusal(exc, self.dsn)
                if refusal is not None:
                    raise HubLoginRefusedError(refusal) from None
                if not failed:
                    self.on_status(f"hub unreachable ({_first_line(exc)}); retrying")
                failed = True
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self.max_backoff_s)
                continue
            self._listen, self._query = listen, query
            if failed:
                self.on_status("hub connection restored")
            return listen, query

    async def _drop(self) -> None:
        for conn in (self._listen, self._query):
            if conn is not None:
                # A broken connection may fail to close; it is dropped either way.
                with contextlib.suppress(Exception):
                    await conn.close()
        self._listen = self._query = None

    async def _lost(self, exc: Exception) -> None:
        self.reconnects += 1
        self.on_status(f"hub connection lost ({_first_line(exc)}); reconnecting")
        await self._drop()

    async def events_after(self, seq: int, limit: int = 500) -> list[FloorRecord]:
        """Up to ``limit`` hub rows after ``seq``, in order."""
        import psycopg

        while True:
            _, query = await self._connect()
            try:
                cursor = await query.execute(_HUB_ROWS, (MAX_PAYLOAD_BYTES, seq, limit))
                rows = await cursor.fetchall()
                break
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._lost(exc)
        now = datetime.now(UTC)
        return [
            check_row(
                int(number),
                str(kind),
                str(agent_id or ""),
                payload if isinstance(payload, str) else None,
                at if isinstance(at, datetime) else now,
                int(size or 0),
            )
            for number, agent_id, kind, payload, size, at in rows
        ]

    async def wait(self, max_wait_s: float) -> None:
        """Until the doorbell rings (or ``max_wait_s``)."""
        import psycopg

        listen, _ = await self._connect()
        try:
            async for _ in listen.notifies(timeout=max_wait_s, stop_after=1):
                break
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            await self._lost(exc)

    async def last_seq(self) -> int:
        """The highest seq on the hub now."""
        rows = await self._fetch("SELECT coalesce(max(seq), 0) FROM careline.floor_events")
        return int(rows[0][0]) if rows else 0

    async def worklist_progress(self) -> list[WorklistProgress]:
        """Each worklist's progress on the hub: every console's items (those the login may
        read: all of them for a supervisor, an agent's own held ones for an agent). None
        at all (said once through ``on_status``) when the hub has no worklists this
        login may read, e.g. one not upgraded yet: the floor's events go on regardless."""
        import psycopg

        try:
            return progress_of(await self._fetch(HUB_PROGRESS_SQL))
        except psycopg.Error as exc:
            if not self._worklists_refused:
                self._worklists_refused = True
                self.on_status(f"worklist progress unavailable ({_first_line(exc)})")
            return []

    async def report(
        self, weeks: ReportWeeks, *, sl_seconds: int, steps: Sequence[MeasuredStep]
    ) -> ReportData:
        """The weekly report of ``weeks`` from the hub's report functions (hub version
        8), reconnecting for as long as the hub is lost."""
        import psycopg

        from console.hub.reports import read_hub

        while True:
            _, query = await self._connect()
            try:
                data, _ = await read_hub(query, weeks, sl_seconds=sl_seconds, steps=steps)
                return data
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._lost(exc)

    async def _fetch(self, query_text: str) -> list[tuple[Any, ...]]:
        """The rows of ``query_text``, reconnecting for as long as the hub is lost."""
        import psycopg

        while True:
            _, query = await self._connect()
            try:
                cursor = await query.execute(query_text)
                return list(await cursor.fetchall())
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                await self._lost(exc)

    async def close(self) -> None:
        """Close both connections."""
        await self._drop()


# libpq reports a refused login as a connection failure without a SQLSTATE:
# its message tells it from a hub that is down.
_REFUSALS = (
    ("password authentication failed", "password authentication failed"),
    ("no password supplied", "no password was given"),
    ("no pg_hba.conf entry", "the hub does not accept this login from here (pg_hba.conf)"),
    ("is not permitted to log in", "the role may not log in"),
    ("does not exist", "the user or database does not exist"),
)
_REFUSED_STATES = ("28P01", "28000", "3D000")


def login_refusal(exc: Exception, dsn: str) -> str | None:
    """One line saying why the hub refused the login of ``dsn``, or None when the
    failure is not about the login (the hub is down or unreachable: retry)."""
    from psycopg.conninfo import conninfo_to_dict

    text = str(exc)
    what = next((phrase for needle, phrase in _REFUSALS if needle in text), None)
    if what is None:
        if getattr(exc, "sqlstate", None) not in _REFUSED_STATES:
            return None
        what = "the login was refused"
    try:
        params = conninfo_to_dict(dsn)
    except Exception:  # an unparsable DSN would not have got this far; name nobody
        params = {}
    user = safe_text(params.get("user") or "(default user)", 64)
    dbname = safe_text(params.get("dbname") or "(default database)", 64)
    return (
        f"the hub refused the login of {user} to {dbname}: {what}; check the DSN and the "
        "password (hub.password_file, PGPASSWORD or ~/.pgpass)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
