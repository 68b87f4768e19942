# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``careline`` command registry: a command's module loads only when it runs (issue 17:
the console's start built all nineteen subcommands' parsers and loaded their modules)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from console.cli import COMMANDS, Command, chosen_command, command
from tests.careline_cli import careline
from tests.support import ROOT


@pytest.mark.parametrize(
    ("argv", "chosen"),
    [
        ([], "run"),
        (["--config", "x.yaml"], "run"),
        (["--config=x.yaml"], "run"),
        (["demo"], "demo"),
        (["--config", "run", "patients", "lookup"], "patients"),  # a file called run
        (["patients", "--help"], "patients"),
        (["--help"], None),
        (["-h"], None),
        (["--version"], None),
        (["--config"], "run"),  # argparse says what is missing
        (["bogus"], None),  # the whole parser lists the commands there are
        (["--bogus", "run"], None),
    ],
)
def test_the_command_chosen_is_read_as_argparse_reads_it(
    argv: list[str], chosen: str | None
) -> None:
    assert chosen_command(argv) == chosen


def test_every_registered_command_is_a_command_of_its_module() -> None:
    assert all(isinstance(command(name), Command) for name in COMMANDS)


def test_a_command_loads_its_own_module_only() -> None:
    code = (
        "import sys\n"
        "from console.cli import main\n"
        "assert main(['paths']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('console.cli.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = result.stdout.strip().splitlines()[-1]
    assert loaded == "['console.cli.command', 'console.cli.engine']"


def test_the_whole_help_and_an_unknown_command_still_list_every_command() -> None:
    top = careline("--help")
    assert top.returncode == 0
    assert all(name in top.stdout for name in COMMANDS)
    wrong = careline("bogus")
    assert wrong.returncode == 2
    assert "invalid choice: 'bogus'" in wrong.stderr
    assert "'supervise'" in wrong.stderr
