# SPDX-License-Identifier: GPL-2.0-or-later
"""Evaluations on the hub (issue 21), on a real PostgreSQL: row-level security (an agent
reads only their own submitted evaluations and cannot change a score; a supervisor reads
and writes only their teams'), and the evaluator's desk sending to the hub, again after
an outage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from console.core.quality.desk import QaDesk
from console.core.quality.evaluations import Evaluation, EvaluationError, EvaluationStore
from console.core.quality.selection import week_of
from console.core.scripts.loader import load_library
from console.core.store import Store
from console.hub.connection import hub_connector
from console.hub.evaluations import HubAgentEvaluations, HubEvaluations
from console.hub.review_calls import HubCalls
from console.hub.sync import SyncWorker
from tests.pg import Hub
from tests.qa_calls import MONDAY, a_week
from tests.test_hub_schema import careline as hub_cli
from tests.test_qa_evaluations import ALL_YES, FORM, start, stored_call
from tests.worklist_hub import login


def hub_as(hub: Hub, name: str) -> HubEvaluations:
    return HubEvaluations(hub_connector(hub.dsn(name)))


async def submitted(store: Store, evaluator: str, agent: str) -> Evaluation:
    """A submitted evaluation of ``agent``'s call-1 by ``evaluator`` in the local store."""
    evaluations = EvaluationStore(store)
    draft = await start(evaluations, evaluator)
    # start() evaluates alice's call: give it to ``agent``.
    async with store.transaction() as db:
        await db.execute("UPDATE evaluations SET agent_id = ? WHERE id = ?", (agent, draft.id))
    draft = await evaluations.answer(draft, FORM, "empathy", "4")
    for item, value in ALL_YES.items():
        if item != "empathy":
            draft = await evaluations.answer(draft, FORM, item, value)
    return await evaluations.submit(draft, FORM, "Good")


@pytest.fixture
def floor(hub: Hub) -> dict[str, str]:
    """Two teams: sup-a supervises alice, sup-b supervises bob."""
    names = {key: login(key) for key in ("alice", "bob", "sup-a", "sup-b")}
    hub.add_agent(names["alice"])
    hub.add_agent(names["bob"])
    hub.add_supervisor(names["sup-a"])
    hub.add_supervisor(names["sup-b"])
    dsn = hub.cluster.dsn(hub.cluster.superuser, None, hub.dbname)
    password = hub.cluster.superuser_password
    for team, member in (("a", "alice"), ("a", "sup-a"), ("b", "bob"), ("b", "sup-b")):
        done = hub_cli("team", team, names[member], "--dsn", dsn, password=password)
        assert done.returncode == 0, done.stderr
    assert done.stdout == f"supervisor {names['sup-b']} is in b\n"
    stranger = hub_cli("team", "a", "postgres-x", "--dsn", dsn, password=password)
    assert (stranger.returncode, stranger.stderr) == (
        2,
        "careline hub: postgres-x is not an agent or supervisor login of this hub\n",
    )
    return names


async def test_agents_see_only_their_own_and_cannot_change_a_score(
    hub: Hub, floor: dict[str, str], tmp_path: Path
) -> None:
    alice, bob, sup_a, sup_b = floor["alice"], floor["bob"], floor["sup-a"], floor["sup-b"]
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        await stored_call(store)
        evaluation = await submitted(store, sup_a, alice)
    finally:
        await store.close()
    # A draft first: the agent does not see it yet.
    supervisor = hub_as(hub, sup_a)
    assert (
        await supervisor.save(
            replace(evaluation, state="draft", score=None, passed=None, submitted_at=None)
        )
        == "draft"
    )
    assert await hub_as(hub, alice).of_agent(alice) == []
    assert await supervisor.save(evaluation) == "submitted"
    assert await supervisor.save(evaluation) == "submitted"  # a retried send is harmless
    seen = await hub_as(hub, alice).of_agent(alice)
    assert [(e.id, e.score, e.state) for e in seen] == [
        (evaluation.id, evaluation.score, "submitted")
    ]
    assert seen[0].values() == evaluation.values()

    # Another agent reads nothing of it and cannot acknowledge it.
    assert await hub_as(hub, bob).visible() == []
    with pytest.raises(EvaluationError, match="no such evaluation of yours"):
        await hub_as(hub, bob).acknowledge(evaluation.id)
    # The agent cannot change the score: no UPDATE, and saving is for supervisors.
    with (
        psycopg.connect(hub.dsn(alice)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("UPDATE careline.evaluations SET score = 100")
    with pytest.raises(EvaluationError, match="refused"):
        await hub_as(hub, alice).save(evaluation)
    # Nor can the evaluator, once it is submitted.
    changed = replace(evaluation, score=12.0)
    with pytest.raises(EvaluationError, match="cannot be changed"):
        await supervisor.save(changed)
    # Another team's supervisor neither reads nor writes it.
    assert await hub_as(hub, sup_b).visible() == []
    with pytest.raises(EvaluationError, match="not in one of your teams"):
        await hub_as(hub, sup_b).save(replace(evaluation, evaluator=sup_b))

    await HubAgentEvaluations(hub_as(hub, alice)).acknowledge(evaluation.id, alice, "Thanks")
    (acked,) = await hub_as(hub, sup_a).for_call("call-1")
    assert (acked.state, acked.agent_comment, acked.score) == (
        "acknowledged",
        "Thanks",
        evaluation.score,
    )


async def test_the_desk_sends_to_the_hub_and_again_after_an_outage(
    hub: Hub, floor: dict[str, str], tmp_path: Path
) -> None:
    alice, sup_a = floor["alice"], floor["sup-a"]
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        await stored_call(store)
        async with store.transaction() as db:
            await db.execute("UPDATE calls SET agent_id = ?", (alice,))
        down = HubEvaluations(hub_connector("host=127.0.0.1 port=1 dbname=x", connect_timeout=1))
        desk = QaDesk(store, load_library(), FORM, sup_a, seed="s", sync=down)
        evaluation = await start(desk.evaluations, sup_a)
        async with store.transaction() as db:
            await db.execute("UPDATE evaluations SET agent_id = ?", (alice,))
        evaluation = await desk.evaluations.get(evaluation.id)  # type: ignore[assignment]
        assert evaluation is not None
        for item, value in ALL_YES.items():
            evaluation = await desk.answer(evaluation, item, value)
        evaluation = await desk.submit(evaluation, "Fine")
        assert desk.sync_problem is not None
        assert desk.sync_problem.startswith("hub unreachable")
        assert [e.id for e in await desk.evaluations.unsynced()] == [evaluation.id]

        desk.sync = hub_as(hub, sup_a)
        assert await desk.send_pending() == 1
        assert desk.sync_problem is None
        assert await desk.evaluations.unsynced() == []
        (on_hub,) = await hub_as(hub, alice).of_agent(alice)
        assert (on_hub.id, on_hub.score) == (evaluation.id, 100.0)
        calibration, rows = await desk.calibration("call-1")
        assert [e.evaluator for e in calibration] == [sup_a]
        assert all(row.spread == 0 for row in rows)
    finally:
        await store.close()


async def test_a_supervisor_reviews_the_calls_agents_synced_to_the_hub(
    hub: Hub, floor: dict[str, str], tmp_path: Path
) -> None:
    alice, sup_a, sup_b = floor["alice"], floor["sup-a"], floor["sup-b"]
    agent_store = await Store.open(tmp_path / "alice.sqlite3")
    try:
        emergency = await a_week(agent_store, agents=(alice,), per_agent=3)
        worker = SyncWorker(agent_store, hub_connector(hub.dsn(alice)), region="US")
        while await worker.deliver():
            pass
        await worker.close()
    finally:
        await agent_store.close()

    supervisor_store = await Store.open(tmp_path / "sam.sqlite3")  # holds none of her calls
    try:
        connect = hub_connector(hub.dsn(sup_a))
        desk = QaDesk(
            supervisor_store,
            load_library(),
            FORM,
            sup_a,
            seed="s",
            sync=HubEvaluations(connect),
            calls=HubCalls(connect),
        )
        start, end = week_of(MONDAY)
        queue = await desk.queue(start, end)
        assert [(e.pick.call_id, e.pick.reason) for e in queue[:1]] == [(emergency, "emergency")]
        assert len(queue) == 3  # the emergency and two sampled calls
        first = queue[0]
        assert first.facts.talk_seconds == 180  # the floor's talk time
        # The hub has no timeline or audit: those checks pre-fill nothing.
        assert sorted(check.value for check in first.findings) == [
            "disposition_matches",
            "script_completed",
            "wrap_up_within_limit",
        ]
        evaluation = await desk.open(first)
        assert evaluation.values() == {
            "disposition_accurate": "yes",
            "script_followed": "na",
            "wrap_up_timely": "yes",
        }
        for item, value in ALL_YES.items():
            if item not in evaluation.answers:
                evaluation = await desk.answer(evaluation, item, value)
        evaluation = await desk.submit(evaluation)
        assert desk.sync_problem is None
        (seen,) = await hub_as(hub, alice).of_agent(alice)
        assert (seen.id, seen.call_id, seen.score) == (evaluation.id, emergency, 100.0)
        # Another team's supervisor has no queue of her calls.
        other = QaDesk(
            supervisor_store, load_library(), FORM, sup_b, seed="s",
            calls=HubCalls(hub_connector(hub.dsn(sup_b))),
        )  # fmt: skip
        assert await other.queue(start, end) == []
    finally:
        await supervisor_store.close()
