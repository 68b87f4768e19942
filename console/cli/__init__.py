# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``careline`` command line: one registry of subcommands, and ``main``.

Each command group is a module of this package that owns its arguments and
everything it prints (:mod:`.patients`, :mod:`.audit`, :mod:`.scripts`,
:mod:`.floor`, :mod:`.hub`, :mod:`.pin`, :mod:`.recordings`, :mod:`.audio`, :mod:`.doctor`,
:mod:`.engine`, :mod:`.agent_console`, :mod:`.qa`); the domain stays in
:mod:`console.core`. A new command is a :class:`~console.cli.command.Command`
named in :data:`COMMANDS`.

Nothing here imports Textual or pjsua2 at import time: ``careline engine``
runs the phone engine process from here, and it should not carry a UI
toolkit. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from importlib import import_module
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from console import __version__
from console.cli.command import (
    EXIT_USAGE,
    Command,
    add_audio_mode,
    add_command,
    add_config,
    run_command,
)
from console.core.config import ConfigError
from console.core.store_faults import StoreError

if TYPE_CHECKING:
    import argparse

COMMANDS: dict[str, str] = {
    "run": "agent_console:RUN",
    "attach": "agent_console:ATTACH",
    "demo": "agent_console:DEMO",
    "engine": "engine:ENGINE",
    "config": "engine:CONFIG",
    "patients": "patients:PATIENTS",
    "audit": "audit:AUDIT",
    "recordings": "recordings:RECORDINGS",
    "scripts": "scripts:SCRIPTS",
    "worklist": "worklist:WORKLIST",
    "queue": "floor:QUEUE",
    "supervise": "floor:SUPERVISE",
    "qa": "qa:QA",
    "report": "report:REPORT",
    "hub": "hub:HUB",
    "pin": "pin:PIN",
    "audio": "audio:AUDIO",
    "doctor": "doctor:DOCTOR",
    "paths": "engine:PATHS",
}
"""Every ``careline`` subcommand, in ``careline --help`` order: the module of this
package and the name of its :class:`Command`; ``run`` is the default. A command's
module is imported when that command runs (or for the whole ``--help``): the
console's start does not load the other sixteen."""

DEFAULT_COMMAND = "run"


def command(name: str) -> Command:
    """The :class:`Command` called ``name`` (its module imported now)."""
    module, _, attribute = COMMANDS[name].partition(":")
    found = getattr(import_module(f"{__name__}.{module}"), attribute)
    assert isinstance(found, Command), COMMANDS[name]
    return found


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` runs, read as argparse reads it (``--config FILE`` may come
    first; none named: ``run``); None when only the whole parser can tell (``--help``,
    ``--version``, an unknown word or option)."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("--config="):
            return word if word in COMMANDS else None
    return DEFAULT_COMMAND


def plain_start(argv: Sequence[str]) -> argparse.Namespace | None:
    """What the parser would make of ``argv`` when it names at most a command and no option
    (``careline``, ``careline run``, ``careline demo``: an agent's every start), read
    without it; None for anything else, which only the parser reads.

    The console idles in the process that parsed its command line, and argparse with the
    gettext it loads weighs about 0.35 MiB there (measured): only ``--help``, an option or
    a usage error loads them.
    """
    if not argv:
        return cast("argparse.Namespace", SimpleNamespace(config=None, command=None))
    if len(argv) > 1 or argv[0] not in COMMANDS:
        return None
    plain = command(argv[0]).plain
    if plain is None:
        return None
    return cast("argparse.Namespace", SimpleNamespace(config=None, command=argv[0], **plain))


def build_parser(names: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser for ``careline`` and its subcommands ``names`` (default: all)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="careline",
        description=(
            "careline: a keyboard-driven softphone console for healthcare call-centre agents. "
            "Without a subcommand it opens the agent console."
        ),
    )
    parser.add_argument("--version", action="version", version=f"careline {__version__}")
    add_config(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS if names is None else names:
        child_command = command(name)
        child = sub.add_parser(name, help=child_command.help, description=child_command.description)
        if child_command.config_option:
            add_config(child)
        if child_command.audio_option:
            add_audio_mode(child)
        add_command(child, child_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``careline`` console script; returns the exit code."""
    words = sys.argv[1:] if argv is None else argv
    args = plain_start(words)
    if args is None:
        name = chosen_command(words)
        args = build_parser(None if name is None else [name]).parse_args(words)
    try:
        return run_command(command(args.command or DEFAULT_COMMAND), args)
    except ConfigError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


__all__ = [
    "COMMANDS",
    "Command",
    "build_parser",
    "chosen_command",
    "command",
    "main",
    "plain_start",
]
