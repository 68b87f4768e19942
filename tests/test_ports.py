# SPDX-License-Identifier: GPL-2.0-or-later
"""The ports the tests hand out (tests/support.py): no two pytest-xdist workers, and no
two processes of one worker, get the same port, and none is one the kernel hands out to
an outgoing connection or a ``bind(0)`` meanwhile. An engine that lost such a race
failed "Address already in use" in CI with three workers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.baresip import free_sip_port
from tests.support import ROOT, free_port_pair, free_udp_port, udp_bound

PICKS = 300

PICKER = f"""
from tests.support import free_udp_port, free_udp_tcp_port, free_tcp_port, free_port_pair
picks = []
for n in range({PICKS}):
    picks.append((free_udp_port, free_udp_tcp_port, free_tcp_port)[n % 3]())
    if n % 10 == 0:
        picks += [free_port_pair() + i for i in range(4)]
print(" ".join(map(str, picks)))
"""


def ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_workers_picking_at_once_never_get_the_same_port_nor_an_ephemeral_one() -> None:
    """Three workers, and a second process in one of them (a bench or probe it runs),
    pick ports at the same moment."""
    workers = ["gw0", "gw1", "gw2", "gw1"]
    env = {**os.environ, "PYTEST_XDIST_WORKER_COUNT": "3"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PICKER],
            cwd=ROOT,
            env={**env, "PYTEST_XDIST_WORKER": worker},
            stdout=subprocess.PIPE,
            text=True,
        )
        for worker in workers
    ]
    picked = [int(port) for proc in procs for port in proc.communicate(timeout=60)[0].split()]
    assert all(proc.returncode == 0 for proc in procs)
    assert len(picked) == len(workers) * (PICKS + 4 * PICKS // 10)
    assert len(set(picked)) == len(picked), "a port was handed out twice"
    assert max(picked) < ephemeral_low(), "a port from the kernel's ephemeral range"


def test_a_pair_for_sipp_media_leaves_room_for_its_video_port() -> None:
    """SIPp binds -mp and the port 2 above it (video RTP)."""
    port = free_port_pair()
    assert port % 2 == 0
    assert free_udp_port() not in range(port, port + 4)


def test_a_baresip_sip_port_leaves_the_port_above_it_for_tls() -> None:
    """baresip listens for SIP over TLS one port above sip_listen: its control port, picked
    next, must not be that one."""
    port = free_sip_port()
    assert free_udp_port() != port + 1


def test_a_bound_port_is_seen_without_binding_it() -> None:
    """Waiting for a program to listen reads the kernel's table: a probe binding the port
    itself could make the program fail to bind it."""
    port = free_udp_port()
    assert not udp_bound(port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
        assert udp_bound(port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            other.bind(("127.0.0.1", free_udp_port()))
            assert udp_bound(port)
    assert not udp_bound(port)
