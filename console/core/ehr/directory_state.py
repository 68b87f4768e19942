# SPDX-License-Identifier: GPL-2.0-or-later
"""Where a directory sync has got to, and where its pages go.

A :class:`DirectorySink` writes a page of resources and the type's
:class:`Cursor` (its committed ``since``, and the :class:`RunState` of an
unfinished run) in one transaction; :class:`LocalDirectorySink` is the agent's
local store (``sync_state`` keys ``ehr_since:<Type>`` and ``ehr_run:<Type>``),
``console.hub.ehr_sync`` the hub. The run itself is
:mod:`console.core.ehr.directory_sync`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from console.core.patients.directory import write_items
from console.core.patients.records import ImportItem, ImportSummary
from console.core.records import dataclass
from console.core.store import Store, StoreError

if TYPE_CHECKING:  # httpx loads with the client, when a sync runs, not with the CLI
    from console.core.ehr.client import Resource

_SINCE_KEY = "ehr_since:"
_RUN_KEY = "ehr_run:"


class DirectoryWriteError(Exception):
    """The sink (the local store or the hub) could not write a page; nothing of it was
    written. ``str()`` is a sentence without patient data."""

    def __init__(self, message: str, *, unavailable: bool) -> None:
        super().__init__(message)
        self.unavailable = unavailable
        """True: unreachable or failing (try later); False: it refused (fix something)."""


@dataclass(frozen=True, slots=True)
class RunState:
    """Where an unfinished run of one type has got to (committed with each page)."""

    since: str | None
    """The run's own cursor (None: a full sync)."""
    next_since: str
    """The cursor the type gets once the run's last page is committed."""
    next_url: str
    """The next page to fetch."""
    pages: int
    """Pages committed so far."""
    fetched: int
    """Resources read so far."""

    def to_json(self) -> str:
        """As stored."""
        return json.dumps(
            {
                "since": self.since,
                "next_since": self.next_since,
                "next_url": self.next_url,
                "pages": self.pages,
                "fetched": self.fetched,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> RunState | None:
        """A stored state, or None when it does not read as one (then the run starts over)."""
        try:
            value = json.loads(text)
            state = cls(
                since=value["since"],
                next_since=value["next_since"],
                next_url=value["next_url"],
                pages=value["pages"],
                fetched=value["fetched"],
            )
        except (ValueError, TypeError, KeyError):
            return None
        ok = (
            (state.since is None or _parse_instant(state.since) is not None)
            and _parse_instant(state.next_since) is not None
            and isinstance(state.next_url, str)
            and all(isinstance(n, int) and n >= 0 for n in (state.pages, state.fetched))
        )
        return state if ok else None


@dataclass(frozen=True, slots=True)
class Cursor:
    """What a sink remembers of one type."""

    since: str | None = None
    """Resources updated from this instant on are fetched next (None: all of them)."""
    run: RunState | None = None
    """An unfinished run, to go on with."""


@dataclass(frozen=True, slots=True, repr=False)
class Accepted:
    """A resource read well: as the EHR sent it (the hub keeps that) and as a record
    (the local directory keeps that)."""

    resource_type: str
    resource_id: str
    resource: Resource
    record: ImportItem

    def __repr__(self) -> str:
        return f"Accepted({self.resource_type})"


class DirectorySink(Protocol):
    """Where synced resources go, with the cursors."""

    async def cursor(self, resource_type: str) -> Cursor:
        """The type's cursor and unfinished run."""
        ...

    async def commit(self, resource_type: str, page: Sequence[Accepted], cursor: Cursor) -> None:
        """Write ``page`` and make ``cursor`` the type's, in one transaction;
        :class:`DirectoryWriteError` when it cannot (then neither is written)."""
        ...


def instant_text(moment: datetime) -> str:
    """A UTC FHIR instant with milliseconds, as a cursor is kept and searched with."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_instant(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def cursor_from(since: str | None, run: str | None) -> Cursor:
    """A cursor from its stored texts (an unreadable one counts as none: the sync
    starts that type over, which costs time, never data)."""
    return Cursor(
        since=since if _parse_instant(since) is not None else None,
        run=RunState.from_json(run) if run is not None else None,
    )


class LocalDirectorySink:
    """The agent's local store: records through the directory's upserts, cursors in
    ``sync_state`` (``ehr_since:<Type>``, ``ehr_run:<Type>``)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.summary = ImportSummary()
        """What the directory writes added up (patients new and updated, other resources)."""

    async def cursor(self, resource_type: str) -> Cursor:
        """The type's stored cursor."""
        rows = await self._store.fetch_all(
            "SELECT key, value FROM sync_state WHERE key IN (?, ?)",
            (_SINCE_KEY + resource_type, _RUN_KEY + resource_type),
        )
        values = {str(key): str(value) for key, value in rows}
        return cursor_from(
            values.get(_SINCE_KEY + resource_type), values.get(_RUN_KEY + resource_type)
        )

    async def commit(self, resource_type: str, page: Sequence[Accepted], cursor: Cursor) -> None:
        """The page's records and the cursor, in one transaction."""
        try:
            async with self._store.transaction() as db:
                written = await write_items(db, [item.record for item in page])
                for key, value in (
                    (_SINCE_KEY + resource_type, cursor.since),
                    (_RUN_KEY + resource_type, cursor.run.to_json() if cursor.run else None),
                ):
                    if value is None:
                        await db.execute("DELETE FROM sync_state WHERE key = ?", (key,))
                    else:
                        await db.execute(
                            "INSERT INTO sync_state (key, value) VALUES (?, ?) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            (key, value),
                        )
        except StoreError as exc:
            raise DirectoryWriteError(str(exc), unavailable=False) from None
        self.summary.add(written)
