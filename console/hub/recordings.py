# SPDX-License-Identifier: GPL-2.0-or-later
"""Recordings on the hub for QA: uploaded by the agent's console, read by supervisors.

What goes up is the file as the engine wrote it (still encrypted), its file key
sealed for the QA public key (:mod:`console.core.recordings.sealing`), and plain
metadata: call, queue, mode, times and the timeline's marks (pauses, holds,
transfers: no patient data). Row-level security: an agent inserts and reads its
own; a supervisor reads those of their teams' agents (hub version 11), whose
retention the hub caps. :mod:`console.hub.recording_upload` sends them: one that
cannot go now (no hub, the hub down) is tried again later, one that never can
is marked; the local row says when it went.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from console.core.records import dataclass
from console.hub.recording_upload import upload_pending as upload_pending  # its old home


@dataclass(frozen=True, slots=True)
class HubRecording:
    """One recording as the hub lists it (``data`` only when fetched)."""

    call_id: str
    agent_id: str
    queue: str
    mode: str
    consent_by: str | None
    started_at: datetime
    ended_at: datetime
    seconds: float
    marks: list[dict[str, Any]]
    sealed_key: bytes = b""
    data: bytes = b""


_COLUMNS = "call_id, agent_id, queue, mode, consent_by, started_at, ended_at, seconds, marks"


async def listing(
    conn: psycopg.AsyncConnection[Any],
    *,
    agent: str | None = None,
    queue: str | None = None,
    since: datetime | None = None,
    disposition: str | None = None,
) -> list[HubRecording]:
    """The recordings this login may read (a supervisor: their teams' agents'), newest
    first, filtered;
    ``disposition``: those whose call's interaction (synced to the hub) ended so."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS} FROM careline.recordings AS r "
        "WHERE (%s::text IS NULL OR agent_id = %s) AND (%s::text IS NULL OR queue = %s) "
        "AND (%s::timestamptz IS NULL OR started_at >= %s) "
        "AND (%s::text IS NULL OR EXISTS (SELECT 1 FROM careline.interactions AS i "
        "WHERE i.payload ->> 'call_id' = r.call_id AND i.disposition = %s)) "
        "ORDER BY started_at DESC",
        (agent, agent, queue, queue, since, since, disposition, disposition),
    )
    return [HubRecording(*row) for row in await cursor.fetchall()]


async def fetch(conn: psycopg.AsyncConnection[Any], call_id: str) -> HubRecording | None:
    """One recording with its sealed key and bytes, if this login may read it."""
    cursor = await conn.execute(
        f"SELECT {_COLUMNS}, sealed_key, data FROM careline.recordings WHERE call_id = %s",
        (call_id,),
    )
    row = await cursor.fetchone()
    return HubRecording(*row) if row else None


async def purge_hub(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Delete the hub's recordings past their retention (a supervisor: their teams' agents';
    the owner: all); their call ids."""
    cursor = await conn.execute("SELECT careline.purge_recordings()")
    return [str(row[0]) for row in await cursor.fetchall()]


async def red_flag_times(conn: psycopg.AsyncConnection[Any], call_id: str) -> list[str]:
    """When red flags were raised on a call, from its interaction synced to the hub."""
    cursor = await conn.execute(
        "SELECT flag ->> 'at' FROM careline.interactions AS i, "
        "jsonb_array_elements(CASE WHEN jsonb_typeof(i.payload -> 'red_flags') = 'array' "
        "THEN i.payload -> 'red_flags' ELSE '[]'::jsonb END) AS flag "
        "WHERE i.payload ->> 'call_id' = %s AND flag ->> 'at' IS NOT NULL",
        (call_id,),
    )
    return [str(row[0]) for row in await cursor.fetchall()]
