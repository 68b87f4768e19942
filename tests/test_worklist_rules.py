# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklist rules (``kind: worklist``): loaded by the library, checked at file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from console.core.scripts.checker import check_path
from console.core.scripts.loader import library_dir, load_library
from console.core.scripts.worklist_rules import ListKind

RULE = """kind: worklist
id: reminders
title: Reminders
version: 1
about: appointment_reminder
days: 1
script: appointment-reminder-confirmation
voicemail: Hello {patient.first_name}, {org.name} here. Call {org.callback_number}.
"""


def checked(tmp_path: Path, text: str) -> list[str]:
    """The problems of the shipped scripts plus one worklist file, without the folder."""
    shutil.copytree(library_dir() / "scripts", tmp_path / "scripts")
    shutil.copytree(library_dir() / "preparations", tmp_path / "preparations")
    (tmp_path / "list.yaml").write_text(text, encoding="utf-8")
    return [str(p).replace(f"{tmp_path}/", "") for p in check_path(tmp_path)]


def test_the_shipped_lists_load_one_of_each_kind() -> None:
    library = load_library()
    assert {rule.about for rule in library.worklists} == set(ListKind)
    assert check_path() == []


def test_a_good_rule_has_no_problems(tmp_path: Path) -> None:
    assert checked(tmp_path, RULE) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ("script: appointment-reminder-confirmation", "script: appointment-reminders"),
            "list.yaml:7: script: unknown script 'appointment-reminders' "
            "(did you mean 'appointment-reminder-confirmation'?)",
            id="unknown script",
        ),
        pytest.param(
            ("Call {org.callback_number}.", "Your {patient.next_appointment} is booked."),
            "list.yaml:8: voicemail: {patient.next_appointment} may not be left on a voicemail "
            "(anyone may hear it); allowed: {patient.first_name}, {org.name}, "
            "{org.callback_number}",
            id="clinical placeholder in the voicemail",
        ),
        pytest.param(
            ("Call {org.callback_number}.", "Call {org.callback_number}." + " Thanks." * 50),
            "list.yaml:8: voicemail: 472 characters: a voicemail says at most 300 "
            "(who is calling and a number to call back, nothing clinical)",
            id="voicemail too long",
        ),
        pytest.param(
            ("days: 1", "days: -1"),
            "list.yaml:6: days: Input should be greater than or equal to 0 (got -1)",
            id="negative days",
        ),
        pytest.param(
            ("about: appointment_reminder", "about: birthdays"),
            "list.yaml:5: about: Input should be 'appointment_reminder', 'refill_reminder' "
            "or 'feedback' (got 'birthdays')",
            id="unknown list kind",
        ),
        pytest.param(
            ("days: 1", "days: 1\nservces: [Primary care]"),
            "list.yaml:7: servces: unknown field (check the spelling; see docs/scripts.md)",
            id="misspelt field",
        ),
        pytest.param(
            ("about: appointment_reminder", "about: refill_reminder\nservices: [X]"),
            "list.yaml:1: services are appointment types: a refill list has none",
            id="refill list with services",
        ),
    ],
)
def test_checker_errors_name_file_and_line(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert checked(tmp_path, RULE.replace(*change)) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "kind: worklist\na: &a [1, 1]\n"
        + "".join(f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}] \n" for i in range(200)),
        "kind: worklist\n" + "[" * 5000,
        "kind: worklist\nvoicemail: !!python/object/apply:os.system ['true']\n",
        RULE.replace("Hello", "Hello \x1b[31m{"),
    ],
    ids=["alias", "deep nesting", "python tag", "escape and brace"],
)
def test_hostile_yaml_is_a_problem_not_a_crash(tmp_path: Path, text: str) -> None:
    found = checked(tmp_path, text)
    assert found
    assert all(line.startswith("list.yaml") for line in found)
