# SPDX-License-Identifier: GPL-2.0-or-later
"""What time does to hub worklist items (issue 19), on a real PostgreSQL (tests/pg.py):
an item is never offered after its due day (closed as ``expired``, so supervisors see
why), and a claim lasts the claiming console's ``worklists.claim_minutes``, not the
floor's ``claim_seconds``, so a killed console's item comes back after exactly its lease.

The hub decides by its own clock: the due day is steered with the item's zone (one
where it is midday now) and its due date, set as the owner.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from console.core.config import WorklistsConfig
from console.core.worklists.store import Outcome
from console.hub.connection import hub_connector
from console.hub.worklist_claims import HubWorklists
from tests.pg import Hub
from tests.worklist_hub import (
    KNOWN,
    RULES,
    Agent,
    Agents,
    local_directory,
    login,
    owner,
    put_items,
    set_rules,
    start_claimers,
)


@pytest.fixture
async def agents(hub: Hub, tmp_path: Path) -> AsyncIterator[Agents]:
    """Make agents on the test's hub (closed after the test)."""
    made = Agents(hub, tmp_path)
    yield made
    await made.close()


def due(hub: Hub, item: str, days_from_today: int) -> None:
    """Make ``item`` due through today + ``days_from_today`` in its patient's zone."""
    owner(
        hub,
        "UPDATE careline.worklist_items SET due_until = "
        "(now() AT TIME ZONE zones[1])::date + %s WHERE id = %s",
        days_from_today,
        item,
    )


def state(hub: Hub, item: str) -> tuple[str, str | None]:
    """(state, block reason) of ``item``."""
    [(found, reason)] = owner(
        hub, "SELECT state, block_reason FROM careline.worklist_items WHERE id = %s", item
    )
    return str(found), reason


def lease(hub: Hub, item: str) -> float:
    """How long ``item``'s claim lasts from its last claim or renewal, in seconds."""
    [(seconds,)] = owner(
        hub,
        "SELECT extract(epoch FROM claim_expires_at - updated_at) "
        "FROM careline.worklist_items WHERE id = %s",
        item,
    )
    return float(seconds)


# -- the due day -----------------------------------------------------------------------


async def test_an_item_past_its_due_day_is_closed_as_expired_not_offered(
    hub: Hub, agents: Agents
) -> None:
    late, today = put_items(hub, {"patient": "p1"}, {"patient": "p2"})
    due(hub, late, -1)  # its day ended at the last local midnight, 12 hours ago
    due(hub, today, 0)
    alice: Agent = await agents("alice")
    claim = await alice.claim()
    assert claim is not None
    assert claim.item_id == today
    assert state(hub, late) == ("blocked", "expired")
    assert await alice.claim() is None


async def test_a_lapsed_claim_or_a_retry_past_the_due_day_is_closed(
    hub: Hub, agents: Agents
) -> None:
    lapsed, retried = put_items(hub, {"patient": "p1"}, {"patient": "p2", "spacing": 0})
    alice: Agent = await agents("alice", lease_seconds=1)
    bob: Agent = await agents("bob")
    first, second = await alice.claim(), await alice.claim()
    assert first is not None
    assert second is not None
    held = first if first.item_id == lapsed else second
    busy = second if held is first else first
    assert await alice.claims.record(busy, Outcome.BUSY, datetime.now(UTC))
    for item in (lapsed, retried):
        due(hub, item, -1)
    await asyncio.sleep(1.5)  # alice's lease runs out
    assert await bob.claim() is None
    assert state(hub, lapsed) == ("blocked", "expired")
    assert state(hub, retried) == ("blocked", "expired")
    assert not await alice.claims.record(held, Outcome.CONFIRMED, datetime.now(UTC))


async def test_a_claim_held_when_the_day_ends_is_not_taken_away(hub: Hub, agents: Agents) -> None:
    """The agent may be on the call: the end of the day stops offers, not calls."""
    [item] = put_items(hub, {"patient": "p1"})
    alice: Agent = await agents("alice")
    claim = await alice.claim()
    assert claim is not None
    due(hub, item, -1)
    renewed = await alice.claims.renew(claim, datetime.now(UTC))
    assert renewed is not None
    assert await alice.claims.record(renewed, Outcome.CONFIRMED, datetime.now(UTC))
    assert state(hub, item) == ("done", None)


async def test_hostile_due_dates_never_make_an_item_offered_late(hub: Hub, agents: Agents) -> None:
    """The owner writes items; an odd date must neither crash a claim nor call late."""
    ancient, endless, far = put_items(hub, {"patient": "p1"}, {"patient": "p2"}, {"patient": "p3"})
    owner(hub, "UPDATE careline.worklist_items SET due_until = '-infinity' WHERE id = %s", ancient)
    owner(hub, "UPDATE careline.worklist_items SET due_until = 'infinity' WHERE id = %s", endless)
    owner(hub, "UPDATE careline.worklist_items SET due_until = '5874897-12-31' WHERE id = %s", far)
    alice: Agent = await agents("alice")
    got = {c.item_id for c in [await alice.claim(), await alice.claim()] if c is not None}
    assert got == {endless, far}
    assert state(hub, ancient) == ("blocked", "expired")


# -- the lease -------------------------------------------------------------------------


async def test_the_lease_is_the_consoles_claim_minutes_not_the_floors(
    hub: Hub, agents: Agents
) -> None:
    set_rules(hub, claim_seconds=60)
    first, second = put_items(hub, {"patient": "p1"}, {"patient": "p2"})
    # Offered in this order: equal due days and times would leave it to their random ids.
    due(hub, first, 0)
    due(hub, second, 1)
    alice: Agent = await agents("alice", RULES.model_copy(update={"claim_minutes": 7}))
    claim = await alice.claim()
    assert claim is not None
    assert claim.item_id == first
    assert lease(hub, first) == 7 * 60
    await asyncio.sleep(0.2)
    assert await alice.claims.renew(claim, datetime.now(UTC)) is not None
    assert lease(hub, first) == 7 * 60
    # A console of an older version asks for no lease: the floor's applies.
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        [row] = conn.execute("SELECT item_id FROM careline.worklist_claim(NULL)").fetchall()
    assert str(row[0]) == second
    assert lease(hub, second) == 60


@pytest.mark.parametrize("seconds", [0, -1, 14401, 2**31 - 1])
async def test_a_lease_out_of_bounds_is_refused(hub: Hub, agents: Agents, seconds: int) -> None:
    """An agent asking for a lease of years would hold a patient away from the floor."""
    [item] = put_items(hub, {"patient": "p1"})
    alice: Agent = await agents("alice")
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute("SELECT * FROM careline.worklist_claim(NULL, %s::integer)", (seconds,))
        assert refused.value.sqlstate == "CL400"
    claim = await alice.claim()
    assert claim is not None
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(
                "SELECT careline.worklist_renew(%s, %s, %s::integer)",
                (item, claim.token, seconds),
            )
        assert refused.value.sqlstate == "CL400"
    assert lease(hub, item) == RULES.claim_minutes * 60
    with pytest.raises(ValueError, match="a claim lasts"):
        HubWorklists(alice.store, hub_connector(alice.dsn), RULES, lease_seconds=seconds)


LEASE_SECONDS = 10
"""The killed console's lease: what ``claim_minutes`` sets (test above), in seconds, so
the test waits seconds where ``claim_minutes: 1``, the shortest config, would wait 60."""


@pytest.mark.realtime
@pytest.mark.timeout(120)
async def test_a_killed_consoles_claim_is_released_after_its_lease_not_the_floors(
    hub: Hub, agents: Agents, tmp_path: Path
) -> None:
    """A 10-second lease on a floor whose own claim time is 4 hours: the item is back
    after those 10 seconds, not before, not four hours later."""
    set_rules(hub, claim_seconds=14400)
    [item] = put_items(hub, {"patient": "p1"})
    bob: Agent = await agents("bob")
    ghost = login("ghost")
    await local_directory(tmp_path / "ghost.sqlite3", ghost, KNOWN)
    [proc] = start_claimers(
        [hub.add_agent(ghost)], [tmp_path / "ghost.sqlite3"], "hold", lease_seconds=LEASE_SECONDS
    )
    try:
        assert proc.stdout is not None
        held_id, _ = json.loads(proc.stdout.readline())
        claimed = time.monotonic()
        assert held_id == item
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert lease(hub, item) == LEASE_SECONDS
        while time.monotonic() - claimed < LEASE_SECONDS - 2:
            assert await bob.claim() is None  # still the dead console's
            await asyncio.sleep(1)
        while (taken := await bob.claim()) is None:
            assert time.monotonic() - claimed < LEASE_SECONDS + 30, "the claim never lapsed"
            await asyncio.sleep(0.5)
        assert taken.item_id == item
        assert time.monotonic() - claimed >= LEASE_SECONDS - 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_claim_minutes_out_of_bounds_is_a_configuration_error() -> None:
    from console.core.schema import ValidationError

    for minutes in (0, 241, -5):
        with pytest.raises(ValidationError):
            WorklistsConfig(claim_minutes=minutes)
