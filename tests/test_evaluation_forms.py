# SPDX-License-Identifier: GPL-2.0-or-later
"""Evaluation forms (issue 21): ``careline scripts check`` names the file, line and field
of every problem, hostile files included, and the shipped form loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core.scripts.checker import check_path
from console.core.scripts.evaluation_forms import AutomaticCheck, EvaluationForm, YesNoItem
from console.core.scripts.loader import load_library
from tests.careline_cli import careline

HEADER = "kind: evaluation\nid: demo\ntitle: Demo\nversion: 1\n"
ONE_SECTION = (
    "sections:\n"
    "  - id: all\n"
    "    title: All\n"
    "    weight: 100\n"
    "    questions:\n"
    "      - {id: greeted, kind: yes_no, text: Greeted the caller}\n"
)


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "demo.yaml").write_text(text, encoding="utf-8")
    prefix = f"{tmp_path}/demo.yaml:"
    return [str(problem).removeprefix(prefix) for problem in check_path(tmp_path)]


def test_a_minimal_form_is_fine(tmp_path: Path) -> None:
    assert problems(tmp_path, HEADER + ONE_SECTION) == []


CASES = [
    pytest.param(
        HEADER
        + "sections:\n"
        + "  - {id: a, title: A, weight: 60, questions: [{id: q1, kind: yes_no, text: Q}]}\n"
        + "  - {id: b, title: B, weight: 30, questions: [{id: q2, kind: yes_no, text: Q}]}\n",
        ["5: sections: the section weights add up to 90, not 100"],
        id="weights that do not add up",
    ),
    pytest.param(
        HEADER
        + "sections:\n"
        + "  - {id: a, title: A, weight: 50, questions: [{id: q1, kind: yes_no, text: Q}]}\n"
        + "  - {id: a, title: B, weight: 50, questions: [{id: q1, kind: yes_no, text: Q}]}\n",
        [
            "7: sections[1].id: section id 'a' is used twice",
            "7: sections[1].questions[0].id: question id 'q1' is already used (section 'a')",
        ],
        id="duplicate ids",
    ),
    pytest.param(
        HEADER
        + "sections:\n  - id: a\n    title: A\n    weight: 100\n    questions:\n"
        + "      - {id: q1, kind: stars, text: Q}\n",
        ["10: sections[0].questions[0]: unknown kind 'stars' (expected yes_no, scale or text)"],
        id="unknown question kind",
    ),
    pytest.param(
        HEADER
        + "sections:\n  - id: a\n    title: A\n    weight: hundred\n    questions:\n"
        + "      - {id: q1, kind: yes_no, text: Q, weight: [1]}\n",
        [
            "8: sections[0].weight: Input should be a valid number, unable to parse string "
            "as a number (got 'hundred')",
            "10: sections[0].questions[0].weight: Input should be a valid number",
        ],
        id="wrong types",
    ),
    pytest.param(
        HEADER
        + "sections:\n  - id: a\n    title: A\n    weight: 100\n    questions:\n"
        + "      - {id: q1, kind: scale, text: Q, auto_fail: true}\n"
        + "      - {id: q2, kind: yes_no, text: Q, automatic: mind_reading}\n",
        [
            "10: sections[0].questions[0].auto_fail: unknown field "
            "(check the spelling; see docs/scripts.md)",
            "11: sections[0].questions[1].automatic: Input should be 'verified_before_details', "
            "'red_flag_transfer', 'script_completed', 'hold_within_limit', "
            "'wrap_up_within_limit' or 'disposition_matches' (got 'mind_reading')",
        ],
        id="automatic fail on a scale, an unknown automatic check",
    ),
    pytest.param(
        HEADER
        + "sections:\n  - id: a\n    title: A\n    weight: 100\n    questions:\n"
        + "      - {id: q1, kind: scale, text: Q, min: 5, max: 3}\n"
        + "      - {id: q2, kind: yes_no, text: Q, automatic: script_completed}\n"
        + "      - {id: q3, kind: yes_no, text: Q, automatic: script_completed}\n",
        [
            "10: sections[0].questions[0].max: max must be more than min (5)",
            "12: sections[0].questions[2].automatic: check 'script_completed' already answers 'q2'",
        ],
        id="a scale running downwards, one check on two questions",
    ),
    pytest.param(
        HEADER
        + "sections:\n  - id: a\n    title: A\n    weight: 100\n    questions:\n"
        + "      - {id: note, kind: text, text: Comments}\n",
        ["9: sections[0].questions: no question here carries points, but the section has weight"],
        id="a weighted section without points",
    ),
    pytest.param(
        HEADER + "pass_threshold: 120\n" + ONE_SECTION,
        ["5: pass_threshold: Input should be less than or equal to 100 (got 120)"],
        id="threshold out of range",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_problem_is_named_at_its_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert problems(tmp_path, text) == expected


def test_hostile_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    nested = HEADER + "sections: " + "[" * 200 + "]" * 200 + "\n"
    assert problems(tmp_path, nested) == ["5: nested more than 64 levels deep"]
    many = (
        HEADER
        + "sections:\n"
        + "".join(
            f"  - {{id: s{n}, title: S, weight: 1, questions: "
            f"[{{id: q{n}, kind: yes_no, text: Q}}]}}\n"
            for n in range(30)
        )
    )
    assert problems(tmp_path, many) == [
        "5: sections: List should have at most 20 items after validation, not 30"
    ]
    (tmp_path / "demo.yaml").write_text("x" * 2_000_000, encoding="utf-8")
    assert [str(p) for p in check_path(tmp_path)] == [
        f"{tmp_path}/demo.yaml: file is larger than the limit of 1,000,000 bytes"
    ]


def test_two_default_forms_are_one_too_many(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(HEADER + "default: true\n" + ONE_SECTION, encoding="utf-8")
    other = HEADER.replace("id: demo", "id: other") + "default: true\n" + ONE_SECTION
    (tmp_path / "b.yaml").write_text(other, encoding="utf-8")
    assert [str(p) for p in check_path(tmp_path)] == [
        f"{tmp_path}/b.yaml:5: default: more than one default evaluation (also {tmp_path}/a.yaml)"
    ]


def test_the_shipped_form_checks_clean_and_uses_every_automatic_check() -> None:
    library = load_library()
    (form,) = library.evaluations
    assert isinstance(form, EvaluationForm)
    assert form.default
    automatic = {q.automatic for q in form.questions if isinstance(q, YesNoItem) and q.automatic}
    assert automatic == set(AutomaticCheck)
    shipped = careline("scripts", "check")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert shipped.stdout.endswith(", 1 evaluation form)\n")
