# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklists on the hub: trust and hostile values (issue 19), on a real PostgreSQL.

An agent can neither settle, renew nor release another agent's claim (even with its
item id and token), reads only their own calls (with their notes) and claims, never a
claim token, and writes nothing but through the hub's functions; values a client or an
owner could send wrong are refused without harm; ``careline worklist generate --hub``
publishes the floor's items once, as the hub owner only; and all of it holds on a hub
owned by a plain CREATEROLE login too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from console.core.worklists.store import Claim, Outcome
from console.hub.schema import migrate
from tests.careline_cli import careline
from tests.pg import Hub, PgCluster
from tests.test_hub_trust import OwnedHub, _drop, _plain_owner
from tests.worklist_hub import (
    NUMBER,
    Agent,
    Agents,
    know,
    login,
    owner,
    put_items,
)


@pytest.fixture
async def agents(hub: Hub, tmp_path: Path) -> AsyncIterator[Agents]:
    """Make agents on the test's hub (closed after the test)."""
    made = Agents(hub, tmp_path)
    yield made
    await made.close()


# -- trust --------------------------------------------------------------------------------


async def test_an_agent_cannot_settle_renew_or_release_another_agents_claim(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "p1"})
    alice: Agent = await agents("alice")
    mallory: Agent = await agents("mallory")
    claim = await alice.claim()
    assert claim is not None
    # Even with the item id and the token in hand.
    now = datetime.now(UTC)
    assert not await mallory.claims.record(claim, Outcome.WRONG_NUMBER, now)
    assert await mallory.claims.renew(claim, now) is None
    await mallory.claims.release(claim, now)
    assert owner(hub, "SELECT state, claimed_by FROM careline.worklist_items") == [
        ("claimed", alice.name)
    ]
    assert await alice.claims.record(claim, Outcome.CONFIRMED, now, note="Spoke to Ann")


async def test_rls_agents_read_their_own_calls_and_claims_and_no_tokens(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "p1"}, {"patient": "p2"}, {"patient": "p3"})
    alice: Agent = await agents("alice")
    bob: Agent = await agents("bob")
    boss = hub.add_supervisor(login("boss"))
    for agent, note in ((alice, "alice's private note"), (bob, "bob's private note")):
        claim = await agent.claim()
        assert claim is not None
        assert await agent.claims.record(claim, Outcome.CONFIRMED, datetime.now(UTC), note=note)
    held = await alice.claim()
    assert held is not None
    with psycopg.connect(bob.dsn) as conn:
        assert conn.execute("SELECT agent_id, note FROM careline.worklist_calls").fetchall() == [
            (bob.name, "bob's private note")
        ]
        assert conn.execute("SELECT count(*) FROM careline.worklist_items").fetchone() == (0,)
    with psycopg.connect(alice.dsn) as conn:
        assert conn.execute("SELECT id FROM careline.worklist_items").fetchall() == [
            (uuid.UUID(held.item_id),)
        ]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT claim_token FROM careline.worklist_items")
    with psycopg.connect(boss, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM careline.worklist_calls").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM careline.worklist_items").fetchone() == (3,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT claim_token FROM careline.worklist_items")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM careline.worklist_claim(NULL)")


FORGERIES = [
    "INSERT INTO careline.worklist_items (list_id, kind, dedupe_key, mrn, reason, "
    "script_id, numbers, zones, due_from, due_until, generated_on, max_attempts, "
    "spacing_minutes) VALUES ('x', 'feedback', 'k', 'p9', '', '', '{}', '{UTC}', "
    "current_date, current_date, current_date, 1, 0)",
    "UPDATE careline.worklist_items SET claimed_by = current_user",
    "DELETE FROM careline.worklist_items",
    "INSERT INTO careline.worklist_calls (item_id, list_id, mrn, agent_id, at, outcome) "
    "VALUES (gen_random_uuid(), 'x', 'p1', 'someone-else', now(), 'confirmed')",
    "DELETE FROM careline.worklist_calls",
    "INSERT INTO careline.worklist_opt_outs (mrn, seq, agent_id) VALUES ('p1', 1, 'x')",
    "UPDATE careline.worklist_rules SET max_calls_per_day = 10",
    "SELECT careline.worklist_verdict(i, now(), r) FROM careline.worklist_items i, "
    "careline.worklist_rules r",
    "SELECT careline.worklist_stop_calling('p1', 'someone-else', '', now())",
]


@pytest.mark.parametrize("statement", FORGERIES)
async def test_an_agent_cannot_forge_rows(hub: Hub, agents: Agents, statement: str) -> None:
    put_items(hub, {"patient": "p1"})
    alice: Agent = await agents("alice")
    claim = await alice.claim()
    assert claim is not None
    assert await alice.claims.record(claim, Outcome.BUSY, datetime.now(UTC))
    before = owner(
        hub,
        "SELECT (SELECT count(*) FROM careline.worklist_items), "
        "(SELECT count(*) FROM careline.worklist_calls), "
        "(SELECT count(*) FROM careline.worklist_opt_outs), "
        "(SELECT max_calls_per_day FROM careline.worklist_rules)",
    )
    with (
        psycopg.connect(alice.dsn) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"),
    ):
        conn.execute(statement)
    assert (
        owner(
            hub,
            "SELECT (SELECT count(*) FROM careline.worklist_items), "
            "(SELECT count(*) FROM careline.worklist_calls), "
            "(SELECT count(*) FROM careline.worklist_opt_outs), "
            "(SELECT max_calls_per_day FROM careline.worklist_rules)",
        )
        == before
    )


async def test_opt_outs_are_stamped_with_the_login_and_claims_need_read_committed(
    hub: Hub, agents: Agents
) -> None:
    put_items(hub, {"patient": "p1"})
    alice: Agent = await agents("alice")
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        conn.execute("SELECT careline.worklist_opt_out('p7', 'inbound')")
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            with pytest.raises(psycopg.DatabaseError, match="READ COMMITTED") as refused:
                conn.execute("SELECT * FROM careline.worklist_claim(NULL)")
            assert refused.value.sqlstate == "CL400"
    assert owner(hub, "SELECT mrn, agent_id FROM careline.worklist_opt_outs") == [
        ("p7", alice.name)
    ]
    assert owner(hub, "SELECT state FROM careline.worklist_items") == [("pending",)]


# -- hostile values ---------------------------------------------------------------------------


async def test_hostile_values_are_refused_without_harm(hub: Hub, agents: Agents) -> None:
    put_items(hub, {"patient": "p1"}, {"patient": "p2"})
    alice: Agent = await agents("alice")
    now = datetime.now(UTC)
    for list_id in ("x'; DROP TABLE careline.worklist_items; --", "r" * 10_000, "\u202e\x1b[2J"):
        assert await alice.claims.claim_next(alice.name, now, list_id) is None
    forged = Claim("not-a-uuid", "'; --", "reminders", "p1", "", "", (), "")
    assert not await alice.claims.record(forged, Outcome.CONFIRMED, now)
    assert await alice.claims.renew(forged, now) is None
    await alice.claims.release(forged, now)
    claim = await alice.claim()
    assert claim is not None
    with pytest.raises(ValueError, match="over 1000 characters"):
        await alice.claims.record(claim, Outcome.CONFIRMED, now, note="n" * 1001)
    odd = "\x1b[31mred\x1b[0m \u202e ünïcödé 🙂 '; DROP TABLE x; --"
    assert await alice.claims.record(claim, Outcome.CONFIRMED, now, note=odd)
    assert owner(hub, "SELECT note FROM careline.worklist_calls") == [(odd,)]
    # Opt-outs the hub cannot take stay local and never hold up the next claim: a
    # patient the directory does not hold, an MRN the hub refuses.
    await know(alice.store, "odd", ["m" * 300])
    await alice.claims.opt_out("nobody-here", now)
    await alice.claims.opt_out("odd:" + "m" * 300, now)
    assert await alice.store.fetch_all(
        "SELECT source FROM worklist_opt_outs ORDER BY patient_id"
    ) == [("hub:unknown",), ("hub:refused",)]
    assert await alice.claim() is not None
    with psycopg.connect(alice.dsn, autocommit=True) as conn:
        for call, params in (
            ("SELECT careline.worklist_record(%s, %s, %s, '')", (uuid.uuid4(), uuid.uuid4(), "x")),
            ("SELECT careline.worklist_record(%s, %s, NULL, '')", (uuid.uuid4(), uuid.uuid4())),
            ("SELECT careline.worklist_opt_out(NULL, '')", ()),
            ("SELECT careline.worklist_opt_out('', '')", ()),
            ("SELECT careline.worklist_opt_out('p1', %s)", ("s" * 101,)),
        ):
            with pytest.raises(psycopg.DatabaseError) as refused:
                conn.execute(call, params)
            assert refused.value.sqlstate == "CL400", call
        rows = conn.execute("SELECT * FROM careline.worklist_opt_outs_since(-5, -1)").fetchall()
        assert rows == []
        assert conn.execute(
            "SELECT careline.worklist_record(NULL, NULL, 'busy', NULL)"
        ).fetchone() == (False,)
    assert owner(hub, "SELECT count(*) FROM careline.worklist_items") == [(2,)]


@pytest.mark.parametrize(
    ("zones", "numbers"),
    [
        (["Not/AZone"], [NUMBER]),
        (["UTC'; DROP TABLE x; --"], [NUMBER]),
        ([None], [NUMBER]),
        (["UTC"], ["12345"]),
        (["UTC"], ["+1202555014\n2"]),
    ],
)
def test_an_item_with_a_zone_or_number_the_hub_cannot_use_is_refused(
    hub: Hub, zones: list[Any], numbers: list[str]
) -> None:
    with pytest.raises(psycopg.DatabaseError) as refused:
        put_items(hub, {"patient": "p1", "zones": zones, "numbers": numbers})
    assert refused.value.sqlstate == "CL400"
    assert owner(hub, "SELECT count(*) FROM careline.worklist_items") == [(0,)]


# -- careline worklist generate --hub ----------------------------------------------------------


def _resource(kind: str, rid: str, body: dict[str, Any]) -> tuple[str, str, str]:
    return kind, rid, json.dumps({"resourceType": kind, "id": rid, **body})


@pytest.fixture
def directory_on_hub(hub: Hub) -> Hub:
    """The hub's directory: two patients with a booked visit tomorrow (2031-03-04), one
    of whom opted out on the hub, and one without a phone."""
    resources = []
    for n, phone in ((1, "+1 202 555 0142"), (2, "+1 617 555 0142"), (3, None)):
        body: dict[str, Any] = {"name": [{"family": f"F{n}", "given": ["Ann"]}]}
        body["identifier"] = [{"type": {"coding": [{"code": "MR"}]}, "value": f"MRN-{n}"}]
        body["birthDate"] = "1961-04-02"
        if phone:
            body["telecom"] = [{"system": "phone", "value": phone}]
        resources.append(_resource("Patient", f"pat-{n}", body))
        resources.append(
            _resource(
                "Appointment",
                f"appt-{n}",
                {
                    "status": "booked",
                    "start": "2031-03-04T15:00:00Z",
                    "description": "Primary care",
                    "participant": [{"actor": {"reference": f"Patient/pat-{n}"}}],
                },
            )
        )
    with psycopg.connect(hub.owner_dsn) as conn:
        for kind, rid, resource in resources:
            conn.execute(
                "INSERT INTO careline.patients (resource_type, resource_id, resource) "
                "VALUES (%s, %s, %s::jsonb)",
                (kind, rid, resource),
            )
    return hub


def test_cli_generates_the_floors_items_on_the_hub_once(
    directory_on_hub: Hub, tmp_path: Path
) -> None:
    hub = directory_on_hub
    secret = tmp_path / "owner.pw"
    secret.write_text(hub.cluster.superuser_password + "\n")
    secret.chmod(0o600)
    dsn = hub.cluster.dsn(hub.cluster.superuser, None, hub.dbname)
    config = tmp_path / "careline.yaml"
    config.write_text(
        "worklists:\n  caller_id: '+12025550100'\n  window_start: '07:30'\n  claim_minutes: 5\n",
        "utf-8",
    )
    # Patient 2 opted out on the hub (a call another agent took).
    owner(hub, "INSERT INTO careline.worklist_opt_outs (mrn) VALUES ('MRN-2')")
    args: tuple[str, ...] = (
        "--config",
        str(config),
        "worklist",
        "generate",
        "--date",
        "2031-03-03",
    )
    args += ("--list", "appointment-reminders", "--hub", "--dsn", dsn)
    first = careline(*args, "--password-file", str(secret))
    assert first.returncode == 0, first.stderr
    assert "appointment-reminders: 3 added to the hub (3 candidates)" in first.stdout
    rows = owner(
        hub,
        "SELECT mrn, numbers, zones, state, coalesce(block_reason, ''), due_until "
        "FROM careline.worklist_items ORDER BY mrn",
    )
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("MRN-1", ["+12025550142"], ["America/New_York"], "pending", ""),
        ("MRN-2", ["+16175550142"], ["America/New_York"], "blocked", "opted_out"),
        ("MRN-3", [], ["America/New_York"], "blocked", "no_number"),
    ]
    assert {r[5] for r in rows} == {date(2031, 3, 4)}
    assert owner(hub, "SELECT window_start::text, claim_seconds FROM careline.worklist_rules") == [
        ("07:30:00", 300)
    ]
    again = careline(*args, env={"PGPASSWORD": hub.cluster.superuser_password})
    assert again.returncode == 0, again.stderr
    assert "appointment-reminders: 0 added to the hub (3 candidates)" in again.stdout
    assert owner(hub, "SELECT count(*) FROM careline.worklist_items") == [(3,)]
    # Only the owner generates: an agent login is refused, and --hub needs --dsn.
    agent = login("agent")
    hub.add_agent(agent, "agent-Secret-1")
    refused = careline(
        *args[:-1], hub.cluster.dsn(agent, None, hub.dbname), env={"PGPASSWORD": "agent-Secret-1"}
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "only the hub's owner generates" in refused.stderr
    assert careline(*args[:-2]).returncode == 2
    down = careline(*args[:-1], dsn.replace(f"port={hub.cluster.port}", "port=1"))
    assert down.returncode == 3
    for result in (first, again, refused, down):
        assert hub.cluster.superuser_password not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


async def test_the_same_holds_on_a_hub_owned_by_a_createrole_login(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    # RLS and SECURITY DEFINER treat a plain owner unlike a superuser (0002_trust.sql).
    name, password, dbname = _plain_owner(pg_cluster)
    hub = OwnedHub(pg_cluster, dbname, name, password)
    try:
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
            await migrate(conn)
        put_items(hub, {"patient": "p1", "list": "a"}, {"patient": "p1", "list": "b"})
        made = Agents(hub, tmp_path)
        try:
            alice, bob = await made("alice"), await made("bob")
            claim = await alice.claim()
            assert claim is not None
            assert await bob.claim() is None
            assert not await bob.claims.record(claim, Outcome.CONFIRMED, datetime.now(UTC))
            assert await alice.claims.record(claim, Outcome.OPTED_OUT, datetime.now(UTC))
            assert await bob.claims.sync_opt_outs(pull=True) == 1
            states = "SELECT state, count(*) FROM careline.worklist_items GROUP BY 1 ORDER BY 1"
            assert owner(hub, states) == [("blocked", 1), ("done", 1)]
        finally:
            await made.close()
    finally:
        _drop(pg_cluster, dbname)
