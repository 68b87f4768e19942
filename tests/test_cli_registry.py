# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``careline`` command registry: a command's module loads only when it runs (issue 17:
the console's start built all nineteen subcommands' parsers and loaded their modules), and
a console started without options is not parsed by argparse at all."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from console.cli import COMMANDS, Command, build_parser, chosen_command, command, plain_start
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


PLAIN = [[], ["run"], ["attach"], ["demo"]]
"""Every start read without the parser."""


@pytest.mark.parametrize("argv", PLAIN)
def test_a_start_without_options_reads_as_the_parser_reads_it(argv: list[str]) -> None:
    read = plain_start(argv)
    assert read is not None
    assert vars(read) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--audio", "none"],
        ["--config", "x.yaml"],
        ["--config", "x.yaml", "run"],
        ["demo", "--interval", "1"],
        ["--help"],
        ["run", "--help"],
        ["--version"],
        ["paths"],  # no plain form: its parse is not worth one
        ["bogus"],
        ["run", "run"],
        [""],
    ],
)
def test_anything_else_goes_to_the_parser(argv: list[str]) -> None:
    assert plain_start(argv) is None


@pytest.mark.parametrize(("argv", "runs"), [([], "run_console"), (["demo"], "run_demo")])
def test_a_plain_console_start_loads_no_argparse(argv: list[str], runs: str) -> None:
    """argparse and the gettext it loads weigh about 0.35 MiB of an idle console: ``main``
    reaches the console (stubbed here) without them."""
    code = (
        "import console.launch, console.app, console.screens.agent\n"
        f"console.launch.{runs} = lambda *args, **kwargs: 7\n"
        "from console.cli import main\n"
        f"assert main({argv!r}) == 7\n"
    )
    assert _loaded_after(code, ("argparse", "gettext")) == []


def test_every_registered_command_is_a_command_of_its_module() -> None:
    assert all(isinstance(command(name), Command) for name in COMMANDS)


def test_a_command_loads_its_own_module_only() -> None:
    code = "from console.cli import main\nassert main(['paths']) == 0\n"
    assert _loaded_after(code, ("console.cli.",)) == ["console.cli.command", "console.cli.engine"]


def _loaded_after(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` loaded once ``code`` ran in a new
    interpreter."""
    script = (
        f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return list(ast.literal_eval(result.stdout.strip().splitlines()[-1]))


def test_the_whole_help_and_an_unknown_command_still_list_every_command() -> None:
    top = careline("--help")
    assert top.returncode == 0
    assert all(name in top.stdout for name in COMMANDS)
    wrong = careline("bogus")
    assert wrong.returncode == 2
    assert "invalid choice: 'bogus'" in wrong.stderr
    assert "'supervise'" in wrong.stderr
