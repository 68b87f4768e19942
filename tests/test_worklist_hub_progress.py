# SPDX-License-Identifier: GPL-2.0-or-later
"""Supervisors' worklist progress with a hub: the floor's items on the hub (every
console's work), not this machine's local store, in ``careline queue tail --json``, on
the wallboard and in ``careline worklist status|export --hub``; on a real PostgreSQL
(tests/pg.py). Without a hub the local store's are counted
(tests/test_worklist_progress.py)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.core.worklists.calling import Blocker
from console.core.worklists.store import Outcome
from console.floor_view.source import HubFloor
from console.floor_view.worklists import WorklistProgress
from tests.careline_cli import careline
from tests.pg import Hub, run_async
from tests.support import ROOT
from tests.test_worklist_progress import _demo_store, wallboard_rows
from tests.worklist_hub import Agent, Agents, owner, put_items


@pytest.fixture
async def agents(hub: Hub, tmp_path: Path) -> AsyncIterator[Agents]:
    """Make agents on the test's hub (closed after the test)."""
    made = Agents(hub, tmp_path)
    yield made
    await made.close()


async def work(agent: Agent, *outcomes: Outcome) -> None:
    """Claim and settle one item per outcome, as a console working the list does."""
    for outcome in outcomes:
        claim = await agent.claim()
        assert claim is not None
        assert await agent.claims.record(claim, outcome, datetime.now(UTC))


async def floor(hub: Hub, agents: Agents) -> None:
    """Two lists on the hub, worked by two consoles: reminders 2 done (1 reached and
    confirmed), 1 held by bob, 1 left and 1 expired (closed by the first claim, which
    met it first); refills 1 opted out (reached), 1 left."""
    put_items(hub, *({"patient": f"p{n}"} for n in range(5)))
    put_items(hub, {"patient": "p5", "list": "refills"}, {"patient": "p6", "list": "refills"})
    owner(
        hub,
        "UPDATE careline.worklist_items SET due_until = '2000-01-01' WHERE mrn = 'p4'",
    )
    alice: Agent = await agents("alice")
    bob: Agent = await agents("bob")
    await work(alice, Outcome.CONFIRMED, Outcome.WRONG_NUMBER)
    assert await bob.claims.claim_next(bob.name, datetime.now(UTC), "reminders") is not None
    claim = await bob.claims.claim_next(bob.name, datetime.now(UTC), "refills")
    assert claim is not None
    assert await bob.claims.record(claim, Outcome.OPTED_OUT, datetime.now(UTC))


EXPECTED = [
    # list, done, remaining, reached, confirmed, opted out, blocked
    WorklistProgress("refills", 1, 1, 1, 0, 1, 0),
    WorklistProgress("reminders", 2, 2, 1, 1, 0, 1),
]


async def test_the_hubs_progress_counts_every_consoles_items(hub: Hub, agents: Agents) -> None:
    await floor(hub, agents)
    source = HubFloor(hub.add_supervisor("sup"))
    try:
        assert await source.worklist_progress() == EXPECTED
    finally:
        await source.close()


async def test_an_agent_login_counts_only_what_row_level_security_shows_it(
    hub: Hub, agents: Agents
) -> None:
    """The wallboard is the supervisors': an agent's login sees its own held items only,
    as it sees only its own floor events."""
    await floor(hub, agents)
    source = HubFloor(agents.made[1].dsn)
    try:
        assert await source.worklist_progress() == [WorklistProgress("reminders", 0, 1, 0, 0, 0, 0)]
    finally:
        await source.close()


def test_queue_tail_json_with_a_hub_prints_the_hubs_progress_not_the_local_one(
    hub: Hub, tmp_path: Path
) -> None:
    async def worked() -> None:
        agents = Agents(hub, tmp_path)
        try:
            await floor(hub, agents)
        finally:
            await agents.close()

    run_async(worked())
    hub.add_supervisor("sup")
    path = tmp_path / "local.db"
    _demo_store(path)  # the demo's own list, in this machine's store: not the floor's
    tail = subprocess.Popen(
        [sys.executable, "-m", "console", "queue", "tail", "--json"],
        cwd=ROOT,
        env={
            **os.environ,
            "CARELINE_STORE__PATH": str(path),
            # A hub configured as a console's is: the DSN without, the password beside.
            "CARELINE_HUB__DSN": hub.cluster.dsn("sup", None, hub.dbname),
            "CARELINE_HUB_PASSWORD": hub.passwords["sup"],
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def line() -> dict[str, Any]:
        assert tail.stdout is not None
        text = tail.stdout.readline()
        if not text:  # the tail ended: say why
            tail.wait(10)
            assert tail.stderr is not None
            pytest.fail(f"queue tail ended ({tail.returncode}): {tail.stderr.read()}")
        found: dict[str, Any] = json.loads(text)
        return found

    try:
        lines = [line() for _ in EXPECTED]
        assert [line["kind"] for line in lines] == ["worklist_progress"] * 2
        counts = [
            WorklistProgress(*(line[k] for k in WorklistProgress.__dataclass_fields__))
            for line in lines
        ]
        assert counts == EXPECTED
        # Another console settles the held item: the tail follows the hub.
        owner(
            hub,
            "UPDATE careline.worklist_items SET state = 'done', outcome = 'confirmed', "
            "claimed_by = NULL, claim_token = NULL, claimed_at = NULL, claim_expires_at = NULL "
            "WHERE state = 'claimed'",
        )
        changed = line()
        assert (changed["list_id"], changed["done"], changed["confirmed"]) == ("reminders", 3, 2)
    finally:
        tail.terminate()
        tail.wait(10)


async def test_the_wallboard_with_a_hub_shows_the_hubs_worklists(hub: Hub, agents: Agents) -> None:
    from console.floor_view.app import SupervisorApp

    await floor(hub, agents)
    dsn = hub.add_supervisor("sup")

    async def open_source() -> HubFloor:
        return HubFloor(dsn)

    app = SupervisorApp(open_source, refresh_s=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        rows = await wallboard_rows(pilot, bool)
        assert app.query_one("#worklists").display
        assert rows == [list(p.cells()) for p in EXPECTED]


async def test_a_hub_without_readable_worklists_shows_none_and_goes_on(hub: Hub) -> None:
    """A hub not upgraded yet (or a login that may not read the items): no progress, one
    notice, and the floor's events still come."""
    owner(hub, "DROP TABLE careline.worklist_items CASCADE")
    news: list[str] = []
    source = HubFloor(hub.add_supervisor("sup"), on_status=news.append)
    try:
        assert await source.worklist_progress() == []
        assert await source.worklist_progress() == []
        assert len(news) == 1
        assert news[0].startswith("worklist progress unavailable")
        assert await source.last_seq() == 0
    finally:
        await source.close()


def supervisor_password_file(hub: Hub, folder: Path, name: str) -> Path:
    """A 0600 file with ``name``'s hub password (``--password-file``)."""
    secret = folder / f"{name}.pw"
    secret.write_text(hub.passwords[name] + "\n", encoding="utf-8")
    secret.chmod(0o600)
    return secret


def hub_cli(hub: Hub, folder: Path, login: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``careline worklist ARGS --hub`` as ``login``, its password in a file."""
    return careline(
        "worklist",
        *args,
        "--hub",
        "--dsn",
        hub.cluster.dsn(login, None, hub.dbname),
        "--password-file",
        str(supervisor_password_file(hub, folder, login)),
    )


async def test_worklist_status_and_export_read_the_hubs_items_as_a_supervisor(
    hub: Hub, agents: Agents, tmp_path: Path
) -> None:
    await floor(hub, agents)
    hub.add_supervisor("sup")
    shown = await asyncio.to_thread(hub_cli, hub, tmp_path, "sup", "status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    start = lines.index("reminders: 5 items, 1 offerable now, 1 claimed")
    assert lines[start + 1 : start + 4] == [
        f"  blocked expired: 1 ({Blocker.EXPIRED.words})",
        "  done confirmed: 1",
        "  done wrong_number: 1",
    ]
    assert "refills: 2 items, 1 offerable now, 0 claimed" in lines
    exported = await asyncio.to_thread(hub_cli, hub, tmp_path, "sup", "export", "--format", "json")
    rows = json.loads(exported.stdout)
    assert len(rows) == 7
    assert [r["blocked_by"] for r in rows if r["list_id"] == "reminders"].count("expired") == 1
    # Counts and codes: no MRN, number or reason of the hub's items.
    assert not {"p0", "+12025550142", "Reminder: check-up"} & {
        str(v) for r in rows for v in r.values()
    }
    # An agent's login sees only what it holds: refused, not shown an empty floor.
    refused = await asyncio.to_thread(hub_cli, hub, tmp_path, agents.made[0].name, "status")
    assert refused.returncode == 1
    assert "supervisor" in refused.stderr
    usage = careline("worklist", "status", "--hub")
    assert usage.returncode == 2
