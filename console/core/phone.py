# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's side of the engine protocol: spawn, attach, supervise.

:class:`PhoneClient` starts the engine process, talks to it over its Unix
socket, and restarts it when it dies: the console shows "phone offline",
keeps everything the agent typed, and comes back online by itself. Events
and status changes are delivered to plain callbacks on the asyncio loop;
the Textual app turns them into messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from console.core.config import ConfigError
from console.core.records import dataclass
from sip.protocol import PROTOCOL_VERSION, ProtocolError, decode, encode

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 15.0
"""How long a freshly spawned engine may take to accept its socket."""
COMMAND_TIMEOUT = 5.0
"""How long a command may wait for its reply."""
STOP_TIMEOUT = 5.0
"""How long the engine gets to hang up and exit before it is killed."""
MAX_RESTART_DELAY = 30.0
"""The longest wait between restarts of an engine that keeps failing to start."""


class PhoneError(Exception):
    """A command failed: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PhoneOfflineError(PhoneError):
    """The engine is not connected right now."""

    def __init__(self, message: str = "the phone is offline") -> None:
        super().__init__("offline", message)


@dataclass(frozen=True, slots=True)
class PhoneStatus:
    """Whether the phone works, and why not when it does not."""

    online: bool
    detail: str
    listen: str = ""


@dataclass(frozen=True, slots=True)
class EngineStart:
    """How to start one engine process: its argv and the descriptors it inherits."""

    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    """Read ends of pipes the engine reads (its settings); closed here once it started."""


EngineCommand = Sequence[str] | Callable[[], EngineStart]
"""The engine's argv, or a function building an :class:`EngineStart`, called in a thread
before each start (a fresh settings pipe each time; the demo's audio mode comes from
a sound probe that may still be running at launch)."""
EventHandler = Callable[[dict[str, Any]], None]
StatusHandler = Callable[[PhoneStatus], None]


class PhoneClient:
    """Runs and supervises one engine process and speaks its protocol."""

    def __init__(
        self,
        engine_argv: EngineCommand,
        socket_path: Path,
        *,
        on_event: EventHandler,
        on_status: StatusHandler,
        restart_delay: float = 1.0,
        stderr_path: Path | None = None,
    ) -> None:
        self.engine_argv = engine_argv if callable(engine_argv) else list(engine_argv)
        self.socket_path = socket_path
        self._on_event = on_event
        self._on_status = on_status
        self.restart_delay = restart_delay
        self.stderr_path = stderr_path
        self.process: asyncio.subprocess.Process | None = None
        self.status = PhoneStatus(False, "starting")
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0
        self._came_online = False
        self.attached = False
        """True when serving an engine an earlier console left running."""
        self.attach_only = False
        """Do not spawn the first engine: only attach to a running one (``careline
        attach``); cleared once attached, so a dead engine is restarted."""

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        """Start supervising (spawn the engine, connect, restart on death)."""
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    @property
    def started(self) -> bool:
        """Whether :meth:`start` was called."""
        return self._task is not None

    async def stop(self) -> None:
        """Stop the engine: a shutdown command, then SIGTERM, then SIGKILL, by PID.

        An engine this console attached to (not its child) gets the shutdown
        command only: its PID is not ours to signal.
        """
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(PhoneError, OSError):
                await self.command("shutdown", reply_timeout=1.0)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                await _terminate(process)
        elif self.attached and self.status.online:
            with contextlib.suppress(PhoneError, OSError):
                await self.command("shutdown", reply_timeout=1.0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._close_writer()

    async def command(
        self, cmd: str, *, reply_timeout: float = COMMAND_TIMEOUT, **args: Any
    ) -> dict[str, Any]:
        """Send one command and wait for its reply's result; raises :class:`PhoneError`."""
        writer = self._writer
        if writer is None or not self.status.online:
            raise PhoneOfflineError()
        request_id = str(next(self._ids))
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            writer.write(encode({"id": request_id, "cmd": cmd, **args}))
            reply = await asyncio.wait_for(future, reply_timeout)
        except TimeoutError:
            raise PhoneError("timeout", f"the phone did not answer {cmd!r} in time") from None
        except (ConnectionError, RuntimeError):
            raise PhoneOfflineError() from None
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise PhoneError(str(error.get("code", "error")), str(error.get("message", "failed")))
        result = reply.get("result")
        return result if isinstance(result, dict) else {}

    # -------------------------------------------------------------- supervision
    def _set_status(self, status: PhoneStatus) -> None:
        self.status = status
        self._on_status(status)

    async def _supervise(self) -> None:
        failed_starts = 0
        while not self._stopping:
            self._came_online = False
            detail = await self._run_once()
            if self._stopping:
                return
            self._set_status(PhoneStatus(False, detail))
            self.restarts += 1
            # An engine that dies before it is online (a config error, a port in
            # use) fails the same way again at once: wait longer each time.
            failed_starts = 0 if self._came_online else failed_starts + 1
            # (The exponent is capped: 2**1024 would overflow a float after hours.)
            delay = self.restart_delay * 2 ** min(max(0, failed_starts - 1), 16)
            await asyncio.sleep(min(delay, max(MAX_RESTART_DELAY, self.restart_delay)))

    async def _run_once(self) -> str:
        """Attach to a running engine, or spawn one; serve it; return why it ended."""
        attached = await self._attach()
        if attached is not None:
            # An engine outlived an earlier console (a dropped SSH session, a
            # detach): take over its calls instead of starting a second one.
            self.process = None
            self.attached = True
            # Only the first engine must be found running (``careline attach``):
            # one that dies under this console is restarted as ``careline run`` does.
            self.attach_only = False
            self._writer = attached[1]
            try:
                await self._read(attached[0])
            finally:
                self._close_writer()
                self._fail_pending()
            return "lost the connection to the phone engine"
        if self.attach_only:
            self._stopping = True
            return "no phone engine is running to attach to"
        self.attached = False
        command = self.engine_argv
        try:
            start = (
                await asyncio.to_thread(command)
                if callable(command)
                else EngineStart(list(command))
            )
        except (ConfigError, OSError) as exc:
            return f"cannot start the phone engine: {exc}"
        stderr = None
        try:
            stderr = open(self.stderr_path, "wb") if self.stderr_path else None  # noqa: SIM115, ASYNC230 - local file, no network wait
            self.process = await asyncio.create_subprocess_exec(
                *start.argv,
                pass_fds=start.pass_fds,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr if stderr is not None else asyncio.subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal must not hit the call
            )
        except OSError as exc:
            return f"cannot start the phone engine: {exc}"
        finally:
            if stderr is not None:
                stderr.close()
            for fd in start.pass_fds:
                os.close(fd)  # the engine has its copy (or never started)
        process = self.process
        try:
            reader, writer = await self._connect(process)
        except (OSError, TimeoutError) as exc:
            await self._reap(process)
            return self._engine_error() or f"cannot reach the phone engine: {exc}"
        self._writer = writer
        try:
            await self._read(reader)
        finally:
            self._close_writer()
            await self._reap(process)
        return self._engine_error() or f"phone engine stopped (exit {process.returncode})"

    async def _attach(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to an engine already serving our socket, or None.

        The socket lives in a 0700 directory and the engine checks the peer's
        uid (SO_PEERCRED): only the same OS user gets here.
        """
        try:
            return await asyncio.open_unix_connection(str(self.socket_path), limit=1 << 17)
        except OSError:
            return None

    async def _connect(
        self, process: asyncio.subprocess.Process
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        deadline = asyncio.get_running_loop().time() + CONNECT_TIMEOUT
        while True:
            if process.returncode is not None:
                raise OSError(f"engine exited with code {process.returncode}")
            try:
                return await asyncio.open_unix_connection(str(self.socket_path), limit=1 << 17)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("the engine did not open its socket") from None
                await asyncio.sleep(0.05)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                raw = await reader.readline()
            except (ConnectionError, ValueError):
                return
            if not raw:
                return
            try:
                message = decode(raw)
            except ProtocolError:
                log.warning("ignoring a malformed line from the engine")
                continue
            if message.get("type") == "reply":
                future = self._pending.get(str(message.get("id")))
                if future is not None and not future.done():
                    future.set_result(message)
                continue
            if message.get("event") == "hello":
                if message.get("protocol") != PROTOCOL_VERSION:
                    log.error("engine speaks protocol %s", message.get("protocol"))
                    return
                status = message.get("status")
                listen = str(status.get("listen", "")) if isinstance(status, dict) else ""
                self._came_online = True
                self._set_status(PhoneStatus(True, "online", listen))
            try:
                self._on_event(message)
            except Exception as exc:  # a console bug must not cost the agent the engine's calls
                # Where it failed, not what it said: the message may hold a caller's name.
                frames = "".join(traceback.format_tb(exc.__traceback__))
                log.error(
                    "an engine event failed in the console (%s):\n%s", type(exc).__name__, frames
                )

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PhoneOfflineError())

    async def _reap(self, process: asyncio.subprocess.Process) -> None:
        self._fail_pending()
        if process.returncode is None:
            await _terminate(process)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _engine_error(self) -> str:
        """The engine's own last words on stderr (e.g. port in use), if any."""
        if self.stderr_path is None:
            return ""
        try:
            lines = self.stderr_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1].removeprefix("careline engine: ")[:200] if lines else ""


async def _terminate(process: asyncio.subprocess.Process) -> None:
    """SIGTERM by PID, then SIGKILL if the engine does not exit in time."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def engine_command(
    *,
    socket_path: Path,
    listen: str,
    log_path: Path,
    config_path: Path | None = None,
    audio_mode: str | None = None,
) -> list[str]:
    """The argv that runs ``careline engine`` headless on a socket."""
    argv = [
        sys.executable,
        "-m",
        "console",
        "engine",
        "--no-stdio",
        "--socket",
        str(socket_path),
        "--listen",
        listen,
        "--log",
        str(log_path),
    ]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    if audio_mode is not None:
        argv += ["--audio", audio_mode]
    return argv
