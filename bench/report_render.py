# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline report --hub`` over a year of synthetic history: seconds to render.

A hub (the test cluster, tests/pg.py: PostgreSQL on 127.0.0.1, fsync off)
holds 52 weeks of a floor of 60 agents in 6 teams on 10 queues: 1,000,000
calls as the consoles' floor events (about 3.7 million: offered, answered,
ended, wrapped; abandoned, missed, turned away), folded into one row per call
by hub version 8 as they are stored; survey interactions with real
feedback-survey answers (3% of answered calls); two evaluations per agent
and week. Building it takes minutes, so the cluster's data directory is kept
in the cache (``~/.cache/careline``, keyed by the call count and the hub
migrations and this file) and copied for each run.

Measured: ``careline report --hub`` as a process (start-up, the hub's report
functions, rendering at 80 columns) as the owner for 52 and 4 weeks, and as a
team's supervisor for 52 weeks. Baseline, same run and server: the bare SQL
aggregate a report would need without call_facts, the call events counted
per week, queue and agent (psycopg, one query).
Run: .venv/bin/python -m bench.report_render [--calls 1000000] [--runs 3]
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import bench_parser, report
from bench.library_build import cache_dir
from console.hub import schema
from tests.pg import PG_USER, PgCluster

DB = "hub"
LAST_DAY = "2030-12-29"
"""The report's last day: the Sunday ending the 52 generated weeks."""
FIRST = "2030-01-07 00:00:00+00"
"""Monday of the first generated week."""
AGENTS = 60
TEAMS = 6
BATCH = 50_000
"""Calls per INSERT statement (each event is folded into its call by the row trigger)."""

QUEUES = (
    "appointments",
    "refills",
    "results",
    "billing",
    "transport",
    "previsit",
    "general",
    "after-hours",
    "reminders",
    "feedback",
)

# Call n: when (spread evenly over 52 weeks), which agent and queue, and what
# happened (by a hash of n: 3% turned away, 5% abandoned, 2% missed, else answered).
CALLS = """
WITH c AS (
    SELECT n,
           %(first)s::timestamptz + n * (interval '364 days' / %(total)s::int) AS at,
           'agent' || lpad((abs(hashint4(n)) %% %(agents)s)::text, 2, '0') AS agent,
           (%(queues)s::text[])[1 + abs(hashint4(n + 7)) %% 10] AS queue,
           abs(hashint4(n + 13)) %% 100 AS fate,
           abs(hashint4(n + 17)) %% 60 AS wait,
           60 + abs(hashint4(n + 19)) %% 540 AS talk,
           10 + abs(hashint4(n + 23)) %% 110 AS acw
    FROM generate_series(%(start)s::int, %(stop)s::int) AS n
)
INSERT INTO careline.floor_events (agent_id, kind, payload, at, source, source_seq)
SELECT c.agent, 'call_event',
       jsonb_build_object('agent_id', c.agent, 'call_id', 'call-' || c.n, 'queue', c.queue,
                          'event', e.event, 'wait_s', e.wait, 'talk_s', e.talk,
                          'acw_s', e.acw, 'at', e.at),
       e.at, md5(c.agent)::uuid, c.n * 4 + e.k
FROM c CROSS JOIN LATERAL (VALUES
    (0, CASE WHEN c.fate < 3 THEN 'turned_away' ELSE 'offered' END, 0, 0, 0, c.at),
    (1, CASE WHEN c.fate < 8 THEN 'abandoned' WHEN c.fate < 10 THEN 'missed'
             ELSE 'answered' END, c.wait, 0, 0, c.at + c.wait * interval '1 second'),
    (2, 'ended', c.wait, c.talk, 0, c.at + (c.wait + c.talk) * interval '1 second'),
    (3, 'wrapped', 0, 0, c.acw, c.at + (c.wait + c.talk + c.acw) * interval '1 second')
) AS e (k, event, wait, talk, acw, at)
WHERE e.k = 0 OR (c.fate >= 3 AND (e.k = 1 OR c.fate >= 10))
"""

SURVEYS = """
INSERT INTO careline.interactions
    (id, agent_id, disposition, urgency, started_at, ended_at, payload, hub_seq)
SELECT md5('survey' || f.call_id)::uuid, f.agent_id, 'survey_completed', 'routine',
       f.first_at, f.first_at + interval '3 minutes',
       jsonb_build_object(
           'id', md5('survey' || f.call_id)::uuid, 'call_id', f.call_id,
           'agent_id', f.agent_id, 'script_id', 'feedback-survey',
           'answers', jsonb_build_array(
               jsonb_build_object('question', 'greeting', 'value', true),
               jsonb_build_object('question', 'satisfaction',
                                  'value', 1 + abs(hashint4(h)) % 5),
               jsonb_build_object('question', 'recommend',
                                  'value', abs(hashint4(h + 1)) % 11),
               jsonb_build_object('question', 'comments',
                                  'value', 'Waited ' || abs(hashint4(h)) % 30 || ' minutes'))),
       h
FROM (SELECT *, hashtext(call_id) AS h FROM careline.call_facts
      WHERE answer_wait_s IS NOT NULL) AS f
WHERE abs(f.h) % 100 < 3
"""

EVALUATIONS = """
INSERT INTO careline.evaluations
    (id, call_id, agent_id, evaluator, form_id, form_version, call_at, state, score,
     passed, submitted_at)
SELECT md5('evaluation' || f.call_id)::uuid, f.call_id, f.agent_id,
       'supervisor' || (substr(f.agent_id, 6)::int %% %(teams)s), 'call-quality', '1',
       f.first_at, 'submitted', s.score, s.score >= 80, f.first_at + interval '2 days'
FROM careline.call_facts AS f
CROSS JOIN LATERAL (SELECT 50 + abs(hashtext(f.call_id)) %% 51 AS score) AS s
WHERE f.answer_wait_s IS NOT NULL AND abs(hashtext(f.call_id || 'qa')) %% 1000 < %(per_mille)s
"""

BARE = """
SELECT date_trunc('week', at), payload ->> 'queue', agent_id, count(*)
FROM careline.floor_events WHERE kind = 'call_event' GROUP BY 1, 2, 3
"""
"""The baseline: the call events counted per week, queue and agent."""


def _fingerprint(calls: int) -> str:
    sources = b"".join(
        path.read_bytes()
        for path in sorted((Path(schema.__file__).parent / "migrations").glob("*.sql"))
    )
    return hashlib.sha256(sources + Path(__file__).read_bytes()).hexdigest()[:12] + f"-{calls}"


def generate(dsn: str, calls: int) -> None:
    """Migrate the hub at ``dsn`` and fill it with ``calls`` calls (as the owner)."""
    import asyncio

    async def migrate() -> None:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            await schema.migrate(conn)

    asyncio.run(migrate())
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Bulk load: the doorbell and the in-order seq lock serve live readers only.
        conn.execute(
            "ALTER TABLE careline.floor_events DISABLE TRIGGER floor_events_notify, "
            "DISABLE TRIGGER floor_events_in_order"
        )
        for start in range(0, calls, BATCH):
            conn.execute(
                CALLS,
                {
                    "first": FIRST,
                    "total": calls,
                    "agents": AGENTS,
                    "queues": list(QUEUES),
                    "start": start,
                    "stop": min(start + BATCH, calls) - 1,
                },
            )
            print(f"  {min(start + BATCH, calls)} calls", file=sys.stderr, flush=True)
        conn.execute(
            "ALTER TABLE careline.floor_events ENABLE TRIGGER floor_events_notify, "
            "ENABLE TRIGGER floor_events_in_order"
        )
        conn.execute(SURVEYS)
        # About two evaluations per agent and week.
        per_mille = max(1, round(2 * AGENTS * 52 * 1000 / (calls * 0.9)))
        conn.execute(EVALUATIONS, {"teams": TEAMS, "per_mille": per_mille})
        for team in range(TEAMS):
            conn.execute(
                "INSERT INTO careline.team_members (team, login, role) "
                "SELECT %s, 'agent' || lpad(a::text, 2, '0'), 'agent' "
                "FROM generate_series(0, %s - 1) AS a WHERE a %% %s = %s "
                "UNION ALL SELECT %s, %s, 'supervisor'",
                (f"team{team}", AGENTS, TEAMS, team, f"team{team}", f"supervisor{team}"),
            )
        conn.execute("VACUUM ANALYZE")


def cached_cluster(calls: int, folder: Path | None) -> tuple[PgCluster, str]:
    """A started cluster holding the hub for ``calls`` calls, and the owner's password:
    copied from ``folder``'s cache (built there first if missing), or built afresh
    (``folder`` None)."""
    cluster = PgCluster()
    try:
        return _fill(cluster, calls, folder)
    except BaseException:
        cluster.stop()
        cluster.remove()
        raise


def _fill(cluster: PgCluster, calls: int, folder: Path | None) -> tuple[PgCluster, str]:
    cached = folder / f"report-hub-{_fingerprint(calls)}" if folder is not None else None
    if cached is None or not cached.exists():
        start = time.perf_counter()
        cluster.start()
        with psycopg.connect(cluster.superuser_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB}")
        generate(cluster.dsn(cluster.superuser, cluster.superuser_password, DB), calls)
        print(
            f"built the {calls}-call hub in {time.perf_counter() - start:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if cached is None:
            return cluster, cluster.superuser_password
        cluster.stop()
        building = cached.with_suffix(".building")
        shutil.rmtree(building, ignore_errors=True)
        shutil.copytree(cluster.data, building / "data", symlinks=True)
        (building / "password").write_text(cluster.superuser_password, encoding="utf-8")
        building.rename(cached)  # only a finished build is ever found in the cache
    else:
        shutil.rmtree(cluster.data)
        shutil.copytree(cached / "data", cluster.data, symlinks=True)
        if cluster.as_root:
            subprocess.run(["chown", "-R", f"{PG_USER}:", str(cluster.data)], check=True)
        settings = f"\nport = {cluster.port}\nunix_socket_directories = '{cluster.root}'\n"
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write(settings)
        (cluster.data / "postmaster.pid").unlink(missing_ok=True)
        cluster.superuser_password = (cached / "password").read_text(encoding="utf-8")
    cluster.start()
    return cluster, cluster.superuser_password


def timed_report(dsn: str, password_file: Path, *extra: str) -> float:
    """Seconds for ``careline report --hub`` as a process, its output rendered at 80
    columns into a pipe."""
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable, "-m", "console", "report", "--hub", "--dsn", dsn,
            "--password-file", str(password_file), "--to", LAST_DAY, *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0 or "Floor" not in done.stdout:
        raise RuntimeError(f"careline report failed: {done.stderr[-500:]}")
    return seconds


def bare_aggregate(dsn: str) -> float:
    """Seconds for the baseline query."""
    with psycopg.connect(dsn) as conn:
        start = time.perf_counter()
        conn.execute(BARE).fetchall()
        return time.perf_counter() - start


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, runs=3, quick={"calls": 5000})
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.options()
    cluster, password = cached_cluster(args.calls, None if args.quick else cache_dir())
    try:
        with tempfile.TemporaryDirectory(prefix="careline-bench-report-") as tmp:
            owner = cluster.dsn(cluster.superuser, None, DB)
            with psycopg.connect(cluster.superuser_dsn, autocommit=True) as conn:
                # A supervisor of one team (10 agents) logs in with a password too.
                conn.execute(
                    psycopg.sql.SQL(
                        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                        "'supervisor0') THEN CREATE ROLE supervisor0 LOGIN IN ROLE "
                        "careline_supervisor; END IF; END $$"
                    )
                )
                conn.execute(psycopg.sql.SQL("ALTER ROLE supervisor0 PASSWORD {}").format(password))
            secret = Path(tmp) / "password"
            secret.write_text(password + "\n", encoding="utf-8")
            secret.chmod(0o600)
            supervisor = cluster.dsn("supervisor0", None, DB)
            year, month, team, bare = [], [], [], []
            for run in range(args.runs):
                # Alternate which goes first so that neither always meets a warm cache.
                if run % 2:
                    bare.append(bare_aggregate(cluster.dsn(cluster.superuser, password, DB)))
                year.append(timed_report(owner, secret, "--weeks", "52"))
                month.append(timed_report(owner, secret, "--weeks", "4"))
                team.append(timed_report(supervisor, secret, "--weeks", "52"))
                if not run % 2:
                    bare.append(bare_aggregate(cluster.dsn(cluster.superuser, password, DB)))
            with psycopg.connect(cluster.dsn(cluster.superuser, password, DB)) as conn:
                counts = conn.execute(
                    "SELECT (SELECT count(*) FROM careline.call_facts), "
                    "(SELECT count(*) FROM careline.floor_events), "
                    "(SELECT count(*) FROM careline.interactions), "
                    "(SELECT count(*) FROM careline.evaluations)"
                ).fetchone()
    finally:
        cluster.stop()
        cluster.remove()
    assert counts is not None
    print(
        f"{counts[0]} calls from {counts[1]} floor events, {counts[2]} surveys, "
        f"{counts[3]} evaluations"
    )
    label = f"{args.calls} calls"
    baseline = "bare SQL aggregate of the call events per week, queue, agent"
    report(f"careline report --hub, 52 weeks, owner, {label}", "s", year, bare, baseline)
    report(f"careline report --hub, 4 weeks, owner, {label}", "s", month, bare, baseline)
    report(f"careline report --hub, 52 weeks, one team's supervisor, {label}", "s", team)


if __name__ == "__main__":
    main()
