# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline run``, ``attach`` and ``demo``: the agent console, through :mod:`console.launch`.

Textual and the phone engine are imported only when one of these runs, and the
configuration is read behind the console's first frame (:mod:`console.launch`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from console.cli.command import Command, config_of

if TYPE_CHECKING:
    import argparse

DEMO_INTERVAL_S = 3.0
"""``careline demo --interval``'s default."""
DEMO_RING_TIMEOUT_S = 45.0
"""``careline demo --ring-timeout``'s default."""


def _open(args: argparse.Namespace, *, attach_only: bool) -> int:
    from console.launch import run_console

    return run_console(
        functools.partial(config_of, args),
        attach_only=attach_only,
        audio_choice=getattr(args, "audio_mode", None),
    )


def _run(args: argparse.Namespace) -> int:
    return _open(args, attach_only=False)


def _attach(args: argparse.Namespace) -> int:
    return _open(args, attach_only=True)


def _demo_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument(
        "--interval",
        type=float,
        default=DEMO_INTERVAL_S,
        metavar="SECONDS",
        help="pause between one demo call ending and the next ringing (default 3)",
    )
    demo.add_argument(
        "--ring-timeout",
        type=float,
        default=DEMO_RING_TIMEOUT_S,
        metavar="SECONDS",
        help="how long a demo caller waits for an answer before giving up (default 45)",
    )


def _demo(args: argparse.Namespace) -> int:
    from console.launch import run_demo

    return run_demo(
        functools.partial(config_of, args), interval=args.interval, ring_timeout=args.ring_timeout
    )


RUN = Command(
    help="open the agent console (the default)",
    description="Open the agent console: starts the phone engine and the UI.",
    run=_run,
    audio_option=True,
    plain={"audio_mode": None},
)
ATTACH = Command(
    help="bring the console back to the phone engine left running (calls kept)",
    description=(
        "Reconnect to the phone engine that kept running after the console exited or its "
        "SSH session dropped: calls, their timers and an unsaved wrap-up come back. Only "
        "the same OS user can attach. Fails if no engine is running (use `careline run`)."
    ),
    run=_attach,
    audio_option=True,
    plain={"audio_mode": None},
)
DEMO = Command(
    help="try careline with simulated patients calling in (no PBX or hub needed)",
    description=(
        "Run the console against a built-in demo caller on 127.0.0.1: synthetic patients "
        "call in one after another, with audio. Calls are stored in demo.sqlite3 in your "
        "user data directory. Nothing needs configuring."
    ),
    run=_demo,
    add_arguments=_demo_arguments,
    audio_option=True,
    plain={"audio_mode": None, "interval": DEMO_INTERVAL_S, "ring_timeout": DEMO_RING_TIMEOUT_S},
)
