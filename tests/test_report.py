# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline report`` from a local store: the numbers of a hand-computed fortnight,
CSAT and NPS from real survey answers, the charts at 80 columns, CSV and JSON,
the redacted comments, and an empty report that says so."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.core.quality.evaluations import EvaluationStore
from console.core.reports.export import FIGURE_COLUMNS, figure_rows, to_csv, to_json
from console.core.reports.local import read_local
from console.core.reports.render import report_lines
from console.core.reports.weeks import ReportWeeks
from console.core.scripts.evaluation_forms import ScaleItem, TextItem
from console.core.scripts.loader import load_library
from console.core.store import Store
from tests.careline_cli import careline
from tests.report_fixture import (
    STEPS,
    WEEK_2,
    WEEKS,
    FloorDay,
    by_name,
    figures,
    fortnight_store,
    record_fortnight,
    record_worklist_survey,
)


async def test_the_fortnight_adds_up_to_the_hand_computed_figures(store: Store) -> None:
    await record_fortnight(store)
    data, comments = await read_local(store, WEEKS, sl_seconds=20, steps=STEPS, agent_id="x")

    queues = by_name(data, "queue")
    assert figures(queues["appointments"][0]) == (3, 2, 0.5, 1 / 3, 180.0, 1, None, None)
    assert figures(queues["refills"][1]) == (2, 1, 1.0, 0.0, 60.0, 0, None, None)
    # Two surveys scored (one declined): satisfied 5 and 2, recommend 10 and 3.
    assert figures(queues["feedback"][1]) == (3, 3, 1.0, 0.0, 100.0, 0, 0.5, 0.0)
    floor = by_name(data, "floor")[""]
    assert figures(floor[0]) == (3, 2, 0.5, 1 / 3, 180.0, 1, None, None)
    assert floor[1].offered == 5
    assert floor[1].handled == 4
    assert floor[1].aht_s == (60 + 3 * 100) / 4
    assert list(by_name(data, "agent")) == ["alice"]
    assert [c.text for c in comments] == [
        "Maria Lopez was lovely, call me on 555-123-4567 [bold]thanks[/bold]",
        "Waited too long",
    ]


async def test_filters_keep_only_the_queue_asked_for(store: Store) -> None:
    await record_fortnight(store)
    data, _ = await read_local(
        store, WEEKS, sl_seconds=20, steps=STEPS, agent_id="x", queues=frozenset({"refills"})
    )
    assert list(by_name(data, "queue")) == ["refills"]
    assert not data.surveys


async def test_the_charts_fit_80_columns_in_unicode_and_ascii(store: Store) -> None:
    await record_fortnight(store)
    data, _ = await read_local(
        store, ReportWeeks.ending(WEEK_2, 52), sl_seconds=20, steps=STEPS, agent_id="x"
    )
    for ascii_only in (False, True):
        lines = report_lines(data, 80, ascii_only=ascii_only)
        assert max(len(line) for line in lines) <= 80
        assert "Queue appointments" in lines
        if ascii_only:
            assert all(line.isascii() for line in lines)
        csat = next(line for line in lines if line.startswith("  CSAT") and "n=" in line)
        assert "50% n=2" in csat


def _cli_store(tmp_path: Path) -> Path:
    config = tmp_path / "careline.yaml"
    config.write_text(f"store:\n  path: {tmp_path / 'store.sqlite3'}\n", encoding="utf-8")
    return config


async def test_the_cli_prints_csv_json_and_redacted_comments(tmp_path: Path) -> None:
    await fortnight_store(tmp_path / "store.sqlite3")
    config = _cli_store(tmp_path)
    span = ["--config", str(config), "--to", "2026-11-29", "--weeks", "2"]

    done = careline("report", *span, "--csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    feedback = [r for r in rows if r["level"] == "queue" and r["name"] == "feedback"]
    assert [(r["week"], r["csat"], r["nps"], r["aht_s"]) for r in feedback] == [
        ("2026-11-16", "", "", ""),
        ("2026-11-23", "0.5", "0.0", "100.0"),
    ]

    done = careline("report", *span, "--json")
    document = json.loads(done.stdout)
    assert document["weeks"] == 2
    assert document["sl_seconds"] == 20

    done = careline("report", *span, "--comments", "--json")
    comments = json.loads(done.stdout)["rows"]
    assert [(c["comment"], c["redacted"]) for c in comments] == [
        ("Waited too long", ""),
        ("[name] [name] was lovely, call me on [number] [bold]thanks[/bold]", "2 names, 1 number"),
    ]
    # Not "555": a row's random id can hold those digits (it did, once in a few hundred runs).
    assert "123-4567" not in done.stdout
    assert "1234567" not in done.stdout
    assert "Maria" not in done.stdout

    done = careline("report", *span, "--ascii")
    assert done.returncode == 0
    assert done.stdout.isascii()
    assert "Queue feedback" in done.stdout

    empty = careline("report", "--config", str(config), "--to", "2025-01-31")
    assert empty.returncode == 0
    assert "nothing to report" in empty.stdout


async def test_submitted_evaluations_are_the_qa_score_of_their_call_week(store: Store) -> None:
    await record_fortnight(store)
    form = load_library().evaluations[0]
    evaluations = EvaluationStore(store)
    [(first, at)] = await store.fetch_all(
        "SELECT id, received_at FROM calls WHERE queue = 'appointments' "
        "AND answered_at IS NOT NULL ORDER BY received_at LIMIT 1"
    )
    scores = []
    for evaluator, best in (("sam", True), ("una", False), ("vic", True)):
        evaluation = await evaluations.start(
            call_id=first, interaction_id=None, agent_id="alice", evaluator=evaluator,
            form=form, call_at=at, reason="sample",
        )  # fmt: skip
        for item in form.questions:
            if isinstance(item, ScaleItem):
                raw = str(item.max if best else item.min)
            else:
                raw = "ok" if isinstance(item, TextItem) else "yes"
            evaluation = await evaluations.answer(evaluation, form, item.id, raw)
        if evaluator != "vic":  # a draft does not count
            evaluation = await evaluations.submit(evaluation, form)
            scores.append(evaluation)
    data, _ = await read_local(store, WEEKS, sl_seconds=20, steps=STEPS, agent_id="x")
    week = by_name(data, "queue")["appointments"][0]
    assert week.qa_n == 2
    assert week.qa_score == sum(e.score or 0.0 for e in scores) / 2
    assert week.qa_passed == sum(bool(e.passed) for e in scores)
    assert scores[0].score == 100.0
    assert scores[1].score is not None
    assert scores[1].score < 100.0
    lines = report_lines(data, 80, ascii_only=False)
    assert any(line.startswith("  QA score") and "n=2" in line for line in lines)


async def test_a_feedback_worklist_survey_counts_under_its_list(store: Store) -> None:
    await record_worklist_survey(store, "alice", datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    data, _ = await read_local(store, WEEKS, sl_seconds=20, steps=STEPS, agent_id="x")
    [week_1, week_2] = by_name(data, "queue")["visit-feedback"]
    assert (week_1.csat_n, week_2.csat, week_2.nps, week_2.offered) == (0, 1.0, 100.0, 0)


async def test_hostile_queue_names_render_as_plain_text(store: Store) -> None:
    day = FloorDay(store, "alice")
    hostile = "[bold red]q[/]\x1b[2J\u202eeuq"
    await day.call(datetime(2026, 11, 17, 9, 0, tzinfo=UTC), hostile, wait=5, talk=30, wrap=5)
    data, _ = await read_local(store, WEEKS, sl_seconds=20, steps=STEPS, agent_id="x")
    text = "\n".join(report_lines(data, 80, ascii_only=False))
    assert "Queue [bold red]q[/]\ufffd[2Jeuq" in text  # markup kept literal, escapes shown
    assert "\x1b" not in text
    assert "\u202e" not in text
    rows = list(csv.DictReader(io.StringIO(to_csv(figure_rows(data), FIGURE_COLUMNS))))
    assert {r["name"] for r in rows if r["level"] == "queue"} == {"[bold red]q[/]\ufffd[2Jeuq"}
    assert "\x1b" not in to_json(data, figure_rows(data), "figures")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-01", "--weeks", "3"], "--from and --weeks together: give one"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "the report's end is before its start"),
        (["--weeks", "0"], "--weeks is 1 to 260"),
        (["--sl-seconds", "x"], "--sl-seconds is 1 to 600"),
        (["--hub"], "--hub needs --dsn or hub.dsn in the configuration"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = careline("report", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
