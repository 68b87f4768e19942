# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline queue tail`` and ``careline supervise``: arguments and dispatch.

With ``--dsn`` both read the hub; without, this machine's local store (the
outbox its console writes, every row of it this workstation's agent's:
``agent.id``), so an after-hours machine is supervised without PostgreSQL.
A hub that refuses the login ends either with a one-line error and exit
status 2 (a configuration error). No Textual import here: the tail never
loads it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from console.cli.command import Command, Subcommands, config_of, store_path

if TYPE_CHECKING:  # loaded by the run functions: `careline demo` need not import them
    from console.core.config import CarelineConfig
    from console.floor_view.source import FloorSource
    from console.floor_view.stats import Thresholds


def _seq(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a sequence number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("a sequence number is 0 or more")
    return value


def _dsn(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dsn",
        metavar="DSN",
        default=None,
        help="read the hub at this PostgreSQL DSN (default: this machine's local store)",
    )


def _tail_arguments(tail: argparse.ArgumentParser) -> None:
    tail.add_argument("--json", action="store_true", help="one JSON object per line")
    tail.add_argument("--queue", metavar="Q", default=None, help="only call events of queue Q")
    tail.add_argument(
        "--from-seq",
        type=_seq,
        default=None,
        metavar="N",
        help="print every event after sequence number N (0: from the beginning)",
    )
    _dsn(tail)


def _supervise_arguments(supervise: argparse.ArgumentParser) -> None:
    _dsn(supervise)
    supervise.add_argument(
        "--queue", metavar="Q", default=None, help="start filtered to queue Q (f changes it)"
    )
    supervise.add_argument(
        "--demo", action="store_true", help="the floor of `careline demo` (and listen in on it)"
    )


def source_opener(args: argparse.Namespace, config: CarelineConfig) -> FloorSourceOpener:
    """How to open the floor: the hub (``--dsn``, else ``hub.dsn`` from the config)
    or, with neither, the local store.

    The password comes from ``hub.password_file`` / its variable when set, else
    libpq's own PGPASSWORD or ~/.pgpass; it is never put on the command line.
    """
    dsn = hub_dsn(args, config)
    return _HubOpener(dsn) if dsn else _LocalOpener(config)


def hub_dsn(args: argparse.Namespace, config: CarelineConfig) -> str | None:
    """The hub to read (``--dsn``, else ``hub.dsn``) with its password, or None."""
    from console.core.config import hub_password

    dsn: str | None = args.dsn or config.hub.dsn or None
    if dsn:
        password = hub_password(config)
        if password:
            from psycopg.conninfo import make_conninfo

            dsn = make_conninfo(dsn, password=password)
    return dsn


def thresholds(config: CarelineConfig) -> Thresholds:
    """The wallboard's targets and alert limits from the ``supervise`` config."""
    from console.floor_view.stats import Thresholds

    settings = config.supervise
    return Thresholds(
        sl_target=settings.service_level_target,
        sl_threshold_s=float(settings.service_level_seconds),
        state_limits={
            "wrap_up": settings.wrap_up_alert_minutes * 60.0,
            "not_ready": settings.not_ready_alert_minutes * 60.0,
        },
        stale_sync_s=settings.stale_sync_minutes * 60.0,
    )


class FloorSourceOpener:
    """Opens a floor source inside the running event loop."""

    async def __call__(self) -> FloorSource:
        """The opened source."""
        raise NotImplementedError


class _HubOpener(FloorSourceOpener):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def __call__(self) -> FloorSource:
        from console.floor_view.source import HubFloor

        return HubFloor(self.dsn)


class _LocalOpener(FloorSourceOpener):
    def __init__(self, config: CarelineConfig) -> None:
        from console.core.config import store_key

        self.path = store_path(config)
        self.key = store_key(config)
        self.agent_id = config.agent.id

    async def __call__(self) -> FloorSource:
        from console.floor_view.source import LocalFloor

        return await LocalFloor.open(self.path, self.key, agent_id=self.agent_id)


def _tail(args: argparse.Namespace) -> int:
    from console.floor_view.tail import run_tail

    return run_tail(
        source_opener(args, config_of(args)),
        queue=args.queue,
        as_json=args.json,
        from_seq=args.from_seq,
    )


def _supervise(args: argparse.Namespace) -> int:
    from console.floor_view.app import create_supervisor

    config = config_of(args)
    if args.demo:
        from console.core.demo_monitoring import demo_supervisor
        from console.core.paths import data_dir

        config = demo_supervisor(config, data_dir())
        args.dsn = None
    app = create_supervisor(
        source_opener(args, config),
        queue=args.queue,
        thresholds=thresholds(config),
        scripts=config.guidance.scripts,
    )
    # Listening in: the supervisor's phone starts at the first key (1, 2, 3), not here.
    from console.floor_view.monitor import floor_monitor

    app.monitor = floor_monitor(config, hub_dsn(args, config))
    app.run()
    if app.refusal is not None:
        raise app.refusal  # the CLI prints it and exits 2, after the screen is restored
    return 0


QUEUE = Command(
    help="follow the floor's events as lines (tail -f style)",
    description="Stream agent state changes and call events, from the hub or the local store.",
    subcommands=Subcommands(
        "queue_command",
        "COMMAND",
        {
            "tail": Command(
                help="print agent state changes and call events as they happen (never ends)",
                description=(
                    "Print one line per floor event, as it happens, until interrupted; pipe "
                    "into grep or jq. Starts with the last 10 events, or after --from-seq. "
                    "With --queue, only that queue's call events (agent state changes belong "
                    "to no queue)."
                ),
                run=_tail,
                add_arguments=_tail_arguments,
            ),
        },
    ),
)
SUPERVISE = Command(
    help="open the supervisor's live wallboard of queues and agents",
    description=(
        "A live wallboard: per queue calls waiting, service levels and handle times; per "
        "agent state and time in state; alerts. Reads the hub with --dsn, else the local store."
    ),
    run=_supervise,
    add_arguments=_supervise_arguments,
)
