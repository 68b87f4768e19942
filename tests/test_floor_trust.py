# SPDX-License-Identifier: GPL-2.0-or-later
"""Floor rows are untrusted: a bad payload or one naming another agent is shown as bad.

``queue tail`` and ``supervise`` read rows any agent (or anyone with the hub
owner's rights) wrote. A row whose payload is not what :mod:`console.core.floor`
publishes must neither crash them nor show anything from its content; a row
whose payload names another agent than the login that wrote it must not
change that other agent on the wallboard.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from console.cli.floor import source_opener
from console.core.config import CarelineConfig
from console.core.store import Store
from console.floor_view.app import SupervisorApp, create_supervisor
from tests.pg import Hub
from tests.support import ROOT
from tests.test_queue_tail import read_lines
from tests.test_supervise import NOW, call_payload, cells, make, settle, state_payload, z

pytestmark = pytest.mark.usefixtures("utc_local_time")

SECRET = "PATIENT-SECRET-7731"
"""Stands for patient data in a bad payload: it must never be printed."""


def state(agent: str, name: str, availability: str = "available", **extra: Any) -> dict[str, Any]:
    return state_payload(agent, name, availability, 30, **extra)


def call(agent: str, call_id: str, event: str, **extra: Any) -> dict[str, Any]:
    return call_payload(agent, call_id, event, 20, "nurse", **extra)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


BAD_ROWS: list[tuple[str, str]] = [
    ("agent_state", "[1, 2, 3]"),
    ("agent_state", json.dumps(SECRET)),
    ("call_event", "null"),
    ("agent_state", json.dumps(state("alice", "Alice", team={"x": [[SECRET]]}))),
    ("agent_state", '{"agent_id": "alice", "availability": "available", "x": ' + deep(3000) + "}"),
    ("agent_state", json.dumps(state("alice", SECRET * 20000))),
    ("call_event", json.dumps(call("alice", "c9", "answered", wait_s=SECRET))),
    ("agent_state", json.dumps(state("alice", "Alice", since="0001-01-01T00:00:00Z"))),
    ("call_event", json.dumps(call("alice", "c9", "offered", at=SECRET))),
    ("call_event", json.dumps(call("alice", "c9", "exploded"))),
    ("agent_state", json.dumps(state("alice", "Alice", availability=SECRET))),
    ("call_event", json.dumps(call("alice", "c9", "ended", talk_s=float("1e300")))),
]
"""Rows from the hub login ``alice`` that are not floor records (kind, payload JSON)."""


def insert(hub: Hub, rows: list[tuple[str, str, str]]) -> list[int]:
    """Rows (agent column, kind, payload JSON) as a hub may hold them; their seqs.

    The hub now refuses such rows when they are written, but keeps those
    written before (its checks are NOT VALID): so they are written here as
    the owner with the checks set aside, then the checks are put back.
    """
    source = uuid.uuid4()
    seqs = []
    with psycopg.connect(hub.owner_dsn) as db:  # one transaction
        checks = db.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'careline.floor_events'::regclass AND contype = 'c'"
        ).fetchall()
        table = sql.Identifier("careline", "floor_events")
        for name, _ in checks:
            db.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(table, sql.Identifier(name))
            )
        for n, (agent, kind, payload) in enumerate(rows):
            row = db.execute(
                "INSERT INTO careline.floor_events "
                "(agent_id, kind, payload, at, source, source_seq) "
                "VALUES (%s, %s, %s::jsonb, now(), %s, %s) RETURNING seq",
                (agent, kind, payload, source, n),
            ).fetchone()
            assert row is not None
            seqs.append(int(row[0]))
        for name, definition in checks:
            check = sql.SQL(definition.removesuffix(" NOT VALID"))
            db.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID").format(
                    table, sql.Identifier(name), check
                )
            )
    return seqs


def alert_text(app: SupervisorApp) -> str:
    return str(app.query_one("#alert-lines").render())


async def test_wallboard_survives_bad_hub_rows_and_counts_them(hub: Hub) -> None:
    good = json.dumps(state("alice", "Alice"))
    seqs = insert(hub, [("alice", kind, payload) for kind, payload in BAD_ROWS])
    seqs += insert(hub, [("alice", "agent_state", good)])
    app = make(hub)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, seqs[-1])
        assert [row[:2] for row in cells(app, "#agents")] == [["Alice", "available"]]
        alerts = alert_text(app)
        assert f"{len(BAD_ROWS)} bad floor rows ignored (last: seq {seqs[-2]}, " in alerts
        assert SECRET not in alerts
        await pilot.press("q")
    assert app.return_code == 0


async def test_a_payload_naming_another_agent_changes_nobody(hub: Hub) -> None:
    """Alice's login writes "Bob is not ready": Bob's row must not say so, nor Alice's."""
    seqs = insert(
        hub,
        [
            ("alice", "agent_state", json.dumps(state("alice", "Alice"))),
            ("agent-b", "agent_state", json.dumps(state("agent-b", "Bob"))),
            (
                "alice",
                "agent_state",
                json.dumps(state("agent-b", "Bob", "not_ready", reason="forged")),
            ),
            ("alice", "call_event", json.dumps(call("agent-b", "c1", "offered"))),
            # No agent_id: the row's login says whose it is.
            ("carol", "agent_state", json.dumps({"availability": "wrap_up", "at": z(10)})),
        ],
    )
    app = make(hub)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, seqs[-1])
        agents = {row[0]: row[1:3] for row in cells(app, "#agents")}
        assert agents == {
            "Alice": ["available", ""],
            "Bob": ["available", ""],
            "carol": ["wrap up", ""],
        }
        assert cells(app, "#queues") == []  # the forged offer counts nowhere
        assert f"2 bad floor rows ignored (last: seq {seqs[3]}, " in alert_text(app)
        assert "agent_id" in alert_text(app)
        await pilot.press("q")


@contextlib.contextmanager
def run_tail(*args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``careline queue tail ARGS``, killed at the end if the test did not stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "queue", "tail", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGINT the tail, check it ends cleanly; its stderr."""
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    return proc.stderr.read()


def test_tail_prints_a_notice_per_bad_hub_row(hub: Hub) -> None:
    good = [("alice", "agent_state", json.dumps(state("alice", "Alice")))]
    forged = [("alice", "agent_state", json.dumps(state("agent-b", "Bob", "not_ready")))]
    seqs = insert(hub, good)
    bad = insert(hub, [("alice", kind, payload) for kind, payload in BAD_ROWS] + forged)
    seqs += insert(hub, good)
    dsn = hub.add_supervisor("sup")
    for as_json in ([], ["--json"]):
        with run_tail("--from-seq", "0", "--dsn", dsn, *as_json) as proc:
            lines = read_lines(proc, 2)
            assert read_lines(proc, 1, timeout=1.0) == []  # still following, nothing else
            errors = stop(proc)
        if as_json:
            assert [json.loads(line)["seq"] for line in lines] == seqs
        else:
            assert [line.split()[0] for line in lines] == [str(seq) for seq in seqs]
        assert "Traceback" not in errors
        assert SECRET not in errors
        notices = [line for line in errors.splitlines() if "bad floor row" in line]
        assert [line.split("seq ")[1].split(":")[0] for line in notices] == [
            str(seq) for seq in bad
        ]
        assert "agent_id" in notices[-1]


async def write_outbox(path: Path, rows: list[tuple[str, str]]) -> None:
    """Outbox rows (kind, payload JSON) as a console on this machine would leave them."""
    store = await Store.open(path)
    try:
        async with store.transaction() as db:
            for kind, payload in rows:
                await db.execute(
                    "INSERT INTO outbox (kind, entity_id, payload, created_at) "
                    "VALUES (?, 'x', ?, ?)",
                    (kind, payload, z(5)),
                )
    finally:
        await store.close()


LOCAL_ROWS = [
    ("agent_state", json.dumps(state("alice", "Alice"))),
    ("agent_state", "[1, 2, 3]"),
    ("call_event", json.dumps(call("alice", "c1", "answered", wait_s="soon"))),
    ("agent_state", json.dumps(state("agent-b", "Bob", "not_ready"))),
    ("call_event", json.dumps(call("alice", "c1", "offered"))),
]
"""This workstation's agent is alice: rows 2-4 are bad (4 names another agent)."""


def test_local_tail_reports_bad_and_foreign_rows(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    asyncio.run(write_outbox(path, LOCAL_ROWS))
    env = {"CARELINE_STORE__PATH": str(path), "CARELINE_AGENT__ID": "alice"}
    with run_tail("--from-seq", "0", env=env) as proc:
        lines = read_lines(proc, 2)
        errors = stop(proc)
    assert [line.split()[:4] for line in lines] == [
        ["1", "09:59:30", "alice", "agent_state"],
        ["5", "09:59:40", "alice", "call_event"],
    ]
    assert [line for line in errors.splitlines() if "bad floor row" in line] == [
        "careline: seq 2: bad floor row ignored (payload is a list, not an object)",
        "careline: seq 3: bad floor row ignored (wait_s is not a number)",
        "careline: seq 4: bad floor row ignored (agent_id names another agent than the row's)",
    ]


async def test_local_wallboard_shows_only_this_workstations_agent(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    await write_outbox(path, LOCAL_ROWS)
    config = CarelineConfig.model_validate({"store": {"path": path}, "agent": {"id": "alice"}})
    opener = source_opener(argparse.Namespace(dsn=None), config)
    app = create_supervisor(opener, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, 5)
        assert [row[:2] for row in cells(app, "#agents")] == [["Alice", "available"]]
        assert [row[:2] for row in cells(app, "#queues")] == [["nurse", "1"]]
        assert "3 bad floor rows ignored (last: seq 4, agent_id names another agent" in (
            alert_text(app)
        )
        await pilot.press("q")


def test_bad_rows_name_no_content() -> None:
    """Every reason is one of a few fixed phrases about a field, never a value."""
    from console.floor_view.rows import BadRow, check_row

    stored = datetime(2026, 11, 26, 10, tzinfo=UTC)
    for n, (kind, payload) in enumerate(BAD_ROWS, start=1):
        record = check_row(n, kind, "alice", payload, stored)
        assert isinstance(record, BadRow), payload[:40]
        assert SECRET not in record.problem
        assert len(record.problem) < 80
