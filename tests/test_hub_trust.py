# SPDX-License-Identifier: GPL-2.0-or-later
"""Nothing lost, nothing forged (issue 15) on a real PostgreSQL hub.

An agent writes to the hub only through ``careline.ingest``; a workstation id
belongs to the agent that first used it; the same (workstation, outbox seq)
with another record is a conflict the sync worker parks, never a "duplicate"
it marks sent; and a non-superuser hub owner (the README's set-up) can reset
an agent's password. Each trust test runs on a hub owned by the cluster's
superuser and on one owned by a plain CREATEROLE role, because RLS and
SECURITY DEFINER behave differently for the two.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from console.core.store import Store
from console.hub.schema import migrate, migrations
from console.hub.sync import SyncWorker, hub_connector
from console.hub_link import sync_label
from tests.pg import Hub, PgCluster, run_async
from tests.test_hub_schema import (
    careline,
    floor_payload,
    ingest,
    interaction_payload,
    record,
    scalar,
    secret_file,
)
from tests.test_sync import AGENT, outbox, take_calls

CONFLICT = "conflict: the hub already holds a different record with this key"
STOLEN_SOURCE = "conflict: this workstation id is already used by another agent on the hub"


class OwnedHub(Hub):
    """A hub whose owner is a login with CREATEROLE and no superuser rights."""

    def __init__(self, cluster: PgCluster, dbname: str, owner: str, password: str) -> None:
        super().__init__(cluster, dbname)
        self.owner = owner
        self.owner_password = password

    @property
    def owner_dsn(self) -> str:
        """The CREATEROLE owner on this database."""
        return self.cluster.dsn(self.owner, self.owner_password, self.dbname)


def _drop(cluster: PgCluster, dbname: str) -> None:
    if not cluster.running:
        cluster.start()
    with psycopg.connect(cluster.superuser_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def _plain_owner(cluster: PgCluster) -> tuple[str, str, str]:
    """(owner role, its password, a database it owns), as the README sets them up."""
    tag = uuid.uuid4().hex[:10]
    owner, password, dbname = f"owner_{tag}", secrets.token_urlsafe(12), f"owned_{tag}"
    if not cluster.running:
        cluster.start()
    with psycopg.connect(cluster.superuser_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(owner), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(owner)
            )
        )
    return owner, password, dbname


@pytest.fixture
def owned_hub(pg_cluster: PgCluster) -> Iterator[OwnedHub]:
    """A fresh hub migrated by a non-superuser CREATEROLE owner; dropped afterwards."""
    owner, password, dbname = _plain_owner(pg_cluster)
    hub = OwnedHub(pg_cluster, dbname, owner, password)

    async def setup() -> None:
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
            await migrate(conn)

    run_async(setup())
    yield hub
    _drop(pg_cluster, dbname)


@pytest.fixture(params=["superuser", "createrole"])
def any_hub(request: pytest.FixtureRequest) -> Hub:
    """The hub owned by the superuser, then the one owned by a CREATEROLE login."""
    name = "hub" if request.param == "superuser" else "owned_hub"
    found: Hub = request.getfixturevalue(name)
    return found


def login(prefix: str) -> str:
    """A login name no other test of the session uses (roles are cluster-wide)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- nothing forged ----------------------------------------------------------


DIRECT_INSERTS = {
    "records": (
        "INSERT INTO careline.records (source, source_seq, kind, entity_id, agent_id, "
        "payload, created_at) VALUES (gen_random_uuid(), 1, 'callback', 'cb', {me}, "
        '\'{{"agent_id": "agent-b"}}\', now())'
    ),
    "interactions": (
        "INSERT INTO careline.interactions (id, agent_id, disposition, urgency, started_at, "
        "ended_at, payload, hub_seq) VALUES (gen_random_uuid(), {me}, 'booked', 'routine', "
        "now(), now(), '{{}}', 1)"
    ),
    "floor_events": (
        "INSERT INTO careline.floor_events (agent_id, kind, payload, at, source, source_seq) "
        "VALUES ({me}, 'agent_state', '[1, 2, 3]', now(), gen_random_uuid(), 1)"
    ),
}


@pytest.mark.parametrize("table", sorted(DIRECT_INSERTS))
@pytest.mark.parametrize("kind", ["agent", "supervisor"])
def test_logins_cannot_insert_into_hub_tables_directly(any_hub: Hub, table: str, kind: str) -> None:
    name = login(kind)
    dsn = any_hub.add_agent(name) if kind == "agent" else any_hub.add_supervisor(name)
    statement = sql.SQL(DIRECT_INSERTS[table]).format(me=sql.Literal(name))
    with (
        psycopg.connect(dsn) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
    ):
        conn.execute(statement)
    assert scalar(any_hub.owner_dsn, f"SELECT count(*) FROM careline.{table}") == 0


def test_ingest_still_stores_and_stamps_the_login(any_hub: Hub) -> None:
    me = login("agent")
    dsn = any_hub.add_agent(me)
    source = uuid.uuid4()
    talk = interaction_payload(me)
    statuses = ingest(
        dsn,
        source,
        [
            record(1, "interaction", talk["id"], talk),
            record(2, "agent_state", me, floor_payload(me)),
            record(3, "callback", "cb-1", {"status": "open"}),
        ],
    )
    assert statuses == [(1, "stored"), (2, "stored"), (3, "stored")]
    with psycopg.connect(dsn) as conn:
        # The agent reads back its own rows, each stamped with its login.
        for table in ("records", "interactions", "floor_events"):
            rows = conn.execute(f"SELECT DISTINCT agent_id FROM careline.{table}").fetchall()
            assert rows == [(me,)], table


def test_a_payload_naming_another_agent_is_rejected(any_hub: Hub) -> None:
    me, other = login("agent"), login("agent")
    dsn = any_hub.add_agent(me)
    any_hub.add_agent(other)
    forged = [
        record(1, "agent_state", other, floor_payload(other)),
        record(2, "interaction", "x", interaction_payload(other)),
        record(3, "callback", "cb", {"agent_id": None}),
        record(4, "callback", "cb", {"agent_id": 7}),
    ]
    statuses = ingest(dsn, uuid.uuid4(), forged)
    assert statuses == [
        (seq, "rejected: payload agent_id is not the logged-in agent") for seq in (1, 2, 3, 4)
    ]
    assert scalar(any_hub.owner_dsn, "SELECT count(*) FROM careline.records") == 0


@pytest.mark.parametrize(
    ("payload", "allowed"),
    [
        ("[1, 2, 3]", False),
        ('"agent-a"', False),
        ('{"agent_id": "agent-b", "availability": "available"}', False),
        ('{"agent_id": null}', False),
        ('{"agent_id": "agent-a", "availability": "available"}', True),
        ('{"call_id": "c-1", "event": "offered"}', True),
    ],
)
def test_floor_events_hold_objects_naming_their_own_agent(
    hub: Hub, payload: str, allowed: bool
) -> None:
    # Even the owner, who may insert directly, cannot store what would crash a
    # wallboard or show one agent's state as another's.
    insert = (
        "INSERT INTO careline.floor_events (agent_id, kind, payload, at, source, source_seq) "
        "VALUES ('agent-a', 'agent_state', %s::jsonb, now(), gen_random_uuid(), 1)"
    )
    with psycopg.connect(hub.owner_dsn) as conn:
        if allowed:
            conn.execute(insert, (payload,))
        else:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(insert, (payload,))


def test_the_hub_owner_may_ingest_for_the_agent_a_payload_names(hub: Hub) -> None:
    # What bench.floor_latency does (owner connection, SET LOCAL ROLE): the
    # rows belong to the agent the payload names, not to the owner.
    agent = login("agent")
    hub.add_agent(agent)
    with psycopg.connect(hub.owner_dsn) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(agent)))
        rows = conn.execute(
            "SELECT status FROM careline.ingest(%s, %s::jsonb)",
            (
                uuid.uuid4(),
                json.dumps([record(1, "agent_state", agent, floor_payload(agent))]),
            ),
        ).fetchall()
    assert rows == [("stored",)]
    assert scalar(hub.owner_dsn, "SELECT agent_id FROM careline.floor_events") == agent


# -- nothing lost ------------------------------------------------------------


def test_another_agent_cannot_take_a_workstation_id(any_hub: Hub) -> None:
    mine, theirs = login("agent"), login("agent")
    mine_dsn, theirs_dsn = any_hub.add_agent(mine), any_hub.add_agent(theirs)
    workstation = uuid.uuid4()
    first = interaction_payload(mine)
    assert ingest(mine_dsn, workstation, [record(1, "interaction", first["id"], first)]) == [
        (1, "stored")
    ]
    # Another agent sends under my workstation id with my next seq…
    squat = ingest(theirs_dsn, workstation, [record(2, "callback", "cb", {"status": "open"})])
    assert squat == [(2, STOLEN_SOURCE + " — cloned workstation or shared store?")]
    # …and my real next record is still stored, not answered "duplicate".
    second = interaction_payload(mine)
    assert ingest(mine_dsn, workstation, [record(2, "interaction", second["id"], second)]) == [
        (2, "stored")
    ]
    assert scalar(any_hub.owner_dsn, "SELECT count(*) FROM careline.interactions") == 2


def test_the_same_key_with_another_record_is_a_conflict(any_hub: Hub) -> None:
    me = login("agent")
    dsn = any_hub.add_agent(me)
    workstation = uuid.uuid4()
    original = interaction_payload(me)
    batch = [
        record(1, "interaction", original["id"], original),
        record(2, "agent_state", me, floor_payload(me)),
    ]
    assert ingest(dsn, workstation, batch) == [(1, "stored"), (2, "stored")]
    # Delivered again as it was (a lost reply): a duplicate, nothing added.
    assert ingest(dsn, workstation, batch) == [(1, "duplicate"), (2, "duplicate")]
    # A restored backup or a clone numbers new records 1 and 2 again.
    restored = interaction_payload(me)
    clash = [
        record(1, "interaction", restored["id"], restored),
        record(2, "agent_state", me, floor_payload(me, availability="not_ready")),
    ]
    answered = ingest(dsn, workstation, clash)
    assert answered == [
        (seq, CONFLICT + " — restored backup or cloned workstation?") for seq in (1, 2)
    ]
    assert scalar(any_hub.owner_dsn, "SELECT count(*) FROM careline.records") == 2
    assert scalar(any_hub.owner_dsn, "SELECT id::text FROM careline.interactions") == original["id"]


def test_an_interaction_id_held_with_another_record_is_a_conflict(any_hub: Hub) -> None:
    me, other = login("agent"), login("agent")
    dsn, other_dsn = any_hub.add_agent(me), any_hub.add_agent(other)
    mine = interaction_payload(me)
    assert ingest(dsn, uuid.uuid4(), [record(1, "interaction", mine["id"], mine)]) == [
        (1, "stored")
    ]
    # The same interaction replayed from another outbox: a duplicate.
    assert ingest(dsn, uuid.uuid4(), [record(9, "interaction", mine["id"], mine)]) == [
        (9, "duplicate")
    ]
    changed = {**mine, "disposition": "booked"}
    theirs = interaction_payload(other, id=mine["id"])
    for dsn_, payload in ((dsn, changed), (other_dsn, theirs)):
        answered = ingest(dsn_, uuid.uuid4(), [record(3, "interaction", mine["id"], payload)])
        assert answered[0][1].startswith("conflict: the hub already holds a different interaction")
    assert scalar(any_hub.owner_dsn, "SELECT disposition FROM careline.interactions") == (
        "refill_requested"
    )


@pytest.fixture
async def clone(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    """Two local stores with the same workstation id, as a cloned disk has."""
    original = await Store.open(tmp_path / "original.db")
    copy = await Store.open(tmp_path / "clone.db")
    workstation = (await original.fetch_all("SELECT id FROM workstation"))[0][0]
    async with copy.transaction() as db:
        await db.execute("UPDATE workstation SET id = ?", (workstation,))
    yield original, copy
    await copy.close()
    await original.close()


async def test_a_cloned_workstation_parks_its_clashing_rows(
    hub: Hub, clone: tuple[Store, Store]
) -> None:
    original, copy = clone
    await take_calls(original, 3)
    await take_calls(copy, 2)
    clashing = [row[0] for row in await copy.fetch_all("SELECT entity_id FROM outbox ORDER BY seq")]
    total = len(await outbox(original))
    connect = hub_connector(hub.add_agent(AGENT))  # one login, two disks
    first, second = (SyncWorker(store, connect, region="US") for store in clone)
    try:
        assert await first.deliver() == total
        assert await second.deliver() == 0
        status = await second.status()
        assert (status.state, status.backlog, status.dead) == ("ok", 0, len(clashing))
        assert status.conflicts == len(clashing)
        assert "CONFLICT" in sync_label(status)[0]  # loud in the status bar
        assert sync_label(status)[1]
        parked = await second.dead_letters()
        assert [item.entity_id for item in parked] == clashing
        assert {item.reason for item in parked} == {
            CONFLICT + " — restored backup or cloned workstation?"
        }
        assert second.answers == {
            "stored": 0,
            "duplicate": 0,
            "rejected": 0,
            "conflict": len(clashing),
        }
        assert all(sent is None for _, sent, *_ in await outbox(copy))
        # Retried, they clash again: still parked, never marked sent.
        assert await second.retry_dead() == len(clashing)
        assert await second.deliver() == 0
        assert (await second.status()).dead == len(clashing)
        # The original re-delivering its own rows is only a duplicate.
        async with original.transaction() as db:
            await db.execute("UPDATE outbox SET sent_at = NULL")
        assert await first.deliver() == total
        assert first.answers["duplicate"] == total
    finally:
        await first.close()
        await second.close()
    kept = await original.fetch_all("SELECT entity_id FROM outbox WHERE kind = 'interaction'")
    with psycopg.connect(hub.owner_dsn) as conn:
        stored = conn.execute("SELECT id::text FROM careline.interactions").fetchall()
    assert sorted(stored) == sorted(kept)


# -- a non-superuser owner -----------------------------------------------------


def test_a_createrole_owner_resets_an_agents_password(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    owner, password, dbname = _plain_owner(pg_cluster)
    agent = login("agent")
    try:
        dsn = pg_cluster.dsn(owner, None, dbname)
        owner_pw = secret_file(tmp_path / "owner.pw", password)
        init = careline("init", "--dsn", dsn, "--password-file", str(owner_pw))
        assert init.returncode == 0, init.stderr
        assert f"version {migrations()[-1].version}" in init.stdout
        results = []
        for n in (1, 2):
            pw = secret_file(tmp_path / f"agent{n}.pw", f"agent-Secret-{n}")
            results.append(
                careline(
                    "add-agent",
                    agent,
                    "--dsn",
                    dsn,
                    "--dsn-password-file",
                    str(owner_pw),
                    "--password-file",
                    str(pw),
                )  # fmt: skip
            )
        assert [result.returncode for result in results] == [0, 0], results[-1].stderr
        assert results[0].stdout.strip() == f"agent {agent} created"
        assert results[1].stdout.strip() == f"agent {agent} updated (new password)"
        with psycopg.connect(pg_cluster.dsn(agent, "agent-Secret-2", dbname)) as conn:
            row = conn.execute("SELECT session_user, pg_has_role('careline_agent', 'MEMBER')")
            assert row.fetchone() == (agent, True)
        with pytest.raises(psycopg.OperationalError, match="authentication failed"):
            psycopg.connect(pg_cluster.dsn(agent, "agent-Secret-1", dbname)).close()
    finally:
        _drop(pg_cluster, dbname)
