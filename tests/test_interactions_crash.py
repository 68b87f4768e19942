# SPDX-License-Identifier: GPL-2.0-or-later
"""Crash recovery: a writer process killed with SIGKILL loses nothing it acknowledged.

The writer (tests/interaction_writer.py) is a real child process using the
real store; kill points come from ``random.Random(seed)`` so a failure
reproduces.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from console.core.interactions import InteractionStore
from console.core.store import Store
from tests.interaction_writer import callback_ids, interaction_id

ROOT = Path(__file__).resolve().parent.parent


class Writer:
    """One run of tests/interaction_writer.py, stopped with SIGKILL by the test."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.stderr_path = tmp_path / f"writer-{time.monotonic_ns()}.err"
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.interaction_writer", *args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )

    def line(self) -> str:
        """The next acknowledgement; fails if the writer died by itself."""
        assert self.proc.stdout is not None
        text = self.proc.stdout.readline()
        if not text:
            self.proc.wait()
            pytest.fail(
                f"writer exited {self.proc.returncode}: "
                f"{self.stderr_path.read_text(errors='replace')[-2000:]}"
            )
        return text.strip()

    def kill(self) -> list[str]:
        """SIGKILL, reap, and return the acknowledgements it printed before dying."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL
        assert self.proc.stdout is not None
        rest = [text.strip() for text in self.proc.stdout.read().splitlines() if text.strip()]
        self.proc.stdout.close()
        return rest

    def stop(self) -> None:
        """Kill it if a failed assertion left it running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kill_mid_wrap_up_restores_last_acknowledged_draft(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "store.sqlite3"
    writer = Writer(tmp_path, "drafts", str(path), "call-1")
    try:
        target = rng.randint(20, 400)
        acked = 0
        while acked < target:
            acked = int(writer.line().removeprefix("saved "))
        await asyncio.sleep(rng.uniform(0, 0.01))  # let the kill land anywhere in a save
        for text in writer.kill():
            acked = int(text.removeprefix("saved "))
    finally:
        writer.stop()

    store = await Store.open(path)
    try:
        [draft] = await InteractionStore(store).load_drafts()
    finally:
        await store.close()
    assert draft.call_id == "call-1"
    assert draft.call_finished
    # Save N+1 may have reached the disk before the kill stopped its "saved" line.
    assert draft.body["n"] in (acked, acked + 1)
    assert draft.body["notes"] == "note " * (draft.body["n"] % 50)


async def test_thousand_interactions_survive_random_kills(tmp_path: Path) -> None:
    rng = random.Random(20260302)
    path = tmp_path / "store.sqlite3"
    acknowledged: dict[int, str] = {}
    rounds = 0
    started = time.monotonic()
    while len(acknowledged) < 1000:
        assert time.monotonic() - started < 90, "the writer is too slow"
        # Restart where the last acknowledged one left off: the one in flight
        # at the kill is retried with the same id.
        start = max(acknowledged, default=-1) + 1
        writer = Writer(tmp_path, "interactions", str(path), str(start))
        try:
            lines = [writer.line() for _ in range(rng.randint(1, 150))]
            await asyncio.sleep(rng.uniform(0, 0.01))
            lines += writer.kill()
        finally:
            writer.stop()
        for text in lines:
            _, index, ident = text.split()
            acknowledged[int(index)] = ident
        rounds += 1
    assert rounds >= 5

    store = await Store.open(path)
    try:
        interactions = await store.fetch_all("SELECT id, form FROM interactions")
        outbox = await store.fetch_all("SELECT kind, entity_id FROM outbox")
        callbacks = await store.fetch_all("SELECT id, interaction_id FROM callbacks")
        drafts = await store.fetch_all(
            "SELECT d.call_id FROM wrap_up_drafts d JOIN interactions i ON i.call_id = d.call_id"
        )
        [(check,)] = await store.fetch_all("PRAGMA integrity_check")
        orphans = await store.fetch_all("PRAGMA foreign_key_check")
    finally:
        await store.close()

    stored = {str(ident) for ident, _ in interactions}
    for i, ident in acknowledged.items():
        assert ident == interaction_id(i)
        assert ident in stored, f"acknowledged interaction {i} was lost"
    # Nothing half-written: every stored interaction (acknowledged or the last
    # one in flight) has exactly its outbox row and all of its callbacks, each
    # with its own outbox row, and nothing else is there.
    outbox_count = Counter((str(kind), str(entity)) for kind, entity in outbox)
    expected_callbacks: dict[str, str] = {}
    for ident, form in interactions:
        i = int(json.loads(form)["i"])
        assert ident == interaction_id(i)
        assert outbox_count[("interaction", ident)] == 1
        for cid in callback_ids(i):
            expected_callbacks[cid] = ident
            assert outbox_count[("callback", cid)] == 1
    assert {str(c): str(owner) for c, owner in callbacks} == expected_callbacks
    assert sum(outbox_count.values()) == len(interactions) + len(expected_callbacks)
    assert drafts == []  # a finished wrap-up never keeps its draft
    assert check == "ok"
    assert orphans == []
