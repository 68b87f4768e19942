# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline queue tail``: a real subprocess following a store (and the hub, when there is one)."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.core.interactions import InteractionStore
from console.core.store import Store
from tests.pg import Hub
from tests.support import ROOT, free_tcp_port

AGENT = "agent-0"
"""The agent of the workstation whose local store the tail reads."""


def local_env(store: Path) -> dict[str, str]:
    """The environment of a tail reading ``store`` on ``AGENT``'s workstation."""
    return {**os.environ, "CARELINE_STORE__PATH": str(store), "CARELINE_AGENT__ID": AGENT}


def tail(store: Path, *args: str, stdout: int = subprocess.PIPE) -> subprocess.Popen[str]:
    env = local_env(store)
    return subprocess.Popen(
        [sys.executable, "-m", "console", "queue", "tail", *args],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


_READERS: dict[int, queue.Queue[str]] = {}


def read_lines(proc: subprocess.Popen[str], count: int, timeout: float = 20.0) -> list[str]:
    """Up to ``count`` lines the process prints within ``timeout`` (a thread reads its stdout)."""
    lines_in = _READERS.get(proc.pid)
    if lines_in is None:
        lines_in = _READERS[proc.pid] = queue.Queue()
        stdout = proc.stdout
        assert stdout is not None

        def pump(sink: queue.Queue[str] = lines_in) -> None:
            for line in stdout:
                sink.put(line)

        threading.Thread(target=pump, daemon=True).start()
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while len(lines) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            lines.append(lines_in.get(timeout=left))
        except queue.Empty:
            break
    return lines


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


async def publish_calls(store_path: Path, count: int, start: int = 0) -> list[int]:
    store = await Store.open(store_path)
    try:
        outbox = InteractionStore(store)
        seqs = []
        for n in range(start, start + count):
            queue = "nurse" if n % 2 == 0 else "billing"
            payload: dict[str, Any] = {
                "agent_id": AGENT,
                "call_id": f"call-{n}",
                "queue": queue,
                "event": "offered",
                "wait_s": 0.0,
                "talk_s": 0.0,
                "acw_s": 0.0,
                "at": "2026-11-26T10:00:00.000Z",
            }
            seqs.append(await outbox.publish("call_event", f"call-{n}", payload))
            if n % 10 == 0:
                state = {
                    "agent_id": AGENT,
                    "agent_name": "Ann \x1b[31m[b]red[/b]",
                    "availability": "available",
                    "reason": "",
                    "since": "2026-11-26T10:00:00.000Z",
                    "on_call": False,
                    "call_since": None,
                    "at": "2026-11-26T10:00:00.000Z",
                }
                seqs.append(await outbox.publish("agent_state", AGENT, state))
        # Not floor records: the tail never shows them.
        await outbox.publish("audit_head", "x", {"hash": "0"})
        return seqs
    finally:
        await store.close()


async def test_json_tail_prints_every_event_once_in_order(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    store = tmp_path / "store.sqlite3"
    before = await publish_calls(store, 5)
    proc = tail(store, "--json", "--from-seq", "0")
    procs.append(proc)
    assert [json.loads(line)["seq"] for line in read_lines(proc, len(before))] == before
    after = await publish_calls(store, 40, start=5)
    lines = read_lines(proc, len(after))
    records = [json.loads(line) for line in lines]
    assert [record["seq"] for record in records] == after
    assert records[-1]["payload"]["call_id"] == "call-44"
    assert read_lines(proc, 1, timeout=1.0) == []  # nothing repeated
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


async def test_queue_filter_and_safe_human_lines(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    store = tmp_path / "store.sqlite3"
    await publish_calls(store, 1)
    proc = tail(store, "--queue", "billing", "--from-seq", "0")
    procs.append(proc)
    await publish_calls(store, 10, start=1)
    lines = read_lines(proc, 5)
    assert [line.split()[5] for line in lines] == ["queue=billing"] * 5
    assert [line.split()[6] for line in lines] == [f"call=call-{n}" for n in (1, 3, 5, 7, 9)]
    assert read_lines(proc, 1, timeout=1.0) == []
    human = tail(store, "--from-seq", "0")
    procs.append(human)
    state_line = read_lines(human, 2)[1]  # after call-0's offer
    assert state_line.split()[2:] == ["agent-0", "agent_state", "available"]
    shown = read_lines(human, 30, timeout=2.0)
    assert all("\x1b" not in line for line in shown)


async def test_default_start_is_the_last_ten(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    store = tmp_path / "store.sqlite3"
    seqs = await publish_calls(store, 30)
    proc = tail(store, "--json")
    procs.append(proc)
    assert [json.loads(line)["seq"] for line in read_lines(proc, 10)] == seqs[-10:]


def test_piped_into_head_exits_quietly(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    asyncio.run(publish_calls(store, 50))
    env = local_env(store)
    pipeline = subprocess.Popen(
        f"set -o pipefail; {sys.executable} -m console queue tail --from-seq 0 | head -n 3",
        shell=True,
        executable="/bin/bash",
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a hung tail can be stopped with the shell
    )
    try:
        stdout, stderr = pipeline.communicate(timeout=30)
    finally:
        if pipeline.poll() is None:
            os.killpg(pipeline.pid, signal.SIGKILL)
            pipeline.wait(10)
    result = subprocess.CompletedProcess(pipeline.args, pipeline.returncode, stdout, stderr)
    assert len(result.stdout.splitlines()) == 3
    assert result.returncode == 141
    assert result.stderr == ""


def test_hub_tail_survives_a_killed_connection(hub: Hub) -> None:
    """The tail's backend is terminated, 100 events come in, each is printed once in order."""
    dsn: str = hub.add_supervisor("sup")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console",
            "queue",
            "tail",
            "--json",
            "--from-seq",
            "0",
            "--dsn",
            dsn,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with psycopg.connect(hub.owner_dsn, autocommit=True) as db:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                row = db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'careline-tail'"
                ).fetchone()
                if row and row[0] >= 2:
                    break
                time.sleep(0.1)
            db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'careline-tail'"
            )
            seqs = []
            source = uuid.uuid4()
            for n in range(100):
                row = db.execute(
                    "INSERT INTO careline.floor_events "
                    "(agent_id, kind, payload, at, source, source_seq) "
                    "VALUES (%s, 'call_event', %s, now(), %s, %s) RETURNING seq",
                    (
                        f"agent-{n % 7}",
                        json.dumps({"call_id": f"c{n}", "queue": "nurse", "event": "offered"}),
                        source,
                        n,
                    ),
                ).fetchone()
                assert row is not None
                seqs.append(int(row[0]))
        printed = [json.loads(line)["seq"] for line in read_lines(proc, 100, timeout=30)]
        assert printed == seqs
        assert read_lines(proc, 1, timeout=1.0) == []
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0


def test_a_refused_login_ends_the_tail_with_status_2(hub: Hub) -> None:
    """A wrong password is a configuration error: one line, exit 2, no retrying."""
    hub.add_supervisor("sup")
    wrong = hub.dsn("sup", "not-the-password")
    done = subprocess.run(
        [sys.executable, "-m", "console", "queue", "tail", "--dsn", wrong],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"careline: the hub refused the login of sup to {hub.dbname}: password authentication "
        "failed; check the DSN and the password (hub.password_file, PGPASSWORD or ~/.pgpass)"
    ]


def test_an_unreachable_hub_is_retried(procs: list[subprocess.Popen[str]]) -> None:
    """Nothing listens on the port: the tail says so once and keeps trying."""
    port = free_tcp_port()
    dsn = f"host=127.0.0.1 port={port} dbname=careline user=sup password=x connect_timeout=2"
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "queue", "tail", "--dsn", dsn],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs.append(proc)
    time.sleep(4)
    assert proc.poll() is None  # still retrying
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    errors = proc.stderr.read()
    assert errors.startswith("careline: hub unreachable (")
    assert errors.count("hub unreachable") == 1
    assert "Traceback" not in errors


async def test_a_call_turned_away_reads_with_its_reason(
    tmp_path: Path, procs: list[subprocess.Popen[str]]
) -> None:
    store = tmp_path / "store.sqlite3"
    db = await Store.open(store)
    outbox = InteractionStore(db)
    for call, reason in (("c1", "agent not_ready"), ("c2", "queue_full")):
        payload = {
            "agent_id": AGENT,
            "call_id": call,
            "queue": "nurse",
            "event": "turned_away",
            "reason": reason,
            "wait_s": 0.0,
            "talk_s": 0.0,
            "acw_s": 0.0,
            "at": "2026-11-26T10:00:00.000Z",
        }
        await outbox.publish("call_event", call, payload)
    await db.close()
    human = tail(store, "--from-seq", "0")
    procs.append(human)
    assert [line.split(" ", 3)[3] for line in read_lines(human, 2)] == [
        'call_event turned_away queue=nurse call=c1 reason="agent not_ready"\n',
        "call_event turned_away queue=nurse call=c2 reason=queue_full\n",
    ]
    as_json = tail(store, "--from-seq", "0", "--json")
    procs.append(as_json)
    records = [json.loads(line) for line in read_lines(as_json, 2)]
    assert [record["payload"]["reason"] for record in records] == ["agent not_ready", "queue_full"]
