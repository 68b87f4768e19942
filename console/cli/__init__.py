# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``careline`` command line: one registry of subcommands, and ``main``.

Each command group is a module of this package that owns its arguments and
everything it prints (:mod:`.patients`, :mod:`.audit`, :mod:`.scripts`,
:mod:`.floor`, :mod:`.hub`, :mod:`.pin`, :mod:`.recordings`, :mod:`.audio`, :mod:`.doctor`,
:mod:`.engine`, :mod:`.agent_console`, :mod:`.qa`); the domain stays in
:mod:`console.core`. A new command is a :class:`~console.cli.command.Command`
added to :data:`COMMANDS`.

Nothing here imports Textual or pjsua2 at import time: ``careline engine``
runs the phone engine process from here, and it should not carry a UI
toolkit. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from console import __version__
from console.cli.agent_console import ATTACH, DEMO, RUN
from console.cli.audio import AUDIO
from console.cli.audit import AUDIT
from console.cli.command import (
    EXIT_USAGE,
    Command,
    add_audio_mode,
    add_command,
    add_config,
    run_command,
)
from console.cli.doctor import DOCTOR
from console.cli.engine import CONFIG, ENGINE, PATHS
from console.cli.floor import QUEUE, SUPERVISE
from console.cli.hub import HUB
from console.cli.patients import PATIENTS
from console.cli.pin import PIN
from console.cli.qa import QA
from console.cli.recordings import RECORDINGS
from console.cli.report import REPORT
from console.cli.scripts import SCRIPTS
from console.cli.worklist import WORKLIST
from console.core.config import ConfigError
from console.core.store_faults import StoreError

COMMANDS: dict[str, Command] = {
    "run": RUN,
    "attach": ATTACH,
    "demo": DEMO,
    "engine": ENGINE,
    "config": CONFIG,
    "patients": PATIENTS,
    "audit": AUDIT,
    "recordings": RECORDINGS,
    "scripts": SCRIPTS,
    "worklist": WORKLIST,
    "queue": QUEUE,
    "supervise": SUPERVISE,
    "qa": QA,
    "report": REPORT,
    "hub": HUB,
    "pin": PIN,
    "audio": AUDIO,
    "doctor": DOCTOR,
    "paths": PATHS,
}
"""Every ``careline`` subcommand, in ``careline --help`` order; ``run`` is the default."""

DEFAULT_COMMAND = "run"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``careline`` and all its subcommands."""
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
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.description)
        if command.config_option:
            add_config(child)
        if command.audio_option:
            add_audio_mode(child)
        add_command(child, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``careline`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run_command(COMMANDS[args.command or DEFAULT_COMMAND], args)
    except ConfigError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


__all__ = ["COMMANDS", "Command", "build_parser", "main"]
