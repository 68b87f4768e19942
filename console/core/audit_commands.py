"""``careline audit …``: check the audit chain and export it from the shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from console.core.audit import AuditLog, terminal_label
from console.core.config import CarelineConfig, store_key
from console.core.patients.commands import store_path
from console.core.store import Store

EXIT_TAMPERED = 1
EXIT_USAGE = 2


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_subcommands(audit: argparse.ArgumentParser) -> None:
    """The ``verify`` and ``export`` subcommands of ``careline audit``."""
    sub = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    sub.add_parser(
        "verify",
        help="check that no audit row was edited or deleted",
        description=(
            "Walk the hash chain of the audit log. Exit status: 0 intact, 1 tampered "
            "(the first bad row is named)."
        ),
    )
    export = sub.add_parser(
        "export",
        help="write audit rows between two dates as CSV",
        description=(
            "Write the audit rows from the start of --from to the end of --to (UTC days, both "
            "included) as CSV with a header, to --out or standard output. The export is "
            "itself recorded in the audit log."
        ),
    )
    export.add_argument("--from", dest="start", type=_day, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="end", type=_day, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--out", type=Path, metavar="FILE", help="CSV file to write (mode 0600)")


def run(args: argparse.Namespace, config: CarelineConfig) -> int:
    """Run the ``careline audit`` subcommand in ``args``; returns the exit code."""
    if args.audit_command == "export" and args.end < args.start:
        print("careline: --to is before --from", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_with_log(args, config))


async def _with_log(args: argparse.Namespace, config: CarelineConfig) -> int:
    store = await Store.open(store_path(config), store_key(config))
    try:
        log = AuditLog(store)
        if args.audit_command == "verify":
            result = await log.verify()
            if result.ok:
                print(f"audit log intact: {result.checked} rows")
                return 0
            print(f"audit log TAMPERED: {result.reason}")
            return EXIT_TAMPERED
        start = datetime.combine(args.start, time(), UTC)
        end = datetime.combine(args.end + timedelta(days=1), time(), UTC)
        try:
            await log.export_csv(
                args.out or sys.stdout,
                start,
                end,
                agent_id=config.agent.id,
                terminal=terminal_label(),
            )
        except OSError as exc:
            print(f"careline: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        return 0
    finally:
        await store.close()
