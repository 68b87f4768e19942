# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline report``: weekly trends of service level, AHT, abandoned rate,
QA score, CSAT and NPS per queue and agent, as terminal charts or CSV/JSON.

Without ``--hub`` it reads this machine's local store (this workstation's
agent's work); with ``--hub`` the hub (``--dsn``, else ``hub.dsn`` from the
configuration), where the login decides whose figures come back: the owner
everyone's, a supervisor their teams', an agent their own. ``--comments``
lists the survey comments for follow-up instead, redacted (no names,
numbers, record numbers or dates). Rich and psycopg load only when it runs.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from console.cli.command import (
    EXIT_USAGE,
    Command,
    config_of,
    hub_owner_option,
    iso_day,
    whole_number,
    with_store,
)
from console.core.reports.weeks import MAX_WEEKS

if TYPE_CHECKING:
    import psycopg

    from console.core.config import CarelineConfig
    from console.core.reports.feedback import Comment, MeasuredStep
    from console.core.reports.figures import ReportData
    from console.core.reports.weeks import ReportWeeks
    from console.core.store import Store

DEFAULT_WEEKS = 12


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weeks",
        type=whole_number("--weeks", 1, MAX_WEEKS),
        default=None,
        metavar="N",
        help=f"the last N weeks (default {DEFAULT_WEEKS}; with --from: up to --to)",
    )
    parser.add_argument("--from", dest="first", type=iso_day, metavar="DATE", help="from this day")
    parser.add_argument(
        "--to", dest="last", type=iso_day, metavar="DATE", help="up to this day (default: today)"
    )
    parser.add_argument(
        "--queue", action="append", default=[], metavar="Q", help="only queue Q (repeatable)"
    )
    parser.add_argument(
        "--agent", action="append", default=[], metavar="ID", help="only agent ID (repeatable)"
    )
    parser.add_argument(
        "--sl-seconds",
        type=whole_number("--sl-seconds", 1, 600),
        default=None,
        metavar="S",
        help="answered within S seconds counts for the service level "
        "(default supervise.service_level_seconds)",
    )
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--csv", action="store_true", help="CSV for spreadsheets, on stdout")
    shape.add_argument("--json", action="store_true", help="one JSON document, on stdout")
    parser.add_argument(
        "--ascii", action="store_true", help="plain ASCII charts (also when stdout is not UTF-8)"
    )
    parser.add_argument(
        "--comments",
        action="store_true",
        help="list the survey comments for follow-up instead (redacted: no names, numbers, "
        "record numbers or dates; what was taken out is said)",
    )
    hub_owner_option(
        parser,
        "read the hub (--dsn, else hub.dsn) instead of this machine's store",
        who="as any careline login (the owner sees everyone, a supervisor their teams, "
        "an agent themselves)",
    )


def report_weeks(args: argparse.Namespace, today: date) -> ReportWeeks:
    """The weeks ``--weeks``, ``--from`` and ``--to`` ask for."""
    from console.core.reports.weeks import ReportWeeks

    last = args.last or today
    if args.first is not None:
        if args.weeks is not None:
            raise ValueError("--from and --weeks together: give one")
        return ReportWeeks.between(args.first, last)
    return ReportWeeks.ending(last, args.weeks or DEFAULT_WEEKS)


def _usage(message: str) -> int:
    print(f"careline report: {message}", file=sys.stderr)
    return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    from console.core.reports.feedback import measured_steps
    from console.core.scripts.loader import load_library

    config = config_of(args)
    try:
        weeks = report_weeks(args, datetime.now(UTC).date())
    except ValueError as exc:
        return _usage(str(exc))
    sl_seconds = args.sl_seconds or config.supervise.service_level_seconds
    library = load_library(config.guidance.scripts)
    steps = measured_steps(library.scripts)
    queues, agents = frozenset(args.queue), frozenset(args.agent)
    if args.hub or args.dsn is not None:
        return _from_hub(args, config, weeks, sl_seconds, steps, queues, agents)

    async def local(store: Store) -> int:
        from console.core.reports.local import read_local

        data, comments = await read_local(
            store,
            weeks,
            sl_seconds=sl_seconds,
            steps=steps,
            agent_id=config.agent.id,
            queues=queues,
            agents=agents,
        )
        return show(args, data, comments)

    return with_store(config, local)


def _from_hub(
    args: argparse.Namespace,
    config: CarelineConfig,
    weeks: ReportWeeks,
    sl_seconds: int,
    steps: tuple[MeasuredStep, ...],
    queues: frozenset[str],
    agents: frozenset[str],
) -> int:
    from console.cli.hub import hub_dsn_from_config, run_on_hub
    from console.hub.reports import read_hub

    if not hub_dsn_from_config(args, config):
        return _usage("--hub needs --dsn or hub.dsn in the configuration")

    async def action(conn: psycopg.AsyncConnection[Any]) -> int:
        data, comments = await read_hub(
            conn,
            weeks,
            sl_seconds=sl_seconds,
            steps=steps,
            queues=queues,
            agents=agents,
            with_comments=args.comments,
        )
        return show(args, data, comments)

    return run_on_hub(args, "report", action)


def show(args: argparse.Namespace, data: ReportData, comments: list[Comment]) -> int:
    """Print the report (or the comments) as ``args`` asks; the exit code."""
    from console.core.reports import export

    if args.comments:
        rows = export.comment_rows(comments)
        if args.csv:
            sys.stdout.write(export.to_csv(rows, export.COMMENT_COLUMNS))
        elif args.json:
            sys.stdout.write(export.to_json(data, rows, "comments"))
        else:
            _print_comments(args, data, rows)
        return 0
    if args.csv:
        sys.stdout.write(export.to_csv(export.figure_rows(data), export.FIGURE_COLUMNS))
    elif args.json:
        sys.stdout.write(export.to_json(data, export.figure_rows(data), "figures"))
    else:
        from console.core.reports.render import print_report, report_lines

        console, ascii_only = _console(args)
        print_report(console, report_lines(data, console.width, ascii_only=ascii_only))
    return 0


def _console(args: argparse.Namespace) -> tuple[Any, bool]:
    from rich.console import Console

    console = Console(highlight=False, markup=False, emoji=False, soft_wrap=False)
    encoding = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "")
    return console, bool(args.ascii) or encoding != "utf8"


def _print_comments(args: argparse.Namespace, data: ReportData, rows: list[dict[str, Any]]) -> None:
    from console.core.reports.render import comment_lines, print_report

    console, ascii_only = _console(args)
    print_report(console, comment_lines(data, rows, console.width, ascii_only=ascii_only))


REPORT = Command(
    help="weekly trends: service level, AHT, abandoned, QA score, CSAT, NPS",
    description=(
        "Weekly trends per queue and agent as terminal charts, or CSV/JSON for "
        "spreadsheets; --comments lists survey comments for follow-up, redacted. Reads "
        "this machine's store, or the hub with --hub."
    ),
    run=_run,
    add_arguments=_arguments,
)
