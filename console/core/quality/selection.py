# SPDX-License-Identifier: GPL-2.0-or-later
"""Choosing calls to review: a seeded random sample per agent per week, plus targeted calls.

The sample is reproducible: the same seed, agent, week and calls give the
same picks on any machine, so two supervisors (or a supervisor and an
auditor) draw the same calls. Targeted calls are every emergency
escalation, complaint, long call and call with a failed automatic check;
they are listed first, each with the first reason that applies.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from console.core.quality.checks import CheckResult
from console.core.quality.facts import CallFacts
from console.core.records import dataclass
from console.core.scripts.evaluation_forms import AutomaticCheck, Thresholds
from console.core.scripts.loader import Library

REASONS = ("emergency", "complaint", "check_failed", "long_call", "sample")
"""Why a call is in the queue, most pressing first."""
COMPLAINT = "complaint"
"""A call is a complaint when its disposition or wrap-up reason says so, a script
question about a complaint was answered yes, or a satisfaction step (``measures: csat``)
was answered :data:`UNHAPPY` or less."""
UNHAPPY = 2
"""The highest satisfaction (1-5) that counts as a complaint."""


@dataclass(frozen=True, slots=True)
class Pick:
    """A call chosen for review, and why."""

    call_id: str
    agent_id: str
    received_at: datetime
    reason: str
    """One of :data:`REASONS`."""


def week_of(moment: datetime) -> tuple[datetime, datetime]:
    """The ISO week (Monday 00:00 UTC to the next Monday) that holds ``moment``."""
    day = moment.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    return start, start + timedelta(days=7)


def week_label(monday: date) -> str:
    """``2026-W49``."""
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def satisfaction_steps(library: Library) -> dict[str, frozenset[str]]:
    """The steps of each script whose answer measures satisfaction (``measures: csat``)."""
    return {
        script.id: frozenset(step.id for step in script.steps if step.measures == "csat")
        for script in library.scripts
    }


def is_complaint(facts: CallFacts, csat: Mapping[str, frozenset[str]] | None = None) -> bool:
    """The call was about a complaint (see :data:`COMPLAINT`); ``csat``: the satisfaction
    steps by script (:func:`satisfaction_steps`)."""
    steps = (csat or {}).get(facts.script_id or "", frozenset())
    for answer in facts.answers:
        value = answer.get("value")
        if answer.get("question") not in steps or isinstance(value, bool):
            continue
        if isinstance(value, int | float) and value <= UNHAPPY:
            return True
    if COMPLAINT in facts.disposition.casefold():
        return True
    if str(facts.form.get("reason", "")).casefold() == COMPLAINT:
        return True
    return any(
        COMPLAINT in str(a.get("question", "")) and a.get("value") is True for a in facts.answers
    )


def target_reason(
    facts: CallFacts,
    findings: Mapping[AutomaticCheck, CheckResult],
    limits: Thresholds,
    csat: Mapping[str, frozenset[str]] | None = None,
) -> str | None:
    """Why the call must be reviewed whatever the sample draws, or None."""
    if facts.red_flags or facts.urgency == "emergency":
        return "emergency"
    if is_complaint(facts, csat):
        return "complaint"
    if any(result.outcome == "fail" for result in findings.values()):
        return "check_failed"
    if facts.talk_seconds > limits.long_call_seconds:
        return "long_call"
    return None


def sample(seed: str, agent_id: str, week: str, call_ids: Iterable[str], size: int) -> list[str]:
    """``size`` of ``call_ids`` drawn at random, the same for the same arguments."""
    pool = sorted(set(call_ids))
    rng = random.Random(f"{seed}|{agent_id}|{week}")  # str seeds hash the same everywhere
    return sorted(rng.sample(pool, min(size, len(pool))))


def select(
    calls: Iterable[CallFacts],
    findings: Mapping[str, Mapping[AutomaticCheck, CheckResult]],
    limits: Thresholds,
    *,
    seed: str,
    per_agent: int = 2,
    csat: Mapping[str, frozenset[str]] | None = None,
) -> list[Pick]:
    """The review queue for ``calls``: targeted calls first (by reason, then time), then
    ``per_agent`` sampled calls per agent per week among the rest (``csat``: the
    satisfaction steps by script, for complaints)."""
    targeted: list[Pick] = []
    rest: dict[tuple[str, str], list[CallFacts]] = {}
    for facts in calls:
        reason = target_reason(facts, findings.get(facts.call_id, {}), limits, csat)
        if reason is not None:
            targeted.append(Pick(facts.call_id, facts.agent_id, facts.received_at, reason))
            continue
        monday = week_of(facts.received_at)[0].date()
        rest.setdefault((facts.agent_id, week_label(monday)), []).append(facts)
    picks = sorted(targeted, key=lambda p: (REASONS.index(p.reason), p.received_at, p.call_id))
    sampled: list[Pick] = []
    for (agent_id, week), group in sorted(rest.items()):
        by_id = {facts.call_id: facts for facts in group}
        for call_id in sample(seed, agent_id, week, by_id, per_agent):
            sampled.append(Pick(call_id, agent_id, by_id[call_id].received_at, "sample"))
    return picks + sorted(sampled, key=lambda p: (p.received_at, p.call_id))
