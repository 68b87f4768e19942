# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading a report from the local store: the floor's call events in the
outbox (the same records the hub receives), and the interactions of survey
scripts.

A workstation's store holds its own agent's work only; without a hub,
``careline report`` is that agent's report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from console.core.interactions.values import utc_text
from console.core.records import dataclass
from console.core.reports.feedback import Comment, MeasuredStep, SurveyCall, read_survey
from console.core.reports.figures import (
    CallCounts,
    CallTotals,
    QaScore,
    ReportData,
    SurveyScore,
)
from console.core.reports.weeks import ReportWeeks, week_of
from console.core.store import Store

_NUMBER = (
    "CASE WHEN json_type(payload, '$.{0}') IN ('integer', 'real') "
    "THEN json_extract(payload, '$.{0}') END"
)

# One row per call: its first event, queue and outcome (events a day either side
# of the weeks are read so that a call straddling the edge is judged whole).
CALL_FACTS_SQL = f"""
SELECT coalesce(json_extract(payload, '$.agent_id'), ''),
       json_extract(payload, '$.call_id'),
       max(coalesce(json_extract(payload, '$.queue'), '')),
       min(json_extract(payload, '$.at')),
       max(json_extract(payload, '$.event') = 'turned_away'),
       max(CASE WHEN json_extract(payload, '$.event') IN ('answered', 'ended')
                THEN {_NUMBER.format("wait_s")} END),
       max(json_extract(payload, '$.event') = 'abandoned'),
       max(CASE WHEN json_extract(payload, '$.event') = 'ended'
                THEN {_NUMBER.format("talk_s")} END),
       max(CASE WHEN json_extract(payload, '$.event') = 'wrapped'
                THEN {_NUMBER.format("acw_s")} END),
       max(json_extract(payload, '$.event') = 'ended')
FROM outbox
WHERE kind = 'call_event' AND json_valid(payload)
  AND json_extract(payload, '$.at') >= ? AND json_extract(payload, '$.at') < ?
  AND json_type(payload, '$.call_id') = 'text'
GROUP BY 1, 2
"""

QA_SQL = """
SELECT e.call_at, coalesce(c.queue, ''), e.agent_id, e.score, e.passed
FROM evaluations AS e LEFT JOIN calls AS c ON c.id = e.call_id
WHERE e.state <> 'draft' AND e.score IS NOT NULL AND e.call_at >= ? AND e.call_at < ?
"""
"""Submitted evaluations, in the week of the evaluated call, with its queue."""

# Where a survey counts: its call's queue, or for an outbound worklist call (no
# queue) its list.
SURVEYS_SQL = """
SELECT i.id, i.agent_id, i.started_at, i.script_id, i.answers,
       coalesce(nullif(c.queue, ''),
                CASE WHEN json_type(i.form, '$.worklist') = 'text'
                     THEN json_extract(i.form, '$.worklist') END,
                '')
FROM interactions AS i LEFT JOIN calls AS c ON c.id = i.call_id
WHERE i.script_id IN ({marks}) AND i.started_at >= ? AND i.started_at < ?
"""


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What the floor events say about one call."""

    agent_id: str
    queue: str
    first_at: datetime
    turned_away: bool = False
    answer_wait_s: float | None = None
    """Ringing to answer, for an answered call."""
    abandoned: bool = False
    ended: bool = False
    """Ended after an answer."""
    talk_s: float = 0.0
    acw_s: float = 0.0


def call_totals(calls: Iterable[CallFacts], sl_seconds: float) -> list[CallTotals]:
    """The calls counted per week, queue and agent (the definitions in
    :mod:`console.core.reports.figures`)."""
    totals: dict[tuple[date, str, str], CallCounts] = {}
    for call in calls:
        key = (week_of(call.first_at), call.queue, call.agent_id)
        row = totals.setdefault(key, CallCounts())
        if call.turned_away and call.answer_wait_s is None and not call.abandoned:
            row.turned_away += 1
            continue
        answered = call.answer_wait_s is not None
        row.offered += 1
        row.answered += answered
        row.within_sl += answered and (call.answer_wait_s or 0.0) <= sl_seconds
        row.abandoned += call.abandoned and not answered
        row.handled += call.ended
        row.handle_s += (call.talk_s + call.acw_s) if call.ended else 0.0
    return [CallTotals(*key, counts) for key, counts in totals.items()]


def _time(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


async def read_local(
    store: Store,
    weeks: ReportWeeks,
    *,
    sl_seconds: int,
    steps: Sequence[MeasuredStep],
    agent_id: str,
    queues: frozenset[str] = frozenset(),
    agents: frozenset[str] = frozenset(),
) -> tuple[ReportData, list[Comment]]:
    """The report of ``weeks`` from ``store`` (``agent_id``: this workstation's
    agent, for records that do not name one), and the survey comments."""
    margin = timedelta(days=1)
    facts: list[CallFacts] = []
    for row in await store.fetch_all(
        CALL_FACTS_SQL, (utc_text(weeks.start - margin), utc_text(weeks.end + margin))
    ):
        first = _time(row[3])
        if first is None or not weeks.start <= first < weeks.end:
            continue
        facts.append(
            CallFacts(
                str(row[0]) or agent_id,
                str(row[2]),
                first,
                bool(row[4]),
                float(row[5]) if row[5] is not None else None,
                bool(row[6]),
                bool(row[9]),
                float(row[7] or 0.0),
                float(row[8] or 0.0),
            )
        )
    calls = [
        row
        for row in call_totals(facts, sl_seconds)
        if _wanted(row.queue, row.agent_id, queues, agents)
    ]
    scores: list[SurveyScore] = []
    comments: list[Comment] = []
    scripts = sorted({step.script_id for step in steps})
    if scripts:
        sql = SURVEYS_SQL.format(marks=", ".join("?" * len(scripts)))
        rows = await store.fetch_all(sql, (*scripts, utc_text(weeks.start), utc_text(weeks.end)))
        for row in rows:
            at = _time(row[2])
            if at is None or not _wanted(str(row[5]), str(row[1]), queues, agents):
                continue
            try:
                answers = json.loads(row[4])
            except ValueError:
                answers = []
            survey = SurveyCall(
                week_of(at),
                str(row[5]),
                str(row[1]),
                str(row[0]),
                str(row[2]),
                str(row[3]),
                answers,
            )
            found, said = read_survey(survey, steps)
            scores.extend(found)
            comments.extend(said)
    qa = []
    for row in await store.fetch_all(QA_SQL, (utc_text(weeks.start), utc_text(weeks.end))):
        at = _time(row[0])
        if at is not None and _wanted(str(row[1]), str(row[2]), queues, agents):
            qa.append(QaScore(week_of(at), str(row[1]), str(row[2]), float(row[3]), bool(row[4])))
    data = ReportData(weeks, sl_seconds, tuple(calls), tuple(scores), tuple(qa), qa_available=True)
    return data, comments


def _wanted(queue: str, agent_id: str, queues: frozenset[str], agents: frozenset[str]) -> bool:
    return (not queues or queue in queues) and (not agents or agent_id in agents)
