# SPDX-License-Identifier: GPL-2.0-or-later
"""Monitor grants in the hub: a supervisor makes one, the agent's console uses it up once.

The table and its rules are hub migration 0009 (``monitor_grants``): only a
supervisor login inserts (the supervisor column is the login), a grant is bound
to one agent and one call, lives at most five minutes, and the agent's side uses
it through ``careline.use_monitor_grant``, which decides by the hub's clock and
marks it used. Since version 11 the agent must be in one of the supervisor's
teams, when the grant is made and again when it is used (``not_supervisor``
otherwise). :class:`HubGrants` is the agent console's
:class:`console.core.monitoring.GrantBook` on the hub.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Any

import psycopg

from console.core.monitor_grants import (
    GRANT_SECONDS,
    GrantRefusedError,
    MonitorGrant,
    checked_modes,
    new_grant_id,
)
from console.hub.connection import Connect, close_quietly

REFUSALS_FROM_HUB = frozenset(
    {
        "unknown_grant",
        "other_agent",
        "used",
        "expired",
        "not_supervisor",
        "other_call",
        "mode_not_granted",
    }
)
"""The outcomes of ``careline.use_monitor_grant`` other than ``ok``."""


async def make_hub_grant(
    conn: psycopg.AsyncConnection[Any],
    *,
    agent_id: str,
    call_id: str,
    modes: Iterable[str],
    seconds: int = GRANT_SECONDS,
) -> str:
    """Make a grant as the supervisor logged in on ``conn``; returns its id."""
    grant_id = new_grant_id()
    await conn.execute(
        "INSERT INTO careline.monitor_grants (id, agent_id, call_id, modes, expires_at) "
        "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))",
        (grant_id, agent_id, call_id, list(checked_modes(modes)), seconds),
    )
    return grant_id


class HubGrants:
    """Uses grants up in the hub for the agent logged in by ``connect``."""

    def __init__(self, connect: Connect, agent_id: str) -> None:
        self._connect = connect
        self._agent_id = agent_id

    async def verify(self, grant_id: str, mode: str, live_calls: Collection[str]) -> MonitorGrant:
        """The grant if the hub lets it in (it is used up then); GrantRefusedError if not.

        A hub that cannot be reached refuses too (``unknown_grant``): nobody listens in
        on a grant nobody could check.
        """
        conn = None
        try:
            conn = await self._connect()
            cur = await conn.execute(
                "SELECT outcome, supervisor, call_id, modes "
                "FROM careline.use_monitor_grant(%s, %s, %s)",
                (grant_id, mode, list(live_calls)),
            )
            row = await cur.fetchone()
        except (psycopg.Error, OSError, TimeoutError):
            raise GrantRefusedError("unknown_grant") from None
        finally:
            await close_quietly(conn)
        if row is None or row[0] != "ok":
            outcome = row[0] if row is not None else ""
            raise GrantRefusedError(outcome if outcome in REFUSALS_FROM_HUB else "unknown_grant")
        now = datetime.now(UTC)
        return MonitorGrant(
            id=grant_id,
            agent_id=self._agent_id,
            call_id=str(row[2]),
            modes=checked_modes(row[3]),
            supervisor=str(row[1]),
            created_at=now,
            expires_at=now,
        )
