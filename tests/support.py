# SPDX-License-Identifier: GPL-2.0-or-later
"""Drivers for the real components the tests use: the engine process and SIPp.

Everything listens on 127.0.0.1 on ports picked free at run time (see
:func:`free_udp_port`), and every process started here is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import pytest

# The port picker lives in tests/ports.py; the drivers here and the tests that import
# it from here use the same one.
from tests.ports import free_port_pair as free_port_pair
from tests.ports import free_tcp_port as free_tcp_port
from tests.ports import free_udp_port as free_udp_port
from tests.ports import free_udp_tcp_port as free_udp_tcp_port
from tests.ports import udp_bound as udp_bound
from tests.ports import wait_udp_bound as wait_udp_bound

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "sipp"


def require_sipp() -> None:
    """Fail (never skip) when SIPp is missing: the README test command installs it."""
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed: run the README test command (it installs sip-tester)")


def file_tail(path: Path, lines: int, what: str) -> str:
    """The last ``lines`` lines of a component's log (``(no <what>)`` when it cannot be
    read), for assertion messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {what})"


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM by PID, wait, SIGKILL if it will not go; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m MODULE ARGS`` from the repository root, its output captured as text;
    ``env``: the child's whole environment (default: this one)."""
    argv = [sys.executable, "-m", module, *args]
    return subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def spawn_logged(
    argv: Sequence[str],
    log: Path,
    cwd: Path,
    *,
    append: bool = False,
    new_session: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in ``cwd`` with no stdin and its output (stdout and stderr) in the
    file ``log``, replaced or appended to; ``new_session``: in a process group of its own."""
    with open(log, "ab" if append else "wb") as out:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=new_session,
        )


class ServiceProcess(ABC):
    """A program a test runs beside it (a registrar, a softphone): started on entering
    a ``with`` block, stopped by PID on leaving it."""

    @abstractmethod
    def start(self, timeout: float = 10.0) -> None:
        """Start the program and wait until it serves."""

    @abstractmethod
    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop it by PID; its exit code (None: it never started)."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EngineProcess:
    """``careline engine`` in stdio mode: JSON events out, JSON commands in."""

    def __init__(
        self,
        workdir: Path,
        *extra: str,
        listen_port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``env``: the child's whole environment (default: inherit this one)."""
        self.port = listen_port or free_udp_port()
        self.log_path = workdir / f"engine-{self.port}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "console",
                "engine",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--log",
                str(self.log_path),
                *extra,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        self.events: list[dict[str, Any]] = []
        self._inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._ids = 0
        assert self.proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._inbox.put(json.loads(line))

    def next_message(self, timeout: float) -> dict[str, Any]:
        """The next line the engine printed, parsed."""
        message = self._inbox.get(timeout=timeout)
        if message.get("type") == "event":
            self.events.append(message)
        return message

    def wait_event(self, name: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """Wait for an event called ``name`` whose top-level fields equal ``match``."""
        for seen in self.events:
            if seen["event"] == name and all(seen.get(k) == v for k, v in match.items()):
                self.events.remove(seen)
                return seen
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = self.next_message(left)
            except queue.Empty:
                break
            if message.get("event") == name and all(message.get(k) == v for k, v in match.items()):
                self.events.remove(message)
                return message
        raise AssertionError(f"no {name} {match} within {timeout}s; log: {self.log_tail()}")

    def forget(self, name: str, **match: Any) -> None:
        """Drop the events called ``name`` (matching ``match``) that arrived so far.

        Reads what is already waiting first, so that an older event cannot
        answer a later :meth:`wait_event`.
        """
        while True:
            try:
                self.next_message(0.05)
            except queue.Empty:
                break
        self.events = [
            seen
            for seen in self.events
            if not (seen["event"] == name and all(seen.get(k) == v for k, v in match.items()))
        ]

    def command(self, cmd: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
        """Send a command and return its reply."""
        self._ids += 1
        request_id = f"t{self._ids}"
        self.send({"id": request_id, "cmd": cmd, **args})
        return self.wait_reply(request_id, timeout, what=cmd)

    def wait_reply(
        self, request_id: str, timeout: float = 5.0, *, what: str | None = None
    ) -> dict[str, Any]:
        """The reply to request ``request_id`` (e.g. one written with :meth:`send`)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.next_message(left)
            if message.get("type") == "reply" and message.get("id") == request_id:
                return message
        raise AssertionError(f"no reply to {what or request_id}")

    def send(self, message: dict[str, Any]) -> None:
        """Write one raw JSON line to the engine's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def log_tail(self, lines: int = 15) -> str:
        """The end of the engine log, for assertion messages."""
        return file_tail(self.log_path, lines, "log")

    def stop(self) -> int:
        """SIGTERM, wait for a clean exit; returns the exit code."""
        return stop_process(self.proc)

    def stderr(self) -> str:
        """What the engine wrote on its (real) stderr."""
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")


DEFAULT_CALLERS: Sequence[tuple[str, str]] = (("Test Patient", "+15550100"),)
"""The (display name, number) rows of the CSV a SIPp caller reads ``[field0]``/``[field1]`` from."""


class Sipp:
    """One SIPp run on 127.0.0.1: a UAC against ``target_port``, or a UAS when that is None.

    ``scenario``: a file in ``tests/sipp`` (``*.xml``, -sf) or the name of a SIPp
    built-in scenario such as ``uac`` (-sn). ``callers``: the rows of the -inf
    CSV; ``calls``/``concurrent``/``rate``: -m/-l/-r; ``timeout``: SIPp's own
    (-timeout, an error when reached); ``service``: the ``[service]`` keyword
    (-s), the user part in the scenarios. ``port``: its own SIP port (default: a
    free one), e.g. the Contact an earlier REGISTER put in a location service;
    ``auth``: (user, password) for ``[authentication]`` (-au/-ap); ``extra``:
    more arguments, as they are. Media (-mi/-mp) always goes to a free port pair.
    """

    def __init__(
        self,
        workdir: Path,
        scenario: str,
        target_port: int | None = None,
        *,
        callers: Sequence[tuple[str, str]] = DEFAULT_CALLERS,
        calls: int = 1,
        concurrent: int = 1,
        rate: float = 10.0,
        timeout: float = 30.0,
        service: str = "queue",
        port: int | None = None,
        auth: tuple[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        require_sipp()
        self.workdir = workdir
        self.port = port or free_udp_port()
        csv = workdir / f"callers-{self.port}.csv"
        csv.write_text("SEQUENTIAL\n" + "".join(f"{n};{u};\n" for n, u in callers), "utf-8")
        self.errors = workdir / f"sipp-{self.port}-errors.log"
        self.output = workdir / f"sipp-{self.port}.out"
        argv = ["sipp"]
        if target_port is not None:
            argv.append(f"127.0.0.1:{target_port}")
        if scenario.endswith(".xml"):
            argv += ["-sf", str(SCENARIOS / scenario)]
        else:
            argv += ["-sn", scenario]
        argv += [
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_port_pair()),
            "-s",
            service,
        ]
        if auth is not None:
            argv += ["-au", auth[0], "-ap", auth[1]]
        argv += [
            "-inf",
            str(csv),
            "-m",
            str(calls),
            "-l",
            str(concurrent),
            "-r",
            str(rate),
            "-timeout",
            f"{int(timeout)}s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            "-error_file",
            str(self.errors),
            *extra,
        ]
        # Appended to: a SIPp UAS may reuse the port (and so the file) of an earlier run.
        self.proc = spawn_logged(
            argv, self.output, workdir, append=True, env={**os.environ, "TERM": "dumb"}
        )

    def wait_listening(self, timeout: float = 5.0) -> None:
        """Wait until SIPp has bound its UDP port (so a request sent now reaches it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"SIPp exited {self.proc.returncode}: {self.report()}")
            if udp_bound(self.port):
                return
            time.sleep(0.05)
        raise AssertionError(f"SIPp did not bind 127.0.0.1:{self.port} in {timeout}s")

    def wait(self, timeout: float = 40.0) -> int:
        """Wait for SIPp to finish; returns its exit code (0: every call as scripted)."""
        try:
            return int(self.proc.wait(timeout))
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            raise AssertionError(f"SIPp did not finish in {timeout}s") from None

    def report(self) -> str:
        """SIPp's error log and the end of its output, for assertion messages."""
        parts = []
        for path in (self.errors, self.output):
            try:
                parts.append(path.read_text(errors="replace")[-2000:])
            except OSError:
                parts.append(f"(no {path.name})")
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop SIPp by PID if it still runs."""
        stop_process(self.proc)
