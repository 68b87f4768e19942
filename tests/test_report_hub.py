# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline report --hub``: the hand-computed fortnight, recorded in two agents'
local stores and delivered by the real sync, reads back the same from the hub
(a real PostgreSQL); who sees which figures (an agent their own, a supervisor
their teams', the owner everyone's); evaluations as the QA score."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from console.core.reports.figures import LEVELS, ReportData
from console.hub.reports import read_hub
from tests.careline_cli import careline
from tests.pg import Hub
from tests.report_fixture import (
    STEPS,
    WEEKS,
    by_name,
    deliver_fortnight,
    figures,
)


async def report_as(
    dsn: str, queues: frozenset[str] = frozenset(), agents: frozenset[str] = frozenset()
) -> ReportData:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        data, _ = await read_hub(
            conn, WEEKS, sl_seconds=20, steps=STEPS, queues=queues, agents=agents
        )
    return data


async def test_the_hub_reads_the_hand_computed_figures_and_each_login_its_own(
    hub: Hub, tmp_path: Path
) -> None:
    await deliver_fortnight(hub, tmp_path, "alice")
    await deliver_fortnight(hub, tmp_path, "bob")
    sam = hub.add_supervisor("sam")
    hub.add_supervisor("una")  # a supervisor of no team
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        await conn.execute(
            "INSERT INTO careline.team_members (team, login, role) VALUES "
            "('north', 'sam', 'supervisor'), ('north', 'alice', 'agent'), "
            "('south', 'bob', 'agent')"
        )

    owner = await report_as(hub.owner_dsn)
    agents = by_name(owner, "agent")
    assert sorted(agents) == ["alice", "bob"]
    for name in ("alice", "bob"):
        assert figures(agents[name][0]) == (3, 2, 0.5, 1 / 3, 180.0, 1, None, None)
        # With the worklist survey (satisfied 4, recommend 9): CSAT 2/3, NPS (2 - 1) / 3.
        assert figures(agents[name][1]) == (5, 4, 1.0, 0.0, 90.0, 0, 2 / 3, 100 / 3)
    queues = by_name(owner, "queue")
    assert figures(queues["feedback"][1]) == (6, 6, 1.0, 0.0, 100.0, 0, 0.5, 0.0)
    assert figures(queues["appointments"][0]) == (6, 4, 0.5, 1 / 3, 180.0, 2, None, None)

    worklist = by_name(owner, "queue")["visit-feedback"][1]
    assert (worklist.csat_n, worklist.csat, worklist.nps) == (2, 1.0, 100.0)

    assert list(by_name(await report_as(hub.dsn("alice")), "agent")) == ["alice"]
    async with await psycopg.AsyncConnection.connect(hub.dsn("bob")) as conn:
        _, comments = await read_hub(conn, WEEKS, sl_seconds=20, steps=STEPS, with_comments=True)
    assert {c.agent_id for c in comments} == {"bob"}  # never alice's patients' words
    assert list(by_name(await report_as(hub.dsn("bob")), "agent")) == ["bob"]
    # Asking for another agent by name gives nothing more.
    assert await report_as(hub.dsn("bob"), agents=frozenset({"alice"})) == ReportData(
        WEEKS, 20, qa_available=True
    )
    assert list(by_name(await report_as(sam), "agent")) == ["alice"]
    assert (await report_as(hub.dsn("una"))).empty

    only = await report_as(hub.owner_dsn, queues=frozenset({"refills"}))
    assert list(by_name(only, "queue")) == ["refills"]


async def test_logins_cannot_read_the_call_facts_or_fold_calls_themselves(
    hub: Hub, tmp_path: Path
) -> None:
    await deliver_fortnight(hub, tmp_path, "alice")
    async with await psycopg.AsyncConnection.connect(hub.dsn("alice")) as conn:
        for statement in (
            "SELECT * FROM careline.call_facts",
            "SELECT careline.fold_call(f) FROM careline.floor_events AS f",
        ):
            try:
                await conn.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                await conn.rollback()
            else:
                raise AssertionError(f"alice may run {statement}")


async def test_submitted_evaluations_are_the_qa_score_of_the_call_week_and_queue(
    hub: Hub, tmp_path: Path
) -> None:
    await deliver_fortnight(hub, tmp_path, "alice")
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        calls = await (
            await conn.execute(
                "SELECT call_id, first_at FROM careline.call_facts WHERE queue = 'appointments' "
                "AND answer_wait_s IS NOT NULL ORDER BY first_at"
            )
        ).fetchall()
        for (call_id, at), (state, score) in zip(
            calls, [("submitted", 90.0), ("submitted", 60.0)], strict=True
        ):
            await conn.execute(
                "INSERT INTO careline.evaluations (id, call_id, agent_id, evaluator, form_id, "
                "form_version, call_at, state, score, passed, submitted_at) VALUES "
                "(%s, %s, 'alice', 'sam', 'call-quality', '1', %s, %s, %s, %s, now())",
                (uuid.uuid4(), call_id, at, state, score, score >= 70),
            )
        await conn.execute(
            "INSERT INTO careline.evaluations (id, call_id, agent_id, evaluator, form_id, "
            "form_version, call_at, state) VALUES (%s, 'x', 'alice', 'sam', 'call-quality', "
            "'1', %s, 'draft')",
            (uuid.uuid4(), calls[0][1]),
        )
    data = await report_as(hub.dsn("alice"))
    week = by_name(data, "queue")["appointments"][0]
    assert (week.qa_n, week.qa_score, week.qa_passed) == (2, 75.0, 1)


async def test_the_cli_reads_the_hub_with_a_password_file(hub: Hub, tmp_path: Path) -> None:
    await deliver_fortnight(hub, tmp_path, "alice")
    secret = tmp_path / "alice.password"
    secret.write_text(hub.passwords["alice"] + "\n", encoding="utf-8")
    secret.chmod(0o600)
    dsn = hub.cluster.dsn("alice", None, hub.dbname)
    done = careline(
        "report", "--hub", "--dsn", dsn, "--password-file", str(secret),
        "--to", "2026-11-29", "--weeks", "2", "--csv",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "queue,feedback,2026-11-23,3,3,3,0,0,3,300.0,1.0,0.0,100.0,2,1,0.5,2,1,1,0.0" in (
        done.stdout
    )
    refused = careline("report", "--hub", "--dsn", dsn, "--to", "2026-11-29")
    assert refused.returncode == 4, refused.stderr


async def test_whose_figures_is_decided_once_per_report_not_per_row(
    hub: Hub, tmp_path: Path
) -> None:
    # Inlined, the visibility was worked out again for every call row: 20 times slower.
    await deliver_fortnight(hub, tmp_path, "alice")
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn, autocommit=True) as conn:
        await conn.execute("SET track_functions = 'all'")
        async with conn.transaction():
            rows = await (
                await conn.execute(
                    "SELECT * FROM careline.report_calls(%s, %s, 20, NULL, NULL)",
                    (WEEKS.start, WEEKS.end),
                )
            ).fetchall()
            found = await (
                await conn.execute(
                    "SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = 'report_agents'"
                )
            ).fetchone()
    assert len(rows) == 3  # three (week, queue) groups from ten calls
    assert found == (1,)


async def test_a_hub_from_before_the_reports_says_what_to_do(hub: Hub, tmp_path: Path) -> None:
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        await conn.execute(
            "DROP FUNCTION careline.report_calls(timestamptz, timestamptz, double precision, "
            "text[], text[])"
        )
    secret = tmp_path / "owner.password"
    secret.write_text(hub.cluster.superuser_password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    dsn = hub.cluster.dsn(hub.cluster.superuser, None, hub.dbname)
    done = careline("report", "--hub", "--dsn", dsn, "--password-file", str(secret))
    assert done.returncode == 1
    assert done.stderr == (
        "careline report: the hub has no reports yet (they came with hub version 8): "
        "its owner runs careline hub init\n"
    )


async def test_the_hub_scores_surveys_by_the_rule_the_console_reads_them(
    hub: Hub, tmp_path: Path
) -> None:
    await deliver_fortnight(hub, tmp_path, "alice")
    tampered = [
        [{"question": "satisfaction", "value": 5}, {"question": "satisfaction", "value": 2}],
        [{"question": "satisfaction", "value": 4}, {"question": "satisfaction", "value": "5"}],
        [{"question": "recommend", "value": True}, {"question": "recommend", "value": 11}],
        [{"question": "recommend", "value": 9.0}, {"question": ["recommend"], "value": 0}],
        [{"question": "recommend", "value": 8.5}, "not an entry", 7, None],
        {"not": "a list"},
        [{"question": "recommend", "value": 1e300}, {"question": "satisfaction"}],
    ]
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        for answers in tampered:
            interaction = uuid.uuid4()
            payload = {"id": str(interaction), "script_id": "feedback-survey", "answers": answers}
            await conn.execute(
                "INSERT INTO careline.interactions (id, agent_id, disposition, urgency, "
                "started_at, ended_at, payload, hub_seq) VALUES (%s, 'alice', 'x', 'routine', "
                "%s, %s, %s, 0)",
                (interaction, WEEKS.start, WEEKS.start, Jsonb(payload)),
            )
    async with await psycopg.AsyncConnection.connect(hub.dsn("alice")) as conn:
        counted, _ = await read_hub(conn, WEEKS, sl_seconds=20, steps=STEPS)
        read, _ = await read_hub(conn, WEEKS, sl_seconds=20, steps=STEPS, with_comments=True)
    assert counted.survey_totals  # the hub counted them
    assert not read.survey_totals  # here every answer was read
    for level in LEVELS:
        assert by_name(counted, level) == by_name(read, level), level
    week = by_name(counted, "queue")[""][0]
    # Counted: satisfied 2 (last), recommend 9 (9.0); not "5", True, 11, 8.5, 1e300.
    assert (week.csat_n, week.csat_satisfied, week.nps_n, week.promoters) == (1, 0, 1, 1)
