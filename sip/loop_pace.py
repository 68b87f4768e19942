# SPDX-License-Identifier: GPL-2.0-or-later
"""How long the engine loop waits for the library, and how another thread cuts the wait short.

The engine thread spends its time inside ``libHandleEvents``, waiting in
pjsip's socket poll for SIP, RTP or a due timer. A command queued by another
thread (the socket server, stdin) is run when that wait ends. No pjsua2 call
can end the wait from another thread, but a datagram to the engine's own SIP
UDP transport does: pjsip reads it at once and drops it unparsed (a UDP packet
of 32 bytes or fewer is ignored; ``CRLF CRLF`` is also a keep-alive, RFC 5626).

So with a UDP transport the loop can wait as long with calls up as when idle —
RTP and SIP wake it anyway — and a key the agent presses (answer, hold) still
runs at once. Waking every 5 ms to look for commands cost an engine with one
call more CPU than baresip spends on the whole call. Without a UDP transport
(TCP or TLS only) the loop keeps the short wait while calls are up.
"""

from __future__ import annotations

import contextlib
import socket

POLL_MS = 5
"""How long one ``libHandleEvents`` call may wait while a call is up and nothing can wake the
loop (no UDP transport): bounds the latency of the agent's keys (answer, hold…)."""
IDLE_POLL_MS = 50
"""The same with no call up, or with a wake-up. A SIP message or a due timer still wakes the
loop at once, and so does a command when the loop has a wake-up; without one a command waits
at most this long at idle (a dial). Polling every 5 ms with nothing to do cost an idle engine
1 % of a CPU in Python between polls."""
WOKEN_IDLE_POLL_MS = 250
"""The same when the loop has a wake-up: every command wakes it, and SIP, RTP and the
library's timers end the wait anyway, so it only bounds how late the engine's once-a-second
checks (an orphaned engine, a lost call) and a stop signal are seen. Returning to Python 20
times a second cost an idle engine 0.2 % of a CPU, a fifth of what it spends on a call."""
KEEPALIVE = b"\r\n\r\n"
"""What is sent to wake the loop: a SIP keep-alive, which pjsip drops without a log line."""


class LoopPace:
    """The engine loop's wait, and its wake-up from other threads (see the module's doc)."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = None
        self._target: tuple[str, int] = ("", 0)

    def wake_through(self, host: str, port: int) -> None:
        """From now on :meth:`wake` sends to the engine's SIP UDP transport at ``host:port``."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # A transport bound to every address is reached on the loopback one.
        target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        self._target = (target, port)
        self._socket = sock

    @property
    def can_wake(self) -> bool:
        """True once :meth:`wake` reaches the loop."""
        return self._socket is not None

    def wake(self) -> None:
        """End the loop's current wait soon (any thread; never blocks, never raises)."""
        sock = self._socket
        if sock is None:
            return
        # A full send buffer means wake-ups are queued already; a closed socket, stopping.
        with contextlib.suppress(OSError):
            sock.sendto(KEEPALIVE, self._target)

    def wait_ms(self, *, calls_up: bool, commands_waiting: bool, due_in: float | None) -> int:
        """How long the next ``libHandleEvents`` may wait: ``calls_up`` (any live call),
        ``commands_waiting`` (a command is queued), ``due_in`` (seconds to the next deferred
        action, None when none waits)."""
        if commands_waiting or (calls_up and self._socket is None):
            return POLL_MS
        longest = IDLE_POLL_MS if self._socket is None else WOKEN_IDLE_POLL_MS
        if due_in is not None:
            return max(POLL_MS, min(longest, int(due_in * 1000)))
        return longest

    def close(self) -> None:
        """Stop waking (the library is going)."""
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()
