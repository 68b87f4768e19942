# SPDX-License-Identifier: GPL-2.0-or-later
"""Teams on the hub: which supervisors reach which agents.

A supervisor reads and writes the evaluations of the agents in the teams they
supervise (``careline.team_members``, migration ``0007_evaluations.sql``), reports
on them, reads their recordings and listens in on their calls (the one rule:
``careline.supervises_agent``, migration ``0011_team_scope.sql``); the hub
owner keeps the teams with ``careline hub team``. A login joins a team in the role
of its group (an agent login as an agent, a supervisor login as a supervisor).
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from console.hub.schema import AGENT_GROUP, SUPERVISOR_GROUP, HubError, check_login_name

_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")


async def set_member(
    conn: psycopg.AsyncConnection[Any], team: str, login: str, *, remove: bool = False
) -> str:
    """Put ``login`` in ``team`` (in its group's role), or take it out; what was done."""
    if not _TEAM.match(team):
        raise HubError("a team name is 1 to 63 letters, digits, spaces, '.', '_' or '-'")
    check_login_name(login)
    if remove:
        cur = await conn.execute(
            "DELETE FROM careline.team_members WHERE team = %s AND login = %s", (team, login)
        )
        return f"{login} left {team}" if cur.rowcount else f"{login} was not in {team}"
    cur = await conn.execute(
        "SELECT pg_has_role(oid, %s, 'MEMBER'), pg_has_role(oid, %s, 'MEMBER') "
        "FROM pg_roles WHERE rolname = %s",
        (AGENT_GROUP, SUPERVISOR_GROUP, login),
    )
    row = await cur.fetchone()
    if row is None or row[0] == row[1]:
        raise HubError(f"{login} is not an agent or supervisor login of this hub")
    role = "agent" if row[0] else "supervisor"
    await conn.execute(
        "INSERT INTO careline.team_members (team, login, role) VALUES (%s, %s, %s) "
        "ON CONFLICT (team, login) DO UPDATE SET role = excluded.role",
        (team, login, role),
    )
    return f"{role} {login} is in {team}"
