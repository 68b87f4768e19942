# SPDX-License-Identifier: GPL-2.0-or-later
"""The automatic checks: what careline's stored facts say about one call.

Each check of :class:`~console.core.scripts.evaluation_forms.AutomaticCheck`
gives ``pass``, ``fail`` or ``na`` (does not apply) with a short reason that
names no patient data. A form question naming a check is pre-filled from it
(pass → yes, fail → no, na → N/A), and a failed check puts the call in the
review queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

from console.core.calls import parse_time
from console.core.quality.facts import CallFacts
from console.core.records import dataclass
from console.core.scripts.evaluation_forms import AutomaticCheck, Thresholds
from console.core.scripts.loader import Library
from console.core.scripts.models import Form
from console.core.scripts.runner import ScriptRun

log = logging.getLogger(__name__)

CheckOutcome = Literal["pass", "fail", "na"]
"""What a check found."""
DETAIL_VIEWS = frozenset(
    {"demographics", "appointments", "medications", "care_team", "flags", "interactions", "orders"}
)
"""Audit categories that are patient details (a search or a verification is not)."""
ESCALATED = frozenset({"emergency_escalated", "transferred"})
"""Dispositions that record an escalation: a call with a red flag ends in one of these."""
TRANSFER_FACTS = ("transfer_attempt", "consult")
"""Timeline facts that start a transfer (blind, or attended through a consult)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's finding for one call."""

    check: AutomaticCheck
    outcome: CheckOutcome
    detail: str = ""
    """Why, in a few words and numbers (no patient data)."""
    alarm: bool = False
    """A finding that should be impossible (details shown before verification): say it
    loudly wherever it is shown."""


def _seconds(later: datetime, earlier: datetime) -> int:
    return round((later - earlier).total_seconds())


def verified_before_details(
    facts: CallFacts, _limits: Thresholds, _library: Library
) -> CheckResult | None:
    """Every patient whose details were viewed on the call had been verified first."""
    check = AutomaticCheck.VERIFIED_BEFORE_DETAILS
    if not facts.audit_known:
        return None
    verified: set[str] = set()
    viewed = False
    for row in facts.audit:
        if row.action == "verify" and row.outcome == "pass" and row.patient_id:
            verified.add(row.patient_id)
        elif (
            row.action == "view" and row.patient_id and DETAIL_VIEWS & set(row.category.split(","))
        ):
            viewed = True
            if row.patient_id not in verified:
                # The console refuses this; seeing it means a defect or a tampered store.
                log.error("call %s: patient details viewed before verification", facts.call_id)
                return CheckResult(check, "fail", "DETAILS VIEWED BEFORE VERIFICATION", alarm=True)
    if not viewed:
        return CheckResult(check, "na", "no patient details viewed")
    return CheckResult(check, "pass", "verified before details")


def red_flag_transfer(
    facts: CallFacts, limits: Thresholds, _library: Library
) -> CheckResult | None:
    """A red flag was followed by a transfer within the limit."""
    check = AutomaticCheck.RED_FLAG_TRANSFER
    raised = [t for flag in facts.red_flags if (t := parse_time(flag.get("at"))) is not None]
    if not raised:
        return CheckResult(check, "na", "no red flag")
    if not facts.timeline_known:
        return None
    first = min(raised)
    transfers = sorted(t for fact in TRANSFER_FACTS for t in facts.at(fact) if t >= first)
    if not transfers:
        return CheckResult(check, "fail", "red flag, no transfer")
    delay = _seconds(transfers[0], first)
    limit = limits.red_flag_transfer_seconds
    outcome: CheckOutcome = "pass" if delay <= limit else "fail"
    return CheckResult(check, outcome, f"red flag to transfer {delay} s (limit {limit} s)")


def script_completed(facts: CallFacts, _limits: Thresholds, library: Library) -> CheckResult:
    """The call's script, replayed with its stored answers, reached an end."""
    check = AutomaticCheck.SCRIPT_COMPLETED
    if not facts.script_id:
        return CheckResult(check, "na", "no script")
    try:
        script = library.script(facts.script_id)
    except KeyError:
        return CheckResult(check, "na", "script no longer in the library")
    run = ScriptRun(script)
    for answer in facts.answers:
        if run.finished:
            break
        if answer.get("question") != run.current.id:
            continue  # an answer changed by going back: the later one is replayed
        try:
            run.answer(answer.get("value"))
        except ValueError:
            break
    if run.finished:
        return CheckResult(check, "pass", "script finished")
    return CheckResult(check, "fail", f"script stopped at {run.progress}")


def hold_within_limit(
    facts: CallFacts, limits: Thresholds, _library: Library
) -> CheckResult | None:
    """The caller's total hold time is within the limit."""
    check = AutomaticCheck.HOLD_WITHIN_LIMIT
    if not facts.timeline_known:
        return None
    held_since: datetime | None = None
    total = 0.0
    holds = 0
    for entry in facts.timeline:
        moment = parse_time(entry.get("at"))
        if moment is None:
            continue
        if entry.get("fact") == "hold" and held_since is None:
            held_since, holds = moment, holds + 1
        elif entry.get("fact") in ("resume", "end") and held_since is not None:
            total += (moment - held_since).total_seconds()
            held_since = None
    if held_since is not None and facts.ended_at is not None:
        total += (facts.ended_at - held_since).total_seconds()
    if holds == 0:
        return CheckResult(check, "na", "never on hold")
    limit = limits.long_hold_seconds
    outcome: CheckOutcome = "pass" if total <= limit else "fail"
    return CheckResult(check, outcome, f"{holds} hold(s), {round(total)} s (limit {limit} s)")


def wrap_up_within_limit(facts: CallFacts, limits: Thresholds, _library: Library) -> CheckResult:
    """The wrap-up was saved within the limit after the call ended."""
    check = AutomaticCheck.WRAP_UP_WITHIN_LIMIT
    if facts.wrapped_at is None or facts.ended_at is None:
        return CheckResult(check, "na", "no wrap-up saved")
    took = max(0, _seconds(facts.wrapped_at, facts.ended_at))
    limit = limits.wrap_up_seconds
    outcome: CheckOutcome = "pass" if took <= limit else "fail"
    return CheckResult(check, outcome, f"wrap-up {took} s (limit {limit} s)")


def _wrap_up_form(facts: CallFacts, library: Library) -> Form | None:
    from console.core.scripts.forms import select_form

    return select_form(library.forms, facts.script_id)


def disposition_matches(facts: CallFacts, _limits: Thresholds, library: Library) -> CheckResult:
    """The disposition fits the call: an escalation after a red flag, the booking
    disposition after an appointment change (and not without one)."""
    check = AutomaticCheck.DISPOSITION_MATCHES
    if not facts.disposition:
        return CheckResult(check, "na", "no wrap-up saved")
    chosen = facts.disposition
    if facts.red_flags or facts.urgency == "emergency":
        if chosen in ESCALATED:
            return CheckResult(check, "pass", "red flag recorded as escalated")
        return CheckResult(check, "fail", f"red flag on the call, disposition {chosen!r}")
    form = _wrap_up_form(facts, library)
    if form is None:
        return CheckResult(check, "na", "no wrap-up form")
    changes = [str(c.get("change", "")) for c in facts.appointments]
    expected = None
    if changes:
        expected = next((d.id for d in form.dispositions if changes[-1] in d.prefill_when), None)
    if expected is not None and chosen != expected:
        return CheckResult(
            check, "fail", f"appointment {changes[-1]}, disposition {chosen!r} (not {expected!r})"
        )
    try:
        booking_only = bool(form.disposition(chosen).prefill_when) and not changes
    except KeyError:
        return CheckResult(check, "fail", f"disposition {chosen!r} is not on the form")
    if booking_only:
        return CheckResult(check, "fail", f"disposition {chosen!r} but no appointment changed")
    return CheckResult(check, "pass", f"disposition {chosen!r} fits")


CHECKS: dict[AutomaticCheck, Callable[[CallFacts, Thresholds, Library], CheckResult | None]] = {
    AutomaticCheck.VERIFIED_BEFORE_DETAILS: verified_before_details,
    AutomaticCheck.RED_FLAG_TRANSFER: red_flag_transfer,
    AutomaticCheck.SCRIPT_COMPLETED: script_completed,
    AutomaticCheck.HOLD_WITHIN_LIMIT: hold_within_limit,
    AutomaticCheck.WRAP_UP_WITHIN_LIMIT: wrap_up_within_limit,
    AutomaticCheck.DISPOSITION_MATCHES: disposition_matches,
}
"""Every automatic check, by id (None: the facts it needs are not at hand)."""


def run_checks(
    facts: CallFacts,
    limits: Thresholds,
    library: Library,
    checks: Sequence[AutomaticCheck] = tuple(AutomaticCheck),
) -> dict[AutomaticCheck, CheckResult]:
    """The findings of ``checks`` (default: all) for one call; a check whose facts are not
    at hand (a call read from the hub has no timeline or audit) is left out, so it
    pre-fills nothing."""
    found = {check: CHECKS[check](facts, limits, library) for check in checks}
    return {check: result for check, result in found.items() if result is not None}


PREFILL: dict[CheckOutcome, str] = {"pass": "yes", "fail": "no", "na": "na"}
"""The answer a check's outcome pre-fills into the question that names it."""
