# SPDX-License-Identifier: GPL-2.0-or-later
"""Survey answers as CSAT and NPS: which answers count (``measures:`` in a script),
how they are scored, and the checker's word on a step that measures the wrong scale."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from console.core.reports.feedback import SurveyCall, measured_steps, read_survey
from console.core.reports.redact import MAX_COMMENT_CHARS, redact
from console.core.scripts.checker import check_path
from console.core.scripts.loader import load_library

HEADER = "kind: script\nid: demo\ntitle: Demo\nversion: 1\nsteps:\n"


def test_a_measure_on_the_wrong_scale_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(
        HEADER + "  - id: score\n    measures: csat\n"
        "    question: {kind: number, minimum: 0, maximum: 10, integer: true}\n"
        "  - id: words\n    measures: nps\n    question: {kind: text}\n"
        "  - id: said\n    measures: comment\n",
        encoding="utf-8",
    )
    prefix = f"{tmp_path}/demo.yaml:"
    assert [str(problem).removeprefix(prefix) for problem in check_path(tmp_path)] == [
        "6: steps[0]: measures: csat needs a whole-number question from 1 to 5 "
        "(kind: number, minimum: 1, maximum: 5, integer: true)",
        "9: steps[1]: measures: nps needs a whole-number question from 0 to 10 "
        "(kind: number, minimum: 0, maximum: 10, integer: true)",
        "12: steps[2]: measures: comment needs a text question",
    ]


HOSTILE = [
    pytest.param(
        "Maria Lopez called me back on (555) 123-4567, thank you",
        "[name] [name] called me back on [number], thank you",
        "2 names, 1 number",
        id="name and phone",
    ),
    pytest.param(
        "my name is john smith, DOB 03/04/1961, MRN A1234567",
        "[name], [name] [date], [record number]",
        "2 names, 1 record number, 1 date",
        id="lower-case name, date of birth, record number",
    ),
    pytest.param(
        "born on 4th of July 1961; email jo@example.org or +44 20 7946 0958",
        "born on [date]; email [email] or [number]",
        "1 number, 1 date, 1 email",
        id="spelt date, email, international number",
    ),
    pytest.param(
        "Dr. Okafor was great [bold red]x[/] \x1b[2J\u202eevil",
        "[name] was great [bold red]x[/] \ufffd[[record number]evil",
        "1 name, 1 record number",
        id="markup kept as text, escapes and bidi neutralised",
    ),
    pytest.param("caf\udcc3 ok", "caf? ok", "", id="not UTF-8"),
    pytest.param("Waited too long, really slow", "Waited too long, really slow", "", id="clean"),
    pytest.param(
        "Kimberly was lovely, Beverly Fleming too; Manning and Mildred were not",
        "[name] was lovely, [name] [name] too; [name] and [name] were not",
        "5 names",
        id="names shaped like -ly, -ing, -ed words",
    ),
    pytest.param(
        "i spoke to kimberly fleming yesterday. this is manning. i am beverly",
        "i [name] yesterday. [name]. [name]",
        "3 names",
        id="lower-case names after spoke to, this is, I am",
    ),
    pytest.param(
        "Called twice, this is a poor line; I am very happy they called me back",
        "Called twice, this is a poor line; I am very happy they called me back",
        "",
        id="common words after those phrases kept",
    ),
]


@pytest.mark.parametrize(("text", "shown", "said"), HOSTILE)
def test_identifiers_are_redacted_and_said(text: str, shown: str, said: str) -> None:
    result = redact(text)
    assert (result.text, result.said) == (shown, said)
    assert result.text.encode("utf-8")  # every writer can take it


def test_a_huge_comment_is_cut_after_redaction() -> None:
    result = redact("call 555 0100 9999 " + "x" * 100_000)
    assert result.text.startswith("call [number] ")
    assert len(result.text) <= MAX_COMMENT_CHARS
    assert result.said == "1 number, cut"


def test_stored_answers_that_are_not_scores_are_skipped() -> None:
    steps = measured_steps(load_library().scripts)
    call = SurveyCall(
        date(2026, 11, 23), "feedback", "alice", "i-1", "2026-11-23T10:00:00Z",
        "feedback-survey",
        [
            {"question": "satisfaction", "value": 9},  # off the 1-5 scale
            {"question": "recommend", "value": True},
            {"question": "recommend", "value": "10"},  # text, not a number
            {"question": "comments", "value": {"nested": 1}},
            {"question": ["satisfaction"], "value": 5},  # tampered: not a step id
            "not an entry",
        ],
    )  # fmt: skip
    assert read_survey(call, steps) == ([], [])
    call = replace(call, answers=[{"question": "recommend", "value": 7.0}])
    [score], [] = read_survey(call, steps)
    assert (score.measure, score.value) == ("nps", 7)
    assert read_survey(replace(call, answers="tampered"), steps) == ([], [])
