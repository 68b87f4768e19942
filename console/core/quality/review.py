# SPDX-License-Identifier: GPL-2.0-or-later
"""The review queue: the calls chosen for review, with their findings and evaluation state.

Takes the answered calls of a period (from the local store, or the hub's),
runs the automatic checks on each (keeping the findings of local calls in
``call_checks``), selects
the calls to review (:func:`console.core.quality.selection.select`) and
tells, for each, how far the evaluator's evaluation of it has got.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.core.quality.checks import CheckResult, run_checks
from console.core.quality.evaluations import Evaluation, EvaluationStore
from console.core.quality.facts import CallFacts
from console.core.quality.selection import Pick, satisfaction_steps, select
from console.core.records import dataclass
from console.core.scripts.evaluation_forms import AutomaticCheck, EvaluationForm
from console.core.scripts.loader import Library


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One call to review."""

    pick: Pick
    facts: CallFacts
    findings: dict[AutomaticCheck, CheckResult]
    evaluation: Evaluation | None
    """The evaluator's evaluation of the call, if started."""

    @property
    def alarm(self) -> bool:
        """A finding that should be impossible (say it loudly)."""
        return any(result.alarm for result in self.findings.values())

    @property
    def failed_checks(self) -> list[AutomaticCheck]:
        """The checks that failed."""
        return [check for check, result in self.findings.items() if result.outcome == "fail"]


async def review_queue(
    calls: Sequence[CallFacts],
    evaluations: EvaluationStore,
    library: Library,
    form: EvaluationForm,
    *,
    evaluator: str,
    seed: str,
    per_agent: int = 2,
    record: bool = True,
) -> list[QueueEntry]:
    """The calls to review among ``calls``, targeted ones first (``record``: keep the
    findings in ``call_checks``, for calls of this store)."""
    findings: dict[str, dict[AutomaticCheck, CheckResult]] = {}
    for facts in calls:
        findings[facts.call_id] = run_checks(facts, form.thresholds, library)
        if record:
            await evaluations.record_checks(facts.call_id, findings[facts.call_id])
    picks = select(
        calls,
        findings,
        form.thresholds,
        seed=seed,
        per_agent=per_agent,
        csat=satisfaction_steps(library),
    )
    mine = {e.call_id: e for e in await evaluations.by_evaluator(evaluator) if e.form_id == form.id}
    by_id = {facts.call_id: facts for facts in calls}
    return [
        QueueEntry(pick, by_id[pick.call_id], findings[pick.call_id], mine.get(pick.call_id))
        for pick in picks
    ]
