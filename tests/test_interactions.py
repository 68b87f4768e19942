# SPDX-License-Identifier: GPL-2.0-or-later
"""Interactions, callbacks, wrap-up drafts and the outbox in the local store."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from console.core.interactions import (
    FollowUp,
    Interaction,
    InteractionError,
    InteractionStore,
    raise_urgency,
    urgency_rank,
)
from console.core.store import Store, migrations
from tests.interaction_writer import add_call

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def interactions(store: Store, clock: Clock) -> InteractionStore:
    return InteractionStore(store, clock)


def interaction(call_id: str | None = "call-1", **changes: Any) -> Interaction:
    values: dict[str, Any] = {
        "call_id": call_id,
        "agent_id": "agent-1",
        "patient_id": "patient-7",
        "started_at": T0 - timedelta(minutes=10),
        "ended_at": T0 - timedelta(minutes=2),
        "script_id": "refill",
        "script_version": "3",
        "answers": [{"question": "q1", "value": "yes", "at": "2026-03-02T08:51:00.000Z"}],
        "red_flags": [{"rule": "chest_pain", "at": "2026-03-02T08:52:00.000Z"}],
        "urgency": "urgent",
        "disposition": "refill_requested",
        "notes": "asks for a refill",
        "form": {"pharmacy": "Main St"},
        "feedback_consent": True,
    }
    values.update(changes)
    return Interaction(**values)


def follow_up(hours: float, **changes: Any) -> FollowUp:
    values: dict[str, Any] = {
        "number": "+15550100",
        "due_at": T0 + timedelta(hours=hours),
        "owner": "agent-1",
        "reason": "confirm refill",
    }
    values.update(changes)
    return FollowUp(**values)


async def count(store: Store, table: str) -> int:
    [(n,)] = await store.fetch_all(f"SELECT count(*) FROM {table}")
    return int(n)


async def test_finish_writes_interaction_callbacks_outbox_and_drops_draft(
    store: Store, interactions: InteractionStore
) -> None:
    await add_call(store, "call-1")
    assert await interactions.save_draft("call-1", {"notes": "half"})
    record = interaction()
    ups = [follow_up(2), follow_up(26, patient_id=None, owner="nurses")]

    assert await interactions.finish(record, ups) is True

    stored = await interactions.get(record.id)
    assert stored is not None
    assert (stored.disposition, stored.urgency, stored.notes, stored.form) == (
        "refill_requested",
        "urgent",
        "asks for a refill",
        {"pharmacy": "Main St"},
    )
    assert stored.answers == [dict(record.answers[0])]
    assert stored.red_flags == [dict(record.red_flags[0])]
    assert stored.feedback_consent is True
    assert stored.started_at == record.started_at
    assert stored.created_at == T0
    assert await interactions.load_drafts() == []
    rows = await interactions.pending_outbox()
    assert [(row.kind, row.entity_id) for row in rows] == [
        ("interaction", record.id),
        ("callback", ups[0].id),
        ("callback", ups[1].id),
    ]
    payload = rows[0].payload
    assert payload["schema"] == 1
    assert payload["disposition"] == "refill_requested"
    assert payload["follow_up_ids"] == [ups[0].id, ups[1].id]
    assert payload["feedback_consent"] is True
    assert rows[1].payload["patient_id"] == "patient-7"  # inherited from the interaction
    assert rows[2].payload["status"] == "open"


BOOKED = [
    {"id": "appt-1", "change": "booked", "at": "2026-03-02T08:55:00+00:00"},
    {"id": "appt-2", "change": "moved", "at": "2026-03-02T08:57:00+00:00", "replaces": "appt-1"},
]


async def test_the_appointments_the_call_changed_are_recorded_and_queued_for_the_hub(
    store: Store, interactions: InteractionStore
) -> None:
    await add_call(store, "call-1")
    record = interaction(appointments=BOOKED)
    assert await interactions.finish(record)
    stored = await interactions.get(record.id)
    assert stored is not None
    assert stored.appointments == BOOKED
    [row] = await interactions.pending_outbox()
    assert row.payload["appointments"] == BOOKED


async def test_interactions_stored_before_appointments_read_as_none(tmp_path: Path) -> None:
    """A store from before migration 15 keeps its rows; they touched no appointment."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        for number, script in migrations():
            if "interaction_appointments" in script.name:
                break
            db.executescript(script.read_text(encoding="utf-8"))
            db.execute(f"PRAGMA user_version = {number}")
        db.execute(
            "INSERT INTO interactions (id, agent_id, started_at, ended_at, urgency, "
            "disposition, created_at) VALUES (?, 'agent-1', ?, ?, 'routine', 'resolved', ?)",
            ("7d3c1f0e-8a51-4a8e-9f3e-2f4b1c7a9d10", "2026-03-02T08:00:00.000Z",
             "2026-03-02T08:05:00.000Z", "2026-03-02T08:05:00.000Z"),
        )  # fmt: skip
    store = await Store.open(path)
    try:
        old = await InteractionStore(store).get("7d3c1f0e-8a51-4a8e-9f3e-2f4b1c7a9d10")
        assert old is not None
        assert (old.disposition, old.appointments) == ("resolved", [])
        with pytest.raises(sqlite3.IntegrityError, match="appointments"):
            async with store.transaction() as db:  # the column takes JSON only
                await db.execute("UPDATE interactions SET appointments = 'appt-1'")
    finally:
        await store.close()


async def test_failure_midway_leaves_nothing(store: Store, interactions: InteractionStore) -> None:
    await add_call(store, "call-1")
    await add_call(store, "call-2")
    first = follow_up(1)
    await interactions.finish(interaction("call-1"), [first])
    await interactions.save_draft("call-2", {"notes": "keep me"})
    before = {t: await count(store, t) for t in ("interactions", "callbacks", "outbox")}
    # The second follow-up reuses a stored callback id: the store refuses it
    # after the interaction and the first follow-up rows were inserted.
    second = interaction("call-2")
    with pytest.raises(InteractionError, match="refused") as caught:
        await interactions.finish(second, [follow_up(3), follow_up(4, id=first.id)])
    assert "+1555" not in str(caught.value)

    assert {t: await count(store, t) for t in before} == before
    assert await interactions.get(second.id) is None
    [draft] = await interactions.load_drafts()
    assert draft.body == {"notes": "keep me"}  # the draft survives a failed finish
    # The same wrap-up, corrected, then goes through.
    assert await interactions.finish(second, [follow_up(3)])


async def test_finish_twice_stores_once(store: Store, interactions: InteractionStore) -> None:
    await add_call(store, "call-1")
    record = interaction()
    ups = [follow_up(1)]
    assert await interactions.finish(record, ups) is True
    assert await interactions.finish(record, ups) is False
    assert await count(store, "interactions") == 1
    assert await count(store, "callbacks") == 1
    assert await count(store, "outbox") == 2


async def test_finish_for_unknown_call_is_refused(interactions: InteractionStore) -> None:
    with pytest.raises(InteractionError, match="FOREIGN KEY"):
        await interactions.finish(interaction("no-such-call"))


async def test_interaction_without_call(store: Store, interactions: InteractionStore) -> None:
    record = interaction(None)
    assert await interactions.finish(record)
    assert (await interactions.get(record.id)) is not None
    assert await count(store, "outbox") == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"urgency": "low"}, "urgency must be one of"),
        ({"disposition": "  "}, "disposition must be non-empty"),
        ({"agent_id": ""}, "agent_id must be non-empty"),
        ({"id": "not-a-uuid"}, "interaction id must be a UUID"),
        ({"started_at": datetime(2026, 3, 2, 9, 0)}, "started_at must be timezone-aware"),  # noqa: DTZ001
        ({"ended_at": T0 - timedelta(hours=1)}, "ended_at is before started_at"),
        ({"answers": [{"value": 1, "at": "x"}]}, r"answers\[0\] must be an object"),
        ({"red_flags": [{"rule": "r"}]}, r"red_flags\[0\] must have an 'at'"),
        ({"form": {"secret": object()}}, "form must hold JSON values only"),
        ({"form": {"x": float("nan")}}, "form must hold JSON values only"),
        ({"appointments": "appt-1"}, "appointments must be a list"),
        ({"appointments": [{"id": 7, "at": "x"}]}, r"appointments\[0\] must be an object"),
        ({"appointments": [{"id": "a"}]}, r"appointments\[0\] must have an 'at'"),
    ],
)
def test_invalid_interaction_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InteractionError, match=message):
        interaction(**changes)


def test_invalid_follow_up_is_refused() -> None:
    with pytest.raises(InteractionError, match="due_at must be timezone-aware"):
        follow_up(1, due_at=datetime(2026, 3, 2, 10, 0))  # noqa: DTZ001
    with pytest.raises(InteractionError, match="number must be non-empty"):
        follow_up(1, number="")
    with pytest.raises(InteractionError, match="owner must be non-empty"):
        follow_up(1, owner=" ")


async def test_duplicate_follow_up_ids_are_refused_before_writing(
    store: Store, interactions: InteractionStore
) -> None:
    await add_call(store, "call-1")
    up = follow_up(1)
    with pytest.raises(InteractionError, match="share an id"):
        await interactions.finish(interaction(), [up, up])
    assert await count(store, "interactions") == 0


def test_reprs_hide_phi() -> None:
    record = interaction()
    up = follow_up(1)
    assert "refill" not in repr(record)
    assert "asks" not in repr(record)
    assert "patient-7" not in repr(record)
    assert "+1555" not in repr(up)
    assert "confirm" not in repr(up)
    assert record.id in repr(record)


def test_urgency_only_rises() -> None:
    assert urgency_rank("routine") < urgency_rank("urgent") < urgency_rank("emergency")
    assert raise_urgency("routine", "urgent") == "urgent"
    assert raise_urgency("emergency", "routine") == "emergency"
    assert raise_urgency("urgent", "urgent") == "urgent"
    with pytest.raises(InteractionError, match="urgency must be one of"):
        urgency_rank("critical")


async def test_draft_upsert_restore_discard(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "drafts.sqlite3"
    store = await Store.open(path)
    try:
        interactions = InteractionStore(store, clock)
        await add_call(store, "call-1")
        await add_call(store, "call-2", ended=False)
        assert await interactions.save_draft("call-1", {"notes": "a"})
        clock.now = T0 + timedelta(seconds=1)
        assert await interactions.save_draft("call-1", {"notes": "ab", "disposition": None})
        assert await interactions.save_draft("call-2", {"notes": "live"})
    finally:
        await store.close()

    reopened = await Store.open(path)
    try:
        again = InteractionStore(reopened, clock)
        first, second = await again.load_drafts()
        assert (first.call_id, first.body, first.call_finished) == (
            "call-1",
            {"notes": "ab", "disposition": None},
            True,
        )
        assert first.saved_at == T0 + timedelta(seconds=1)
        assert (second.call_id, second.call_finished) == ("call-2", False)
        assert "ab" not in repr(first)
        await again.discard_draft("call-1")
        assert [d.call_id for d in await again.load_drafts()] == ["call-2"]
    finally:
        await reopened.close()


async def test_draft_after_finish_is_refused(store: Store, interactions: InteractionStore) -> None:
    await add_call(store, "call-1")
    await interactions.finish(interaction())
    assert await interactions.save_draft("call-1", {"notes": "late keystroke"}) is False
    assert await interactions.load_drafts() == []


async def test_draft_errors(store: Store, interactions: InteractionStore) -> None:
    with pytest.raises(InteractionError, match="refused the draft"):
        await interactions.save_draft("no-such-call", {})
    await add_call(store, "call-1")
    with pytest.raises(InteractionError, match="draft body must hold JSON"):
        await interactions.save_draft("call-1", {"x": {1, 2}})


async def test_callbacks_ordered_by_due_with_overdue(
    store: Store, interactions: InteractionStore
) -> None:
    await add_call(store, "call-1")
    late = follow_up(-3, owner="agent-1")
    soon = follow_up(1, owner="agent-1")
    later = follow_up(30, owner="nurses")
    just_due = follow_up(0)
    # A due time in another zone is stored as UTC and sorts as such.
    other_zone = follow_up(
        0, due_at=(T0 - timedelta(hours=1)).astimezone(timezone(timedelta(hours=-5)))
    )
    await interactions.finish(interaction(), [later, soon, late, just_due, other_zone])

    listed = await interactions.callbacks(T0)
    assert [c.id for c in listed] == [late.id, other_zone.id, just_due.id, soon.id, later.id]
    assert [c.overdue for c in listed] == [True, True, False, False, False]
    assert listed[1].due_at == T0 - timedelta(hours=1)
    assert [c.id for c in await interactions.callbacks(T0, owner="nurses")] == [later.id]
    assert all(c.status == "open" for c in listed)


async def test_complete_callback_records_outcome(
    store: Store, interactions: InteractionStore
) -> None:
    await add_call(store, "call-1")
    await add_call(store, "call-back")
    up = follow_up(-1)
    await interactions.finish(interaction(), [up])
    sent = await interactions.mark_sent(row.seq for row in await interactions.pending_outbox())
    assert sent == 2
    await interactions.save_draft("call-back", {"notes": "calling back"})
    outcome = interaction("call-back", disposition="refill_confirmed", urgency="routine")
    retry = follow_up(24, reason="no pharmacy answer")

    assert await interactions.complete_callback(up.id, outcome, [retry]) is True
    assert await interactions.complete_callback(up.id, outcome, [retry]) is False  # retry

    done = await interactions.callback(up.id, T0)
    assert done is not None
    assert (done.status, done.outcome_interaction_id, done.overdue) == ("done", outcome.id, False)
    assert done.done_at == outcome.ended_at
    assert [c.id for c in await interactions.callbacks(T0)] == [retry.id]
    assert await interactions.get(outcome.id) is not None
    assert await interactions.load_drafts() == []
    rows = await interactions.pending_outbox()
    assert [(r.kind, r.entity_id) for r in rows] == [
        ("interaction", outcome.id),
        ("callback", retry.id),
        ("callback", up.id),
    ]
    assert rows[0].payload["callback_id"] == up.id
    assert (rows[2].payload["status"], rows[2].payload["outcome_interaction_id"]) == (
        "done",
        outcome.id,
    )
    other = interaction(None)
    with pytest.raises(InteractionError, match="already done"):
        await interactions.complete_callback(up.id, other)
    with pytest.raises(InteractionError, match="does not exist"):
        await interactions.complete_callback("nope", other)
    assert await interactions.get(other.id) is None


async def test_cancel_callback(store: Store, interactions: InteractionStore) -> None:
    await add_call(store, "call-1")
    up = follow_up(2)
    await interactions.finish(interaction(), [up])
    await interactions.cancel_callback(up.id, T0)
    assert await interactions.callbacks(T0) == []
    with pytest.raises(InteractionError, match="already cancelled"):
        await interactions.cancel_callback(up.id, T0)
    last = (await interactions.pending_outbox())[-1]
    assert (last.entity_id, last.payload["status"]) == (up.id, "cancelled")


async def test_outbox_order_and_mark_sent(
    store: Store, interactions: InteractionStore, clock: Clock
) -> None:
    records = [interaction(None) for _ in range(5)]
    for record in records:
        await interactions.finish(record)
    pending = await interactions.pending_outbox(limit=3)
    assert [row.entity_id for row in pending] == [r.id for r in records[:3]]
    assert [row.seq for row in pending] == sorted(row.seq for row in pending)
    clock.now = T0 + timedelta(minutes=5)
    assert await interactions.mark_sent([pending[0].seq, pending[2].seq]) == 2
    assert await interactions.mark_sent([pending[0].seq]) == 0  # already sent
    assert await interactions.mark_sent([]) == 0
    left = await interactions.pending_outbox()
    assert [row.entity_id for row in left] == [records[1].id, records[3].id, records[4].id]
    [(sent_at,)] = await store.fetch_all(
        "SELECT sent_at FROM outbox WHERE seq = ?", (pending[0].seq,)
    )
    assert sent_at == "2026-03-02T09:05:00.000Z"
    payload = json.loads(
        (await store.fetch_all("SELECT payload FROM outbox WHERE seq = ?", (left[0].seq,)))[0][0]
    )
    assert payload["id"] == records[1].id


async def test_one_outbox_row_per_interaction_is_enforced(
    store: Store, interactions: InteractionStore
) -> None:
    record = interaction(None)
    await interactions.finish(record)
    with pytest.raises(Exception, match="UNIQUE"):  # noqa: PT011 - sqlite3.IntegrityError
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO outbox (kind, entity_id, payload, created_at) VALUES (?, ?, ?, ?)",
                ("interaction", record.id, "{}", "2026-03-02T09:00:00.000Z"),
            )
