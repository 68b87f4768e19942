"""``careline recordings …``: list the call recordings, delete what is past retention."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from console.cli.command import Command, Subcommands, config_of, with_store
from console.core.store import Store


def _purge(args: argparse.Namespace) -> int:
    from console.core.audit import AuditLog
    from console.core.recordings.retention import purge

    config = config_of(args)

    async def run(store: Store) -> int:
        done = await purge(store, AuditLog(store), config.agent.id, datetime.now(UTC))
        print(f"deleted {len(done.deleted)} recording(s) past their retention")
        if done.failed:
            print(f"could not delete {len(done.failed)} (tried again next time)")
            return 1
        return 0

    return with_store(config, run)


def _list(args: argparse.Namespace) -> int:
    async def run(store: Store) -> int:
        rows = await store.fetch_all(
            "SELECT call_id, queue, mode, state, started_at, seconds, retention_days "
            "FROM recordings ORDER BY started_at"
        )
        print("call\tqueue\tmode\tstate\tstarted\tseconds\tretention_days")
        for row in rows:
            print("\t".join("" if value is None else str(value) for value in row))
        return 0

    return with_store(config_of(args), run)


RECORDINGS = Command(
    help="list call recordings and delete those past their retention",
    description=(
        "Call recordings are encrypted files beside the local store, one per recorded call; "
        "the store lists them. 'purge' deletes every one older than its queue's "
        "recording.queues.<queue>.retention_days (each deletion is an audit row); the "
        "console also does this at start and every hour."
    ),
    subcommands=Subcommands(
        "recordings_command",
        "COMMAND",
        {
            "list": Command(
                help="list the recordings the store knows (no patient data: call ids, times)",
                description="One line per recording: call id, queue, mode, state, times.",
                run=_list,
            ),
            "purge": Command(
                help="delete the recordings past their retention",
                description=(
                    "Delete each recording older than its retention and audit it. Exit "
                    "status 1 when a file could not be deleted."
                ),
                run=_purge,
            ),
        },
    ),
)
