# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading a report from the hub: calls per week, queue and agent from
``careline.call_facts``, survey interactions and submitted evaluations,
through the report functions of hub migration 0008 (which decide whose
figures the login may read: the owner everyone's, a supervisor their teams',
an agent their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from console.core.reports.feedback import Comment, MeasuredStep, SurveyCall, read_survey
from console.core.reports.figures import (
    CallCounts,
    CallTotals,
    QaScore,
    ReportData,
    SurveyScore,
    SurveyTotals,
)
from console.core.reports.weeks import ReportWeeks
from console.hub.schema import HubError

CALLS_SQL = "SELECT * FROM careline.report_calls(%s, %s, %s, %s, %s)"
SURVEYS_SQL = "SELECT * FROM careline.report_surveys(%s, %s, %s, %s, %s)"
SCORES_SQL = "SELECT * FROM careline.report_scores(%s, %s, %s, %s, %s)"
QA_SQL = "SELECT * FROM careline.report_qa(%s, %s, %s, %s)"
NO_REPORTS = (
    "the hub has no reports yet (they came with hub version 8): its owner runs careline hub init"
)


def _measures(steps: Sequence[MeasuredStep]) -> list[dict[str, str]]:
    return [{"script": s.script_id, "step": s.step_id, "measure": s.measure} for s in steps]


def _filter(values: frozenset[str]) -> list[str] | None:
    return sorted(values) if values else None


async def read_hub(
    conn: psycopg.AsyncConnection[Any],
    weeks: ReportWeeks,
    *,
    sl_seconds: int,
    steps: Sequence[MeasuredStep],
    queues: frozenset[str] = frozenset(),
    agents: frozenset[str] = frozenset(),
    with_comments: bool = False,
) -> tuple[ReportData, list[Comment]]:
    """The report of ``weeks`` as the login of ``conn`` may see it, and (with
    ``with_comments``) the survey comments; without them the hub counts the survey
    scores itself."""
    span = (weeks.start, weeks.end)
    only = (_filter(queues), _filter(agents))
    async with conn.cursor() as cur:
        try:
            await cur.execute(CALLS_SQL, (*span, float(sl_seconds), *only))
        except psycopg.errors.UndefinedFunction:
            raise HubError(NO_REPORTS) from None
        calls = tuple(
            CallTotals(
                row[0],
                row[1],
                row[2],
                CallCounts(
                    offered=row[3],
                    answered=row[4],
                    within_sl=row[5],
                    abandoned=row[6],
                    handled=row[7],
                    handle_s=float(row[8]),
                    turned_away=row[9],
                ),
            )
            for row in await cur.fetchall()
        )
        scores: list[SurveyScore] = []
        comments: list[Comment] = []
        totals: tuple[SurveyTotals, ...] = ()
        scripts = sorted({step.script_id for step in steps})
        if scripts and with_comments:
            # The comments are the answers themselves: read every log, score them here.
            await cur.execute(SURVEYS_SQL, (*span, scripts, *only))
            for row in await cur.fetchall():
                survey = SurveyCall(
                    row[0], row[1], row[2], str(row[3]), row[4].isoformat(), row[5], row[6]
                )
                found, said = read_survey(survey, steps)
                scores.extend(found)
                comments.extend(said)
        elif scripts:
            await cur.execute(SCORES_SQL, (*span, Jsonb(_measures(steps)), *only))
            totals = tuple(
                SurveyTotals(row[0], row[1], row[2], *(int(n) for n in row[3:8]))
                for row in await cur.fetchall()
            )
        await cur.execute(QA_SQL, (*span, *only))
        qa = tuple(
            QaScore(row[0], row[1], row[2], float(row[3]), bool(row[4]))
            for row in await cur.fetchall()
        )
    data = ReportData(
        weeks, sl_seconds, calls, tuple(scores), qa, survey_totals=totals, qa_available=True
    )
    return data, comments
