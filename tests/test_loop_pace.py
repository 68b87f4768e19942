# SPDX-License-Identifier: GPL-2.0-or-later
"""How long the engine loop waits in the library (issue 17: an idle engine's CPU).

With a wake-up (a UDP transport) every command ends the wait at once, so an idle loop
may wait long; without one it must come back often enough to run a command soon.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sip.loop_pace import IDLE_POLL_MS, KEEPALIVE, POLL_MS, WOKEN_IDLE_POLL_MS, LoopPace


@pytest.fixture
def transport() -> Iterator[socket.socket]:
    """A UDP socket on 127.0.0.1 standing in for the engine's SIP transport."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    yield sock
    sock.close()


def test_without_a_wake_up_the_loop_comes_back_soon() -> None:
    pace = LoopPace()
    assert pace.wait_ms(calls_up=False, commands_waiting=False, due_in=None) == IDLE_POLL_MS
    assert pace.wait_ms(calls_up=True, commands_waiting=False, due_in=None) == POLL_MS


def test_with_a_wake_up_an_idle_loop_waits_long_and_a_command_ends_the_wait(
    transport: socket.socket,
) -> None:
    pace = LoopPace()
    pace.wake_through(*transport.getsockname())
    try:
        assert WOKEN_IDLE_POLL_MS > IDLE_POLL_MS
        for calls_up in (False, True):  # RTP and SIP wake a loop with calls anyway
            wait = pace.wait_ms(calls_up=calls_up, commands_waiting=False, due_in=None)
            assert wait == WOKEN_IDLE_POLL_MS
        assert pace.wait_ms(calls_up=False, commands_waiting=True, due_in=None) == POLL_MS
        pace.wake()
        assert transport.recv(64) == KEEPALIVE  # dropped unparsed by pjsip: 4 bytes
    finally:
        pace.close()
    pace.wake()  # closed: nothing is sent, nothing is raised


@pytest.mark.parametrize(
    ("due_in", "expected"),
    [(0.0, POLL_MS), (0.1, 100), (1.0, WOKEN_IDLE_POLL_MS)],
)
def test_a_deferred_action_bounds_the_wait(
    transport: socket.socket, due_in: float, expected: int
) -> None:
    pace = LoopPace()
    pace.wake_through(*transport.getsockname())
    try:
        assert pace.wait_ms(calls_up=False, commands_waiting=False, due_in=due_in) == expected
    finally:
        pace.close()
