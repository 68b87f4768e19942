# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine process: native output to the log, the protocol over stdio and a socket.

``python -m sip`` (:func:`main`) is the engine process: ``careline engine``
validates the configuration, then replaces itself with it, handing over the
plain settings document (:mod:`sip.settings`) on a pipe. It imports pjsua2
and the standard library, nothing of the console (pydantic, YAML, Textual).

``serve()`` is what it runs. The main thread owns pjsua2
(:class:`sip.engine.PhoneEngine`); a reader thread takes commands from
stdin, a writer thread prints JSON lines to the real stdout, and a
``selectors`` thread serves the per-user Unix socket (no asyncio: with its
``ssl`` it would weigh more than the rest of the engine's Python). Signals only set a flag; the main
thread then hangs up, drains and destroys the library in order.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
from collections.abc import Callable

from sip.engine_log import logger
from sip.engine_log import write_to as write_log_to
from sip.plain import plain
from sip.protocol import (
    MAX_LINE_BYTES,
    ErrorCode,
    ProtocolError,
    decode,
    encode,
    reply_error,
)
from sip.settings import EngineSettings, SettingsError, read_settings
from sip.socket_server import SocketServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any, BinaryIO

    from _typeshed import StrPath

log = logger(__name__)

LOG_ROTATE_BYTES = 8 * 1024 * 1024
"""An engine log past this size at start is kept as ``<name>.1`` and a new one begun."""


def rotate_log(path: StrPath, limit: int = LOG_ROTATE_BYTES) -> None:
    """Keep the log bounded: every run appends (a crashed run's log survives the
    restart), and one previous generation is kept when it grows past ``limit``."""
    try:
        if os.stat(path).st_size > limit:
            os.replace(path, f"{os.fspath(path)}.1")
    except OSError:
        pass  # no log yet, or it cannot be moved: appending to it is still right


class NativeOutput:
    """Point file descriptors 1 and 2 at the log, keeping the originals for us.

    pjlib prints a banner (and pjsip prints assertions) straight to fd 1/2,
    before any log configuration applies; nothing native may reach the
    console's terminal or the JSON stream.
    """

    def __init__(self, log_path: StrPath | None) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.stdout = os.fdopen(os.dup(1), "wb", buffering=0)
        self.stderr = os.fdopen(os.dup(2), "w", buffering=1)
        if log_path is not None:
            rotate_log(log_path)
        target = os.open(log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(target, 1)
        os.dup2(target, 2)
        os.close(target)


class StdoutWriter:
    """Writes protocol lines to the saved stdout from its own thread.

    A slow reader of our stdout must never stall the pjsua2 thread.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="stdout-writer", daemon=True)
        self._thread.start()

    def send(self, message: dict[str, Any]) -> None:
        """Queue one message."""
        self._queue.put(encode(message))

    def close(self) -> None:
        """Flush what is queued and stop."""
        self._queue.put(None)
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while (line := self._queue.get()) is not None:
            try:
                self._out.write(line)
            except OSError:
                return


def read_commands(
    fd: int, submit: Callable[[dict[str, Any]], None], on_error: Callable[[dict[str, Any]], None]
) -> None:
    """Feed each JSON line read from ``fd`` to ``submit``; report bad lines.

    Reads the raw descriptor rather than ``sys.stdin``: a daemon thread
    blocked inside a buffered reader aborts the interpreter at exit.
    """
    pending = b""
    while chunk := os.read(fd, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for raw in lines:
            if not raw.strip():
                continue
            try:
                submit(decode(raw))
            except ProtocolError as exc:
                on_error(reply_error(None, ErrorCode.BAD_REQUEST, str(exc)))
        if len(pending) > MAX_LINE_BYTES:
            on_error(reply_error(None, ErrorCode.BAD_REQUEST, "line too long"))
            pending = b""


def serve(
    settings: EngineSettings,
    *,
    stdio: bool,
    socket_path: str | None,
    orphan_exit: float | None = None,
) -> int:
    """Run the engine process until SIGTERM/SIGINT or a shutdown command.

    With a socket and ``orphan_exit``, the engine also stops once no client
    has been attached and no call has been live for that many seconds (a
    console that crashed does not leave a phone running forever).
    Returns the process exit code: 0 after a clean stop, 2 if it could not start.
    """
    from sip.engine import EngineStartError, PhoneEngine  # loads pjsua2

    native = NativeOutput(settings.log_path)
    # fd 2 now points at the log file (or /dev/null), so the log lines land there.
    write_log_to(sys.stderr)
    writer = StdoutWriter(native.stdout) if stdio else None
    server: SocketServer | None = None

    def emit(message: dict[str, Any]) -> None:
        if writer is not None:
            writer.send(message)
        if server is not None:
            server.broadcast(message)

    engine = PhoneEngine(settings, emit)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: engine.request_stop())
    if socket_path is not None:
        server = SocketServer(socket_path, engine.submit)
        try:
            server.start()
        except (OSError, RuntimeError) as exc:
            print(f"careline engine: cannot serve {socket_path}: {exc}", file=native.stderr)
            return 2
    if writer is not None:
        stdio_writer = writer
        threading.Thread(
            target=read_commands,
            args=(
                sys.stdin.fileno(),
                lambda m: engine.submit(m, stdio_writer.send),
                stdio_writer.send,
            ),
            name="stdin-reader",
            daemon=True,
        ).start()
    orphaned = None
    if server is not None and orphan_exit is not None:
        socket_server = server

        def orphaned() -> bool:
            return socket_server.idle_for() > orphan_exit

    code = 0
    try:
        engine.run(orphaned=orphaned)
    except EngineStartError as exc:
        print(f"careline engine: {exc}", file=native.stderr)
        code = 2
    finally:
        if server is not None:
            server.stop()
        if writer is not None:
            writer.close()
    return code


SETTINGS_FD_OPTION = "--settings-fd"
"""The option of ``python -m sip`` naming the descriptor the settings document is read from."""


@plain(frozen=True)
class EngineOptions:
    """The command line of ``python -m sip``."""

    settings_fd: int | None = None
    """Read the settings document from this inherited descriptor."""
    settings: str | None = None
    """Read the settings document from this file."""
    no_stdio: bool = False
    """Socket only: stdin and stdout are not the protocol."""
    socket: str | None = None
    """Serve on this Unix socket."""
    orphan_exit: float | None = None
    """With a socket: exit after this many seconds with no client and no call."""


_VALUE_OPTIONS: dict[str, tuple[str, Callable[[str], Any]]] = {
    SETTINGS_FD_OPTION: ("settings_fd", int),
    "--settings": ("settings", str),
    "--socket": ("socket", str),
    "--orphan-exit": ("orphan_exit", float),
}
"""The options that take a value: the field of :class:`EngineOptions` each sets, and how."""


def parse_options(argv: list[str]) -> EngineOptions:
    """The options in ``argv``, as :func:`_arguments` defines them.

    The line careline writes (known options, each once, a value after each that takes
    one, one settings source) is read here; anything else (``--help``, a mistake) goes
    to argparse, which explains. argparse and what it loads (shutil, compression
    modules, gettext) are about 1 MiB of an idle engine that never needs them.
    """
    values: dict[str, Any] = {}
    rest = list(argv)
    while rest:
        flag = rest.pop(0)
        if flag == "--no-stdio" and "no_stdio" not in values:
            values["no_stdio"] = True
            continue
        name, convert = _VALUE_OPTIONS.get(flag, ("", str))
        if not name or name in values or not rest or rest[0].startswith("-"):
            return _parsed_by_argparse(argv)
        try:
            values[name] = convert(rest.pop(0))
        except ValueError:
            return _parsed_by_argparse(argv)
    if ("settings_fd" in values) == ("settings" in values):
        return _parsed_by_argparse(argv)
    return EngineOptions(**values)


def _parsed_by_argparse(argv: list[str]) -> EngineOptions:
    """The options as argparse reads them (it exits with a usage message on a mistake)."""
    return EngineOptions(**vars(_arguments().parse_args(argv)))


def _arguments() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m sip",
        description=(
            "The careline phone engine process. It takes a plain settings document "
            "(JSON, see sip.settings); `careline engine` writes one from the validated "
            "configuration and starts this."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        SETTINGS_FD_OPTION,
        dest="settings_fd",
        type=int,
        metavar="FD",
        help="read the settings document from this inherited descriptor (to its end)",
    )
    source.add_argument("--settings", metavar="FILE", help="read the settings document from FILE")
    parser.add_argument(
        "--no-stdio", action="store_true", help="do not use stdin/stdout (socket only)"
    )
    parser.add_argument("--socket", metavar="PATH", help="serve on this Unix socket")
    parser.add_argument(
        "--orphan-exit",
        type=float,
        metavar="SECONDS",
        help="with --socket: exit after SECONDS with no client attached and no call",
    )
    return parser


def _read_fd(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def main(argv: list[str] | None = None) -> int:
    """``python -m sip``: read the settings document, then :func:`serve`; the exit code."""
    args = parse_options(sys.argv[1:] if argv is None else argv)
    try:
        if args.settings is not None:
            with open(args.settings, "rb") as document:
                data = document.read()
        else:
            assert args.settings_fd is not None  # parse_options asks for exactly one source
            data = _read_fd(args.settings_fd)
        settings = read_settings(data)
    except (OSError, SettingsError) as exc:
        print(f"careline engine: settings: {exc}", file=sys.stderr)
        return 2
    return serve(
        settings,
        stdio=not args.no_stdio,
        socket_path=args.socket,
        orphan_exit=args.orphan_exit or None,
    )
