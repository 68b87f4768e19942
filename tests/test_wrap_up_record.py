# SPDX-License-Identifier: GPL-2.0-or-later
"""What a wrap-up records: every script run of the call, merged answers, and
the interaction built from a draft and the form's result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.controllers.wrap_up import WrapUp, interaction_from, merged_answers, script_record
from console.core.scripts.forms import FollowUpTask
from console.core.scripts.loader import load_library
from console.core.scripts.runner import ScriptRun
from console.core.wrap_up import WrapUpResult

START = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def runs_with_a_switch() -> tuple[ScriptRun, ...]:
    library = load_library()
    first = ScriptRun(library.script("medication-refill"), clock=lambda: START)
    first.answer()  # greeting
    first.answer(True)  # identity verified
    second = first.switch_to(library.script("general-information"))
    second.answer()  # greeting
    second.answer(False)  # safety check: no emergency
    second.answer("refill")  # call reason
    return first, second


def test_a_switch_keeps_every_answer_in_the_record_and_the_prefill() -> None:
    runs = runs_with_a_switch()
    record = script_record(runs)
    assert record is not None
    assert record["script_id"] == "general-information"
    assert [s["script_id"] for s in record["scripts"]] == [
        "medication-refill",
        "general-information",
    ]
    assert [e["step_id"] for e in record["log"]] == [
        "greeting",
        "verify_identity",
        "greeting",
        "safety_check",
        "call_reason",
    ]
    answers = merged_answers(runs)
    assert answers["verify_identity"] is True
    assert answers["call_reason"] == "refill"
    assert script_record(()) is None


def test_interaction_from_a_draft_and_a_result() -> None:
    record = script_record(runs_with_a_switch())
    body = {
        "interaction_id": "6f1c1c8e-8d5e-4a3b-9d7e-0c6a1b2c3d4e",
        "call": {
            "id": "call-1",
            "caller": "Maria",
            "number": "+12025550142",
            "received_at": START.isoformat(),
            "ended_at": (START + timedelta(minutes=3)).isoformat(),
            "talked": 170,
            "patient_id": "p-1",
        },
        "run": record,
        "notes": "typed during the call",
    }
    due = START + timedelta(days=1)
    result = WrapUpResult(
        disposition="callback_needed",
        fields={"reason": "refill"},
        notes="final notes",
        follow_up=FollowUpTask(due=due, owner="team", reason="pharmacy"),
        feedback_consent=True,
    )

    interaction, follow_ups = interaction_from(WrapUp(body), result, "agent-7", "not_recorded")

    assert (interaction.disposition, interaction.script_id, interaction.patient_id) == (
        "callback_needed",
        "general-information",
        "p-1",
    )
    assert [a["question"] for a in interaction.answers][-1] == "call_reason"
    assert (interaction.notes, interaction.feedback_consent) == ("final notes", True)
    [callback] = follow_ups
    assert (callback.number, callback.owner, callback.due_at) == ("+12025550142", "team", due)

    skipped, none = interaction_from(WrapUp(body), None, "agent-7", "not_recorded")
    assert (skipped.disposition, skipped.notes, none) == (
        "not_recorded",
        "typed during the call",
        [],
    )
