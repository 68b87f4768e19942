# SPDX-License-Identifier: GPL-2.0-or-later
"""Drivers for the real components the tests use: the engine process and SIPp.

Everything listens on 127.0.0.1 on ports picked free at run time (see
:func:`free_udp_port`), and every process started here is stopped by its PID.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "sipp"


def require_sipp() -> None:
    """Fail (never skip) when SIPp is missing: the README test command installs it."""
    if shutil.which("sipp") is None:
        pytest.fail("sipp is not installed: run the README test command (it installs sip-tester)")


PORT_FLOOR = 20000
"""The lowest port the tests hand out. Ports come from here up to the kernel's
ephemeral range (``net.ipv4.ip_local_port_range``, 32768 by default), which no
outgoing connection and no ``bind(port 0)`` ever takes; baresip's RTP is kept
below it (tests/baresip.py)."""
PORT_CURSOR = Path(tempfile.gettempdir()) / f"careline-test-ports-{os.getuid()}"
"""The next port to hand out, shared (under ``flock``) by every process of this user
that picks ports here: every pytest-xdist worker, the benches and scripts they run,
and any other test run on the machine. Ports are handed out in turn, so one comes
round again only after every other port of the range has been handed out."""


def _port_range() -> tuple[int, int]:
    """[first, end) of the ports the tests hand out: below the ephemeral range."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    # An ephemeral range set unusually low leaves no room below it: the default range
    # then (a pick may meet an outgoing connection's port, and is checked free as ever).
    return (PORT_FLOOR, low) if low - PORT_FLOOR >= 4000 else (PORT_FLOOR, 32768)


def _worker_block(first: int, end: int) -> tuple[int, int]:
    """This process's share of [first, end) when the cursor file cannot be used: one
    block for each pytest-xdist worker (``PYTEST_XDIST_WORKER`` gw0, gw1, …; its
    subprocesses inherit it) and one for runs outside xdist, disjoint."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    index = int(worker[2:]) + 1 if worker.startswith("gw") and worker[2:].isdigit() else 0
    blocks = max(count, index) + 1
    size = (end - first) // blocks
    return first + index * size, first + (index + 1) * size


_fallback_next: int | None = None


def _ports_free(first: int, count: int) -> bool:
    """Whether ports ``first`` … ``first + count - 1`` of 127.0.0.1 are free for both
    UDP and TCP right now."""
    for port in range(first, first + count):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(socket.AF_INET, kind) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    return False
    return True


def _claim(start: int, first: int, end: int, count: int, align: int) -> tuple[int, int]:
    """The first run of ``count`` free ports from ``start`` on (aligned to ``align``,
    wrapping round [first, end) at most once), and where the next pick starts."""
    port = start
    for _ in range(end - first):
        port += -port % align
        if not first <= port or port + count > end:
            port = first
            continue
        if _ports_free(port, count):
            return port, port + count
        port += 1
    raise RuntimeError(f"no {count} free ports in {first}-{end - 1} on 127.0.0.1")


def claim_ports(count: int = 1, align: int = 1) -> int:
    """The first of ``count`` consecutive ports (the first a multiple of ``align``) on
    127.0.0.1, each free for both UDP and TCP now and handed out to nobody else lately.

    A port found free is only free until someone binds it: another test's engine or
    a worker's outgoing connection could take it before the program it is for starts
    (an engine then fails "Address already in use"). So ports come from a range no
    ``bind(0)`` and no outgoing connection takes (:func:`_port_range`), in turn through
    one cursor all processes share (:data:`PORT_CURSOR`): two picks, in two workers or
    two processes, never get the same port unless thousands of ports lie between them.
    """
    global _fallback_next
    first, end = _port_range()
    try:
        fd = os.open(PORT_CURSOR, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        # No shared cursor: this process's own, in its worker's block (workers still
        # never collide; the start differs between processes of one worker).
        first, end = _worker_block(first, end)
        if _fallback_next is None:
            _fallback_next = first + (os.getpid() * 7919) % (end - first)
        port, _fallback_next = _claim(_fallback_next, first, end, count, align)
        return port
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            start = int(os.pread(fd, 32, 0).decode() or "x")
        except ValueError:
            start = first + (os.getpid() * 7919) % (end - first)
        port, following = _claim(start, first, end, count, align)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(following).encode(), 0)
        return port
    finally:
        os.close(fd)  # (releases the lock)


def free_udp_port() -> int:
    """A port on 127.0.0.1 free for UDP (and TCP), that no other test picks meanwhile
    (:func:`claim_ports`)."""
    return claim_ports()


def udp_bound(port: int) -> bool:
    """Whether something has bound UDP ``port`` of 127.0.0.1 (or of every address).

    Read from /proc/net/udp: a probe that binds the port itself to find out would hold
    it for a moment, and the program starting then would fail "Address already in use".
    """
    try:
        table = Path("/proc/net/udp").read_text()
    except OSError:  # no procfs: the probe that binds
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return True
        return False
    wanted = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    return any(line.split()[1] in wanted for line in table.splitlines()[1:])


def wait_udp_bound(port: int, seconds: float = 30.0) -> None:
    """Return once something listens on UDP ``port`` of 127.0.0.1 (:func:`udp_bound`)."""
    deadline = time.monotonic() + seconds
    while True:
        if udp_bound(port):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on UDP port {port} after {seconds:.0f} s")
        time.sleep(0.05)


def free_udp_tcp_port() -> int:
    """A port on 127.0.0.1 that is free for both UDP and TCP (:func:`claim_ports`)."""
    return claim_ports()


def free_tcp_port() -> int:
    """A port on 127.0.0.1 free for TCP (and UDP) (:func:`claim_ports`)."""
    return claim_ports()


def free_port_pair() -> int:
    """An even UDP port for SIPp's media (-mp): SIPp binds it and the port 2 above
    (audio and video RTP), and the RTCP ports beside them are kept free too; so the
    four ports from there are free (:func:`claim_ports`)."""
    return claim_ports(4, align=4)


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
