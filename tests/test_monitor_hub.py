# SPDX-License-Identifier: GPL-2.0-or-later
"""Monitor grants in the hub, on a real PostgreSQL (issue 20): only a supervisor makes
one, only for itself and an agent of its teams; an agent reads only its own and uses each
once, through the hub's function that decides by the hub's clock and asks the teams again;
everything else is refused with its reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.core.monitor_grants import GrantRefusedError, new_grant_id
from console.hub.connection import hub_connector
from console.hub.monitor_grants import HubGrants, make_hub_grant
from console.hub.teams import set_member
from tests.monitor_calls import monitored_floor
from tests.pg import Hub

CALL = "7acd3b55-a23d-41e7-a35c-882bd05bf807"


async def connect(dsn: str) -> psycopg.AsyncConnection[Any]:
    return await psycopg.AsyncConnection.connect(dsn, autocommit=True)


async def refused(check: Callable[[], Awaitable[object]]) -> str:
    with pytest.raises(GrantRefusedError) as caught:
        await check()
    return caught.value.reason


async def test_a_supervisors_grant_lets_the_agent_in_once(hub: Hub) -> None:
    sam = hub.add_supervisor("sam")
    alice = hub.add_agent("alice")
    hub.team("north", "sam", "alice")
    async with await connect(sam) as conn:
        grant = await make_hub_grant(conn, agent_id="alice", call_id=CALL, modes=["listen"])
    grants = HubGrants(hub_connector(alice), "alice")
    found = await grants.verify(grant, "listen", [CALL, "other"])
    assert (found.supervisor, found.call_id, found.modes) == ("sam", CALL, ("listen",))
    assert await refused(lambda: grants.verify(grant, "listen", [CALL])) == "used"


async def test_each_grant_that_does_not_hold_is_refused_with_its_reason(hub: Hub) -> None:
    sam = hub.add_supervisor("sam")
    alice, bob = hub.add_agent("alice"), hub.add_agent("bob")
    hub.team("north", "sam", "alice", "bob")
    async with await connect(sam) as conn:

        async def grant(agent: str = "alice", modes: tuple[str, ...] = ("listen",)) -> str:
            return await make_hub_grant(conn, agent_id=agent, call_id=CALL, modes=modes)

        for_bob, listen_only, elsewhere = await grant("bob"), await grant(), await grant()
        demoted, moved = await grant(), await grant()
    async with await connect(hub.owner_dsn) as owner:
        expired = new_grant_id()
        await owner.execute(
            "INSERT INTO careline.monitor_grants (id, supervisor, agent_id, call_id, modes, "
            "created_at, expires_at) VALUES (%s, 'sam', 'alice', %s, '{listen}', "
            "now() - interval '2 minutes', now() - interval '1 minute')",
            (expired, CALL),
        )
    grants = HubGrants(hub_connector(alice), "alice")
    assert await refused(lambda: grants.verify(new_grant_id(), "listen", [CALL])) == (
        "unknown_grant"
    )
    assert await refused(lambda: grants.verify(for_bob, "listen", [CALL])) == "other_agent"
    assert await refused(lambda: grants.verify(expired, "listen", [CALL])) == "expired"
    assert await refused(lambda: grants.verify(elsewhere, "listen", ["c-2"])) == "other_call"
    assert await refused(lambda: grants.verify(listen_only, "barge", [CALL])) == (
        "mode_not_granted"
    )
    # Refusals use nothing up: Bob can still use his.
    bobs = HubGrants(hub_connector(bob), "bob")
    assert (await bobs.verify(for_bob, "listen", [CALL])).supervisor == "sam"
    # Sam left Alice's team after making the grant: it lets nobody in.
    async with await connect(hub.owner_dsn) as owner:
        await set_member(owner, "north", "alice", remove=True)
    assert await refused(lambda: grants.verify(moved, "listen", [CALL])) == "not_supervisor"
    hub.team("north", "alice")
    async with await connect(hub.owner_dsn) as owner:
        await owner.execute("REVOKE careline_supervisor FROM sam")
    assert await refused(lambda: grants.verify(demoted, "listen", [CALL])) == "not_supervisor"


async def test_a_supervisor_makes_grants_only_for_the_agents_of_their_teams(hub: Hub) -> None:
    """As evaluations and reports: a supervisor of another team, or of none, reaches nobody."""
    sam, ann, una = hub.add_supervisor("sam"), hub.add_supervisor("ann"), hub.add_supervisor("una")
    alice, bob = hub.add_agent("alice"), hub.add_agent("bob")
    hub.team("north", "sam", "alice")
    hub.team("south", "ann", "bob")
    for dsn, agent in ((sam, "bob"), (ann, "alice"), (una, "alice"), (una, "bob")):
        async with await connect(dsn) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await make_hub_grant(conn, agent_id=agent, call_id=CALL, modes=["listen"])
    async with await connect(sam) as conn:
        await make_hub_grant(conn, agent_id="alice", call_id=CALL, modes=["listen"])
    # A grant a supervisor could not make (forged by the owner here) is refused when used.
    async with await connect(hub.owner_dsn) as owner:
        forged = new_grant_id()
        await owner.execute(
            "INSERT INTO careline.monitor_grants (id, supervisor, agent_id, call_id, modes) "
            "VALUES (%s, 'ann', 'alice', %s, '{barge}')",
            (forged, CALL),
        )
    grants = HubGrants(hub_connector(alice), "alice")
    assert await refused(lambda: grants.verify(forged, "barge", [CALL])) == "not_supervisor"
    bobs = HubGrants(hub_connector(bob), "bob")
    assert await refused(lambda: bobs.verify(forged, "barge", [CALL])) == "other_agent"


async def test_only_a_supervisor_makes_grants_and_only_as_themselves(hub: Hub) -> None:
    sam = hub.add_supervisor("sam")
    alice = hub.add_agent("alice")
    hub.team("north", "sam", "alice")
    async with await connect(alice) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await make_hub_grant(conn, agent_id="alice", call_id=CALL, modes=["barge"])
    async with await connect(sam) as conn:
        for column, value in (
            ("supervisor", "'ann'"),
            ("created_at", "now() + interval '1 day'"),
            ("used_at", "NULL"),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await conn.execute(
                    f"INSERT INTO careline.monitor_grants (id, agent_id, call_id, modes, {column}) "
                    f"VALUES (%s, 'alice', %s, '{{listen}}', {value})",
                    (new_grant_id(), CALL),
                )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute("UPDATE careline.monitor_grants SET used_at = NULL")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await conn.execute(
                "SELECT * FROM careline.use_monitor_grant(%s, 'listen', %s)",
                (new_grant_id(), [CALL]),
            )


@pytest.mark.parametrize(
    ("grant_id", "agent", "call", "modes", "seconds"),
    [
        ("../../etc/passwd", "alice", CALL, ["listen"], 60),
        (None, "alice'; DROP TABLE x; --", CALL, ["listen"], 60),
        (None, "alice", "", ["listen"], 60),
        (None, "alice", "c" * 129, ["listen"], 60),
        (None, "alice", CALL, ["spy"], 60),
        (None, "alice", CALL, [], 60),
        (None, "alice", CALL, ["listen"], 3600),
        (None, "alice", CALL, ["listen"], 0),
    ],
)
async def test_hostile_grants_are_refused_by_the_hub(
    hub: Hub, grant_id: str | None, agent: str, call: str, modes: list[str], seconds: int
) -> None:
    sam = hub.add_supervisor("sam")
    hub.add_agent("alice")
    hub.team("north", "sam", "alice")
    async with await connect(sam) as conn:
        # A name of no agent of sam's teams is refused before its form is checked.
        refusals = (psycopg.errors.CheckViolation, psycopg.errors.InsufficientPrivilege)
        with pytest.raises(refusals):
            await conn.execute(
                "INSERT INTO careline.monitor_grants (id, agent_id, call_id, modes, expires_at) "
                "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))",
                (grant_id or new_grant_id(), agent, call, modes, seconds),
            )


async def test_an_agent_reads_only_its_own_grants_and_a_supervisor_only_theirs(
    hub: Hub,
) -> None:
    sam, ann = hub.add_supervisor("sam"), hub.add_supervisor("ann")
    alice, bob = hub.add_agent("alice"), hub.add_agent("bob")
    hub.team("north", "sam", "alice", "bob")
    async with await connect(sam) as conn:
        await make_hub_grant(conn, agent_id="alice", call_id=CALL, modes=["listen"])
        await make_hub_grant(conn, agent_id="bob", call_id=CALL, modes=["listen"])
    for dsn, seen in ((alice, ["alice"]), (bob, ["bob"]), (sam, ["alice", "bob"]), (ann, [])):
        async with await connect(dsn) as conn:
            cur = await conn.execute(
                "SELECT agent_id FROM careline.monitor_grants ORDER BY agent_id"
            )
            assert [row[0] for row in await cur.fetchall()] == seen


async def test_a_hub_that_cannot_be_reached_lets_nobody_in() -> None:
    grants = HubGrants(hub_connector("host=127.0.0.1 port=9 dbname=x user=alice"), "alice")
    assert await refused(lambda: grants.verify(new_grant_id(), "listen", [CALL])) == (
        "unknown_grant"
    )


async def test_a_hub_grant_puts_a_supervisor_on_a_real_call(hub: Hub, tmp_path: Path) -> None:
    """The supervisor's engine carries only the grant id; the agent's side asks the hub."""
    sam = hub.add_supervisor("sam")
    grants = HubGrants(hub_connector(hub.add_agent("alice")), "alice")
    hub.team("north", "sam", "alice")
    with monitored_floor(tmp_path, engine_patient=True, phone=False) as floor:
        floor.call_in()
        async with await connect(sam) as conn:
            grant = await make_hub_grant(
                conn, agent_id="alice", call_id=floor.patient_call, modes=["listen", "whisper"]
            )
        request = floor.request(grant, "whisper")
        found = await grants.verify(request["grant"], request["mode"], [floor.patient_call])
        floor.accept(request, found)
        state = floor.agent.wait_event("monitor.state", monitor_id=floor.monitor_id)
        assert (state["supervisor"], state["mode"], state["modes"]) == (
            "sam",
            "whisper",
            ["listen", "whisper"],
        )
        floor.supervisor.wait_event("call.state", call_id=floor.monitor_call, state="active")
