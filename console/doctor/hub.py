# SPDX-License-Identifier: GPL-2.0-or-later
"""The central hub (connection, schema, login) and the clock compared with it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from datetime import datetime

from console.core.config import CarelineConfig, ConfigError
from console.doctor.check import Check, Findings

HUB_TIMEOUT = 5.0
"""How long the hub may take to accept a connection and answer."""
CLOCK_TOLERANCE = 2.0
"""Seconds the local clock may differ from the hub's."""


async def check_hub(config: CarelineConfig, found: Findings) -> Check:
    import psycopg

    from console.core.config import hub_password
    from console.hub.schema import current_version, migrations
    from console.hub.sync import hub_connector

    if not config.hub.dsn:
        return Check("hub", "skip", "no hub configured (hub.dsn)")
    try:
        password = hub_password(config)
    except ConfigError as exc:
        return Check("hub", "fail", str(exc), "correct hub.password_file")
    found.secrets.append(password)
    target = _hub_target(config.hub.dsn)
    connect = hub_connector(config.hub.dsn, password or None, connect_timeout=int(HUB_TIMEOUT))
    try:
        async with asyncio.timeout(HUB_TIMEOUT + 1):
            conn = await connect()
    except TimeoutError:
        return Check("hub", "fail", f"cannot connect to {target}: timed out", HUB_CONNECT_FIX)
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "authentication failed" in text or "no password supplied" in text:
            return Check(
                "hub",
                "fail",
                f"{target}: authentication failed",
                "check the hub password (hub.password_file, mode 0600, or the variable named "
                "by hub.password_env); a supervisor can reset it with careline hub add-agent",
            )
        return Check("hub", "fail", f"cannot connect to {target}: {text}", HUB_CONNECT_FIX)
    try:
        async with asyncio.timeout(HUB_TIMEOUT):
            version = await current_version(conn)
            before = time.time()
            cur = await conn.execute("SELECT now(), session_user")
            row = await cur.fetchone()
            after = time.time()
    finally:
        await conn.close()
    if row is not None and isinstance(row[0], datetime):
        found.hub_now = row[0]
        found.hub_offset = (before + after) / 2 - row[0].timestamp()
    shipped = max((m.version for m in migrations()), default=0)
    if version < shipped:
        return Check(
            "hub",
            "fail",
            f"{target}: hub schema version {version}, this careline needs {shipped}",
            "ask your administrator to run careline hub init against the hub",
        )
    login = str(row[1]) if row is not None else config.agent.id
    if login != config.agent.id:
        # The hub stamps every record with the login and refuses a payload
        # naming anyone else: nothing this console sends would be stored.
        return Check(
            "hub",
            "fail",
            f"{target}: logs in as {login!r} but this console's agent.id is "
            f"{config.agent.id!r}: the hub refuses every record it sends",
            f"set agent.id: {login} in the config if this console is {login}'s, else "
            f"user={config.agent.id} in hub.dsn (with that login's password)",
        )
    return Check("hub", "ok", f"{target}: schema version {version}, agent {login}")


HUB_CONNECT_FIX = (
    "check hub.dsn (host, port, dbname), that the hub server is up, "
    "and that this machine may reach it"
)


def _hub_target(dsn: str) -> str:
    """``user@host:port/dbname`` from a DSN, never its password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(dsn)
    except Exception:
        return "the hub"
    user = params.get("user") or ""
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or ""
    return f"{user}{'@' if user else ''}{host}:{port}/{dbname}"


# ------------------------------------------------------------------- clock
async def check_clock(found: Findings) -> Check:
    if found.hub_offset is not None:
        offset = found.hub_offset
        text = f"{abs(offset):.2f} s {'ahead of' if offset > 0 else 'behind'} the hub"
        if abs(offset) > CLOCK_TOLERANCE:
            return Check(
                "clock",
                "warn",
                text,
                "turn on time synchronisation (sudo timedatectl set-ntp true) here or on the hub",
            )
        return Check("clock", "ok", text)
    tool = shutil.which("timedatectl")
    if tool is None:
        return Check("clock", "skip", "no hub to compare with and no timedatectl")
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [tool, "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("clock", "skip", f"timedatectl did not answer ({type(exc).__name__})")
    answer = done.stdout.strip()
    if done.returncode != 0 or answer not in {"yes", "no"}:
        return Check("clock", "skip", "no hub to compare with; timedatectl has no answer here")
    if answer == "no":
        return Check(
            "clock",
            "warn",
            "the system clock is not synchronised (NTP)",
            "sudo timedatectl set-ntp true",
        )
    return Check("clock", "ok", "synchronised by NTP (timedatectl)")
