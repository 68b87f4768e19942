# SPDX-License-Identifier: GPL-2.0-or-later
"""Create, migrate and administer the hub database.

The hub schema is versioned by numbered SQL files in ``migrations/``
(``0001_hub.sql``, ``0002_….sql``); :func:`migrate` applies the missing ones
in order, each in its own transaction, and records them in
``careline.schema_version``. It is safe to run again, and two processes
running it at once wait for each other.

Agents and supervisors log in as their own PostgreSQL roles, members of the
``careline_agent`` / ``careline_supervisor`` group roles the first migration
creates; :func:`add_login` makes (or updates) one. The password reaches the
server only as a SCRAM verifier computed here, so it never appears in a
statement the server could log.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any, Literal

import psycopg
from psycopg import sql

from console.core.records import dataclass

AGENT_GROUP = "careline_agent"
"""Group role every agent login role is a member of."""
SUPERVISOR_GROUP = "careline_supervisor"
"""Group role every supervisor login role is a member of."""
FLOOR_CHANNEL = "careline_floor"
"""NOTIFY channel rung with the new ``seq`` on every insert into ``careline.floor_events``."""
LoginKind = Literal["agent", "supervisor"]
"""Which group a login role joins."""

_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOGIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$")
# Any constant shared by every careline migrate call; only has to be stable.
_MIGRATE_LOCK = 7_202_601

_PRELUDE = """
CREATE SCHEMA IF NOT EXISTS careline;
CREATE TABLE IF NOT EXISTS careline.schema_version (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


class HubError(Exception):
    """The hub cannot be set up as asked; the message is safe to show (no passwords)."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class HubStatus:
    """What ``careline hub status`` reports."""

    version: int
    """The highest applied migration (0: not initialised)."""
    latest: int
    """The highest migration this careline knows."""
    counts: dict[str, int]
    """Rows per table, and login roles per group."""


def migrations() -> list[Migration]:
    """The migrations shipped with careline, in version order."""
    found: list[Migration] = []
    for entry in resources.files("console.hub").joinpath("migrations").iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise HubError(f"hub migrations are not numbered 1..n: {versions}")
    return found


async def current_version(conn: psycopg.AsyncConnection[Any]) -> int:
    """The schema version of the hub ``conn`` is connected to (0 if none)."""
    cur = await conn.execute("SELECT to_regclass('careline.schema_version') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or not row[0]:
        return 0
    cur = await conn.execute("SELECT coalesce(max(version), 0) FROM careline.schema_version")
    row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def migrate(conn: psycopg.AsyncConnection[Any]) -> list[int]:
    """Bring the hub schema and its group roles up to date; returns the versions applied.

    ``conn`` connects as the hub owner: a role that may create schemas in the
    database and roles in the cluster (a superuser, or one with CREATEROLE).
    Each migration runs in its own transaction, so a failure leaves the hub
    at the last good version.
    """
    applied: list[int] = []
    for migration in migrations():
        async with conn.transaction():
            # Serialises concurrent migrate calls; released at commit.
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            await conn.execute(_PRELUDE)
            cur = await conn.execute(
                "SELECT 1 FROM careline.schema_version WHERE version = %s", (migration.version,)
            )
            if await cur.fetchone() is not None:
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO careline.schema_version (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
        applied.append(migration.version)
    return applied


def check_login_name(name: str) -> str:
    """``name`` if it can be an agent or supervisor login role, else :class:`HubError`."""
    if not _LOGIN_NAME.match(name):
        raise HubError(
            "a login name is 1-63 letters, digits, '.', '_', '@' or '-', starting with a "
            "letter or digit"
        )
    if name.lower().startswith(("pg_", "careline_")) or name.lower() == "postgres":
        raise HubError(f"{name!r} is a reserved role name")
    return name


async def add_login(
    conn: psycopg.AsyncConnection[Any], name: str, password: str, kind: LoginKind
) -> bool:
    """Create or update the login role ``name`` as an agent or supervisor.

    Returns True if the role was created, False if it existed and its
    password was replaced. Refuses roles with any administrative attribute
    (superuser, CREATEROLE, CREATEDB, REPLICATION, BYPASSRLS) or that already
    belong to the other group.
    """
    check_login_name(name)
    if not password:
        raise HubError("the password is empty")
    group, other = (
        (AGENT_GROUP, SUPERVISOR_GROUP) if kind == "agent" else (SUPERVISOR_GROUP, AGENT_GROUP)
    )
    cur = await conn.execute(
        "SELECT count(*) FROM pg_roles WHERE rolname IN (%s, %s)", (AGENT_GROUP, SUPERVISOR_GROUP)
    )
    row = await cur.fetchone()
    if row is None or row[0] != 2:
        raise HubError("the hub has no careline roles yet: run `careline hub init` first")
    # The verifier is computed here so the cleartext never reaches the server.
    verifier = conn.pgconn.encrypt_password(
        password.encode("utf-8"), name.encode("utf-8"), b"scram-sha-256"
    ).decode("ascii")
    role = sql.Identifier(name)
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls, "
            "pg_has_role(oid, %s, 'MEMBER') FROM pg_roles WHERE rolname = %s",
            (other, name),
        )
        existing = await cur.fetchone()
        if existing is not None:
            if existing[0]:
                raise HubError(f"role {name!r} is an administrative role; pick another name")
            if existing[1]:
                raise HubError(f"role {name!r} is already a member of {other}")
            # Only what changes: a non-superuser owner (CREATEROLE, as the
            # README sets it up) may not name SUPERUSER in ALTER ROLE, nor
            # CREATEDB without having it (PostgreSQL 16). The role holds none
            # of those attributes: checked just above.
            await conn.execute(
                sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(role, sql.Literal(verifier))
            )
        else:
            await conn.execute(
                sql.SQL(
                    "CREATE ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"
                ).format(role, sql.Literal(verifier))
            )
        await conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role))
    return existing is None


async def status(conn: psycopg.AsyncConnection[Any]) -> HubStatus:
    """Schema version, rows per table and logins per group of the hub."""
    version = await current_version(conn)
    latest = migrations()[-1].version
    counts: dict[str, int] = {}
    if version >= 1:
        for table in ("records", "interactions", "floor_events", "patients"):
            cur = await conn.execute(
                sql.SQL("SELECT count(*) FROM careline.{}").format(sql.Identifier(table))
            )
            row = await cur.fetchone()
            counts[table] = int(row[0]) if row is not None else 0
    for label, group in (("agents", AGENT_GROUP), ("supervisors", SUPERVISOR_GROUP)):
        cur = await conn.execute(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE g.rolname = %s",
            (group,),
        )
        row = await cur.fetchone()
        counts[label] = int(row[0]) if row is not None else 0
    return HubStatus(version=version, latest=latest, counts=counts)
