# SPDX-License-Identifier: GPL-2.0-or-later
"""The hub schema on a real PostgreSQL: ingest, the floor feed, roles and RLS, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from console.core.interactions import FollowUp, Interaction, InteractionStore
from console.core.store import Store
from console.hub.schema import FLOOR_CHANNEL, current_version, migrate, migrations
from tests.pg import Hub, PgCluster, run_async
from tests.support import ROOT

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def interaction_payload(agent: str, patient: str = "patient-7", **changes: Any) -> dict[str, Any]:
    """What the console's outbox carries for an interaction (console.core.interactions)."""
    payload: dict[str, Any] = {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "call_id": None,
        "agent_id": agent,
        "patient_id": patient,
        "started_at": iso(T0),
        "ended_at": iso(T0 + timedelta(minutes=8)),
        "script_id": "refill",
        "script_version": "3",
        "answers": [{"question": "q1", "value": "yes", "at": iso(T0)}],
        "red_flags": [],
        "urgency": "urgent",
        "disposition": "refill_requested",
        "notes": "secret note",
        "form": {},
        "feedback_consent": False,
        "created_at": iso(T0 + timedelta(minutes=9)),
        "callback_id": None,
        "follow_up_ids": [],
    }
    payload.update(changes)
    return payload


def record(seq: int, kind: str, entity: str, payload: Any, created: str | None = None) -> Any:
    return {
        "source_seq": seq,
        "kind": kind,
        "entity_id": entity,
        "payload": payload,
        "created_at": created or iso(T0),
    }


def floor_payload(agent: str, **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "agent_id": agent,
        "availability": "available",
        "reason": "",
        "on_call": False,
        "at": iso(T0 + timedelta(seconds=5)),
    }
    payload.update(changes)
    return payload


def ingest(dsn: str, source: uuid.UUID, records: list[Any]) -> list[tuple[int | None, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT source_seq, status FROM careline.ingest(%s, %s::jsonb)",
            (source, json.dumps(records)),
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def scalar(dsn: str, query: str, *params: Any) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def test_migrate_is_idempotent(hub: Hub) -> None:
    async def again() -> tuple[list[int], int]:
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
            applied = await migrate(conn)
            return applied, await current_version(conn)

    assert run_async(again()) == ([], migrations()[-1].version)
    assert scalar(hub.owner_dsn, "SELECT count(*) FROM careline.schema_version") == len(
        migrations()
    )


def test_ingest_reports_stored_duplicate_and_rejected(hub: Hub) -> None:
    alice = hub.add_agent("alice")
    source = uuid.uuid4()
    good = interaction_payload("alice")
    batch = [
        record(1, "interaction", good["id"], good),
        record(2, "agent_state", "alice", floor_payload("alice")),
        record(3, "shift_swap", "x", {"agent_id": "alice"}),
        record(4, "callback", "cb-1", ["not", "an", "object"]),
        record(5, "audit_head", "head", {"hash": "ab"}, created="yesterday"),
        record(6, "agent_state", "bob", floor_payload("bob")),
        record(7, "interaction", "x", interaction_payload("alice", disposition=None)),
        record(8, "call_event", "call-1", floor_payload("alice", at="2026-13-45T99:00:00Z")),
        record(9, "callback", "cb-2", {"agent_id": "alice", "status": "open"}),
    ]
    statuses = ingest(alice, source, batch)
    assert [seq for seq, _ in statuses] == list(range(1, 10))
    by_seq = dict(statuses)
    assert by_seq[1] == by_seq[2] == by_seq[9] == "stored"
    assert by_seq[3] == "rejected: unknown kind"
    assert by_seq[4] == "rejected: payload is not an object"
    assert by_seq[5] == "rejected: created_at has no time zone"
    assert by_seq[6] == "rejected: payload agent_id is not the logged-in agent"
    assert by_seq[7].startswith("rejected: ")
    assert by_seq[8] == "rejected: at is not a valid time"

    # The whole batch again, as a sync worker retrying after a lost reply does.
    again = dict(ingest(alice, source, batch))
    assert again[1] == again[2] == again[9] == "duplicate"
    assert again[3].startswith("rejected")
    assert scalar(hub.owner_dsn, "SELECT count(*) FROM careline.records") == 3
    assert scalar(hub.owner_dsn, "SELECT count(*) FROM careline.floor_events") == 1
    owner = scalar(hub.owner_dsn, "SELECT array_agg(DISTINCT agent_id) FROM careline.records")
    assert owner == ["alice"]


def test_a_replayed_interaction_is_stored_once(hub: Hub) -> None:
    alice = hub.add_agent("alice")
    payload = interaction_payload("alice")
    first = ingest(alice, uuid.uuid4(), [record(1, "interaction", payload["id"], payload)])
    # The same interaction from a restored outbox: another source, another seq.
    second = ingest(alice, uuid.uuid4(), [record(41, "interaction", payload["id"], payload)])
    assert first == [(1, "stored")]
    assert second == [(41, "duplicate")]
    with psycopg.connect(hub.owner_dsn) as conn:
        rows = conn.execute(
            "SELECT id::text, agent_id, patient_id, disposition, urgency, started_at, ended_at "
            "FROM careline.interactions"
        ).fetchall()
        kept = conn.execute("SELECT count(*) FROM careline.records").fetchone()
    assert rows == [
        (
            payload["id"],
            "alice",
            "patient-7",
            "refill_requested",
            "urgent",
            T0,
            T0 + timedelta(minutes=8),
        )
    ]
    assert kept == (1,)


async def test_the_consoles_own_outbox_rows_ingest(hub: Hub, tmp_path: Path) -> None:
    alice = hub.add_agent("alice")
    store = await Store.open(tmp_path / "s.sqlite3")
    try:
        interactions = InteractionStore(store, lambda: T0 + timedelta(minutes=9))
        done = Interaction(
            call_id=None,
            agent_id="alice",
            patient_id="patient-7",
            started_at=T0,
            ended_at=T0 + timedelta(minutes=8),
            urgency="routine",
            disposition="booked",
        )
        follow = FollowUp(number="+15550100", due_at=T0 + timedelta(days=1), owner="alice")
        await interactions.finish(done, [follow])
        outbox = await interactions.pending_outbox()
    finally:
        await store.close()
    batch = [
        record(row.seq, row.kind, row.entity_id, row.payload, iso(row.created_at)) for row in outbox
    ]
    statuses = run_async(_ingest_async(alice, batch))
    assert [status for _, status in statuses] == ["stored", "stored"]
    assert scalar(hub.owner_dsn, "SELECT id::text FROM careline.interactions") == done.id


async def _ingest_async(dsn: str, batch: list[Any]) -> list[tuple[int, str]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT source_seq, status FROM careline.ingest(%s, %s::jsonb)",
            (uuid.uuid4(), json.dumps(batch)),
        )
        return [(row[0], row[1]) for row in await cur.fetchall()]


def test_floor_events_ring_the_doorbell(hub: Hub) -> None:
    alice = hub.add_agent("alice")
    boss = hub.add_supervisor("boss")
    with psycopg.connect(boss, autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(FLOOR_CHANNEL)))
        source = uuid.uuid4()
        call = floor_payload("alice", event="answered", call_id="c-1")
        statuses = ingest(
            alice,
            source,
            [
                record(1, "agent_state", "alice", floor_payload("alice")),
                record(2, "call_event", "c-1", call),
                record(3, "callback", "cb", {"agent_id": "alice"}),
            ],
        )
        assert [status for _, status in statuses] == ["stored"] * 3
        heard = [note.payload for note in listener.notifies(timeout=5, stop_after=2)]
        rows = listener.execute(
            "SELECT seq, agent_id, kind, at, source, source_seq FROM careline.floor_events "
            "ORDER BY seq"
        ).fetchall()
    assert heard == [str(row[0]) for row in rows]
    assert [(row[1], row[2], row[4], row[5]) for row in rows] == [
        ("alice", "agent_state", source, 1),
        ("alice", "call_event", source, 2),
    ]
    assert rows[0][3] == T0 + timedelta(seconds=5)


def _seed_two_agents(hub: Hub) -> tuple[str, str, str, str]:
    alice = hub.add_agent("alice")
    bob = hub.add_agent("bob")
    boss = hub.add_supervisor("boss")
    a = interaction_payload("alice", notes="alice's note")
    b = interaction_payload("bob", notes="bob's note", started_at=iso(T0 + timedelta(hours=1)))
    for dsn, agent, payload in ((alice, "alice", a), (bob, "bob", b)):
        statuses = ingest(
            dsn,
            uuid.uuid4(),
            [
                record(1, "interaction", payload["id"], payload),
                record(2, "agent_state", agent, floor_payload(agent)),
            ],
        )
        assert [status for _, status in statuses] == ["stored", "stored"]
    return alice, bob, boss, b["id"]


def test_agents_see_only_their_own_rows_and_supervisors_see_all(hub: Hub) -> None:
    alice, _bob, boss, _ = _seed_two_agents(hub)
    for table in ("records", "interactions", "floor_events"):
        query = f"SELECT DISTINCT agent_id FROM careline.{table} ORDER BY 1"
        with psycopg.connect(alice) as conn:
            assert conn.execute(query).fetchall() == [("alice",)], table
        with psycopg.connect(boss) as conn:
            assert conn.execute(query).fetchall() == [("alice",), ("bob",)], table


def test_an_agent_cannot_write_rows_as_another_agent(hub: Hub) -> None:
    # Agents write only through careline.ingest (tests/test_hub_trust.py).
    alice = hub.add_agent("alice")
    hub.add_agent("bob")
    as_bob = (
        "INSERT INTO careline.records (source, source_seq, kind, entity_id, agent_id, "
        "payload, created_at) VALUES (gen_random_uuid(), 1, 'callback', 'cb', 'bob', "
        "'{}', now())",
        "INSERT INTO careline.floor_events (agent_id, kind, payload, at, source, source_seq) "
        "VALUES ('bob', 'agent_state', '{}', now(), gen_random_uuid(), 1)",
    )
    for insert in as_bob:
        with (
            psycopg.connect(alice) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
        ):
            conn.execute(insert)
    assert scalar(hub.owner_dsn, "SELECT count(*) FROM careline.records") == 0


@pytest.mark.parametrize("who", ["alice", "boss"])
@pytest.mark.parametrize("table", ["records", "interactions", "floor_events", "patients"])
@pytest.mark.parametrize(
    "statement",
    ["UPDATE careline.{} SET payload = payload", "DELETE FROM careline.{}", "TRUNCATE careline.{}"],
)
def test_nobody_but_the_owner_changes_history(
    hub: Hub, who: str, table: str, statement: str
) -> None:
    _seed_two_agents(hub)
    if table == "patients":
        statement = statement.replace("payload = payload", "resource = resource")
    dsn = hub.dsn(who)
    with (
        psycopg.connect(dsn) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
    ):
        conn.execute(statement.format(table))
    kept = {"records": 4, "interactions": 2, "floor_events": 2, "patients": 0}[table]
    assert scalar(hub.owner_dsn, f"SELECT count(*) FROM careline.{table}") == kept


def test_recent_interactions_for_patient_shows_others_without_notes(hub: Hub) -> None:
    alice, _bob, _boss, _ = _seed_two_agents(hub)
    with psycopg.connect(alice) as conn:
        cur = conn.execute(
            "SELECT * FROM careline.recent_interactions_for_patient(%s, %s)", ("patient-7", 10)
        )
        rows = cur.fetchall()
        columns = [column.name for column in cur.description or []]
        other = conn.execute(
            "SELECT count(*) FROM careline.recent_interactions_for_patient('patient-9', 10)"
        ).fetchone()
    assert columns == ["at", "agent_id", "disposition", "urgency"]
    assert rows == [
        (T0 + timedelta(hours=1), "bob", "refill_requested", "urgent"),
        (T0, "alice", "refill_requested", "urgent"),
    ]
    assert "note" not in repr(rows)
    assert other == (0,)


def test_patients_directory_is_shared_and_an_upsert_moves_the_seq(hub: Hub) -> None:
    alice = hub.add_agent("alice")
    upsert = (
        "INSERT INTO careline.patients (resource_type, resource_id, resource) "
        "VALUES (%s, %s, %s::jsonb) ON CONFLICT (resource_type, resource_id) "
        "DO UPDATE SET resource = EXCLUDED.resource RETURNING seq"
    )
    with psycopg.connect(hub.owner_dsn) as conn:
        first = conn.execute(upsert, ("Patient", "p1", '{"v": 1}')).fetchone()
        conn.execute(upsert, ("Patient", "p2", '{"v": 1}'))
        moved = conn.execute(upsert, ("Patient", "p1", '{"v": 2}')).fetchone()
    assert first is not None
    assert moved is not None
    assert moved[0] > first[0] + 1
    with psycopg.connect(alice) as conn:
        rows = conn.execute(
            "SELECT resource_id, resource FROM careline.patients ORDER BY seq"
        ).fetchall()
    assert rows == [("p2", {"v": 1}), ("p1", {"v": 2})]


# -- careline hub ---------------------------------------------------------------


def careline(*argv: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "console", "hub", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def test_cli_init_add_agent_and_status(pg_cluster: PgCluster, tmp_path: Path) -> None:
    dbname = f"cli_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_cluster.superuser_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        dsn = pg_cluster.dsn(pg_cluster.superuser, None, dbname)
        owner_pw = secret_file(tmp_path / "owner.pw", pg_cluster.superuser_password)
        agent_pw = secret_file(tmp_path / "carol.pw", "carol-Secret-1")

        init = careline("init", "--dsn", dsn, "--password-file", str(owner_pw))
        assert init.returncode == 0, init.stderr
        latest = migrations()[-1].version
        assert f"version {latest}" in init.stdout
        again = careline("init", "--dsn", dsn, password=pg_cluster.superuser_password)
        assert (again.returncode, again.stdout.strip()) == (
            0,
            f"hub schema already at version {latest}",
        )

        add = careline(
            "add-agent", "carol", "--dsn", dsn, "--dsn-password-file", str(owner_pw),
            "--password-file", str(agent_pw),
        )  # fmt: skip
        assert add.returncode == 0, add.stderr
        with psycopg.connect(pg_cluster.dsn("carol", "carol-Secret-1", dbname)) as conn:
            row = conn.execute("SELECT pg_has_role('careline_agent', 'MEMBER')").fetchone()
        assert row == (True,)

        status = careline("status", "--dsn", dsn, "--password-file", str(owner_pw))
        assert status.returncode == 0, status.stderr
        assert f"schema version {latest}" in status.stdout
        assert "records:" in status.stdout

        wrong = secret_file(tmp_path / "wrong.pw", "not-the-password")
        denied = careline("status", "--dsn", dsn, "--password-file", str(wrong))
        assert denied.returncode == 4
        assert "authentication failed" in denied.stderr

        loose = secret_file(tmp_path / "loose.pw", "carol-Secret-2", mode=0o644)
        refused = careline(
            "add-agent", "carol", "--dsn", dsn, "--password-file", str(loose),
            password=pg_cluster.superuser_password,
        )  # fmt: skip
        assert refused.returncode == 2
        assert "chmod 600" in refused.stderr

        down = careline("status", "--dsn", pg_cluster.dsn("x", None, dbname).replace(
            f"port={pg_cluster.port}", "port=1"), password="x")  # fmt: skip
        assert down.returncode == 3
        assert "cannot connect" in down.stderr

        bad = careline("status", "--dsn", "host=127.0.0.1 password=hunter2 =oops")
        assert bad.returncode == 2

        everything = "".join(
            result.stdout + result.stderr
            for result in (init, again, add, status, denied, refused, down, bad)
        )
        for secret in (pg_cluster.superuser_password, "carol-Secret", "hunter2", "not-the-pass"):
            assert secret not in everything
        assert "Traceback" not in everything
    finally:
        with psycopg.connect(pg_cluster.superuser_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
