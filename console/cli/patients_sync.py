# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline patients sync``: the patient directory pulled from the clinic's EHR.

Into the local store, or with ``--hub`` into the hub, which every console then
pulls (one sync for the whole floor, not one per console). The run itself is
:class:`~console.core.ehr.directory_sync.DirectorySync`; this module opens the
EHR client, the store or the hub, draws the progress line and prints the
report. Rejections name a type, a page and a position, never a resource's
content or id.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from console.cli.command import EXIT_USAGE, config_of, hub_owner_option, with_store
from console.core.ehr.sync_limits import MAX_PAGE_SIZE, PAGE_SIZE, SYNCED_TYPES

if TYPE_CHECKING:  # the sync loads when it runs, not with every `careline` start
    import psycopg

    from console.core.config import CarelineConfig
    from console.core.ehr.auth import SigningKey
    from console.core.ehr.directory_sync import DirectorySink, SyncReport
    from console.core.store import Store

EXIT_REJECTED = 1
EXIT_UNAVAILABLE = 3
EXIT_SIGN_IN = 4
EXIT_REFUSED = 5

_EXIT_FOR = {
    "unavailable": EXIT_UNAVAILABLE,
    "sign-in": EXIT_SIGN_IN,
    "refused": EXIT_REFUSED,
    "store": EXIT_REFUSED,
}
LISTED = 20
"""Rejections printed (the rest are counted)."""

DESCRIPTION = (
    "Pull the patient directory from the clinic's EHR (the ehr: section of the config: "
    f"its FHIR R4 server, signed in with SMART Backend Services): {', '.join(SYNCED_TYPES)}. "
    "The first run reads everything; each later run reads only what changed since the last "
    "one (_lastUpdated, from the EHR's own clock less a minute's overlap), a page at a time. "
    "Every page is written together with where the run has got to, so a run that is killed "
    "or stopped by an error goes on, the next time, from the page after the last one "
    "written: nothing is lost or doubled. A resource careline cannot read is rejected with "
    "its type, page and position (never its content) and the rest is written. With --hub the "
    "directory goes into the hub instead (run it as the hub's owner, with the --dsn of "
    "`careline hub init`), where every console gets it with its normal pull; the hub keeps "
    "the cursors, so any host can go on with a run. A progress line is drawn on stderr when "
    "it is a terminal. "
    "Exit status: 0 everything read and written; 1 some resources rejected, the rest written; "
    "2 usage or configuration (no EHR link, a bad key file, a bad DSN); 3 the EHR or the hub "
    "cannot be reached, is failing or too slow (what was written is kept: run again later); "
    "4 the EHR or the hub refused careline's sign-in; 5 the EHR refused a search or sent a "
    "page careline cannot read, or the store or the hub refused to write."
)


def sync_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``careline patients sync``."""
    hub_owner_option(
        parser, "sync into the hub (as its owner: --dsn) instead of this machine's store"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="read everything again, not only what changed since the last run",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=PAGE_SIZE,
        metavar="N",
        help=f"resources asked for per page (1 to {MAX_PAGE_SIZE}, default {PAGE_SIZE})",
    )


def run_sync(args: argparse.Namespace) -> int:
    """``careline patients sync``: the exit code."""
    config = config_of(args)
    if not 1 <= args.page_size <= MAX_PAGE_SIZE:
        return _usage(f"--page-size must be 1 to {MAX_PAGE_SIZE}")
    if not config.ehr.enabled:
        return _usage(
            "no EHR link is configured: set ehr.base_url, ehr.client_id and "
            "ehr.private_key_file in the config"
        )
    if args.hub != (args.dsn is not None):
        return _usage("--hub needs --dsn (the hub owner's connection), and --dsn needs --hub")
    from console.core.ehr.auth import load_signing_key

    key = load_signing_key(config.ehr)  # a bad key file fails here, before any connection
    if args.hub:
        return _on_hub(config, args, key)
    return with_store(config, lambda store: _local(config, args, key, store))


def _usage(message: str) -> int:
    print(f"careline patients sync: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _local(
    config: CarelineConfig, args: argparse.Namespace, key: SigningKey, store: Store
) -> int:
    from console.core.ehr.directory_sync import LocalDirectorySink

    sink = LocalDirectorySink(store)
    report = await _run(config, args, key, sink)
    _print_report("local store", report)
    summary = sink.summary
    if summary.imported or summary.updated or summary.resources:
        line = f"  directory: {summary.imported:,} patients new, {summary.updated:,} updated"
        if summary.resources:
            line += "; " + ", ".join(f"{n:,} {kind}" for kind, n in summary.resources.items())
        print(line)
    return _code(report)


def _on_hub(config: CarelineConfig, args: argparse.Namespace, key: SigningKey) -> int:
    from console.cli.hub import EXIT_REFUSED as HUB_REFUSED
    from console.cli.hub import HubCommandError, on_hub
    from console.hub.ehr_sync import HubDirectorySink

    codes: list[int] = []

    async def sync(conn: psycopg.AsyncConnection[Any], _args: argparse.Namespace) -> None:
        report = await _run(config, args, key, HubDirectorySink(conn))
        _print_report("hub", report)
        if report.fetched:
            print("  consoles get them with their next directory pull")
        codes.append(_code(report))

    try:
        asyncio.run(on_hub(args, sync))
    except HubCommandError as failure:
        print(f"careline patients sync: {failure}", file=sys.stderr)
        return EXIT_REFUSED if failure.code == HUB_REFUSED else failure.code
    return codes[0]


async def _run(
    config: CarelineConfig, args: argparse.Namespace, key: SigningKey, sink: DirectorySink
) -> SyncReport:
    from console.core.ehr.client import FhirClient
    from console.core.ehr.directory_sync import DirectorySync

    client = FhirClient(config.ehr, key)
    progress = ProgressLine()
    try:
        sync = DirectorySync(
            client,
            sink,
            region=config.sip.dial.region,
            page_size=args.page_size,
            progress=progress,
            full=args.full,
        )
        report = await sync.run()
    finally:
        progress.finish()
        await client.aclose()
    if report.stopped is not None:
        print(
            f"careline patients sync: {report.stopped} What was written is kept: run "
            "`careline patients sync` again to go on from there.",
            file=sys.stderr,
        )
    return report


def _code(report: SyncReport) -> int:
    if report.failure is not None:
        return _EXIT_FOR[report.failure]
    return EXIT_REJECTED if report.rejected else 0


def _print_report(where: str, report: SyncReport) -> None:
    print(
        f"EHR sync into the {where}: {report.fetched:,} resources read in "
        f"{report.seconds:.1f} s ({report.rate:,.0f}/s), {report.rejected:,} rejected"
    )
    for part in report.types:
        scope = "everything" if part.since is None else f"changed since {part.since}"
        notes = [scope]
        if part.resumed:
            notes.append("went on with an unfinished run")
        if part.restarted:
            notes.append("its next page had expired: read again from the run's start")
        line = f"  {part.resource_type}: {part.fetched:,} read ({'; '.join(notes)})"
        if part.rejected:
            line += f", {part.rejected:,} rejected"
        if part.error is not None:
            line += f"; stopped: {part.error}"
        elif not part.done:
            line += "; not reached"
        print(line)
    for rejection in report.rejections[:LISTED]:
        print(f"  rejected: {rejection}")
    if report.rejected > LISTED:
        print(f"  … and {report.rejected - LISTED:,} more rejected resources")


class ProgressLine:
    """Resources read per type and the rate, redrawn on stderr when it is a terminal."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._shown = 0.0
        self._drawn = False

    def __call__(self, counts: Mapping[str, int], seconds: float) -> None:
        now = time.monotonic()
        if not self._tty or now - self._shown < 0.2:
            return
        self._shown = now
        total = sum(counts.values())
        parts = " · ".join(f"{kind} {n:,}" for kind, n in counts.items() if n)
        rate = total / seconds if seconds > 0 else 0.0
        sys.stderr.write(f"\r\x1b[KEHR sync: {parts or 'starting'} — {total:,} read, {rate:,.0f}/s")
        sys.stderr.flush()
        self._drawn = True

    def finish(self) -> None:
        """Clear the line before the report is printed."""
        if self._drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
