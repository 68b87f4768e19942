# SPDX-License-Identifier: GPL-2.0-or-later
"""The audit log: append-only, hash-chained, verified and exported."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.cli.command import store_path
from console.core.audit import GENESIS, AuditLog, VerifyResult, row_hash, terminal_label
from console.core.config import load_config
from console.core.store import Store, migrations
from tests.careline_cli import careline

JAN_1 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def ticking(start: datetime) -> Callable[[], datetime]:
    """A clock that moves one day per reading, so rows fall on known days."""
    moments: Iterator[datetime] = (start + timedelta(days=n) for n in range(10_000))
    return lambda: next(moments)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "s.sqlite3")
    yield opened
    await opened.close()


async def three_rows(log: AuditLog) -> None:
    await log.append("agent-1", "search", "search", "ok", terminal="/dev/pts/1")
    await log.append("agent-1", "verify", "verification", "pass", "p-1", terminal="/dev/pts/1")
    await log.append("agent-1", "view", "medications", "ok", "p-1", terminal="/dev/pts/1")


def tamper(path: Path, *statements: str) -> None:
    """Change the file as someone with file access would: straight through sqlite3."""
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)


async def verify_reopened(
    store: Store, anchor: tuple[int, str] | None = None
) -> tuple[VerifyResult, VerifyResult]:
    """Close ``store`` and verify a fresh one on its file: without and with ``anchor``."""
    await store.close()
    fresh = await Store.open(store.path)
    try:
        log = AuditLog(fresh)
        return await log.verify(), await log.verify(anchor)
    finally:
        await fresh.close()


async def test_clean_chain_verifies_and_links_from_genesis(store: Store) -> None:
    log = AuditLog(store)
    await three_rows(log)

    result = await log.verify()
    rows = await store.fetch_all("SELECT seq, prev_hash, hash FROM audit ORDER BY seq")

    assert (result.ok, result.checked, result.reason) == (True, 3, None)
    assert [row[0] for row in rows] == [1, 2, 3]
    assert rows[0][1] == GENESIS
    assert [row[1] for row in rows[1:]] == [row[2] for row in rows[:-1]]
    assert await log.head() == (3, rows[2][2])


async def test_empty_log_verifies_and_has_no_head(store: Store) -> None:
    log = AuditLog(store)
    assert (await log.verify()).ok
    assert await log.head() is None


async def test_edited_row_is_named(store: Store) -> None:
    await three_rows(AuditLog(store))
    tamper(
        store.path,
        "DROP TRIGGER audit_no_update",
        "UPDATE audit SET patient_id = 'p-2' WHERE seq = 2",
    )
    result, _ = await verify_reopened(store)

    assert (result.ok, result.bad_seq, result.reason) == (False, 2, "row 2 was edited")
    assert result.checked == 1


async def test_edited_row_with_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    await three_rows(AuditLog(store))
    # A careful attacker rewrites the hash of the row too; the next row's
    # prev_hash still points at the original.
    rows = await store.fetch_all("SELECT seq, at, agent_id, terminal, prev_hash FROM audit")
    seq, at, agent, terminal, prev = rows[1]
    fields = {
        "seq": seq,
        "at": at,
        "agent_id": agent,
        "patient_id": "p-2",
        "category": "verification",
        "action": "verify",
        "outcome": "pass",
        "terminal": terminal,
    }
    tamper(
        store.path,
        "DROP TRIGGER audit_no_update",
        f"UPDATE audit SET patient_id = 'p-2', hash = '{row_hash(prev, fields)}' WHERE seq = 2",
    )
    result, _ = await verify_reopened(store)

    assert (result.ok, result.reason) == (False, "row 3 does not follow row 2")


async def test_deleted_middle_row_is_named(store: Store) -> None:
    await three_rows(AuditLog(store))
    tamper(store.path, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 2")
    result, _ = await verify_reopened(store)

    assert (result.ok, result.bad_seq, result.reason) == (False, 2, "row 2 is missing (deleted)")


async def test_deleted_last_row_needs_a_remembered_head(store: Store) -> None:
    log = AuditLog(store)
    await three_rows(log)
    anchor = await log.head()
    assert anchor is not None
    tamper(store.path, "DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 3")
    alone, anchored = await verify_reopened(store, anchor)

    # What the chain can and cannot see: cutting rows off the end leaves a
    # shorter chain that is still consistent, so on its own verify() passes
    # (2 rows). Only a head kept outside the file reveals it; issue 7's hub
    # sync of chain heads is that anchor.
    assert (alone.ok, alone.checked) == (True, 2)
    assert (anchored.ok, anchored.bad_seq) == (False, 3)
    assert anchored.reason == (
        "row 3 is missing (deleted): the log ends at row 2, the remembered head is row 3"
    )


async def test_update_and_delete_through_the_store_are_refused(store: Store) -> None:
    log = AuditLog(store)
    await three_rows(log)

    for statement in ("UPDATE audit SET outcome = 'fail' WHERE seq = 2", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="audit log is append-only"):
            async with store.transaction() as db:
                await db.execute(statement)

    assert (await log.verify()).checked == 3


async def test_concurrent_writers_do_not_fork_the_chain(store: Store) -> None:
    # Two stores on one file stand for two console processes.
    other = await Store.open(store.path)
    try:
        logs = (AuditLog(store), AuditLog(other))
        await asyncio.gather(
            *(
                logs[n % 2].append("agent-1", "view", "demographics", "ok", f"p-{n}")
                for n in range(40)
            )
        )
        result = await logs[0].verify()
    finally:
        await other.close()

    assert (result.ok, result.checked) == (True, 40)


async def test_export_writes_the_rows_in_range_and_logs_itself(
    store: Store, tmp_path: Path
) -> None:
    log = AuditLog(store, clock=ticking(JAN_1))
    await three_rows(log)  # 1, 2 and 3 January
    out = tmp_path / "audit.csv"

    count = await log.export_csv(
        out, JAN_1 + timedelta(days=1), JAN_1 + timedelta(days=2), agent_id="agent-9"
    )

    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert count == 1
    assert [(r["seq"], r["at"], r["patient_id"], r["outcome"]) for r in rows] == [
        ("2", "2026-01-02T09:00:00.000Z", "p-1", "pass")
    ]
    assert out.stat().st_mode & 0o777 == 0o600
    last = await store.fetch_all("SELECT seq, agent_id, action, category, outcome FROM audit")
    assert last[-1] == (4, "agent-9", "export", "export", "ok")
    assert (await log.verify()).checked == 4


async def test_export_to_a_stream_has_a_header_and_null_patient_blank(store: Store) -> None:
    log = AuditLog(store, clock=ticking(JAN_1))
    await three_rows(log)
    stream = io.StringIO()

    await log.export_csv(stream, JAN_1, JAN_1 + timedelta(days=3), agent_id="agent-1")

    lines = stream.getvalue().splitlines()
    assert lines[0] == "seq,at,agent_id,patient_id,category,action,outcome,terminal,prev_hash,hash"
    assert len(lines) == 4
    assert lines[1].startswith("1,2026-01-01T09:00:00.000Z,agent-1,,search,search,ok,/dev/pts/1,")


async def test_cli_verify_and_export_exit_codes() -> None:
    path = store_path(load_config(None))
    store = await Store.open(path)
    await three_rows(AuditLog(store, clock=ticking(JAN_1)))
    await store.close()

    clean = await asyncio.to_thread(careline, "audit", "verify")
    export = await asyncio.to_thread(
        careline, "audit", "export", "--from", "2026-01-02", "--to", "2026-01-03"
    )
    tamper(path, "DROP TRIGGER audit_no_update", "UPDATE audit SET agent_id = 'x' WHERE seq = 1")
    tampered = await asyncio.to_thread(careline, "audit", "verify")
    backwards = await asyncio.to_thread(
        careline, "audit", "export", "--from", "2026-01-02", "--to", "2026-01-01"
    )

    assert (clean.returncode, clean.stdout) == (0, "audit log intact: 3 rows\n"), clean.stderr
    assert export.returncode == 0, export.stderr
    assert [line.split(",")[0] for line in export.stdout.splitlines()] == ["seq", "2", "3"]
    assert (tampered.returncode, tampered.stdout) == (1, "audit log TAMPERED: row 1 was edited\n")
    assert backwards.returncode == 2


def test_terminal_label_names_the_ssh_client() -> None:
    assert terminal_label({"SSH_CONNECTION": "10.0.0.7 50122 10.0.0.1 22"}) == "ssh:10.0.0.7:50122"
    assert terminal_label({"SSH_CONNECTION": "fe80::1 50122 fe80::2 22"}) == "ssh:[fe80::1]:50122"


def test_terminal_label_without_ssh_is_the_tty_or_local() -> None:
    leader, follower = os.openpty()
    read_end, write_end = os.pipe()
    try:
        assert terminal_label({}, fd=follower) == os.ttyname(follower)
        assert terminal_label({}, fd=follower).startswith("/dev/")
        assert terminal_label({"SSH_CONNECTION": ""}, fd=read_end) == "local"
    finally:
        for fd in (leader, follower, read_end, write_end):
            os.close(fd)


async def test_rebuilding_the_table_for_escalations_keeps_the_chain(store: Store) -> None:
    """Migration 0007 copies every row into a table whose CHECK allows 'escalate';
    re-run on a log with rows, the chain still verifies and stays append-only."""
    log = AuditLog(store)
    await three_rows(log)
    await store.close()
    migration = next(path for number, path in migrations() if number == 7)
    with sqlite3.connect(store.path) as db:
        db.executescript(migration.read_text(encoding="utf-8"))
    reopened = await Store.open(store.path)
    try:
        log = AuditLog(reopened)
        await log.append("agent-1", "escalate", "red_flag", "ok", "p-1", terminal="/dev/pts/1")
        result = await log.verify()
        assert (result.ok, result.checked) == (True, 4)
    finally:
        await reopened.close()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper(store.path, "DELETE FROM audit WHERE seq = 1")
