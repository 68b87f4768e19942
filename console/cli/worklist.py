# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline worklist generate|status|export``: outbound worklists from the directory.

Exit status (every subcommand): 0 done; 1 the library's worklist rules have
problems (run ``careline scripts check``) or the store failed; 2 a usage or
configuration error, or an unknown ``--list``. ``generate --hub`` also: 1 the hub
refused (not its owner, not initialised), 3 the hub cannot be reached, 4 it refused
the sign-in; ``status --hub`` and ``export --hub`` likewise (1: not a supervisor's
login).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from console.cli.command import (
    EXIT_USAGE,
    Command,
    Subcommands,
    config_of,
    hub_owner_option,
    with_store,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

    from console.core.config import CarelineConfig
    from console.core.scripts.loader import Library
    from console.core.store import Store
    from console.core.worklists.generate import Generated
    from console.core.worklists.report import ItemLine

EXIT_RULES = 1
EXIT_HUB_DOWN = 3


def _library(config: CarelineConfig) -> Library | None:
    """The library (config ``guidance.scripts`` or the shipped one); None, reported, if
    its worklist rules or the scripts they name have problems."""
    from console.core.scripts.checker import check_library
    from console.core.scripts.loader import load_library

    library = load_library(config.guidance.scripts)
    problems = check_library(library)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print("careline: the script library has problems; nothing generated", file=sys.stderr)
        return None
    return library


def _generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=date.fromisoformat, metavar="YYYY-MM-DD")
    parser.add_argument("--list", dest="list_id", metavar="ID")
    hub_owner_option(
        parser, "generate the floor's items on the hub (as its owner: --dsn), from its directory"
    )


def _generate(args: argparse.Namespace) -> int:
    from console.core.worklists.generate import generate

    config = config_of(args)
    if args.hub != (args.dsn is not None):
        print(
            "careline worklist generate: --hub needs --dsn (the hub owner's connection), "
            "and --dsn needs --hub",
            file=sys.stderr,
        )
        return EXIT_USAGE
    library = _library(config)
    if library is None:
        return EXIT_RULES
    rules = [r for r in library.worklists if args.list_id in (None, r.id)]
    if not rules:
        known = ", ".join(r.id for r in library.worklists) or "none"
        print(f"careline: no worklist {args.list_id!r} (known: {known})", file=sys.stderr)
        return EXIT_USAGE
    from datetime import datetime
    from zoneinfo import ZoneInfo

    # "Today" is the clinic's day, the zone its appointment days are counted in.
    today = args.date or datetime.now(ZoneInfo(config.worklists.default_time_zone)).date()

    def progress(list_id: str, count: int) -> None:
        print(f"{list_id}: {count:,} candidates read…", file=sys.stderr, flush=True)

    async def run(store: Store) -> list[Generated]:
        return await generate(
            store,
            rules,
            library.preparations,
            today=today,
            zone=config.worklists.default_time_zone,
            progress=progress,
        )

    async def work(store: Store) -> int:
        for result in await run(store):
            print(f"{result.list_id}: {result.added} added ({result.candidates} candidates)")
        return 0

    async def on_hub(store: Store) -> int:
        from console.cli.hub import HubCommandError
        from console.cli.hub import on_hub as hub_session
        from console.hub.worklist_publish import PublishError, prepare, publish

        async def action(conn: psycopg.AsyncConnection[Any], _args: argparse.Namespace) -> None:
            await conn.set_autocommit(True)
            pulled = await prepare(conn, store, config.sip.dial.region)
            print(f"hub directory: {pulled:,} resources pulled")
            results = await run(store)
            added = await publish(conn, store, config.worklists, [r.id for r in rules], today)
            for result in results:
                print(
                    f"{result.list_id}: {added[result.list_id]} added to the hub "
                    f"({result.candidates} candidates)"
                )

        try:
            await hub_session(args, action)
        except PublishError as failure:
            print(f"careline worklist generate: {failure}", file=sys.stderr)
            return EXIT_HUB_DOWN if failure.unreachable else EXIT_RULES
        except HubCommandError as failure:
            print(f"careline worklist generate: {failure}", file=sys.stderr)
            return failure.code
        return 0

    return with_store(config, on_hub if args.hub else work)


def _hub_options(parser: argparse.ArgumentParser) -> None:
    hub_owner_option(
        parser,
        "the floor's items on the hub (a supervisor's login: --dsn, else hub.dsn), not "
        "the local store's",
        who="as a supervisor",
    )


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON document")
    _hub_options(parser)


def _status(args: argparse.Namespace) -> int:
    import json

    from console.core.worklists.calling import Blocker
    from console.core.worklists.report import summarise

    config = config_of(args)
    library = _library(config)
    if library is None:
        return EXIT_RULES

    def show(lines: list[ItemLine]) -> int:
        status = summarise(lines, [r.id for r in library.worklists])
        if args.json:
            items = [
                {"item": line.item_id, "list": line.list_id, "state": line.state}
                | (
                    {"blocked_by": line.blocked_by, "why": line.blocked_why}
                    if line.blocked_by
                    else {}
                )
                for line in lines
            ]
            print(json.dumps({"lists": [s.as_json() for s in status], "items": items}))
            return 0
        for entry in status:
            print(
                f"{entry.list_id}: {entry.items} items, {entry.offerable} offerable now, "
                f"{entry.claimed} claimed"
            )
            for code, count in sorted(entry.blocked.items()):
                print(f"  blocked {code}: {count} ({Blocker(code).words})")
            for outcome, count in sorted(entry.done.items()):
                print(f"  done {outcome}: {count}")
        return 0

    return _with_lines(args, "status", config, show)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    _hub_options(parser)


def _export(args: argparse.Namespace) -> int:
    import csv
    import json

    from console.core.worklists.report import EXPORT_FIELDS, export_row

    def show(lines: list[ItemLine]) -> int:
        rows = [export_row(line) for line in lines]
        if args.format == "json":
            print(json.dumps(rows))
        else:
            writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return 0

    return _with_lines(args, "export", config_of(args), show)


def _with_lines(
    args: argparse.Namespace,
    command: str,
    config: CarelineConfig,
    show: Callable[[list[ItemLine]], int],
) -> int:
    """``show`` every item: with ``--hub`` the hub's (read as the supervisor ``--dsn``
    names, else the configuration's ``hub.dsn``), else the local store's; its exit
    status."""
    if args.dsn is not None and not args.hub:
        print(f"careline worklist {command}: --dsn goes with --hub", file=sys.stderr)
        return EXIT_USAGE
    if not args.hub:
        from datetime import UTC, datetime

        from console.core.worklists.report import item_lines
        from console.core.worklists.store import WorklistStore

        async def work(store: Store) -> int:
            worklists = WorklistStore(store, config.worklists)
            return show(await item_lines(store, worklists, datetime.now(UTC)))

        return with_store(config, work)
    from console.cli.hub import hub_dsn_from_config, run_on_hub
    from console.hub.worklist_status import hub_item_lines

    if not hub_dsn_from_config(args, config):
        print(
            f"careline worklist {command}: --hub needs --dsn or hub.dsn in the configuration",
            file=sys.stderr,
        )
        return EXIT_USAGE

    async def on_hub(conn: psycopg.AsyncConnection[Any]) -> int:
        return show(await hub_item_lines(conn))

    return run_on_hub(args, f"worklist {command}", on_hub)


_EXITS = " Exit status: 0 done, 1 library problems or a store failure, 2 usage or config error."
WORKLIST = Command(
    help="outbound worklists: generate, status, export",
    description="Outbound worklists (rules in scripts_library/worklists/)." + _EXITS,
    subcommands=Subcommands(
        "worklist_command",
        "COMMAND",
        {
            "generate": Command(
                help="add today's items from the directory (idempotent)",
                description=(
                    "Add the items each worklist rule selects for --date (default today) to "
                    "the local store; running it again adds nothing twice. --list ID: one "
                    "list only. --hub (as the hub's owner, --dsn): generate the floor's items "
                    "on the hub from its directory, with the worklists: section as the "
                    "floor's calling rules; every console with a hub claims from them. Exit "
                    "status: 0 done, 1 library problems, a store failure or the hub refused "
                    "(not its owner, not initialised), 2 usage or config error, 3 the hub "
                    "cannot be reached, 4 it refused the sign-in."
                ),
                run=_generate,
                add_arguments=_generate_arguments,
            ),
            "status": Command(
                help="per list: items, offerable now, blocked by rule, done by outcome",
                description=(
                    "Per list: items, offerable now, claimed, blocked (count per rule) and "
                    "done (count per outcome); --json adds each item's state and why it is "
                    "blocked. --hub (a supervisor's --dsn): the floor's items on the hub, "
                    "as the last claim judged them. No patient data." + _EXITS
                ),
                run=_status,
                add_arguments=_status_arguments,
            ),
            "export": Command(
                help="every item for a supervisor, PHI-safe (csv or json)",
                description=(
                    "One row per item: item_id, list_id, kind, state, due_from, due_until, "
                    "attempts, max_attempts, outcome, blocked_by, blocked_why; --hub (a "
                    "supervisor's --dsn): the hub's items. No names, numbers, patient ids "
                    "or clinical reasons." + _EXITS
                ),
                run=_export,
                add_arguments=_export_arguments,
            ),
        },
    ),
)
