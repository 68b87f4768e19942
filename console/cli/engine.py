# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline engine``: the phone engine headless, and ``config`` and ``paths``.

``engine`` checks the configuration, then replaces itself with the engine
process (``python -m sip``, see :mod:`console.core.engine_settings`), which
loads pjsua2 and none of the console's modules.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from console.cli.command import Command, config_of, store_path


def _engine_arguments(engine: argparse.ArgumentParser) -> None:
    engine.add_argument(
        "--listen", metavar="HOST:PORT", help="SIP UDP address (overrides sip.listen)"
    )
    engine.add_argument(
        "--auto-answer",
        nargs="?",
        const=200,
        type=int,
        metavar="CODE",
        help="answer every call with CODE (default 200), or refuse it with 4xx-6xx",
    )
    engine.add_argument(
        "--socket",
        type=Path,
        metavar="PATH",
        help="also serve the protocol on this Unix socket (mode 0600)",
    )
    engine.add_argument(
        "--orphan-exit",
        type=float,
        metavar="SECONDS",
        help="with --socket: exit after SECONDS with no client attached and no call "
        "(default: engine.orphan_exit from the config; 0 never exits)",
    )
    engine.add_argument(
        "--allow-capture",
        action="store_true",
        help="allow the capture command (call audio to WAV files): for tests and QA only",
    )
    engine.add_argument(
        "--library-media-defaults",
        action="store_true",
        help="ignore sip.codecs and keep pjsua's codec order and VAD (Speex first, "
        "silence suppression on): the audio benchmark's baseline, never for patients",
    )
    engine.add_argument(
        "--keep-calls-talking",
        action="store_true",
        help="answering does not hold the other calls, so every call carries audio both "
        "ways: the calls-per-engine benchmark, never for an agent",
    )
    engine.add_argument(
        "--no-stdio",
        action="store_true",
        help="do not use stdin/stdout (the console runs the engine this way)",
    )
    engine.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="engine log file (default: engine.log in the user log directory)",
    )


def _engine(args: argparse.Namespace) -> int:
    """Validate the configuration, then become the lean engine process (``python -m sip``)."""
    from console.core.engine_settings import build_engine_settings, exec_engine
    from console.core.paths import log_dir

    config = config_of(args)
    settings = build_engine_settings(
        config,
        listen=args.listen,
        auto_answer=args.auto_answer,
        log_path=args.log if args.log is not None else log_dir() / "engine.log",
        allow_capture=args.allow_capture,
        library_media_defaults=args.library_media_defaults,
        hold_on_answer=not args.keep_calls_talking,
    )
    orphan_exit = args.orphan_exit if args.orphan_exit is not None else config.engine.orphan_exit
    exec_engine(
        settings,
        stdio=not args.no_stdio,
        socket_path=args.socket,
        orphan_exit=orphan_exit or None,
    )


def _config(args: argparse.Namespace) -> int:
    print(config_of(args).model_dump_json(indent=2))
    return 0


def _paths(args: argparse.Namespace) -> int:
    from console.core.config import user_config_file
    from console.core.paths import default_config_file, log_dir, socket_path

    config = config_of(args)
    print(f"defaults:    {default_config_file()}")
    print(f"user config: {user_config_file()}")
    print(f"store:       {store_path(config)}")
    print(f"logs:        {log_dir()}")
    print(f"socket:      {config.engine.socket or socket_path('engine.sock')}")
    return 0


ENGINE = Command(
    help="run the phone engine headless (JSON lines on stdin/stdout)",
    description=(
        "Run the phone engine without a UI. Every event is printed as one JSON object per "
        "line on stdout; commands are read as JSON lines on stdin "
        "(see docs/engine-protocol.md). "
        "SIGTERM or SIGINT hangs up every call and exits cleanly."
    ),
    run=_engine,
    add_arguments=_engine_arguments,
    audio_option=True,
)
CONFIG = Command(
    help="check and show the configuration",
    description="Validate the configuration and print the effective values.",
    run=_config,
)
PATHS = Command(
    help="show where careline keeps its files",
    description="Print the config, data, log and socket locations.",
    run=_paths,
    config_option=False,
)
