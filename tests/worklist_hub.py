# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared by the hub worklist tests: agents with a login, a local store and hub claims;
items, rules and calls written as the hub owner; a zone where it is a given hour now."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import Popen
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from console.core.config import WorklistsConfig
from console.core.store import Store
from console.core.worklists.store import Claim
from console.hub.connection import hub_connector
from console.hub.worklist_claims import HubWorklists
from tests.pg import Hub
from tests.support import ROOT

RULES = WorklistsConfig(caller_id="+12025550100")
NUMBER = "+12025550142"
KNOWN = [f"p{n}" for n in range(150)] + ["week", "night", "both", "old"]
"""The MRNs in every agent's local directory (under a patient id of its own)."""
T = TypeVar("T")


def login(prefix: str) -> str:
    """A login name no other test of the session uses (roles are cluster-wide)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def zone_at(local_hour: int) -> str:
    """An ``Etc/GMT±n`` zone whose local hour is ``local_hour`` now."""
    offset = (local_hour - datetime.now(UTC).hour + 12) % 24 - 12
    if offset == 0:
        return "Etc/GMT"
    # POSIX signs: Etc/GMT-5 is five hours ahead of UTC.
    return f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def owner(hub: Hub, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run ``query`` as the hub owner; its rows (none for a statement without)."""
    with psycopg.connect(hub.owner_dsn) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


async def know(store: Store, prefix: str, mrns: list[str]) -> None:
    """Put the patients ``mrns`` in the local directory, as ``<prefix>:<mrn>``."""
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO patients (id, mrn, given_names, source, updated_at) "
            "VALUES (?, ?, 'Ann', 'test', 'x')",
            [(f"{prefix}:{mrn}", mrn) for mrn in mrns],
        )


def put_items(hub: Hub, *items: dict[str, Any]) -> list[str]:
    """Insert items as the owner (what ``worklist generate --hub`` publishes); their ids."""
    ids = []
    with psycopg.connect(hub.owner_dsn) as conn:
        for item in items:
            row = conn.execute(
                """INSERT INTO careline.worklist_items (list_id, kind, dedupe_key, mrn,
                       reason, script_id, numbers, zones, due_from, due_until, generated_on,
                       max_attempts, spacing_minutes)
                   VALUES (%s, 'appointment_reminder', %s, %s, 'Reminder: check-up',
                       'appointment-reminder-confirmation', %s, %s, current_date,
                       current_date + 1, current_date, %s, %s)
                   RETURNING id""",
                (
                    item.get("list", "reminders"),
                    item.get("key") or f"k-{uuid.uuid4().hex}",
                    item["patient"],
                    list(item.get("numbers", [NUMBER])),
                    list(item.get("zones") or [zone_at(12)]),
                    item.get("max_attempts", 3),
                    item.get("spacing", 0),
                ),
            ).fetchone()
            assert row is not None
            ids.append(str(row[0]))
    return ids


def set_rules(hub: Hub, **values: Any) -> None:
    """Change the floor's calling rules as the owner."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in values.items()
    )
    owner(hub, sql.SQL("UPDATE careline.worklist_rules SET {}").format(assignments).as_string())


class Agent:
    """One console: its agent login, local store and hub claims."""

    def __init__(self, name: str, dsn: str, store: Store, claims: HubWorklists) -> None:
        self.name = name
        self.dsn = dsn
        self.store = store
        self.claims = claims

    async def claim(self) -> Claim | None:
        """The next item this agent may call."""
        return await self.claims.claim_next(self.name, datetime.now(UTC))

    def local(self, mrn: str) -> str:
        """The patient id of ``mrn`` in this agent's local directory."""
        return f"{self.name}:{mrn}"


class Agents:
    """Makes agents on ``hub``: a login, a local store (knowing :data:`KNOWN`) and a
    HubWorklists each; :meth:`close` closes them all."""

    def __init__(self, hub: Hub, folder: Path) -> None:
        self.hub = hub
        self.folder = folder
        self.made: list[Agent] = []

    async def __call__(
        self, prefix: str, rules: WorklistsConfig = RULES, lease_seconds: int | None = None
    ) -> Agent:
        name = login(prefix)
        dsn = self.hub.add_agent(name)
        store = await Store.open(self.folder / f"{name}.sqlite3")
        await know(store, name, KNOWN)
        claims = HubWorklists(store, hub_connector(dsn), rules, lease_seconds=lease_seconds)
        agent = Agent(name, dsn, store, claims)
        self.made.append(agent)
        return agent

    async def close(self) -> None:
        """Close every agent's hub connection and store."""
        for agent in self.made:
            await agent.claims.close()
            await agent.store.close()


async def eventually(probe: Callable[[], Awaitable[T | None]], seconds: float = 30) -> T:
    """``probe()``'s first non-None answer, asked every 0.2 s for up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        found = await probe()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.2)


async def local_directory(path: Path, prefix: str, mrns: list[str]) -> None:
    """A local store at ``path`` whose directory holds ``mrns``."""
    store = await Store.open(path)
    try:
        await know(store, prefix, mrns)
    finally:
        await store.close()


CLAIMER = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from console.core.config import WorklistsConfig
    from console.core.store import Store
    from console.core.worklists.store import Outcome
    from console.hub.connection import hub_connector
    from console.hub.worklist_claims import HubWorklists

    async def main() -> None:
        store = await Store.open(Path(sys.argv[1]))
        rules = WorklistsConfig(
            caller_id="+12025550100", claim_minutes=int(os.environ.get("CLAIM_MINUTES", "15"))
        )
        lease = os.environ.get("LEASE_SECONDS")
        claims = HubWorklists(
            store,
            hub_connector(os.environ["HUB_DSN"]),
            rules,
            lease_seconds=int(lease) if lease else None,
        )
        got = []
        await claims.sync_opt_outs(pull=True)  # connected: ready to start with the others
        print("ready", flush=True)
        sys.stdin.readline()
        if sys.argv[2] == "hold":
            claim = await claims.claim_next("me", datetime.now(UTC))
            print(json.dumps([claim.item_id, claim.token]), flush=True)
            await asyncio.sleep(3600)
        while (claim := await claims.claim_next("me", datetime.now(UTC))) is not None:
            assert await claims.record(claim, Outcome.CONFIRMED, datetime.now(UTC))
            got.append(claim.item_id)
        await claims.close()
        await store.close()
        print(json.dumps(got))

    asyncio.run(main())
    """
)


def start_claimers(
    dsns: list[str], stores: list[Path], mode: str = "work", **settings: int
) -> list[Popen[str]]:
    """Console processes claiming from the hub, each as the login of its DSN, started
    together once every one is connected; ``settings``: ``claim_minutes`` (their
    configuration) and ``lease_seconds`` (shortened for a test)."""
    extra = {name.upper(): str(value) for name, value in settings.items()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(store), mode],
            cwd=ROOT,
            env={**os.environ, "HUB_DSN": dsn, **extra},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for dsn, store in zip(dsns, stores, strict=True)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n", proc.communicate()[1]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return procs
