"""``careline scripts check``: one test per class of error, each with its exact message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from console.core.scripts import check_path
from tests.support import ROOT

HEADER = "kind: script\nid: demo\ntitle: Demo\nversion: 1\n"


def problems(tmp_path: Path, text: str, name: str = "demo.yaml") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return [str(problem) for problem in check_path(tmp_path)]


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    found = problems(tmp_path, HEADER + "steps: [\n")
    assert found == [
        f"{tmp_path}/demo.yaml:6: column 1: YAML syntax error: "
        "expected the node content, but found '<stream end>'"
    ]


def test_not_utf8_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"kind: script\nid: \xff\n")
    assert [str(p) for p in check_path(tmp_path)] == [f"{tmp_path}/bad.yaml: not UTF-8 text"]


def test_missing_kind(tmp_path: Path) -> None:
    found = problems(tmp_path, "id: demo\n")
    assert found == [f"{tmp_path}/demo.yaml:1: kind: required field is missing"]


def test_unknown_field(tmp_path: Path) -> None:
    found = problems(tmp_path, HEADER + "steps:\n  - id: hello\n    sya: Hello\n")
    assert found == [
        f"{tmp_path}/demo.yaml:7: steps[0].sya: unknown field "
        "(check the spelling; see docs/scripts.md)"
    ]


def test_wrong_type_and_missing_field(tmp_path: Path) -> None:
    text = "kind: script\nid: demo\nversion: one\nsteps:\n  - say: Hi\n"
    found = problems(tmp_path, text)
    assert found == [
        f"{tmp_path}/demo.yaml:1: title: required field is missing",
        f"{tmp_path}/demo.yaml:3: version: Input should be a valid integer, "
        "unable to parse string as an integer (got 'one')",
        f"{tmp_path}/demo.yaml:5: steps[0].id: required field is missing",
    ]


def test_unknown_question_kind(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: ask\n    question: {kind: maybe}\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:7: steps[0].question: unknown kind 'maybe' "
        "(expected yes_no, choice, text, date or number)"
    ]


def test_unquoted_yes_as_choice_value(tmp_path: Path) -> None:
    text = HEADER + (
        "steps:\n  - id: ask\n    question:\n      kind: choice\n      options:\n"
        "        - {value: yes, label: Agree}\n        - {value: 'no', label: Disagree}\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:10: steps[0].question.options[0].value: Input should be a valid "
        "string (YAML reads yes/no/on/off as true/false: put the value in quotes)"
    ]


def test_duplicate_key(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: a\n    say: one\n    say: two\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:8: steps[0].say: duplicate key (the later one would win silently)"
    ]


def test_duplicate_step_id(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: a\n  - id: a\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:7: steps[1].id: duplicate step id 'a' (also at line 6)"
    ]


def test_next_to_unknown_step(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: a\n    next: b\n"
    assert problems(tmp_path, text) == [f"{tmp_path}/demo.yaml:7: steps[0].next: unknown step 'b'"]


def test_branch_to_unknown_step(tmp_path: Path) -> None:
    text = HEADER + (
        "steps:\n  - id: a\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: true}\n        goto: nowhere\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:10: steps[0].branches[0].goto: unknown step 'nowhere'"
    ]


def test_unreachable_step(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: a\n    end: true\n  - id: orphan\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:8: steps[1].id: step 'orphan' is unreachable from the start step 'a'"
    ]


def test_loop_without_exit(tmp_path: Path) -> None:
    text = HEADER + (
        "steps:\n  - id: a\n  - id: b\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: true}\n        goto: a\n    next: c\n"
        "  - id: c\n    next: b\n  - id: done\n    end: true\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:6: steps[0].id: loop without exit: a → b → a never reaches an end",
        f"{tmp_path}/demo.yaml:15: steps[3].id: step 'done' is unreachable from the start step 'a'",
    ]


def test_loop_with_an_exit_is_fine(tmp_path: Path) -> None:
    text = HEADER + (
        "steps:\n  - id: a\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: true}\n        goto: a\n  - id: done\n"
    )
    assert problems(tmp_path, text) == []


def test_unknown_placeholder(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: a\n    say: Hello {patient.frist_name}\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:7: steps[0].say: unknown placeholder {{patient.frist_name}} "
        "(did you mean {patient.first_name}?)"
    ]


def test_placeholder_for_an_unknown_answer(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: a\n    say: You said {answers.reason}\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:7: steps[0].say: unknown placeholder {{answers.reason}}: "
        "no step of that id asks a question"
    ]


def test_unmatched_brace(tmp_path: Path) -> None:
    text = HEADER + "steps:\n  - id: a\n    say: 'Hello {patient.first_name'\n"
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:7: steps[0].say: unmatched brace "
        "(write {{ or }} for a literal brace)"
    ]


def test_condition_that_can_never_match(tmp_path: Path) -> None:
    text = HEADER + (
        "steps:\n  - id: a\n    question: {kind: yes_no}\n    branches:\n"
        "      - when: {equals: 'yes'}\n        goto: a\n  - id: done\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:9: steps[0].branches[0].when: 'yes' can never match the answer "
        "to step 'a' (yes/no: true or false)"
    ]


def test_red_flag_on_a_step_without_question(tmp_path: Path) -> None:
    text = HEADER + (
        "steps:\n  - id: a\nred_flags:\n  - id: rf\n    title: T\n"
        "    when: [{question: a, equals: true}]\n    transfer: nurse\n    instruction: Act\n"
    )
    assert problems(tmp_path, text) == [
        f"{tmp_path}/demo.yaml:10: red_flags[0].when[0].question: step 'a' asks no question"
    ]


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


def test_shipped_library_passes() -> None:
    assert [str(p) for p in check_path()] == []


def careline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exit_codes(tmp_path: Path) -> None:
    shipped = careline("scripts", "check")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert shipped.stdout.endswith(": ok (10 scripts, 1 form)\n")

    (tmp_path / "bad.yaml").write_text(HEADER + "steps:\n  - id: a\n    next: b\n", "utf-8")
    bad = careline("scripts", "check", str(tmp_path))
    assert bad.returncode == 1
    assert bad.stdout == f"{tmp_path}/bad.yaml:7: steps[0].next: unknown step 'b'\n"
    assert bad.stderr == f"{tmp_path}: 1 problem (1 script, 0 forms)\n"

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
