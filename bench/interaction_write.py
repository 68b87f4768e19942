# SPDX-License-Identifier: GPL-2.0-or-later
"""Interaction write with its outbox (p50/p95), and a wrap-up draft save (p50/p95).

Each run opens a fresh store (WAL, synchronous=FULL) and times N calls of
``InteractionStore.finish`` (one interaction + one callback + their two outbox
rows + the draft delete, one transaction) and N ``save_draft`` upserts. Baseline,
same run: a bare ``sqlite3`` connection with the same pragmas on a freshly
migrated file of the same schema, running the same statements in one
``BEGIN IMMEDIATE … COMMIT`` with values prepared beforehand — what the store
adds on top is aiosqlite's thread hop, validation and JSON.
Run: .venv/bin/python -m bench.interaction_write [--writes 500] [--runs 5]
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import bench_parser, percentile, report
from console.core.interactions import FollowUp, Interaction, InteractionStore
from console.core.store import Store

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAMP = "2026-03-02T09:00:00.000Z"


def answers() -> list[dict[str, object]]:
    """A typical script's answers: a dozen questions."""
    return [{"question": f"q{k}", "value": "yes", "at": STAMP} for k in range(12)]


REFILL: dict[str, Any] = {
    "agent_id": "agent-1",
    "patient_id": "patient-1",
    "started_at": T0,
    "ended_at": T0 + timedelta(minutes=4),
    "script_id": "refill",
    "script_version": "3",
    "answers": answers(),
    "red_flags": [],
    "urgency": "routine",
    "disposition": "refill_requested",
    "notes": "caller asks for a refill " * 4,
    "form": {"pharmacy": "Main St", "days": 30},
}
"""Every interaction the store run writes: a refill request (only its call differs)."""


async def add_calls(store: Store, count: int) -> list[str]:
    """``count`` ended calls to attach interactions and drafts to."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO calls (id, agent_id, direction, caller_name, caller_number, "
            "caller_uri, called_uri, received_at, ended_at) "
            "VALUES (?, 'agent-1', 'inbound', '', '+15550100', '', '', ?, ?)",
            [(call, STAMP, STAMP) for call in ids],
        )
    return ids


async def store_run(path: Path, writes: int) -> tuple[list[float], list[float]]:
    """Microseconds per finish() and per save_draft()."""
    store = await Store.open(path)
    try:
        interactions = InteractionStore(store)
        calls = await add_calls(store, writes)
        drafts, finishes = [], []
        for call in calls:
            body = {"notes": "caller asks for a refill " * 4, "disposition": "refill"}
            start = time.perf_counter()
            await interactions.save_draft(call, body)
            drafts.append((time.perf_counter() - start) * 1e6)
            record = Interaction(call_id=call, **REFILL)
            follow_up = FollowUp(number="+15550100", due_at=T0 + timedelta(days=1), owner="agent-1")
            start = time.perf_counter()
            await interactions.finish(record, [follow_up])
            finishes.append((time.perf_counter() - start) * 1e6)
        return finishes, drafts
    finally:
        await store.close()


def bare_run(path: Path, writes: int) -> tuple[list[float], list[float]]:
    """The same rows through bare sqlite3: microseconds per transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            db.execute(f"PRAGMA {pragma}")
        calls = [str(uuid.uuid4()) for _ in range(writes)]
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO calls (id, agent_id, direction, caller_name, caller_number, "
            "caller_uri, called_uri, received_at, ended_at) "
            "VALUES (?, 'agent-1', 'inbound', '', '+15550100', '', '', ?, ?)",
            [(call, STAMP, STAMP) for call in calls],
        )
        db.execute("COMMIT")
        body = json.dumps({"notes": "caller asks for a refill " * 4, "disposition": "refill"})
        answers_json = json.dumps(answers())
        form = json.dumps({"pharmacy": "Main St", "days": 30})
        payload = json.dumps({"schema": 1, "answers": answers(), "notes": "x" * 100})
        drafts, finishes = [], []
        for call in calls:
            start = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT INTO wrap_up_drafts (call_id, saved_at, body) SELECT ?, ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM interactions WHERE call_id = ?) "
                "ON CONFLICT (call_id) DO UPDATE SET saved_at = excluded.saved_at, "
                "body = excluded.body",
                (call, STAMP, body, call),
            )
            db.execute("COMMIT")
            drafts.append((time.perf_counter() - start) * 1e6)
            interaction, callback = str(uuid.uuid4()), str(uuid.uuid4())
            start = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("SELECT 1 FROM interactions WHERE id = ?", (interaction,)).fetchall()
            db.execute(
                "INSERT INTO interactions (id, call_id, agent_id, patient_id, started_at, "
                "ended_at, script_id, script_version, answers, red_flags, urgency, "
                "disposition, notes, form, feedback_consent, created_at) "
                "VALUES (?, ?, 'agent-1', 'patient-1', ?, ?, 'refill', '3', ?, '[]', "
                "'routine', 'refill_requested', ?, ?, 0, ?)",
                (interaction, call, STAMP, STAMP, answers_json, "n" * 100, form, STAMP),
            )
            outbox = "INSERT INTO outbox (kind, entity_id, payload, created_at) VALUES (?, ?, ?, ?)"
            db.execute(outbox, ("interaction", interaction, payload, STAMP))
            db.execute(
                "INSERT INTO callbacks (id, interaction_id, patient_id, number, due_at, owner, "
                "reason, status, created_at) "
                "VALUES (?, ?, 'patient-1', '+15550100', ?, 'agent-1', '', 'open', ?)",
                (callback, interaction, STAMP, STAMP),
            )
            db.execute(outbox, ("callback", callback, payload, STAMP))
            db.execute("DELETE FROM wrap_up_drafts WHERE call_id = ?", (call,))
            db.execute("COMMIT")
            finishes.append((time.perf_counter() - start) * 1e6)
        return finishes, drafts
    finally:
        db.close()


async def migrated(path: Path) -> None:
    """Create ``path`` with the store's schema."""
    store = await Store.open(path)
    await store.close()


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, quick={"writes": 20})
    parser.add_argument("--writes", type=int, default=500)
    args = parser.options()
    figures: dict[str, list[float]] = {}
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            store_path, bare_path = Path(tmp) / "store.sqlite3", Path(tmp) / "bare.sqlite3"
            asyncio.run(migrated(bare_path))
            # Alternate which goes first so that neither always meets a warm cache.
            if run % 2:
                bare = bare_run(bare_path, args.writes)
                ours = asyncio.run(store_run(store_path, args.writes))
            else:
                ours = asyncio.run(store_run(store_path, args.writes))
                bare = bare_run(bare_path, args.writes)
        for name, values in (
            ("finish", ours[0]),
            ("draft", ours[1]),
            ("bare finish", bare[0]),
            ("bare draft", bare[1]),
        ):
            figures.setdefault(f"{name} p50", []).append(percentile(values, 0.5))
            figures.setdefault(f"{name} p95", []).append(percentile(values, 0.95))
    base = "bare sqlite3, same statements"
    for q in ("p50", "p95"):
        report(
            f"interaction write with outbox (+1 callback) {q}, {args.writes} writes",
            "µs",
            figures[f"finish {q}"],
            figures[f"bare finish {q}"],
            base,
        )
    for q in ("p50", "p95"):
        report(
            f"wrap-up draft save {q}, {args.writes} saves",
            "µs",
            figures[f"draft {q}"],
            figures[f"bare draft {q}"],
            base,
        )


if __name__ == "__main__":
    main()
