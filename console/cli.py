"""The ``careline`` command line.

This module must not import Textual at import time: ``careline engine`` runs
the phone engine process from here, and it should not carry a UI toolkit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from console import __version__
from console.core.config import CarelineConfig, ConfigError, load_config
from console.core.store import StoreError

EXIT_USAGE = 2


def _add_config(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    # Subcommands suppress the default so that `careline --config F engine`
    # keeps F instead of the subparser resetting it to None.
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=None if top else argparse.SUPPRESS,
        help="configuration file (default: careline.yaml in your user config directory)",
    )


def _add_audio_mode(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--audio",
        dest="audio_mode",
        choices=("headset", "station", "none"),
        help="how you hear callers, overriding audio.mode: headset, station (your own phone, "
        "audio.station.number) or none",
    )


def _with_audio_mode(config: CarelineConfig, mode: str | None) -> CarelineConfig:
    """``config`` with ``--audio`` applied (checked like the file's audio.mode)."""
    if mode is None:
        return config
    if mode == "station" and not config.audio.station.number.strip():
        raise ConfigError("--audio station needs audio.station.number (your own phone)")
    audio = config.audio.model_copy(update={"mode": mode})
    return config.model_copy(update={"audio": audio})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``careline`` and all its subcommands."""
    parser = argparse.ArgumentParser(
        prog="careline",
        description=(
            "careline: a keyboard-driven softphone console for healthcare call-centre agents. "
            "Without a subcommand it opens the agent console."
        ),
    )
    parser.add_argument("--version", action="version", version=f"careline {__version__}")
    _add_config(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="open the agent console (the default)",
        description="Open the agent console: starts the phone engine and the UI.",
    )
    _add_config(run)
    _add_audio_mode(run)

    attach = sub.add_parser(
        "attach",
        help="bring the console back to the phone engine left running (calls kept)",
        description=(
            "Reconnect to the phone engine that kept running after the console exited or its "
            "SSH session dropped: calls, their timers and an unsaved wrap-up come back. Only "
            "the same OS user can attach. Fails if no engine is running (use `careline run`)."
        ),
    )
    _add_config(attach)
    _add_audio_mode(attach)

    demo = sub.add_parser(
        "demo",
        help="try careline with simulated patients calling in (no PBX or hub needed)",
        description=(
            "Run the console against a built-in demo caller on 127.0.0.1: synthetic patients "
            "call in one after another, with audio. Calls are stored in demo.sqlite3 in your "
            "user data directory. Nothing needs configuring."
        ),
    )
    _add_config(demo)
    _add_audio_mode(demo)
    demo.add_argument(
        "--interval",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="pause between one demo call ending and the next ringing (default 3)",
    )
    demo.add_argument(
        "--ring-timeout",
        type=float,
        default=45.0,
        metavar="SECONDS",
        help="how long a demo caller waits for an answer before giving up (default 45)",
    )

    engine = sub.add_parser(
        "engine",
        help="run the phone engine headless (JSON lines on stdin/stdout)",
        description=(
            "Run the phone engine without a UI. Every event is printed as one JSON object per "
            "line on stdout; commands are read as JSON lines on stdin "
            "(see docs/engine-protocol.md). "
            "SIGTERM or SIGINT hangs up every call and exits cleanly."
        ),
    )
    _add_config(engine)
    _add_audio_mode(engine)
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

    config = sub.add_parser(
        "config",
        help="check and show the configuration",
        description="Validate the configuration and print the effective values.",
    )
    _add_config(config)

    patients = sub.add_parser(
        "patients",
        help="import, generate and look up patients in the local directory",
        description="Manage the patient directory in the local store.",
    )
    _add_config(patients)
    from console.core.patients.commands import add_subcommands

    add_subcommands(patients)

    audit = sub.add_parser(
        "audit",
        help="verify the audit log's hash chain and export it as CSV",
        description="Check and export the append-only audit log of patient data access.",
    )
    _add_config(audit)
    from console.core.audit_commands import add_subcommands as add_audit_subcommands

    add_audit_subcommands(audit)

    scripts = sub.add_parser(
        "scripts",
        help="check and list call scripts and wrap-up forms",
        description="Validate and list the YAML call scripts and wrap-up forms.",
    )
    _add_config(scripts)
    from console.core.scripts.commands import add_subcommands as add_scripts_subcommands

    add_scripts_subcommands(scripts)

    queue = sub.add_parser(
        "queue",
        help="follow the floor's events as lines (tail -f style)",
        description="Stream agent state changes and call events, from the hub or the local store.",
    )
    _add_config(queue)
    from console.floor_view.commands import add_queue_subcommands, add_supervise_arguments

    add_queue_subcommands(queue)

    supervise = sub.add_parser(
        "supervise",
        help="open the supervisor's live wallboard of queues and agents",
        description=(
            "A live wallboard: per queue calls waiting, service levels and handle times; per "
            "agent state and time in state; alerts. Reads the hub with --dsn, else the local store."
        ),
    )
    _add_config(supervise)
    add_supervise_arguments(supervise)

    hub = sub.add_parser(
        "hub",
        help="set up the central PostgreSQL hub: schema, agents, supervisors",
        description="Initialise the hub database, add agent and supervisor logins, "
        "show its status.",
    )
    _add_config(hub)
    from console.hub.commands import add_subcommands as add_hub_subcommands

    add_hub_subcommands(hub)

    pin = sub.add_parser(
        "pin",
        help="set the PIN that unlocks the console after an idle lock",
        description="Manage your unlock PIN (a salted hash in a 0600 file).",
    )
    _add_config(pin)
    from console.core.pin import add_subcommands as add_pin_subcommands

    add_pin_subcommands(pin)

    audio = sub.add_parser(
        "audio",
        help="list sound devices and test the headset (tone out, microphone level in)",
        description="List the sound devices and test the headset before a shift.",
    )
    _add_config(audio)
    from console.audio_cli import add_subcommands as add_audio_subcommands

    add_audio_subcommands(audio)

    doctor = sub.add_parser(
        "doctor",
        help="check the store, engine socket, registration, audio, hub, clock and TLS",
        description="Check what careline needs on this machine and print what to fix.",
    )
    _add_config(doctor)
    from console.doctor import add_arguments as add_doctor_arguments

    add_doctor_arguments(doctor)

    sub.add_parser(
        "paths",
        help="show where careline keeps its files",
        description="Print the config, data, log and socket locations.",
    )
    return parser


def _load(args: argparse.Namespace) -> CarelineConfig:
    return load_config(args.config)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``careline`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "run"
    try:
        if command == "doctor":  # before loading: a bad config is one of its findings
            from console.doctor import run as run_doctor

            return run_doctor(args)
        config = _with_audio_mode(_load(args), getattr(args, "audio_mode", None))
        if command == "engine":
            return _engine(args, config)
        if command == "config":
            print(config.model_dump_json(indent=2))
            return 0
        if command == "paths":
            return _paths(config)
        if command == "patients":
            from console.core.patients.commands import run

            return run(args, config)
        if command == "audit":
            from console.core.audit_commands import run as run_audit

            return run_audit(args, config)
        if command == "pin":
            from console.core.pin import run as run_pin

            return run_pin(args, config.agent.id, config.session.pin_file)
        if command == "scripts":
            from console.core.scripts.commands import run as run_scripts

            return run_scripts(args)
        if command == "queue":
            from console.floor_view.commands import run_queue

            return run_queue(args, config)
        if command == "supervise":
            from console.floor_view.commands import run_supervise

            return run_supervise(args, config)
        if command == "audio":
            from console.audio_cli import run as run_audio

            return run_audio(args, config)
        if command == "hub":
            from console.hub.commands import run as run_hub

            return run_hub(args)
        if command == "demo":
            from console.launch import run_demo

            return run_demo(config, interval=args.interval, ring_timeout=args.ring_timeout)
        from console.launch import run_console

        return run_console(
            config,
            config_path=args.config,
            attach_only=command == "attach",
            audio_choice=getattr(args, "audio_mode", None),
        )
    except ConfigError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StoreError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _paths(config: CarelineConfig) -> int:
    from console.core.config import user_config_file
    from console.core.paths import data_dir, default_config_file, log_dir, runtime_dir

    print(f"defaults:    {default_config_file()}")
    print(f"user config: {user_config_file()}")
    print(f"store:       {config.store.path or data_dir() / 'careline.sqlite3'}")
    print(f"logs:        {log_dir()}")
    print(f"socket:      {config.engine.socket or runtime_dir() / 'engine.sock'}")
    return 0


def _engine(args: argparse.Namespace, config: CarelineConfig) -> int:
    from console.core.engine_settings import build_engine_settings
    from sip.server import serve

    if args.log is not None:
        log_path = args.log
    else:
        from console.core.paths import log_dir

        log_path = log_dir() / "engine.log"
    settings = build_engine_settings(
        config,
        listen=args.listen,
        auto_answer=args.auto_answer,
        log_path=log_path,
        allow_capture=args.allow_capture,
        library_media_defaults=args.library_media_defaults,
        hold_on_answer=not args.keep_calls_talking,
    )
    orphan_exit = args.orphan_exit if args.orphan_exit is not None else config.engine.orphan_exit
    return serve(
        settings,
        stdio=not args.no_stdio,
        socket_path=args.socket,
        orphan_exit=orphan_exit or None,
    )
