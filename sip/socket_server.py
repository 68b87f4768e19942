# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's per-user Unix socket: mode 0600, same-user peers only, JSON lines.

One thread owns the listener and every client through ``selectors``: no
asyncio, whose import (with ``ssl``) would weigh more than the rest of the
engine's Python. Other threads hand it lines through a queue and a wake-up
socket, as the engine thread does for pjsua2.
"""

from __future__ import annotations

import contextlib
import os
import queue
import selectors
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable

from sip.engine_log import logger
from sip.protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    Event,
    ProtocolError,
    decode,
    encode,
    reply_error,
    utc_now_iso,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

log = logger(__name__)

MAX_CLIENT_BACKLOG = 1 << 20
"""A socket client that lets this many bytes pile up unread is disconnected."""

CLIENT_LINE_LIMIT = 1 << 17
"""A socket client whose line grows past this many bytes with no newline is disconnected."""


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def prepare_socket_path(path: str) -> None:
    """Create the socket's private directory and clear a stale socket file.

    Raises :class:`RuntimeError` if a live engine already answers there.
    """
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISSOCK(mode):
        raise RuntimeError(f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
    else:
        raise RuntimeError(f"an engine is already running at {path}")
    finally:
        probe.close()


class _Client:
    """One attached (or attaching) socket client, owned by the server thread."""

    __slots__ = ("sock", "inbox", "outbox", "attached")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.attached = False


class SocketServer:
    """Serves the protocol on a Unix socket (mode 0600, same-user peers only).

    One thread owns the listener and every client (``selectors``, no asyncio:
    the engine process stays small). Other threads hand it lines through a
    queue and a wake-up socket, as the engine thread does for pjsua2.
    """

    def __init__(
        self, path: str, submit: Callable[[dict[str, Any], Callable[[dict[str, Any]], None]], None]
    ) -> None:
        self.path = path
        self._submit = submit
        self._selector = selectors.DefaultSelector()
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._todo: queue.SimpleQueue[tuple[_Client | None, bytes, bool]] = queue.SimpleQueue()
        self._clients: dict[int, _Client] = {}
        self._attached = 0
        self._stopping = False
        self._listener: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, name="socket-server", daemon=True)
        self._last_client = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since a client was last attached (0 while one is)."""
        now = time.monotonic()
        if self._attached:
            self._last_client = now
        return now - self._last_client

    def start(self) -> None:
        """Bind and listen; raises if the socket cannot be created."""
        prepare_socket_path(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(self.path)
        except BaseException:
            listener.close()
            raise
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        listener.listen(16)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ)
        self._selector.register(self._wake_in, selectors.EVENT_READ)
        self._thread.start()

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send an event to every attached client (any thread)."""
        self._hand_over(None, encode(message))

    def stop(self) -> None:
        """Close every client and the listener, remove the socket file."""
        self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _hand_over(self, client: _Client | None, line: bytes, attach: bool = False) -> None:
        """Queue ``line`` for ``client`` (None: every attached client) from any thread."""
        self._todo.put((client, line, attach))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # already awake, or closed
            self._wake_out.send(b"\0")

    def _run(self) -> None:
        try:
            while not self._stopping:
                for key, mask in self._selector.select():
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is self._wake_in:
                        with contextlib.suppress(BlockingIOError):
                            self._wake_in.recv(4096)
                    else:
                        client = self._clients.get(key.fd)
                        if client is not None and mask & selectors.EVENT_READ:
                            self._read(client)
                        if client is not None and mask & selectors.EVENT_WRITE:
                            self._flush(client)
                self._deliver()
        finally:
            for client in list(self._clients.values()):
                self._drop(client)
            if self._listener is not None:
                self._listener.close()
            self._selector.close()
            self._wake_in.close()
            self._wake_out.close()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if peer_uid(sock) != os.getuid():
            sock.close()
            return
        sock.setblocking(False)
        client = _Client(sock)
        self._clients[sock.fileno()] = client
        self._selector.register(sock, selectors.EVENT_READ)

        def hello(status: dict[str, Any]) -> None:
            # Runs on the engine thread, in order with events: attaching the
            # client here means no event is missed or duplicated after hello.
            message = {
                "type": "event",
                "event": str(Event.HELLO),
                "time": utc_now_iso(),
                "protocol": PROTOCOL_VERSION,
                "status": status.get("result", {}),
            }
            self._hand_over(client, encode(message), attach=True)

        self._submit({"id": "hello", "cmd": "status"}, hello)

    def _read(self, client: _Client) -> None:
        try:
            chunk = client.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client left (a partial last line is dropped with it)
            self._drop(client)
            return
        client.inbox += chunk
        *lines, rest = bytes(client.inbox).split(b"\n")
        client.inbox = bytearray(rest)
        for raw in lines:
            try:
                message = decode(raw)
            except ProtocolError as exc:
                self._queue_line(client, encode(reply_error(None, ErrorCode.BAD_REQUEST, str(exc))))
                continue
            self._submit(message, self._replier(client))
        if len(client.inbox) > CLIENT_LINE_LIMIT:
            log.warning("dropping a client that sent a line too long")
            self._drop(client)

    def _replier(self, client: _Client) -> Callable[[dict[str, Any]], None]:
        """Sends a reply to ``client`` (from the engine thread)."""

        def send(message: dict[str, Any]) -> None:
            self._hand_over(client, encode(message))

        return send

    def _live(self, client: _Client) -> bool:
        return self._clients.get(client.sock.fileno()) is client

    def _deliver(self) -> None:
        """Move what other threads queued into the clients' outboxes."""
        while True:
            try:
                client, line, attach = self._todo.get_nowait()
            except queue.Empty:
                return
            if client is None:
                for each in list(self._clients.values()):
                    if each.attached:
                        self._queue_line(each, line)
            elif self._live(client):
                if attach and not client.attached:
                    client.attached = True
                    self._attached += 1
                self._queue_line(client, line)

    def _queue_line(self, client: _Client, line: bytes) -> None:
        if len(client.outbox) > MAX_CLIENT_BACKLOG:
            log.warning("dropping a client that stopped reading")
            self._drop(client)
            return
        client.outbox += line
        self._flush(client)

    def _flush(self, client: _Client) -> None:
        if not self._live(client):
            return
        try:
            sent = client.sock.send(client.outbox) if client.outbox else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(client)
            return
        del client.outbox[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbox else 0)
        self._selector.modify(client.sock, events)

    def _drop(self, client: _Client) -> None:
        if not self._live(client):
            return
        del self._clients[client.sock.fileno()]
        if client.attached:
            self._attached -= 1
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(client.sock)
        client.sock.close()
