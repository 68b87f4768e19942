# SPDX-License-Identifier: GPL-2.0-or-later
"""Ports for the real components the tests start, on 127.0.0.1.

Every process that picks a port here takes it in turn from one shared cursor, below
the kernel's ephemeral range: no two xdist workers get the same port, and nothing else
on the machine takes one between the pick and the program binding it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import tempfile
import time
from pathlib import Path

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
