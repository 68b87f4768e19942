# SPDX-License-Identifier: GPL-2.0-or-later
"""Supervisors' worklist progress: counted from the local store, and printed by
``careline queue tail --json`` at the start and whenever it changes."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from console.core.config import load_config
from console.core.demo_worklist import demo_worklist_config
from console.core.store import Store
from console.core.worklists.store import Outcome, WorklistStore
from console.floor_view.rows import BadRow
from console.floor_view.worklists import WorklistProgress, local_progress
from console.launch import _load_demo_patients
from tests.support import ROOT

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from console.floor_view.source import FloorSource

CONFIG = load_config(None)
RULES = demo_worklist_config(CONFIG.worklists)


def _demo_store(path: Path) -> None:
    _load_demo_patients(path, CONFIG.model_copy(update={"worklists": RULES}))


async def _call(path: Path, *outcomes: Outcome) -> None:
    """Claim and finish one item per outcome, as a console working the list does."""
    store = await Store.open(path)
    try:
        worklists = WorklistStore(store, RULES)
        for outcome in outcomes:
            claim = await worklists.claim_next("agent-0", datetime.now(UTC))
            assert claim is not None
            assert await worklists.record(claim, outcome, datetime.now(UTC))
    finally:
        await store.close()


async def _progress(path: Path) -> list[WorklistProgress]:
    store = await Store.open(path)
    try:
        return await local_progress(store)
    finally:
        await store.close()


def test_progress_counts_done_remaining_reached_confirmed_and_opted_out(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    _demo_store(path)
    assert asyncio.run(_progress(path)) == [
        WorklistProgress("appointment-reminders", 0, 5, 0, 0, 1, 1)
    ]
    # A wrong number is done but nobody was reached; an opt-out on the call is reached.
    asyncio.run(_call(path, Outcome.CONFIRMED, Outcome.WRONG_NUMBER, Outcome.OPTED_OUT))
    (progress,) = asyncio.run(_progress(path))
    assert progress == WorklistProgress("appointment-reminders", 3, 2, 2, 1, 2, 1)
    assert progress.cells() == ("appointment-reminders", "3", "2", "2", "1", "2")


def test_queue_tail_json_prints_progress_at_start_and_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    _demo_store(path)
    tail = subprocess.Popen(
        [sys.executable, "-m", "console", "queue", "tail", "--json"],
        cwd=ROOT,
        env={**os.environ, "CARELINE_STORE__PATH": str(path), "CARELINE_AGENT__ID": "agent-0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stdout is not None
        first = json.loads(tail.stdout.readline())
        assert first["kind"] == "worklist_progress"
        assert (first["list_id"], first["done"], first["remaining"], first["opted_out"]) == (
            "appointment-reminders",
            0,
            5,
            1,
        )
        asyncio.run(_call(path, Outcome.CONFIRMED))
        changed = json.loads(tail.stdout.readline())
        counts = [changed[k] for k in ("done", "remaining", "reached", "confirmed")]
        assert counts == [1, 4, 1, 1]
        # Counts only: no names or numbers of the demo's patients in any line.
        assert "Grace" not in json.dumps(changed)
        assert "+1202" not in json.dumps(changed)
    finally:
        tail.terminate()
        tail.wait(10)


async def test_the_wallboard_shows_each_worklists_progress_and_follows_it(
    tmp_path: Path,
) -> None:
    from console.floor_view.app import SupervisorApp
    from console.floor_view.source import LocalFloor

    path = tmp_path / "s.db"
    await asyncio.to_thread(_demo_store, path)

    async def open_source() -> LocalFloor:
        return await LocalFloor.open(path, agent_id="agent-0")

    app = SupervisorApp(open_source, refresh_s=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        rows = await wallboard_rows(pilot, bool)
        assert app.query_one("#worklists").display
        assert rows == [["appointment-reminders", "0", "5", "0", "0", "1"]]
        await _call(path, Outcome.CONFIRMED, Outcome.BUSY)
        rows = await wallboard_rows(pilot, lambda rows: rows[0][1] != "0")
        # Busy is tried again later: not done; the confirmed one is done and reached.
        assert rows == [["appointment-reminders", "1", "4", "1", "1", "1"]]


async def wallboard_rows(
    pilot: Pilot[int], ready: Callable[[list[list[str]]], bool]
) -> list[list[str]]:
    """The wallboard's worklist rows (their cells' text) once ``ready`` says so, or as
    they are after three seconds."""
    from console.floor_view.app import LiveTable

    rows: list[list[str]] = []
    for _ in range(60):
        await pilot.pause(0.05)
        table = pilot.app.query_one("#worklists", LiveTable)
        rows = [[c.plain for c in table.get_row(r.key)] for r in table.ordered_rows]
        if ready(rows):
            break
    return rows


async def test_the_wallboard_hides_the_worklists_when_there_are_none(tmp_path: Path) -> None:
    from console.floor_view.app import SupervisorApp
    from console.floor_view.source import LocalFloor

    path = tmp_path / "empty.db"

    async def open_source() -> LocalFloor:
        return await LocalFloor.open(path, agent_id="agent-0")

    app = SupervisorApp(open_source, refresh_s=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.2)
        assert not app.query_one("#worklists").display


def test_a_hostile_list_id_reaches_neither_the_terminal_nor_the_pipe_raw() -> None:
    """A list id is the rule's, but the store is a file anyone on the machine may edit."""
    from console.floor_view.app import worklist_cells

    hostile = WorklistProgress("\x1b[2J\x1b]0;owned\x07list\n" + "x" * 500, 1, 2, 0, 0, 0, 0)
    line = hostile.json_line(datetime.now(UTC))
    assert "\x1b" not in line
    assert "\n" not in line
    assert json.loads(line)["list_id"] == hostile.list_id  # escaped, not lost
    shown = worklist_cells(hostile)["list"].plain
    assert "\x1b" not in shown
    assert "\n" not in shown
    assert len(shown) <= 32


class BusyFloor:
    """A floor with a new row every time it is asked (a bad one: reported, skipped)."""

    def __init__(self) -> None:
        self.seq = 0

    async def events_after(self, seq: int, limit: int = 500) -> list[BadRow]:
        """One more row after ``seq``, at once."""
        del limit
        self.seq = seq + 1
        return [BadRow(self.seq, "not a floor record", datetime.now(UTC))]

    async def wait(self, max_wait_s: float) -> None:
        """Never called: there is always a row."""

    async def last_seq(self) -> int:
        """The start."""
        return 0


async def test_a_busy_floor_does_not_count_the_worklists_for_every_batch() -> None:
    """Counting the hub's items is a query over all of them: at most once a second."""
    from console.floor_view.tail import PROGRESS_EVERY, follow

    floor, reads = BusyFloor(), 0

    async def progress() -> list[WorklistProgress]:
        nonlocal reads
        reads += 1
        return [WorklistProgress("reminders", reads, 0, 0, 0, 0, 0)]

    out, end = io.StringIO(), time.monotonic() + PROGRESS_EVERY * 1.5
    await follow(
        cast("FloorSource", floor),
        out,
        from_seq=0,
        stop=lambda: time.monotonic() > end,
        err=io.StringIO(),
        progress=progress,
    )
    assert floor.seq > 100  # the rows went on meanwhile
    assert reads == 2  # at the start, and a second later
    assert [json.loads(line)["done"] for line in out.getvalue().splitlines()] == [1, 2]
