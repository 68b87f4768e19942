# SPDX-License-Identifier: GPL-2.0-or-later
"""One worklist item being worked, and what its call leaves in the store.

An :class:`Attempt` is what the console holds from the claim to the saved outcome
(who, why, the call, what was verified and changed on it); :func:`outbound_record`
is the interaction and the callbacks its outcome is recorded as;
:func:`proposed_outcome` is the outcome a call's end suggests.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from console.controllers.wrap_up import script_record
from console.core.appointment_changes import AppointmentChange, recorded
from console.core.interactions import FollowUp, Interaction
from console.core.patients.records import PatientSummary
from console.core.records import dataclass
from console.core.scripts.runner import ScriptRun
from console.core.scripts.worklist_rules import WorklistRule
from console.core.worklists.item_appointment import ItemAppointment
from console.core.worklists.store import Claim, Outcome

if TYPE_CHECKING:
    from console.core.events import CallEnded, CallStateChanged
    from console.dialogs.worklist import OutcomeChoice, Preview

CALLBACK_HOURS = 2
"""When a callback the patient asked for is due."""


def proposed_outcome(sip_status: int | None, answered: bool, timed_out: bool) -> Outcome | None:
    """The outcome a call's end suggests: busy (486, 600), wrong number (404, 410, 484,
    604), no answer (a timeout, 408, 480, 487); None when answered (the agent knows)."""
    if answered:
        return None
    if timed_out:
        return Outcome.NO_ANSWER
    if sip_status in (486, 600):
        return Outcome.BUSY
    if sip_status in (404, 410, 484, 604):
        return Outcome.WRONG_NUMBER
    return Outcome.NO_ANSWER


@dataclass
class Attempt:
    """The item being worked: the claim, who, the rule, and the call once dialled."""

    claim: Claim
    preview: Preview
    rule: WorklistRule | None
    patient: PatientSummary | None = None
    """The claimed patient as the directory has them (whom ``v`` verifies against)."""
    appointment: ItemAppointment | None = None
    """The appointment a reminder is about (None: the item names none)."""
    call_id: str | None = None
    early: list[CallStateChanged | CallEnded] | None = None
    """Call events read while the engine's reply to ``dial`` was awaited (None: not
    dialling). The reply only wakes the dial worker, so the events read behind it (a 486,
    the call answered) reach :meth:`WorklistFlow.phone_event` before the call id does."""
    dialled_at: datetime | None = None
    answered: bool = False
    ended: bool = False
    """The call ended (its outcome is being asked for): a replayed event changes nothing."""
    timed_out: bool = False
    runs: tuple[ScriptRun, ...] = ()
    verified: PatientSummary | None = None
    """Whom the agent verified on the call (kept from its end until the outcome is saved)."""
    changes: tuple[AppointmentChange, ...] = ()
    """What the call (``k``) and the outcome changed of the patient's appointments."""


def outbound_record(
    attempt: Attempt,
    choice: OutcomeChoice,
    now: datetime,
    agent_id: str,
    later: tuple[str, ...] = (),
) -> tuple[Interaction, list[FollowUp]]:
    """The interaction ``attempt``'s call is recorded as (its script answers, the outcome,
    the appointments it changed) and its callbacks: the one the patient asked for, and
    one for each change ``later`` says must still be made."""
    claim, run = attempt.claim, script_record(attempt.runs) or {}
    interaction = Interaction(
        agent_id=agent_id,
        started_at=attempt.dialled_at or now,
        ended_at=now,
        disposition=f"worklist_{choice.outcome.value}",
        call_id=attempt.call_id,
        patient_id=claim.patient_id,
        script_id=run.get("script_id"),
        script_version=str(run["script_version"]) if run.get("script_version") else None,
        answers=[
            {"question": e["step_id"], "value": e["value"], "at": e["at"]}
            for e in run.get("log", [])
        ],
        form={
            "direction": "outbound",
            "worklist": claim.list_id,
            "worklist_item": claim.item_id,
            "outcome": choice.outcome.value,
            "attempt": claim.attempt,
        },
        appointments=recorded(attempt.changes),
    )
    reasons = [*later]
    if choice.callback:
        reasons.append(f"Asked for a callback ({attempt.preview.list_title})")
    follow_ups = [
        FollowUp(
            number=attempt.preview.number,
            due_at=now + timedelta(hours=CALLBACK_HOURS),
            owner="team",
            reason=reason[:200],
            patient_id=claim.patient_id,
        )
        for reason in reasons
    ]
    return interaction, follow_ups
