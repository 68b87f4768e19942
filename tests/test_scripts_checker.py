# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline scripts check``: one test per class of error, each with its exact message."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core.scripts.checker import check_path
from tests.careline_cli import careline

HEADER = "kind: script\nid: demo\ntitle: Demo\nversion: 1\n"


def problems(tmp_path: Path, text: str, name: str = "demo.yaml") -> list[str]:
    """The checker's messages; the same read cold and from the parsed cache (lines too)."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    cold = [str(problem) for problem in check_path(tmp_path)]
    assert [str(problem) for problem in check_path(tmp_path)] == cold
    return cold


def test_not_utf8_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"kind: script\nid: \xff\n")
    assert [str(p) for p in check_path(tmp_path)] == [f"{tmp_path}/bad.yaml: not UTF-8 text"]


ONE_FILE = [
    pytest.param(
        HEADER + "steps: [\n",
        ["6: column 1: YAML syntax error: expected the node content, but found '<stream end>'"],
        id="yaml syntax error names line and column",
    ),
    pytest.param("id: demo\n", ["1: kind: required field is missing"], id="missing kind"),
    pytest.param(
        HEADER + "steps:\n  - id: hello\n    sya: Hello\n",
        ["7: steps[0].sya: unknown field (check the spelling; see docs/scripts.md)"],
        id="unknown field",
    ),
    pytest.param(
        "kind: script\nid: demo\nversion: one\nsteps:\n  - say: Hi\n",
        [
            "1: title: required field is missing",
            "3: version: Input should be a valid integer, "
            "unable to parse string as an integer (got 'one')",
            "5: steps[0].id: required field is missing",
        ],
        id="wrong type and missing field",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: ask\n    question: {kind: maybe}\n",
        [
            "7: steps[0].question: unknown kind 'maybe' "
            "(expected yes_no, choice, text, date or number)"
        ],
        id="unknown question kind",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: ask\n    question:\n      kind: choice\n      options:\n"
        "        - {value: yes, label: Agree}\n        - {value: 'no', label: Disagree}\n",
        [
            "10: steps[0].question.options[0].value: Input should be a valid "
            "string (YAML reads yes/no/on/off as true/false: put the value in quotes)"
        ],
        id="unquoted yes as choice value",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    say: one\n    say: two\n",
        ["8: steps[0].say: duplicate key (the later one would win silently)"],
        id="duplicate key",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n  - id: a\n",
        ["7: steps[1].id: duplicate step id 'a' (also at line 6)"],
        id="duplicate step id",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    next: b\n",
        ["7: steps[0].next: unknown step 'b'"],
        id="next to unknown step",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: true}\n        goto: nowhere\n",
        ["10: steps[0].branches[0].goto: unknown step 'nowhere'"],
        id="branch to unknown step",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    end: true\n  - id: orphan\n",
        ["8: steps[1].id: step 'orphan' is unreachable from the start step 'a'"],
        id="unreachable step",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n  - id: b\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: true}\n        goto: a\n    next: c\n"
        "  - id: c\n    next: b\n  - id: done\n    end: true\n",
        [
            "6: steps[0].id: loop without exit: a → b → a never reaches an end",
            "15: steps[3].id: step 'done' is unreachable from the start step 'a'",
        ],
        id="loop without exit",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: true}\n        goto: a\n  - id: done\n",
        [],
        id="loop with an exit is fine",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    say: Hello {patient.frist_name}\n",
        [
            "7: steps[0].say: unknown placeholder {patient.frist_name} "
            "(did you mean {patient.first_name}?)"
        ],
        id="unknown placeholder",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    say: You said {answers.reason}\n",
        [
            "7: steps[0].say: unknown placeholder {answers.reason}: "
            "no step of that id asks a question"
        ],
        id="placeholder for an unknown answer",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    say: 'Hello {patient.first_name'\n",
        ["7: steps[0].say: unmatched brace (write {{ or }} for a literal brace)"],
        id="unmatched brace",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: 'yes'}\n        goto: a\n  - id: done\n",
        [
            "9: steps[0].branches[0].when: 'yes' can never match the answer "
            "to step 'a' (yes/no: true or false)"
        ],
        id="condition that can never match",
    ),
    pytest.param(
        HEADER + "steps:\n  - id: a\nred_flags:\n  - id: rf\n    title: T\n"
        "    when: [{question: a, equals: true}]\n    transfer: nurse\n    instruction: Act\n",
        ["10: red_flags[0].when[0].question: step 'a' asks no question"],
        id="red flag on a step without question",
    ),
]
"""One script file each: its text, and every problem expected in it (``LINE: FIELD: MESSAGE``)."""


@pytest.mark.parametrize(("text", "expected"), ONE_FILE)
def test_each_problem_is_named_with_its_line(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    assert problems(tmp_path, text) == [f"{tmp_path}/demo.yaml:{line}" for line in expected]


def test_duplicate_script_id_and_second_default(tmp_path: Path) -> None:
    script = HEADER + "default: true\nsteps:\n  - id: a\n"
    (tmp_path / "one.yaml").write_text(script, encoding="utf-8")
    (tmp_path / "two.yaml").write_text(script, encoding="utf-8")
    assert [str(p) for p in check_path(tmp_path)] == [
        f"{tmp_path}/two.yaml:2: id: script id 'demo' is already used by {tmp_path}/one.yaml",
        f"{tmp_path}/two.yaml:5: default: more than one default script (also {tmp_path}/one.yaml)",
    ]


FORM = """kind: form
id: wrap
title: Wrap-up
version: 1
dispositions:
  - {id: resolved, label: Resolved, key: r}
  - {id: refused, label: Refused, key: r}
fields:
  - id: notes
    label: Notes again
    input: {kind: text}
  - id: reason
    label: Reason
    prefill_from: no_such_step
    input: {kind: text}
"""


def test_form_problems(tmp_path: Path) -> None:
    assert problems(tmp_path, FORM) == [
        f"{tmp_path}/demo.yaml:7: dispositions[1].key: hot key 'r' is already used by 'resolved'",
        f"{tmp_path}/demo.yaml:9: fields[0].id: 'notes' is reserved for the wrap-up",
        f"{tmp_path}/demo.yaml:14: fields[1].prefill_from: no script step 'no_such_step' "
        "asks a question",
    ]


BOOKING_FORM = """kind: form
id: wrap
title: Wrap-up
version: 1
dispositions:
  - {id: booked, label: Booked, key: b, prefill_when: [booked, moved]}
  - {id: changed, label: Changed, key: c, prefill_when: [moved, cancelled]}
  - {id: later, label: Later, key: l, prefill_when: [book_later]}
fields:
  - id: day
    label: Day
    prefill_from: booking.dat
    input: {kind: date}
  - id: count
    label: Count
    prefill_from: booking.id
    input: {kind: number}
  - id: when
    label: When
    prefill_from: [booking.date, no_such_step]
    input: {kind: date}
  - id: ok
    label: Fine
    prefill_from: [booking.date, booking.service]
    input: {kind: text}
"""


def test_booking_prefill_problems(tmp_path: Path) -> None:
    """Booking facts that do not exist or cannot fill their field, a change claimed by
    two dispositions, and an unknown change: each at its line."""
    assert problems(tmp_path, BOOKING_FORM) == [
        f"{tmp_path}/demo.yaml:7: dispositions[1].prefill_when[0]: 'moved' already "
        "pre-fills the disposition 'booked'",
        f"{tmp_path}/demo.yaml:12: fields[0].prefill_from: unknown booking fact "
        "'booking.dat' (did you mean booking.date?); known: booking.date, booking.time, "
        "booking.id, booking.service, booking.clinician, booking.location, booking.change",
        f"{tmp_path}/demo.yaml:16: fields[1].prefill_from: booking.id (the EHR's Appointment "
        "id) cannot fill a number field; it fits text",
        f"{tmp_path}/demo.yaml:20: fields[2].prefill_from[1]: no script step 'no_such_step' "
        "asks a question",
    ]


def test_a_bad_booking_source_or_change_is_refused_with_its_line(tmp_path: Path) -> None:
    text = BOOKING_FORM.replace("[book_later]", "[someday]")
    text = text.replace("prefill_from: booking.dat\n", "prefill_from: 'booking date'\n")
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:8: dispositions[2].prefill_when[0]: Input should be 'booked', "
        "'moved', 'cancelled' or 'book_later' (got 'someday')",
        f"{tmp_path}/demo.yaml:12: fields[0].prefill_from[0]: String should match pattern "
        "'^(booking\\.)?[a-z][a-z0-9_]*$' (got 'booking date')",
    ]


PREPARATION = """kind: preparation
id: fasting
title: Fasting blood test
version: 1
services: [Blood test, Laboratory, blood TEST]
say: On {appointment.date} at {appointment.tim}, {patient.first_name}.
fasting: Nothing but water for {answers.hours} hours.
arrival: Arrive by {appointment.arrive_by} {
"""


def test_preparation_problems(tmp_path: Path) -> None:
    """Placeholders a preparation cannot fill, stray braces, a service listed twice."""
    assert problems(tmp_path, PREPARATION) == [
        f"{tmp_path}/demo.yaml:5: services[2]: service 'blood TEST' is listed twice",
        f"{tmp_path}/demo.yaml:6: say: unknown placeholder {{appointment.tim}} "
        "(did you mean {appointment.time}?)",
        f"{tmp_path}/demo.yaml:7: fasting: unknown placeholder {{answers.hours}}: "
        "a preparation has no script answers",
        f"{tmp_path}/demo.yaml:8: arrival: unmatched brace "
        "(write {{ or }} for a literal brace)",
    ]


def test_preparations_across_the_library(tmp_path: Path) -> None:
    """Two preparations for one service, two defaults, and one that says nothing."""
    one = "kind: preparation\nid: a\ntitle: A\nversion: 1\ndefault: true\n"
    (tmp_path / "a.yaml").write_text(one + "services: [X-ray]\nsay: Hello.\n", "utf-8")
    two = one.replace("id: a", "id: b") + "services: [x-RAY]\nsay: Hi.\n"
    (tmp_path / "b.yaml").write_text(two, "utf-8")
    (tmp_path / "c.yaml").write_text(one.replace("id: a", "id: c"), "utf-8")
    assert [str(p) for p in check_path(tmp_path)] == [
        f"{tmp_path}/b.yaml:5: default: more than one default preparation (also {tmp_path}/a.yaml)",
        f"{tmp_path}/b.yaml:6: services[0]: service 'x-RAY' already has a preparation "
        f"({tmp_path}/a.yaml)",
        f"{tmp_path}/c.yaml:1: a preparation needs say, fasting, documents or arrival",
    ]


def test_shipped_library_passes() -> None:
    assert [str(p) for p in check_path()] == []


def test_cli_exit_codes(tmp_path: Path) -> None:
    shipped = careline("scripts", "check")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert shipped.stdout.endswith(
        ": ok (10 scripts, 1 form, 4 preparations, 3 worklists, 1 evaluation form)\n"
    )

    (tmp_path / "bad.yaml").write_text(HEADER + "steps:\n  - id: a\n    next: b\n", "utf-8")
    bad = careline("scripts", "check", str(tmp_path))
    assert bad.returncode == 1
    assert bad.stdout == f"{tmp_path}/bad.yaml:7: steps[0].next: unknown step 'b'\n"
    assert bad.stderr == f"{tmp_path}: 1 problem (1 script, 0 forms, 0 preparations, 0 worklists)\n"

    listed = careline("scripts", "list")
    assert listed.returncode == 0
    assert "script  general-information v1: General information (default)" in listed.stdout


def _chain(count: int, back_to: int) -> str:
    """Steps s0 … s(count-1), each going to the next, the last going back to ``back_to``."""
    steps = "".join(
        f"  - {{id: s{n}, next: s{n + 1 if n + 1 < count else back_to}}}\n" for n in range(count)
    )
    return HEADER + "steps:\n" + steps


def test_a_long_loop_is_reported_without_exhausting_the_stack(tmp_path: Path) -> None:
    # Before: the loop search recursed once per step (RecursionError past ~1,000 steps).
    [problem] = problems(tmp_path, _chain(1000, 990))
    assert problem == (
        f"{tmp_path}/demo.yaml:996: steps[990].id: loop without exit: "
        + " → ".join(f"s{n}" for n in [*range(990, 1000), 990])
        + " never reaches an end"
    )


def test_a_script_of_thousands_of_steps_is_refused_not_analysed(tmp_path: Path) -> None:
    assert problems(tmp_path, _chain(1001, 0)) == [
        f"{tmp_path}/demo.yaml:5: steps: more than 1,000 steps: split the script "
        "(not checked further)"
    ]


@pytest.mark.parametrize("key", ["null", "1.5", "2024-01-01", "true"])
def test_a_top_level_key_that_is_not_text_is_a_problem_not_a_crash(
    tmp_path: Path, key: str
) -> None:
    # YAML reads these keys as None, a float, a date and a bool: a hostile or mistyped
    # library file must be reported like any other, never stop the console.
    found = problems(tmp_path, f"{key}: x\nkind: script\nid: demo\nversion: 1\n")
    assert found, "the stray key was accepted"
    assert all(p.startswith(f"{tmp_path}/demo.yaml:") for p in found)
    assert any("Keys should be strings" in p or "not permitted" in p for p in found), found
