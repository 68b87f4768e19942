# SPDX-License-Identifier: GPL-2.0-or-later
"""The script engine: branching, going back, validation, red flags, placeholders, forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from console.core.appointment_changes import AppointmentChange
from console.core.scripts.forms import FieldError, prefill, select_form, validate_form
from console.core.scripts.loader import load_library
from console.core.scripts.models import (
    AnswerError,
    ChoiceQuestion,
    Condition,
    DateQuestion,
    Form,
    NumberQuestion,
    Script,
    Step,
    TextQuestion,
    TransferKind,
    Urgency,
    YesNoQuestion,
)
from console.core.scripts.placeholders import render
from console.core.scripts.runner import ScriptRun, select_script

LIBRARY = load_library()
TODAY = date(2030, 6, 15)


def urgency_of(run: ScriptRun) -> Urgency:
    # A function call, so that mypy does not keep an earlier narrowing of run.urgency.
    return run.urgency


def script(script_id: str) -> Script:
    return LIBRARY.script(script_id)


def test_shipped_library_loads_ten_scripts_and_a_default_form() -> None:
    assert LIBRARY.problems == ()
    assert len(LIBRARY.scripts) >= 10
    assert select_form(LIBRARY.forms, "medication-refill") is LIBRARY.form("default-wrap-up")


def test_branch_on_answer_and_default_next() -> None:
    run = ScriptRun(script("appointment-scheduling"))
    assert run.current.id == "greeting"
    run.answer("no")
    assert run.current.id == "caller_role"  # branch taken
    run.answer("1")
    assert run.current.id == "verify_identity"  # no branch matched: the following step
    run.answer(True)
    run.answer("Cancel")  # choice by label
    assert run.current.id == "existing_appointment"
    assert run.answers == {
        "greeting": False,
        "caller_role": "parent_guardian",
        "verify_identity": True,
        "request_type": "cancel",
    }


def test_back_revises_an_answer_and_keeps_the_log() -> None:
    times = iter(datetime(2030, 6, 15, 9, 0, s, tzinfo=UTC) for s in range(60))
    run = ScriptRun(script("appointment-scheduling"), clock=lambda: next(times))
    assert not run.can_go_back
    assert run.back() is False
    run.answer("yes")
    run.answer("yes")
    assert run.path == ("greeting", "verify_identity", "request_type")
    assert run.back() is True
    assert run.current.id == "verify_identity"
    assert run.current_answer is True
    assert "verify_identity" not in run.answers
    run.answer("no")
    assert run.current.id == "not_authorised"
    assert run.answers == {"greeting": True, "verify_identity": False}
    assert [(r.step_id, r.value) for r in run.log] == [
        ("greeting", True),
        ("verify_identity", True),
        ("verify_identity", False),
    ]
    assert [r.at.second for r in run.log] == [1, 2, 3]
    assert all(r.at.tzinfo is UTC for r in run.log)
    outcome = run.answer()
    assert outcome.finished
    assert run.finished
    with pytest.raises(AnswerError, match="the script has ended"):
        run.answer()
    assert run.back() is True
    assert not run.finished
    assert run.current.id == "not_authorised"


def test_progress_counts_along_the_longest_way() -> None:
    run = ScriptRun(script("feedback-survey"))
    first = run.progress
    assert (first.position, first.total, first.fraction) == (1, 7, 0.0)
    assert str(first) == "step 1 of ~7"
    run.answer("yes")
    run.answer("5")  # satisfied: skips "what went wrong"
    assert (run.progress.position, run.progress.total) == (3, 6)
    while not run.finished:
        run.answer(answer_for(run.current), today=TODAY)
    assert run.progress.finished
    assert run.progress.fraction == 1.0


def yes_no() -> YesNoQuestion:
    return YesNoQuestion(kind="yes_no")


@pytest.mark.parametrize(
    ("question", "raw", "message"),
    [
        (yes_no(), "maybe", "answer yes or no"),
        (yes_no(), "", "an answer is required"),
        (
            ChoiceQuestion.model_validate(
                {
                    "kind": "choice",
                    "options": [{"value": "a", "label": "Alpha"}, {"value": "b", "label": "Beta"}],
                }
            ),
            "3",
            "choose one of: 1 Alpha, 2 Beta",
        ),
        (TextQuestion(kind="text", min_length=3), "ab", "enter at least 3 characters"),
        (TextQuestion(kind="text", max_length=3), "abcd", "enter at most 3 characters"),
        (
            TextQuestion(kind="text", pattern=r"^\d+$", pattern_hint="digits only"),
            "12a",
            "digits only",
        ),
        (DateQuestion(kind="date"), "15/06/2030", "enter a date as YYYY-MM-DD"),
        (
            DateQuestion(kind="date", allowed="past"),
            "2030-06-16",
            "the date cannot be in the future",
        ),
        (
            DateQuestion(kind="date", allowed="future"),
            "2030-06-14",
            "the date cannot be in the past",
        ),
        (NumberQuestion(kind="number"), "ten", "enter a number"),
        (NumberQuestion(kind="number"), "nan", "enter a number"),
        (NumberQuestion(kind="number", integer=True), "2.5", "enter a whole number"),
        (NumberQuestion(kind="number", minimum=1, unit="days"), "0", "must be at least 1 days"),
        (NumberQuestion(kind="number", maximum=10), "11", "must be at most 10"),
    ],
)
def test_invalid_answers_have_clear_messages(question: object, raw: str, message: str) -> None:
    assert hasattr(question, "parse")
    with pytest.raises(AnswerError) as caught:
        question.parse(raw, today=TODAY)
    assert str(caught.value) == message


def test_valid_answers_are_parsed() -> None:
    assert yes_no().parse("Y") is True
    assert DateQuestion(kind="date").parse("2030-01-02") == date(2030, 1, 2)
    assert NumberQuestion(kind="number", integer=True).parse("1,200") == 1200
    assert NumberQuestion(kind="number").parse(2.5) == 2.5
    assert TextQuestion(kind="text", required=False).parse("  ") is None


def test_bad_answer_leaves_the_run_where_it_was() -> None:
    run = ScriptRun(script("medication-refill"))
    run.answer()
    run.answer("yes")
    run.answer("no")
    run.answer("Metformin 500 mg")
    with pytest.raises(AnswerError, match="must be at most 365 days"):
        run.answer("400")
    assert run.current.id == "days_left"
    assert len(run.log) == 4


def test_red_flag_escalates_at_once_and_urgency_never_goes_down() -> None:
    run = ScriptRun(script("after-hours-symptom-screening"), {"org.emergency_number": "112"})
    run.answer()
    run.answer("self")
    assert run.urgency is Urgency.ROUTINE
    outcome = run.answer("yes")  # chest pain
    (flag,) = outcome.red_flags
    assert flag.rule.id == "chest_pain"
    assert flag.transfer is TransferKind.EMERGENCY
    assert "dial 112 now" in flag.instruction
    assert flag.at.tzinfo is UTC
    assert urgency_of(run) is Urgency.EMERGENCY
    assert run.current.id == "emergency_close"
    run.back()
    run.answer("no")  # a revised answer does not lower anything
    assert urgency_of(run) is Urgency.EMERGENCY
    assert [f.rule.id for f in run.red_flags] == ["chest_pain"]
    assert run.raise_urgency(Urgency.URGENT) is Urgency.EMERGENCY
    switched = run.switch_to(script("general-information"))
    assert switched.urgency is Urgency.EMERGENCY
    assert switched.red_flags == run.red_flags


def test_urgent_red_flag_can_later_become_emergency() -> None:
    run = ScriptRun(script("medication-refill"))
    for raw in (None, "yes", "no", "Warfarin 5 mg"):
        run.answer(raw)
    outcome = run.answer("0")
    assert [f.rule.id for f in outcome.red_flags] == ["out_of_critical_medication"]
    assert run.urgency is Urgency.URGENT
    assert run.current.id == "pharmacy"  # an urgent flag without goto lets the script go on
    for _ in range(3):
        run.back()
    assert run.current.id == "reaction_now"
    outcome = run.answer("yes")  # the reaction question, revised
    assert outcome.red_flags[0].transfer is TransferKind.EMERGENCY
    assert urgency_of(run) is Urgency.EMERGENCY


def test_self_harm_goes_to_the_crisis_line() -> None:
    run = ScriptRun(script("after-hours-symptom-screening"))
    for raw in (None, "self", "no", "no", "no", "no"):
        run.answer(raw)
    (flag,) = run.answer("yes").red_flags
    assert flag.transfer is TransferKind.CRISIS
    assert "crisis line (988)" in flag.instruction
    assert run.current.id == "crisis_close"


def test_placeholders_are_plain_text_and_never_raw() -> None:
    hostile = {
        "patient.first_name": "[bold]x[/] \x1b[31mred\x07",
        "org.name": "{patient.first_name}",
    }
    text = render("Hi {patient.first_name} at {org.name} by {agent.name}, {{literal}}", hostile)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert text.startswith("Hi [bold]x[/] \ufffd[31mred\ufffd at {patient.first_name} by ")
    assert text.endswith("by a member of our team, {literal}")
    assert render("Hello {patient.first_name}.", {"patient.first_name": "  "}) == (
        "Hello the patient."
    )
    assert render("Dial {org.emergency_number}") == "Dial 911"
    assert len(render("{patient.full_name}", {"patient.full_name": "A" * 500})) == 60


def test_answers_fill_placeholders() -> None:
    run = ScriptRun(script("appointment-scheduling"))
    run.current_answer  # noqa: B018 - reading it before any answer is fine
    for raw in ("yes", "yes", "book", "routine", "2030-07-01", "morning", "no"):
        run.answer(raw, today=TODAY)
    assert run.current.id == "confirm_booking"
    assert run.say().startswith("I have you booked for 2030-07-01 in the morning.")


def test_select_script_by_did_queue_language_and_default() -> None:
    scripts = LIBRARY.scripts
    chosen = select_script(scripts, queue="refills")
    assert chosen is not None
    assert chosen.id == "medication-refill"
    by_did = select_script(scripts, queue="refills", did="+1 (555) 555-0199")
    assert by_did is not None
    assert by_did.id == "after-hours-symptom-screening"
    fallback = select_script(scripts, queue="unknown", language="es")
    assert fallback is not None
    assert fallback.id == "general-information"
    spanish = Script.model_validate(
        {**script("medication-refill").model_dump(), "id": "refill-es", "languages": ["es"]}
    )
    picked = select_script([*scripts, spanish], queue="refills", language="es-MX")
    assert picked is spanish
    assert select_script([script("billing-routing")], queue="nowhere") is None


def candidates(step: Step) -> list[object]:
    """Valid answers to ``step``, the one least likely to raise a red flag first."""
    question = step.question
    if isinstance(question, YesNoQuestion):
        return [False, True]
    if isinstance(question, ChoiceQuestion):
        return [option.value for option in question.options]
    return [answer_for(step)]


def matching(condition: Condition) -> object:
    if condition.equals is not None:
        return condition.equals
    if condition.one_of:
        return condition.one_of[0]
    return condition.at_least if condition.at_least is not None else condition.at_most


def answer_for(step: Step) -> object:
    """A valid answer that raises no red flag in the shipped scripts."""
    question = step.question
    if question is None:
        return None
    if isinstance(question, YesNoQuestion):
        return False
    if isinstance(question, ChoiceQuestion):
        return question.options[0].value
    if isinstance(question, DateQuestion):
        return TODAY
    if isinstance(question, NumberQuestion):
        return question.minimum if question.minimum is not None and question.minimum > 0 else 1
    assert isinstance(question, TextQuestion)
    return "555 010 1234" if question.pattern else "Something the caller said"


def reaches(run: ScriptRun, target: str) -> bool:
    todo, seen = [run.current.id], set()
    while todo:
        step_id = todo.pop()
        if step_id == target:
            return True
        if step_id not in seen:
            seen.add(step_id)
            todo.extend(run.script.successors(run.script.step(step_id)))
    return False


def walk(run: ScriptRun, wanted: Condition | None = None) -> None:
    """Answer until the end; with ``wanted``, steer to its question and make it match."""
    for _ in range(200):
        if run.finished:
            return
        step = run.current
        if wanted is None or wanted.question in run.answers:
            run.answer(answer_for(step), today=TODAY)
        elif step.id == wanted.question:
            run.answer(matching(wanted), today=TODAY)
        else:
            for raw in candidates(step):
                run.answer(raw, today=TODAY)
                if not run.finished and reaches(run, wanted.question or ""):
                    break
                run.back()
            else:
                pytest.fail(f"{run.script.id}: no way from {step.id} to {wanted.question}")
    pytest.fail(f"{run.script.id} did not end: {run.path[-10:]}")


@pytest.mark.parametrize("script_id", [s.id for s in LIBRARY.scripts])
def test_every_shipped_script_can_be_walked_to_its_end(script_id: str) -> None:
    run = ScriptRun(script(script_id))
    walk(run)
    assert run.finished
    assert run.progress.fraction == 1.0
    assert run.current.end or run.current is script(script_id).steps[-1]
    assert run.urgency is Urgency.ROUTINE
    assert run.red_flags == ()
    record = run.to_record()
    assert record["script_id"] == script_id
    assert record["finished"] is True


RED_FLAGS = [(s.id, rule.id) for s in LIBRARY.scripts for rule in s.red_flags]


@pytest.mark.parametrize(("script_id", "rule_id"), RED_FLAGS)
def test_every_shipped_red_flag_can_be_raised(script_id: str, rule_id: str) -> None:
    shipped = script(script_id)
    rule = next(r for r in shipped.red_flags if r.id == rule_id)
    condition = rule.when[0]
    assert condition.question is not None
    run = ScriptRun(shipped)
    walk(run, condition)
    assert rule_id in [f.rule.id for f in run.red_flags]
    assert run.urgency is rule.urgency
    assert "{" not in next(f for f in run.red_flags if f.rule.id == rule_id).instruction
    if rule.goto is not None:
        assert rule.goto in run.path


def test_after_hours_screening_covers_the_required_red_flags() -> None:
    rules = {r.id: r.transfer for r in script("after-hours-symptom-screening").red_flags}
    assert {k: rules[k] for k in ("chest_pain", "stroke_signs", "severe_breathing")} == {
        "chest_pain": TransferKind.EMERGENCY,
        "stroke_signs": TransferKind.EMERGENCY,
        "severe_breathing": TransferKind.EMERGENCY,
    }
    assert rules["heavy_bleeding"] is TransferKind.EMERGENCY
    assert rules["self_harm"] is TransferKind.CRISIS


def form() -> Form:
    return LIBRARY.form("default-wrap-up")


def test_prefill_from_script_answers() -> None:
    run = ScriptRun(script("general-information"))
    run.answer()
    run.answer("no")
    run.answer("Billing")
    values = prefill(form(), {**run.answers, "feedback_ok": True, "preferred_date": TODAY})
    assert values == {"reason": "billing", "appointment_date": TODAY, "feedback_consent": True}
    assert prefill(form(), {"call_reason": "not an option"}) == {}


def test_prefill_from_the_calls_booking() -> None:
    """The disposition, the appointment's date (in the agent's zone) and its id come from
    the call's last change; the script's preferred date only fills in without one."""
    at = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
    late = datetime(2030, 6, 20, 23, 30, tzinfo=UTC)  # 21 June in Tokyo
    booked = AppointmentChange("booked", at, "appt-1", late, "Diabetes review")
    tokyo = timezone(timedelta(hours=9))
    values = prefill(form(), {"preferred_date": TODAY}, [booked], tz=tokyo)
    assert values == {
        "disposition": "appointment_booked",
        "appointment_date": date(2030, 6, 21),
        "appointment_id": "appt-1",
    }
    moved = AppointmentChange("moved", at, "appt-2", late, replaces="appt-1")
    cancelled = AppointmentChange("cancelled", at, "appt-2", late)
    assert prefill(form(), {}, [booked, moved, cancelled], tz=UTC)["appointment_id"] == "appt-2"
    later = AppointmentChange("book_later", at)
    assert prefill(form(), {"preferred_date": TODAY}, [later]) == {
        "disposition": "callback_needed",
        "appointment_date": TODAY,
    }
    # A hostile id (too long for the field, control characters) is left for the agent.
    odd = AppointmentChange("booked", at, "x" * 65, late)
    assert "appointment_id" not in prefill(form(), {}, [odd])


def test_validate_form() -> None:
    now = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
    assert validate_form(form(), {}, now=now) == [FieldError("disposition", "choose a disposition")]
    assert validate_form(form(), {"disposition": "resolved"}, now=now) == []
    hotkeys = [d.key for d in form().dispositions]
    assert len(hotkeys) == len(set(hotkeys)) <= 10
    errors = validate_form(
        form(),
        {"disposition": "callback_needed", "callback_number": "call me", "notes": "x" * 4001},
        now=now,
    )
    assert [str(e) for e in errors] == [
        "callback_number: a phone number, e.g. 555 010 1234",
        "notes: at most 4000 characters",
        "follow_up: this disposition needs a follow-up task",
    ]
    task = {"due": now - timedelta(hours=1), "owner": "boss", "reason": ""}
    errors = validate_form(form(), {"disposition": "callback_needed", "follow_up": task}, now=now)
    assert [str(e) for e in errors] == [
        "follow_up.due: the due time must be in the future",
        "follow_up.owner: choose one of: me, team, nurse, billing",
        "follow_up.reason: give a reason",
    ]
    task = {"due": (now + timedelta(hours=4)).isoformat(), "owner": "nurse", "reason": "Results"}
    values = {"disposition": "callback_needed", "follow_up": task, "feedback_consent": "no"}
    assert validate_form(form(), values, now=now) == []
