# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline audit …``: check the audit chain and export it from the shell."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from console.cli.command import EXIT_USAGE, Command, Subcommands, config_of, iso_day, with_store

if TYPE_CHECKING:
    from console.core.audit import AuditLog
    from console.core.config import CarelineConfig

EXIT_TAMPERED = 1


def _export_arguments(export: argparse.ArgumentParser) -> None:
    export.add_argument("--from", dest="start", type=iso_day, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--to", dest="end", type=iso_day, required=True, metavar="YYYY-MM-DD")
    export.add_argument("--out", type=Path, metavar="FILE", help="CSV file to write (mode 0600)")


def _with_log(config: CarelineConfig, work: Callable[[AuditLog], Awaitable[int]]) -> int:
    """Open the local store's audit log, run ``work``, close the store."""
    from console.core.audit import AuditLog

    return with_store(config, lambda store: work(AuditLog(store)))


def _verify(args: argparse.Namespace) -> int:
    async def verify(log: AuditLog) -> int:
        result = await log.verify()
        if result.ok:
            print(f"audit log intact: {result.checked} rows")
            return 0
        print(f"audit log TAMPERED: {result.reason}")
        return EXIT_TAMPERED

    return _with_log(config_of(args), verify)


def _export(args: argparse.Namespace) -> int:
    from console.core.audit import terminal_label

    config = config_of(args)
    if args.end < args.start:
        print("careline: --to is before --from", file=sys.stderr)
        return EXIT_USAGE

    async def export(log: AuditLog) -> int:
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

    return _with_log(config, export)


AUDIT = Command(
    help="verify the audit log's hash chain and export it as CSV",
    description="Check and export the append-only audit log of patient data access.",
    subcommands=Subcommands(
        "audit_command",
        "COMMAND",
        {
            "verify": Command(
                help="check that no audit row was edited or deleted",
                description=(
                    "Walk the hash chain of the audit log. Exit status: 0 intact, 1 tampered "
                    "(the first bad row is named)."
                ),
                run=_verify,
            ),
            "export": Command(
                help="write audit rows between two dates as CSV",
                description=(
                    "Write the audit rows from the start of --from to the end of --to (UTC "
                    "days, both included) as CSV with a header, to --out or standard output. "
                    "The export is itself recorded in the audit log."
                ),
                run=_export,
                add_arguments=_export_arguments,
            ),
        },
    ),
)
