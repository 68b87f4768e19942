# SPDX-License-Identifier: GPL-2.0-or-later
"""The calling rules on the hub across agents (issue 19), on a real PostgreSQL.

One call a day and one at a time per patient whichever agent and list, three a week,
the window in every zone of the patient's numbers; a blocked item put off until its
rule can pass, never later; and the hub judging each case as the local store's
calling rules do (console/core/worklists/calling.py), at fixed instants across zones,
midnight and daylight saving.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.core.worklists.calling import (
    Blocker,
    cap_blocker,
    due_ended,
    in_window,
    local_day_start,
)
from console.core.worklists.store import Outcome
from tests.pg import Hub
from tests.worklist_hub import RULES, Agent, Agents, owner, put_items, zone_at


@pytest.fixture
async def agents(hub: Hub, tmp_path: Path) -> AsyncIterator[Agents]:
    """Make agents on the test's hub (closed after the test)."""
    made = Agents(hub, tmp_path)
    yield made
    await made.close()


# -- the calling rules across agents -----------------------------------------------------


async def test_one_call_a_day_and_one_at_a_time_across_agents_and_lists(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "p1", "list": "reminders"}, {"patient": "p1", "list": "refills"})
    alice: Agent = await agents("alice")
    bob: Agent = await agents("bob")
    held = await alice.claim()
    assert held is not None
    assert await bob.claim() is None  # p1 is being called
    other = "refills" if held.list_id == "reminders" else "reminders"
    assert verdicts(hub)[other] == Blocker.IN_PROGRESS.value
    assert await alice.claims.record(held, Outcome.NO_ANSWER, datetime.now(UTC))
    assert await bob.claim() is None  # called today, on another list, by another agent
    assert set(verdicts(hub).values()) == {Blocker.DAILY_CAP.value}


def verdicts(hub: Hub) -> dict[str, str | None]:
    """Each open item's blocker now (by list), as the hub's claim judges it."""
    rows = owner(
        hub,
        "SELECT i.list_id, careline.worklist_verdict(i, clock_timestamp(), r) "
        "FROM careline.worklist_items AS i, careline.worklist_rules AS r "
        "WHERE i.state IN ('pending', 'claimed')",
    )
    return {str(list_id): verdict for list_id, verdict in rows}


async def test_three_calls_a_week_and_the_window_in_the_patients_zones(
    hub: Hub, agents: Agents
) -> None:
    alice: Agent = await agents("alice")
    put_items(
        hub,
        {"patient": "week", "list": "a"},
        {"patient": "night", "list": "b", "zones": [zone_at(3)]},
        {"patient": "both", "list": "c", "zones": [zone_at(12), zone_at(3)]},
        {"patient": "old", "list": "d"},
    )
    for patient, hours in (("week", (26, 50, 74)), ("old", (170, 200, 230))):
        for ago in hours:
            owner(
                hub,
                "INSERT INTO careline.worklist_calls (item_id, list_id, mrn, agent_id, "
                "at, outcome) VALUES (gen_random_uuid(), 'x', %s, 'someone', "
                "now() - make_interval(hours => %s), 'no_answer')",
                patient,
                ago,
            )
    assert verdicts(hub) == {
        "a": Blocker.WEEKLY_CAP.value,
        "b": Blocker.OUTSIDE_WINDOW.value,
        "c": Blocker.OUTSIDE_WINDOW.value,  # the window must hold in every zone
        "d": None,  # calls older than seven days do not count
    }
    claim = await alice.claim()
    assert claim is not None
    assert claim.patient_id == alice.local("old")
    assert await alice.claim() is None
    # The claim put each blocked item off until its rule can pass, no later.
    waiting = dict(
        owner(
            hub,
            "SELECT list_id, (waiting_for, "
            "round(extract(epoch FROM next_attempt_at - now()) / 3600)) "
            "FROM careline.worklist_items WHERE state = 'pending'",
        )
    )
    opens = (8 - 3 - 1, 8 - 3)  # 08:00 local, from some time in the 3 o'clock hour
    assert waiting["a"][0] == "weekly_cap"
    assert int(waiting["a"][1]) == 168 - 74  # when the call 74 hours ago turns 7 days old
    for list_id in ("b", "c"):
        assert waiting[list_id][0] == "outside_window"
        assert opens[0] <= int(waiting[list_id][1]) <= opens[1], waiting


async def test_items_waiting_for_tomorrow_do_not_hide_the_one_callable_now(
    hub: Hub, agents: Agents
) -> None:
    alice: Agent = await agents("alice")
    capped = [f"c{n}" for n in range(600)]
    # 600 patients called today sort first; p1, due later, is the only one callable.
    with psycopg.connect(hub.owner_dsn) as conn:
        conn.execute(
            "INSERT INTO careline.worklist_calls (item_id, list_id, mrn, agent_id, at, outcome) "
            "SELECT gen_random_uuid(), 'x', mrn, 'someone', now(), 'busy' FROM unnest(%s::text[]) "
            "AS mrn",
            (capped,),
        )
    put_items(hub, *({"patient": mrn} for mrn in capped))
    put_items(hub, {"patient": "p1"})
    owner(
        hub,
        "UPDATE careline.worklist_items SET due_until = due_until + 1 WHERE mrn = 'p1'",
    )
    claim = await alice.claim()
    assert claim is not None
    assert claim.patient_id == alice.local("p1")
    assert owner(
        hub,
        "SELECT waiting_for, count(*), bool_and(next_attempt_at > now()) "
        "FROM careline.worklist_items WHERE mrn <> 'p1' GROUP BY waiting_for",
    ) == [("daily_cap", 600, True)]
    started = time.perf_counter()
    assert await alice.claim() is None
    assert time.perf_counter() - started < 2.0  # nothing left to look at until tomorrow


INSTANTS = [
    datetime(2031, 3, 3, 15, 0, tzinfo=UTC),
    datetime(2031, 3, 4, 1, 30, tzinfo=UTC),  # 20:30 the day before in New York
    datetime(2031, 3, 4, 2, 0, tzinfo=UTC),  # 21:00 there: out
    datetime(2031, 3, 9, 12, 59, tzinfo=UTC),  # New York's spring-forward day
    datetime(2031, 11, 2, 5, 30, tzinfo=UTC),  # and its fall-back night
    datetime(2031, 6, 30, 23, 45, tzinfo=UTC),
]
ZONES = [
    ("America/New_York",),
    ("America/Los_Angeles",),
    ("Asia/Kolkata",),
    ("Pacific/Auckland",),
    ("America/New_York", "America/Chicago"),
    ("Australia/Lord_Howe",),
]


def test_the_hub_judges_window_and_caps_as_the_local_store_does(hub: Hub) -> None:
    put_items(hub, {"patient": "p1"})
    checked = 0
    with psycopg.connect(hub.owner_dsn) as conn:
        for now in INSTANTS:
            for zones in ZONES:
                hours: list[list[int]] = [[], [1], [5, 30], [7, 26, 50], [20, 100, 150], [167, 169]]
                for n, hours_ago in enumerate(hours):
                    # Due through the day before, of, or after now's UTC date.
                    due = now.date() + timedelta(days=n % 3 - 1)
                    conn.execute("DELETE FROM careline.worklist_calls")
                    calls = [now - timedelta(hours=h) for h in hours_ago]
                    for at in calls:
                        conn.execute(
                            "INSERT INTO careline.worklist_calls (item_id, list_id, mrn, "
                            "agent_id, at, outcome) VALUES (gen_random_uuid(), 'x', 'p1', 'a', "
                            "%s, 'busy')",
                            (at,),
                        )
                    conn.execute(
                        "UPDATE careline.worklist_items SET zones = %s, due_until = %s",
                        (list(zones), due),
                    )
                    row = conn.execute(
                        "SELECT careline.worklist_verdict(i, %s, r) "
                        "FROM careline.worklist_items AS i, careline.worklist_rules AS r",
                        (now,),
                    ).fetchone()
                    assert row is not None
                    expected: Blocker | None = None
                    if due_ended(due.isoformat(), now, zones):
                        expected = Blocker.EXPIRED
                    elif not in_window(now, zones, RULES.window_start, RULES.window_end):
                        expected = Blocker.OUTSIDE_WINDOW
                    else:
                        expected = cap_blocker(calls, now, zones, 1, 3)
                    context = (now, zones, due, hours_ago, local_day_start(now, zones))
                    assert row[0] == (expected.value if expected else None), context
                    if expected not in (None, Blocker.EXPIRED):
                        assert_never_called_before(conn, now, expected, context)
                    checked += 1
    assert checked == len(INSTANTS) * len(ZONES) * 6


def assert_never_called_before(
    conn: psycopg.Connection[Any], now: datetime, blocker: Blocker, context: object
) -> None:
    """The moment a claim puts a blocked item off to is never past one it could be called."""
    row = conn.execute(
        "SELECT careline.worklist_not_before(i, %s, r, %s) "
        "FROM careline.worklist_items AS i, careline.worklist_rules AS r",
        (now, blocker.value),
    ).fetchone()
    assert row is not None
    until = row[0]
    assert until is not None
    assert until > now, context
    span = until - now
    for step in [*(span * k / 12 for k in range(12)), span - timedelta(seconds=1)]:
        blocked = conn.execute(
            "SELECT careline.worklist_verdict(i, %s, r) "
            "FROM careline.worklist_items AS i, careline.worklist_rules AS r",
            (now + step,),
        ).fetchone()
        assert blocked is not None
        assert blocked[0] is not None, (context, step)
