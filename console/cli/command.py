# SPDX-License-Identifier: GPL-2.0-or-later
"""What every ``careline`` subcommand is made of, and the options they share.

A :class:`Command` is one entry of the registry in :mod:`console.cli`: its
help, the arguments it adds to its parser and the function that runs it.
Nothing here imports Textual or pjsua2: each command imports what it needs
inside its ``run``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from console.core.records import dataclass

if TYPE_CHECKING:
    # Only where a parser is built: a plain console start goes without argparse (and the
    # gettext it loads), about 0.35 MiB of an idle console (see console.cli.plain_start).
    import argparse

    from console.core.config import CarelineConfig
    from console.core.store import Store

EXIT_USAGE = 2
"""A usage or configuration error (argparse exits with it too)."""


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """For a command that takes no options of its own."""
    del parser


Run = Callable[["argparse.Namespace"], int]
"""Runs a command; returns the exit code (ConfigError and StoreError are caught in main)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One ``careline`` subcommand, or one subcommand of it (``careline patients import``)."""

    help: str
    """The command's line in its parent's ``--help``."""
    description: str
    """The paragraph at the top of its own ``--help``."""
    run: Run | None = None
    """What it runs; None for a group, which runs the subcommand chosen."""
    add_arguments: Callable[[argparse.ArgumentParser], None] = no_arguments
    """Adds the command's own options (after ``--config`` and ``--audio``)."""
    subcommands: Subcommands | None = None
    """A group's subcommands (``careline patients import|generate|lookup``)."""
    config_option: bool = True
    """At the top level: whether it takes ``--config`` (``paths`` reads the top one only)."""
    audio_option: bool = False
    """At the top level: whether it takes ``--audio`` (the commands that start an engine)."""
    plain: Mapping[str, object] | None = None
    """At the top level: the command's own parsed arguments when it is given without any
    option, for a start that skips the parser (:func:`console.cli.plain_start`); None: it
    is always parsed. Held equal to the parser's by the tests."""


@dataclass(frozen=True, slots=True)
class Subcommands:
    """The required subcommands of a group."""

    dest: str
    """The attribute of the parsed arguments that names the one chosen."""
    metavar: str
    """How ``--help`` shows the choice: COMMAND or ACTION."""
    commands: dict[str, Command]
    """The subcommands by name, in ``--help`` order."""


def add_command(parser: argparse.ArgumentParser, command: Command) -> None:
    """Add ``command``'s options, then its subcommands (recursively), to ``parser``."""
    command.add_arguments(parser)
    if command.subcommands is None:
        return
    sub = parser.add_subparsers(
        dest=command.subcommands.dest, metavar=command.subcommands.metavar, required=True
    )
    for name, child in command.subcommands.commands.items():
        add_command(sub.add_parser(name, help=child.help, description=child.description), child)


def run_command(command: Command, args: argparse.Namespace) -> int:
    """Run ``command``, or the subcommand of it that ``args`` names."""
    while command.subcommands is not None:
        command = command.subcommands.commands[getattr(args, command.subcommands.dest)]
    if command.run is None:
        raise TypeError("a command without subcommands needs a run function")
    return command.run(args)


def whole_number(option: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type for ``option``: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        import argparse

        if not text.strip().isdigit() or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{option} is {low} to {high}")
        return int(text)

    return parse


def add_config(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """The ``--config FILE`` option."""
    import argparse

    # Subcommands suppress the default so that `careline --config F engine`
    # keeps F instead of the subparser resetting it to None.
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=None if top else argparse.SUPPRESS,
        help="configuration file (default: careline.yaml in your user config directory)",
    )


def add_audio_mode(parser: argparse.ArgumentParser) -> None:
    """The ``--audio MODE`` option, overriding ``audio.mode``."""
    parser.add_argument(
        "--audio",
        dest="audio_mode",
        choices=("headset", "station", "none"),
        help="how you hear callers, overriding audio.mode: headset, station (your own phone, "
        "audio.station.number) or none",
    )


def iso_day(text: str) -> date:
    """An argparse ``type``: a YYYY-MM-DD date, or a usage error naming what was given."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def config_of(args: argparse.Namespace) -> CarelineConfig:
    """The configuration ``--config`` names (or the layered default), ``--audio`` applied."""
    from console.core.config import load_config, with_audio_mode

    return with_audio_mode(load_config(args.config), getattr(args, "audio_mode", None))


def with_store(config: CarelineConfig, work: Callable[[Store], Awaitable[int]]) -> int:
    """Open the local store, run ``work`` on it, close it; ``work``'s exit code."""
    import asyncio

    from console.core.config import store_key
    from console.core.store import Store

    async def opened() -> int:
        store = await Store.open(store_path(config), store_key(config))
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(opened())


def store_path(config: CarelineConfig) -> Path:
    """The local store the console uses (config ``store.path`` or the data directory)."""
    from console.core.paths import data_dir

    return config.store.path or data_dir() / "careline.sqlite3"


def hub_owner_option(
    parser: argparse.ArgumentParser, hub_help: str, who: str = "as its owner"
) -> None:
    """``--hub`` (``hub_help`` says what it does there), with the hub owner's ``--dsn``
    and ``--password-file``: for commands that write the floor's data into the hub
    (``who``: whose login the DSN is, for a command that reads it as anyone)."""
    parser.add_argument("--hub", action="store_true", help=hub_help)
    parser.add_argument(
        "--dsn",
        metavar="DSN",
        help=f"with --hub: libpq connection string or URI of the hub database, {who} "
        "(the password from PGPASSWORD, ~/.pgpass or --password-file, not the DSN)",
    )
    parser.add_argument(
        "--password-file",
        "--dsn-password-file",
        dest="dsn_password_file",
        type=Path,
        metavar="FILE",
        help="with --hub: file (mode 0600) holding the password for the DSN's user",
    )
