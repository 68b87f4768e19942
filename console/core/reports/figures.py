# SPDX-License-Identifier: GPL-2.0-or-later
"""The report's numbers: what is counted per week, queue and agent, and the
figures derived from the counts.

Definitions (``T``: the service-level threshold, ``supervise.service_level_seconds``):

- a call belongs to the week, queue and agent of its first floor event (UTC
  weeks from Monday); a call refused without ringing is *turned away* and
  counts in nothing else;
- service level = calls answered within T / calls answered;
- abandoned rate = calls the caller gave up on before an answer /
  (answered + abandoned);
- AHT = (talk + after-call work) / calls ended after an answer;
- CSAT = share of satisfaction answers of 4 or 5 (on 1-5);
- NPS = % promoters (9-10) − % detractors (0-6) of recommend answers (0-10);
- QA score = mean evaluation score (0-100) of submitted evaluations.

A figure with nothing to divide by is None (shown as "–"). The counts are
kept beside the figures so that a spreadsheet can add weeks up correctly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field, fields
from datetime import date
from typing import Literal

from console.core.records import dataclass
from console.core.reports.weeks import ReportWeeks

Level = Literal["floor", "queue", "agent"]
"""How a series is grouped: the whole floor, one queue, one agent."""

LEVELS: tuple[Level, ...] = ("floor", "queue", "agent")

SurveyMeasure = Literal["csat", "nps"]


@dataclass(slots=True)
class CallCounts:
    """Calls counted (of one week, queue and agent, or added up over more)."""

    offered: int = 0
    """Calls that rang (not turned away)."""
    answered: int = 0
    within_sl: int = 0
    """Answered within the service-level threshold."""
    abandoned: int = 0
    """The caller gave up before an answer."""
    handled: int = 0
    """Ended after an answer."""
    handle_s: float = 0.0
    """Talk plus after-call work of the handled calls, in seconds."""
    turned_away: int = 0
    """Refused without ringing (busy, not ready, queue full)."""


@dataclass(frozen=True, slots=True)
class CallTotals:
    """The calls of one week, queue and agent."""

    week: date
    queue: str
    agent_id: str
    counts: CallCounts


@dataclass(frozen=True, slots=True)
class SurveyScore:
    """One survey answer that is a score: satisfaction (1-5) or recommend (0-10)."""

    week: date
    queue: str
    agent_id: str
    interaction_id: str
    measure: SurveyMeasure
    value: int


@dataclass(frozen=True, slots=True)
class SurveyTotals:
    """Survey scores already counted for one week, queue and agent (the hub counts
    them where the answers are)."""

    week: date
    queue: str
    agent_id: str
    csat_n: int
    csat_satisfied: int
    nps_n: int
    promoters: int
    detractors: int


SURVEY_COUNTS = ("csat_n", "csat_satisfied", "nps_n", "promoters", "detractors")
"""The counts a :class:`SurveyTotals` and a :class:`Tally` share."""


@dataclass(frozen=True, slots=True)
class QaScore:
    """One submitted evaluation's score."""

    week: date
    queue: str
    agent_id: str
    score: float
    """0-100."""
    passed: bool


@dataclass(slots=True)
class Tally(CallCounts):
    """Counts added up over any set of weeks, queues and agents, and the figures."""

    csat_n: int = 0
    """Satisfaction answers."""
    csat_satisfied: int = 0
    """Of them, 4 or 5."""
    nps_n: int = 0
    """Recommend answers."""
    promoters: int = 0
    """Of them, 9 or 10."""
    detractors: int = 0
    """Of them, 0 to 6."""
    qa_n: int = 0
    """Submitted evaluations."""
    qa_sum: float = 0.0
    """Their scores added up."""
    qa_passed: int = 0
    """Of them, passed."""

    def add_calls(self, calls: CallCounts) -> None:
        """Count calls in (attribute by attribute: a year is tens of thousands of rows)."""
        self.offered += calls.offered
        self.answered += calls.answered
        self.within_sl += calls.within_sl
        self.abandoned += calls.abandoned
        self.handled += calls.handled
        self.handle_s += calls.handle_s
        self.turned_away += calls.turned_away

    def add_survey(self, score: SurveyScore) -> None:
        """Count one survey score in."""
        if score.measure == "csat":
            self.csat_n += 1
            self.csat_satisfied += score.value >= 4
        else:
            self.nps_n += 1
            self.promoters += score.value >= 9
            self.detractors += score.value <= 6

    def add_survey_totals(self, totals: SurveyTotals) -> None:
        """Count surveys already counted in."""
        for name in SURVEY_COUNTS:
            setattr(self, name, getattr(self, name) + getattr(totals, name))

    def add_qa(self, score: QaScore) -> None:
        """Count one evaluation in."""
        self.qa_n += 1
        self.qa_sum += score.score
        self.qa_passed += score.passed

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold / answered (0..1)."""
        return self.within_sl / self.answered if self.answered else None

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned / (answered + abandoned) (0..1)."""
        reached = self.answered + self.abandoned
        return self.abandoned / reached if reached else None

    @property
    def aht_s(self) -> float | None:
        """Mean talk plus after-call work per handled call, in seconds."""
        return self.handle_s / self.handled if self.handled else None

    @property
    def csat(self) -> float | None:
        """Share of satisfaction answers of 4 or 5 (0..1)."""
        return self.csat_satisfied / self.csat_n if self.csat_n else None

    @property
    def nps(self) -> float | None:
        """Promoters minus detractors, in points (-100..100)."""
        return (self.promoters - self.detractors) * 100 / self.nps_n if self.nps_n else None

    @property
    def qa_score(self) -> float | None:
        """Mean evaluation score (0..100)."""
        return self.qa_sum / self.qa_n if self.qa_n else None

    def counts(self) -> dict[str, int | float]:
        """Every count, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Series:
    """One group's tallies, one per week of the report."""

    level: Level
    name: str
    """The queue or agent id ("" for the floor). Untrusted: render as text."""
    weeks: tuple[date, ...]
    tallies: tuple[Tally, ...]

    @property
    def total(self) -> Tally:
        """All weeks added up."""
        return sum_of(self.tallies)


def sum_of(tallies: Iterable[Tally]) -> Tally:
    """``tallies`` added up."""
    total = Tally()
    for tally in tallies:
        for f in fields(tally):
            setattr(total, f.name, getattr(total, f.name) + getattr(tally, f.name))
    return total


@dataclass(frozen=True)
class ReportData:
    """What a report read: weeks, the threshold, calls, survey scores, evaluations."""

    weeks: ReportWeeks
    sl_seconds: int
    calls: tuple[CallTotals, ...] = ()
    surveys: tuple[SurveyScore, ...] = ()
    qa: tuple[QaScore, ...] = ()
    survey_totals: tuple[SurveyTotals, ...] = ()
    """Survey scores a reader counted already (the hub's), besides ``surveys``."""
    qa_available: bool = False
    """Whether the source keeps evaluations at all (a hub or store from before them
    does not: the QA score is then said to be unavailable, not zero)."""
    notes: tuple[str, ...] = field(default=())
    """What the reader wants said under the report (e.g. what is unavailable)."""

    @property
    def empty(self) -> bool:
        """Nothing at all in the report's weeks."""
        return not (self.calls or self.surveys or self.survey_totals or self.qa)

    def series(self, level: Level) -> list[Series]:
        """One series per group at ``level`` (the floor: one), groups by name."""
        weeks = tuple(self.weeks.weeks)
        index = {week: n for n, week in enumerate(weeks)}
        groups: dict[str, list[Tally]] = {}

        def tally(week: date, queue: str, agent_id: str) -> Tally | None:
            slot = index.get(week)
            if slot is None:
                return None
            name = "" if level == "floor" else queue if level == "queue" else agent_id
            row = groups.get(name)
            if row is None:
                row = groups[name] = [Tally() for _ in weeks]
            return row[slot]

        for calls in self.calls:
            if (t := tally(calls.week, calls.queue, calls.agent_id)) is not None:
                t.add_calls(calls.counts)
        for score in self.surveys:
            if (t := tally(score.week, score.queue, score.agent_id)) is not None:
                t.add_survey(score)
        for totals in self.survey_totals:
            if (t := tally(totals.week, totals.queue, totals.agent_id)) is not None:
                t.add_survey_totals(totals)
        for qa in self.qa:
            if (t := tally(qa.week, qa.queue, qa.agent_id)) is not None:
                t.add_qa(qa)
        if level == "floor" and not groups:
            groups[""] = [Tally() for _ in weeks]
        return [Series(level, name, weeks, tuple(groups[name])) for name in sorted(groups)]
