# SPDX-License-Identifier: GPL-2.0-or-later
"""The EHR directory sync into the hub: one sync feeds every console.

:class:`HubDirectorySink` is the :class:`~console.core.ehr.directory_sync.DirectorySink`
the hub owner's ``careline patients sync --hub`` writes to: each page's
resources go into ``careline.patients`` as the EHR sent them (upserted by type
and id; a resource that did not change keeps its seq, so consoles do not pull
it again), and the type's cursor into ``careline.ehr_sync`` (hub migration
0003), in one hub transaction. Consoles get the resources through their
normal pull (:meth:`console.hub.sync.SyncWorker.pull`); any host with the
owner's login can go on with a run another one left unfinished.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

from console.core.ehr.directory_state import Accepted, Cursor, DirectoryWriteError, cursor_from
from console.hub.connection import describe_failure

_UPSERT = """
INSERT INTO careline.patients (resource_type, resource_id, resource)
VALUES (%s, %s, %s::jsonb)
ON CONFLICT (resource_type, resource_id) DO UPDATE SET resource = EXCLUDED.resource
WHERE careline.patients.resource IS DISTINCT FROM EXCLUDED.resource
"""
_CURSOR = """
INSERT INTO careline.ehr_sync (resource_type, since, run, updated_at)
VALUES (%s, %s, %s::jsonb, now())
ON CONFLICT (resource_type) DO UPDATE
SET since = EXCLUDED.since, run = EXCLUDED.run, updated_at = EXCLUDED.updated_at
"""


class HubDirectorySink:
    """``careline.patients`` and ``careline.ehr_sync`` on a hub connection of its owner."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def cursor(self, resource_type: str) -> Cursor:
        """The type's cursor kept in the hub."""
        try:
            async with self._conn.transaction(), self._conn.cursor() as cur:
                await cur.execute(
                    "SELECT since, run FROM careline.ehr_sync WHERE resource_type = %s",
                    (resource_type,),
                )
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise _write_error(exc) from None
        if row is None:
            return Cursor()
        since, run = row
        return cursor_from(since, json.dumps(run) if run is not None else None)

    async def commit(self, resource_type: str, page: Sequence[Accepted], cursor: Cursor) -> None:
        """The page's resources and the cursor, in one hub transaction."""
        rows = [(item.resource_type, item.resource_id, json.dumps(item.resource)) for item in page]
        run = cursor.run.to_json() if cursor.run is not None else None
        try:
            async with self._conn.transaction(), self._conn.cursor() as cur:
                if rows:
                    await cur.executemany(_UPSERT, rows)
                await cur.execute(_CURSOR, (resource_type, cursor.since, run))
        except psycopg.Error as exc:
            raise _write_error(exc) from None


def _write_error(exc: psycopg.Error) -> DirectoryWriteError:
    if isinstance(exc, psycopg.errors.UndefinedTable):
        text = "the hub has no EHR sync table yet: run `careline hub init` first"
    elif isinstance(exc, psycopg.errors.InsufficientPrivilege):
        text = "only the hub's owner may write the patient directory (--dsn as the owner)"
    else:
        text = describe_failure(exc)
    return DirectoryWriteError(text, unavailable=isinstance(exc, psycopg.OperationalError))
