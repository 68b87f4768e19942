# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline scripts …``: check and list the call scripts and wrap-up forms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli.command import Command, Subcommands, config_of

if TYPE_CHECKING:
    from console.core.scripts.loader import Library

EXIT_PROBLEMS = 1


def _path_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, metavar="PATH")


def _library(args: argparse.Namespace) -> tuple[Path, Library]:
    """The PATH given (default: the shipped library) and what loads from it."""
    from console.core.scripts.loader import library_dir, load_library

    config_of(args)  # a configuration that does not load fails every command but doctor
    path: Path = args.path if args.path is not None else library_dir()
    return path, load_library(path)


def _list(args: argparse.Namespace) -> int:
    _, library = _library(args)
    for script in library.scripts:
        where = ", ".join([*script.applies_to.queues, *script.applies_to.dids]) or "-"
        mark = " (default)" if script.default else ""
        print(f"script  {script.id} v{script.version}: {script.title}{mark} [{where}]")
    for form in library.forms:
        mark = " (default)" if form.default else ""
        print(f"form    {form.id} v{form.version}: {form.title}{mark}")
    for preparation in library.preparations:
        mark = " (default)" if preparation.default else ""
        services = ", ".join(preparation.services) or "-"
        title = f"{preparation.title}{mark}"
        print(f"prep    {preparation.id} v{preparation.version}: {title} [{services}]")
    for evaluation in library.evaluations:
        mark = " (default)" if evaluation.default else ""
        print(f"eval    {evaluation.id} v{evaluation.version}: {evaluation.title}{mark}")
    for problem in library.problems:
        print(problem, file=sys.stderr)
    return EXIT_PROBLEMS if library.problems else 0


def _check(args: argparse.Namespace) -> int:
    from console.core.scripts.checker import check_library

    path, library = _library(args)
    problems = check_library(library)
    for problem in problems:
        print(problem)
    count = ", ".join(
        [
            _count(len(library.scripts), "script"),
            _count(len(library.forms), "form"),
            _count(len(library.preparations), "preparation"),
            _count(len(library.worklists), "worklist"),
        ]
        # Named only when there are some: a directory of scripts has none.
        + ([_count(len(library.evaluations), "evaluation form")] if library.evaluations else [])
    )
    if problems:
        plural = "s" if len(problems) > 1 else ""
        print(f"{path}: {len(problems)} problem{plural} ({count})", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{path}: ok ({count})")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


SCRIPTS = Command(
    help="check and list call scripts and wrap-up forms",
    description="Validate and list the YAML call scripts and wrap-up forms.",
    subcommands=Subcommands(
        "scripts_command",
        "COMMAND",
        {
            "check": Command(
                help="validate call scripts and wrap-up forms",
                description=(
                    "Validate every script and form under PATH (a directory or one YAML file; "
                    "default: the shipped library): schema errors, unknown or unreachable "
                    "steps, loops without exit, unknown placeholders, conditions that cannot "
                    "match, duplicate ids and hot keys. Each problem is printed as "
                    "FILE:LINE: FIELD: MESSAGE. Exit status: 0 no problems, 1 problems found."
                ),
                run=_check,
                add_arguments=_path_argument,
            ),
            "list": Command(
                help="list the call scripts and wrap-up forms",
                description=(
                    "List every script and form under PATH (default: the shipped library)."
                ),
                run=_list,
                add_arguments=_path_argument,
            ),
        },
    ),
)
