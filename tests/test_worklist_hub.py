# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklists shared through the hub (issue 19), on a real PostgreSQL (tests/pg.py).

Claimers are separate connections, and for the races separate processes, each logged
in as a different agent: no item is claimed twice and none is lost; a killed console's
claim lapses and another agent takes it; an opt-out by one agent blocks the next offer
to every other and reaches their local stores. The calling rules across agents are in
test_worklist_hub_rules.py, trust and hostile values in test_worklist_hub_trust.py,
the helpers in tests/worklist_hub.py. The hub decides by its own clock, so the
calling window is steered with the zones an item carries (``Etc/GMT±n``: a zone where
it is midday now, one where it is 3 a.m.), and the caps with calls the owner writes
into the log.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.core.store import Store
from console.core.worklists.claims import WorklistClaimer, WorklistUnavailableError
from console.core.worklists.store import Claim, Outcome, WorklistStore
from console.hub.connection import hub_connector
from console.hub.worklist import worklist_claimer
from console.hub.worklist_claims import HubWorklists
from tests.pg import Hub, run_async
from tests.worklist_hub import (
    KNOWN,
    NUMBER,
    RULES,
    Agent,
    Agents,
    eventually,
    know,
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


# -- the interface ---------------------------------------------------------------------


async def test_the_claimer_is_the_hubs_when_one_is_configured(tmp_path: Path) -> None:
    from console.core.config import CarelineConfig

    store = await Store.open(tmp_path / "s.sqlite3")
    try:
        local = worklist_claimer(store, CarelineConfig())
        assert isinstance(local, WorklistStore)
        hubbed = worklist_claimer(
            store, CarelineConfig.model_validate({"hub": {"dsn": "host=127.0.0.1 user=a"}}), "pw"
        )
        assert isinstance(hubbed, HubWorklists)
        for claimer in (local, hubbed):
            assert isinstance(claimer, WorklistClaimer)
    finally:
        await store.close()


async def test_a_claim_renews_records_and_is_settled_once(hub: Hub, agents: Agents) -> None:
    alice: Agent = await agents("alice")
    [item] = put_items(hub, {"patient": "p1", "max_attempts": 2})
    set_rules(hub, claim_seconds=60)
    claim = await alice.claim()
    assert claim is not None
    assert (claim.item_id, claim.numbers) == (item, (NUMBER,))
    assert claim.patient_id == alice.local("p1")  # the hub's MRN, in local terms
    assert (claim.attempt, claim.max_attempts, claim.list_id) == (1, 2, "reminders")
    renewed = await alice.claims.renew(claim, datetime.now(UTC))
    assert renewed is not None
    assert renewed.expires_at >= claim.expires_at
    assert await alice.claims.record(renewed, Outcome.CONFIRMED, datetime.now(UTC), note="ok")
    assert not await alice.claims.record(renewed, Outcome.CONFIRMED, datetime.now(UTC))
    assert await alice.claims.renew(renewed, datetime.now(UTC)) is None
    assert owner(hub, "SELECT state, attempts, outcome FROM careline.worklist_items") == [
        ("done", 1, "confirmed")
    ]
    assert owner(hub, "SELECT agent_id, outcome, note FROM careline.worklist_calls") == [
        (alice.name, "confirmed", "ok")
    ]


async def test_skip_no_answer_and_release_follow_the_rule(hub: Hub, agents: Agents) -> None:
    alice: Agent = await agents("alice")
    put_items(hub, {"patient": "p1", "max_attempts": 2, "spacing": 120})
    claim = await alice.claim()
    assert claim is not None
    # Skipped until later: not offered before then, and no attempt counted.
    later = datetime.now(UTC) + timedelta(hours=1)
    await alice.claims.release(claim, datetime.now(UTC), later)
    assert await alice.claim() is None
    (next_at, attempts), *_ = owner(
        hub, "SELECT next_attempt_at, attempts FROM careline.worklist_items"
    )
    assert attempts == 0
    assert abs((next_at - later).total_seconds()) < 1
    # A skip cannot hide an item for more than 14 days.
    owner(hub, "UPDATE careline.worklist_items SET next_attempt_at = now()")
    claim = await alice.claim()
    assert claim is not None
    await alice.claims.release(claim, datetime.now(UTC), datetime.now(UTC) + timedelta(days=400))
    [(days,)] = owner(
        hub, "SELECT extract(day FROM next_attempt_at - now()) FROM careline.worklist_items"
    )
    assert 13 <= days <= 14
    # No answer: due again after the spacing, the last attempt settles it.
    owner(hub, "UPDATE careline.worklist_items SET next_attempt_at = now()")
    claim = await alice.claim()
    assert claim is not None
    assert await alice.claims.record(claim, Outcome.NO_ANSWER, datetime.now(UTC))
    assert owner(
        hub,
        "SELECT state, attempts, next_attempt_at > now() + interval '119 minutes' "
        "FROM careline.worklist_items",
    ) == [("pending", 1, True)]


# -- races -------------------------------------------------------------------------------


@pytest.mark.timeout(240)
@pytest.mark.parametrize("claimers", [2, 5])
def test_concurrent_claimers_never_claim_one_item_twice_nor_lose_one(
    hub: Hub, tmp_path: Path, claimers: int
) -> None:
    patients = 150
    # Every patient on two lists and ten on a third: one call each today, whoever calls.
    items = [{"patient": f"p{n}", "list": "reminders"} for n in range(patients)]
    items += [{"patient": f"p{n}", "list": "refills"} for n in range(patients)]
    items += [{"patient": f"p{n}", "list": "feedback"} for n in range(30)]
    put_items(hub, *items)
    dsns = [hub.add_agent(login(f"racer{k}")) for k in range(claimers)]
    for k in range(claimers):
        run_async(local_directory(tmp_path / f"{k}.sqlite3", f"racer{k}", KNOWN))
    procs = start_claimers(dsns, [tmp_path / f"{k}.sqlite3" for k in range(claimers)])
    outputs = [proc.communicate(timeout=200) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    claimed = [item for out, _ in outputs for item in json.loads(out)]
    assert len(claimed) == len(set(claimed)), "an item was claimed twice"
    assert len(claimed) == patients, "a patient was called twice, or one was left out"
    rows = owner(
        hub,
        "SELECT mrn, count(*), count(DISTINCT agent_id) FROM careline.worklist_calls GROUP BY mrn",
    )
    assert len(rows) == patients
    assert all(calls == 1 for _, calls, _ in rows)
    done = owner(
        hub,
        "SELECT state, count(*) FROM careline.worklist_items GROUP BY state ORDER BY state",
    )
    assert done == [("done", patients), ("pending", len(items) - patients)]
    # Every agent got a share of the list.
    assert all(json.loads(out) for out, _ in outputs)


@pytest.mark.timeout(120)
async def test_a_killed_consoles_claim_lapses_and_another_agent_gets_it(
    hub: Hub, agents: Agents, tmp_path: Path
) -> None:
    [item] = put_items(hub, {"patient": "p1"})
    bob: Agent = await agents("bob")
    ghost = login("ghost")
    await local_directory(tmp_path / "ghost.sqlite3", ghost, KNOWN)
    [proc] = start_claimers(
        [hub.add_agent(ghost)], [tmp_path / "ghost.sqlite3"], "hold", lease_seconds=4
    )
    try:
        assert proc.stdout is not None
        held_id, held_token = json.loads(proc.stdout.readline())
        assert held_id == item
        assert await bob.claim() is None  # held, and the lease has not run out
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        taken = await eventually(bob.claim)
        assert taken.item_id == item
        assert taken.token != held_token
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The dead console's token settles nothing, even as its own login.
    store = await Store.open(tmp_path / "ghost-again.sqlite3")
    back = HubWorklists(store, hub_connector(hub.dsn(ghost)), RULES)
    stale = Claim(held_id, held_token, "reminders", "p1", "", "", (NUMBER,), "")
    try:
        assert not await back.record(stale, Outcome.CONFIRMED, datetime.now(UTC))
        assert await back.renew(stale, datetime.now(UTC)) is None
    finally:
        await back.close()
        await store.close()
    assert await bob.claims.record(taken, Outcome.CONFIRMED, datetime.now(UTC))
    assert owner(hub, "SELECT agent_id FROM careline.worklist_calls") == [(bob.name,)]


async def test_a_renewed_claim_outlives_its_lease(hub: Hub, agents: Agents) -> None:
    put_items(hub, {"patient": "p1"})
    alice: Agent = await agents("alice", lease_seconds=3)
    bob: Agent = await agents("bob")
    claim = await alice.claim()
    assert claim is not None
    for _ in range(9):  # 4.5 s, one and a half leases
        await asyncio.sleep(0.5)
        renewed = await alice.claims.renew(claim, datetime.now(UTC))
        assert renewed is not None
        claim = renewed
        assert await bob.claim() is None
    taken = await eventually(bob.claim)
    assert taken.item_id == claim.item_id
    assert await alice.claims.renew(claim, datetime.now(UTC)) is None


# -- opt-outs ------------------------------------------------------------------------------


async def test_an_opt_out_by_one_agent_blocks_the_next_offer_to_every_other(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "p1", "list": "a"}, {"patient": "p1", "list": "b"})
    alice: Agent = await agents("alice")
    bob: Agent = await agents("bob")
    carol: Agent = await agents("carol")
    assert await bob.claims.sync_opt_outs(pull=True) == 0
    await alice.claims.opt_out(alice.local("p1"), datetime.now(UTC), "letter")
    assert await bob.claim() is None
    assert await carol.claim() is None
    assert owner(hub, "SELECT DISTINCT state, block_reason FROM careline.worklist_items") == [
        ("blocked", "opted_out")
    ]
    assert owner(hub, "SELECT mrn, agent_id, source FROM careline.worklist_opt_outs") == [
        ("p1", alice.name, "letter")
    ]
    # Every local store learns it with its pull (Carol's first claim pulled; Bob had
    # pulled a moment before, and pulls again every pull_interval), under its own id.
    assert await bob.claims.sync_opt_outs(pull=True) == 1
    for agent in (bob, carol):
        assert await agent.store.fetch_all("SELECT patient_id, source FROM worklist_opt_outs") == [
            (agent.local("p1"), "hub")
        ]
    assert await alice.store.fetch_all("SELECT source FROM worklist_opt_outs") == [("hub:letter",)]


async def test_an_opt_out_during_a_call_settles_and_blocks_in_one_go(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "p1", "list": "a"}, {"patient": "p1", "list": "b"})
    alice: Agent = await agents("alice")
    claim = await alice.claim()
    assert claim is not None
    assert await alice.claims.record(claim, Outcome.OPTED_OUT, datetime.now(UTC))
    assert owner(
        hub, "SELECT state, coalesce(block_reason, outcome) FROM careline.worklist_items "
        "ORDER BY state",
    ) == [("blocked", "opted_out"), ("done", "opted_out")]  # fmt: skip
    assert owner(hub, "SELECT source FROM careline.worklist_opt_outs") == [("call",)]


async def test_an_opt_out_taken_while_the_hub_is_down_goes_before_the_next_claim(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "p1"}, {"patient": "p2"})
    alice: Agent = await agents("alice")
    bob: Agent = await agents("bob")

    async def down() -> psycopg.AsyncConnection[Any]:
        raise psycopg.OperationalError("connection refused")

    offline = HubWorklists(alice.store, down, RULES)
    with pytest.raises(WorklistUnavailableError, match="hub unreachable"):
        await offline.opt_out(alice.local("p1"), datetime.now(UTC), "inbound")
    with pytest.raises(WorklistUnavailableError):
        await offline.claim_next(alice.name, datetime.now(UTC))
    # Kept locally; the hub does not know yet.
    assert await alice.store.fetch_all("SELECT source FROM worklist_opt_outs") == [("inbound",)]
    assert owner(hub, "SELECT count(*) FROM careline.worklist_opt_outs") == [(0,)]
    # Back online (the console restarted): sent before its next claim.
    claim = await alice.claim()
    assert claim is not None
    assert claim.patient_id == alice.local("p2")
    assert await bob.claim() is None
    assert owner(hub, "SELECT mrn, source FROM careline.worklist_opt_outs") == [("p1", "inbound")]


async def test_a_patient_the_local_directory_lacks_waits_for_the_directory_pull(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "new-patient"})
    alice: Agent = await agents("alice")
    assert await alice.claim() is None  # given back, not offered blind
    assert owner(hub, "SELECT state, claimed_by FROM careline.worklist_items") == [
        ("pending", None)
    ]
    # An opt-out of a patient it lacks is learnt once the directory holds them.
    owner(hub, "INSERT INTO careline.worklist_opt_outs (mrn) VALUES ('new-patient'), ('p1')")
    assert await alice.claims.sync_opt_outs(pull=True) == 1
    await know(alice.store, alice.name, ["new-patient"])
    assert await alice.claims.sync_opt_outs(pull=True) == 2
    assert await alice.store.fetch_all(
        "SELECT patient_id FROM worklist_opt_outs ORDER BY patient_id"
    ) == [(alice.local("new-patient"),), (alice.local("p1"),)]
