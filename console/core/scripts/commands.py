"""``careline scripts …``: check and list the call scripts and wrap-up forms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.core.scripts.checker import check_library
from console.core.scripts.loader import library_dir, load_library

EXIT_PROBLEMS = 1


def add_subcommands(scripts: argparse.ArgumentParser) -> None:
    """The ``check`` and ``list`` subcommands of ``careline scripts``."""
    sub = scripts.add_subparsers(dest="scripts_command", metavar="COMMAND", required=True)
    check = sub.add_parser(
        "check",
        help="validate call scripts and wrap-up forms",
        description=(
            "Validate every script and form under PATH (a directory or one YAML file; "
            "default: the shipped library): schema errors, unknown or unreachable steps, "
            "loops without exit, unknown placeholders, conditions that cannot match, "
            "duplicate ids and hot keys. Each problem is printed as FILE:LINE: FIELD: MESSAGE. "
            "Exit status: 0 no problems, 1 problems found."
        ),
    )
    check.add_argument("path", nargs="?", type=Path, metavar="PATH")
    listing = sub.add_parser(
        "list",
        help="list the call scripts and wrap-up forms",
        description="List every script and form under PATH (default: the shipped library).",
    )
    listing.add_argument("path", nargs="?", type=Path, metavar="PATH")


def run(args: argparse.Namespace) -> int:
    """Run the ``careline scripts`` subcommand in ``args``; returns the exit code."""
    path: Path = args.path if args.path is not None else library_dir()
    library = load_library(path)
    if args.scripts_command == "list":
        for script in library.scripts:
            where = ", ".join([*script.applies_to.queues, *script.applies_to.dids]) or "-"
            mark = " (default)" if script.default else ""
            print(f"script  {script.id} v{script.version}: {script.title}{mark} [{where}]")
        for form in library.forms:
            mark = " (default)" if form.default else ""
            print(f"form    {form.id} v{form.version}: {form.title}{mark}")
        for problem in library.problems:
            print(problem, file=sys.stderr)
        return EXIT_PROBLEMS if library.problems else 0
    problems = check_library(library)
    for problem in problems:
        print(problem)
    count = f"{_count(len(library.scripts), 'script')}, {_count(len(library.forms), 'form')}"
    if problems:
        plural = "s" if len(problems) > 1 else ""
        print(f"{path}: {len(problems)} problem{plural} ({count})", file=sys.stderr)
        return EXIT_PROBLEMS
    print(f"{path}: ok ({count})")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
