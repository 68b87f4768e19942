# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline recordings …``: list, play and purge call recordings.

``play`` decrypts a recording (this console's own, or with ``--hub`` one from the
hub, opened with the QA private key), prints its timeline to jump to and plays it
through the sound device at 1x or 1.5x; every playback is an audit row. The
opening, audit and playing are :mod:`console.core.recordings.player`'s, shared
with ``careline qa``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from console.cli.command import Command, Subcommands, config_of, with_store

if TYPE_CHECKING:
    from console.core.config import CarelineConfig
    from console.core.recordings.player import RecordingOpener
    from console.core.store import Store


def _config(args: argparse.Namespace) -> CarelineConfig:
    """The configuration, or with ``--demo`` the demo's store and recordings."""
    config = config_of(args)
    if not getattr(args, "demo", False):
        return config
    from console.core.config import StoreEncryptionConfig
    from console.core.paths import data_dir
    from console.core.recordings.demo import DEMO_DIRECTORY

    data = data_dir()
    store = config.store.model_copy(
        update={"path": data / "demo.sqlite3", "encryption": StoreEncryptionConfig()}
    )
    recording = config.recording.model_copy(update={"directory": data / DEMO_DIRECTORY})
    return config.model_copy(update={"store": store, "recording": recording})


def _demo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", help="the demo's recordings (careline demo)")


def _purge_arguments(purge: argparse.ArgumentParser) -> None:
    purge.add_argument("--hub", action="store_true", help="the hub's (a supervisor: every agent's)")


def _purge_hub(config: CarelineConfig, store: Store) -> Awaitable[int]:
    from console.core.audit import AuditLog
    from console.core.config import ConfigError, hub_password
    from console.hub.connection import hub_connector
    from console.hub.recordings import purge_hub

    if not config.hub.dsn:
        raise ConfigError("--hub needs hub.dsn")

    async def run() -> int:
        conn = await hub_connector(config.hub.dsn, hub_password(config) or None)()
        try:
            gone = await purge_hub(conn)
        finally:
            await conn.close()
        audit = AuditLog(store)
        for _call_id in gone:
            await audit.append(config.agent.id, "record_delete", "recording", "ok")
        print(f"deleted {len(gone)} hub recording(s) past their retention")
        return 0

    return run()


def _purge(args: argparse.Namespace) -> int:
    from console.core.audit import AuditLog
    from console.core.recordings.retention import purge

    config = config_of(args)
    if args.hub:
        return with_store(config, lambda store: _purge_hub(config, store))

    async def run(store: Store) -> int:
        done = await purge(store, AuditLog(store), config.agent.id, datetime.now(UTC))
        print(f"deleted {len(done.deleted)} recording(s) past their retention")
        if done.failed:
            print(f"could not delete {len(done.failed)} (tried again next time)")
            return 1
        return 0

    return with_store(config, run)


def _list_arguments(listing: argparse.ArgumentParser) -> None:
    listing.add_argument(
        "--hub", action="store_true", help="the hub's (a supervisor: every agent's)"
    )
    listing.add_argument("--agent", help="with --hub: one agent's")
    listing.add_argument("--queue", help="with --hub: one queue's")
    listing.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="with --hub: from")
    listing.add_argument("--disposition", help="with --hub: the calls wrapped up so")
    _demo_option(listing)


def _day(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _list_hub(args: argparse.Namespace) -> int:
    from console.core.config import ConfigError, hub_password
    from console.hub.connection import hub_connector
    from console.hub.recordings import listing

    config = config_of(args)
    if not config.hub.dsn:
        raise ConfigError("--hub needs hub.dsn")

    async def run() -> int:
        conn = await hub_connector(config.hub.dsn, hub_password(config) or None)()
        try:
            found = await listing(
                conn,
                agent=args.agent,
                queue=args.queue,
                since=args.since,
                disposition=args.disposition,
            )
        finally:
            await conn.close()
        print("call\tagent\tqueue\tmode\tstarted\tseconds\tpauses")
        for rec in found:
            pauses = sum(1 for mark in rec.marks if mark.get("fact") == "pause")
            started = rec.started_at.isoformat(timespec="seconds")
            print(
                f"{rec.call_id}\t{rec.agent_id}\t{rec.queue}\t{rec.mode}\t{started}\t"
                f"{rec.seconds:.0f}\t{pauses}"
            )
        return 0

    return asyncio.run(run())


def _list(args: argparse.Namespace) -> int:
    if args.hub:
        return _list_hub(args)

    async def run(store: Store) -> int:
        rows = await store.fetch_all(
            "SELECT call_id, queue, mode, state, started_at, seconds, retention_days "
            "FROM recordings ORDER BY started_at"
        )
        print("call\tqueue\tmode\tstate\tstarted\tseconds\tretention_days")
        for row in rows:
            print("\t".join("" if value is None else str(value) for value in row))
        return 0

    return with_store(_config(args), run)


def _play_arguments(play: argparse.ArgumentParser) -> None:
    from console.core.recordings.playback import SPEEDS

    play.add_argument("call_id", help="the recorded call's id (recordings list shows them)")
    play.add_argument("--speed", type=float, choices=SPEEDS, default=1.0, help="1 or 1.5")
    play.add_argument(
        "--from", dest="start", type=int, metavar="N", help="start at moment N of the timeline"
    )
    play.add_argument(
        "--hub", action="store_true", help="from the hub (a supervisor, with the QA private key)"
    )
    play.add_argument("--device", default="", help="output device (index or part of its name)")
    play.add_argument(
        "--timeline", action="store_true", help="print the timeline only (still audited)"
    )
    _demo_option(play)


def _hub_opener(config: CarelineConfig, call_id: str) -> RecordingOpener:
    """The hub's recording of the call, opened with the QA private key."""
    from console.core.config import ConfigError, hub_password
    from console.hub.connection import hub_connector
    from console.hub.recording_playback import hub_opener

    if not config.hub.dsn or config.recording.qa_private_key is None:
        raise ConfigError("--hub needs hub.dsn and recording.qa_private_key")
    connect = hub_connector(config.hub.dsn, hub_password(config) or None)
    return hub_opener(connect, config.recording.qa_private_key, call_id)


def _play(args: argparse.Namespace) -> int:
    from console.core.audit import AuditLog
    from console.core.config import store_key
    from console.core.engine_settings import recordings_directory
    from console.core.recordings.player import PlaybackError, local_opener, open_audited, play_pcm
    from sip.headset.errors import HeadsetError

    config = _config(args)

    async def run(store: Store) -> int:
        if args.hub:
            opener = _hub_opener(config, args.call_id)
        else:
            directory = recordings_directory(config)
            opener = local_opener(store, directory, store_key(config), args.call_id)
        try:
            opened = await open_audited(AuditLog(store), config.agent.id, args.call_id, opener)
        except PlaybackError as exc:
            print(f"careline: cannot play {args.call_id}: {exc}", file=sys.stderr)
            return 1
        moments = opened.moments
        print(f"{args.call_id}: {opened.summary()}")
        for index, moment in enumerate(moments):
            print(f"  [{index}] {moment.label()}")
        if args.timeline:
            return 0
        start = 0.0
        if args.start is not None:
            if not 0 <= args.start < len(moments):
                print(f"careline: --from: the timeline has {len(moments)} moments", file=sys.stderr)
                return 1
            start = moments[args.start].seconds
        pcm = opened.audio_from(start, args.speed)
        print(f"playing from {start:.1f} s at {args.speed:g}x", flush=True)
        try:
            await asyncio.to_thread(play_pcm, pcm, opened.rate, args.device)
        except HeadsetError as exc:
            print(f"careline: {exc}", file=sys.stderr)
            return 1
        return 0

    return with_store(config, run)


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
                description=(
                    "One line per recording: call id, queue, mode, state, times. With --hub, "
                    "the hub's (filtered by --agent, --queue, --since, --disposition): a "
                    "supervisor sees every agent's, an agent their own."
                ),
                run=_list,
                add_arguments=_list_arguments,
            ),
            "play": Command(
                help="play a recording with its timeline (audited)",
                description=(
                    "Decrypt a recording and play it through the sound device: this "
                    "console's own, or with --hub one from the hub (a supervisor's login and "
                    "recording.qa_private_key). Prints the timeline (pauses, holds, "
                    "transfers) to start from with --from N; --speed 1.5 keeps the pitch. "
                    "Every playback is an audit row (record_play)."
                ),
                run=_play,
                add_arguments=_play_arguments,
            ),
            "purge": Command(
                help="delete the recordings past their retention",
                description=(
                    "Delete each recording older than its retention and audit it. Exit "
                    "status 1 when a file could not be deleted. With --hub, the hub's "
                    "(a supervisor login), each deletion audited here."
                ),
                run=_purge,
                add_arguments=_purge_arguments,
            ),
        },
    ),
)
