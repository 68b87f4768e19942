# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline qa``: evaluate calls (a review queue and the form beside each call), or
``--mine``: an agent reads and acknowledges their own evaluations; ``--list`` prints
the queue instead of opening the screen. No Textual import here: ``--list`` and the
rest of the command line never load it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

from console.cli.command import Command, config_of, iso_day, store_path

if TYPE_CHECKING:
    from console.core.config import CarelineConfig
    from console.qa_view.session import QaSettings

EXIT_NO_FORM = 2
DEMO_AGENT = "demo-agent"
"""The agent id the demo's console takes its calls as."""
DEMO_SUPERVISOR = "demo-supervisor"
"""Who evaluates the demo's calls."""


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError("from 0 to 100")
    return value


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mine", action="store_true", help="your own evaluations (agent.id), to acknowledge"
    )
    parser.add_argument(
        "--list", action="store_true", help="print the review queue and exit (no screen)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the calls taken in `careline demo` (its store; as demo-supervisor, or with "
        "--mine as demo-agent)",
    )
    parser.add_argument(
        "--week", type=iso_day, metavar="DAY", help="review the week (Monday to Sunday, UTC) of DAY"
    )
    parser.add_argument("--form", metavar="ID", help="evaluation form id (default: the default)")
    parser.add_argument(
        "--seed",
        default="careline-qa",
        help="seed of the weekly random sample: the same seed draws the same calls",
    )
    parser.add_argument(
        "--per-agent", type=_count, default=2, metavar="N", help="sampled calls per agent a week"
    )
    parser.add_argument(
        "--as", dest="user", metavar="LOGIN", help="evaluator or agent login (default: agent.id)"
    )
    parser.add_argument(
        "--dsn",
        metavar="DSN",
        default=None,
        help="the hub (default: hub.dsn from the configuration; none: local store only)",
    )


def settings_of(args: argparse.Namespace, config: CarelineConfig) -> QaSettings:
    """The :class:`~console.qa_view.session.QaSettings` for ``args``."""
    from console.core.config import hub_password, store_key
    from console.core.engine_settings import recordings_directory
    from console.core.paths import data_dir
    from console.core.quality.selection import week_of
    from console.core.recordings.demo import DEMO_DIRECTORY
    from console.qa_view.session import QaSettings

    day = args.week or datetime.now(UTC).date()
    start, end = week_of(datetime.combine(day, time(12), tzinfo=UTC))
    dsn = None if args.demo else args.dsn or config.hub.dsn or None
    user = args.user or config.agent.id
    if args.demo and not args.user:
        user = DEMO_AGENT if args.mine else DEMO_SUPERVISOR
    return QaSettings(
        store_path=data_dir() / "demo.sqlite3" if args.demo else store_path(config),
        store_key=store_key(config),
        user=user,
        start=start,
        end=end,
        mine=args.mine,
        form_id=args.form,
        seed=args.seed,
        per_agent=args.per_agent,
        hub_dsn=dsn,
        hub_password=hub_password(config) if dsn else None,
        # The demo's recordings lie apart, keyed without the store's key (recordings --demo).
        recordings=data_dir() / DEMO_DIRECTORY if args.demo else recordings_directory(config),
        recordings_store_key=None if args.demo else store_key(config),
        qa_private_key=config.recording.qa_private_key,
        output_device=config.audio.headset.output_device or "",
    )


def _print_queue(settings: QaSettings) -> int:
    from console.qa_view.session import session_opener

    async def listed() -> int:
        session = await session_opener(settings)()
        try:
            assert session.desk is not None
            entries = await session.desk.queue(session.start, session.end)
        finally:
            await session.close()
        from console.qa_view.queue_screen import entry_cells

        for entry in entries:
            print("\t".join(cell.plain for cell in entry_cells(entry)))
        alarms = sum(1 for entry in entries if entry.alarm)
        print(f"{len(entries)} calls to review", file=sys.stderr)
        if alarms:
            print(f"!!! {alarms} call(s) with details viewed before verification", file=sys.stderr)
        return 0

    return asyncio.run(listed())


def _qa(args: argparse.Namespace) -> int:
    config = config_of(args)
    settings = settings_of(args, config)
    from console.core.scripts.loader import load_library
    from console.qa_view.session import pick_form, session_opener

    try:
        pick_form(load_library(settings.library), settings.form_id)
    except LookupError as exc:
        print(f"careline qa: {exc}", file=sys.stderr)
        return EXIT_NO_FORM
    if args.list and not args.mine:
        return _print_queue(settings)
    from console.qa_view.app import create_qa

    create_qa(session_opener(settings)).run()
    return 0


QA = Command(
    help="evaluate calls (quality review), or read and acknowledge your own evaluations",
    description=(
        "A review queue of this week's calls (a seeded random sample per agent plus every "
        "emergency escalation, complaint, long call and call whose automatic checks failed), "
        "the evaluation form beside each call pre-filled from the automatic checks, keyboard "
        "scoring saved to the local store and sent to the hub, and calibration across "
        "evaluators. --mine: your own evaluations, to read and acknowledge."
    ),
    run=_qa,
    add_arguments=_arguments,
)
