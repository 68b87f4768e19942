# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's Unix socket: permissions, hello, same-user only, orphan exit."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from console.core.phone import engine_command
from tests.support import ROOT, free_udp_port, stop_process


def engine_argv(sock: Path, log: Path, *extra: str) -> list[str]:
    """The console's own engine command line, on a free port."""
    listen = f"127.0.0.1:{free_udp_port()}"
    return [*engine_command(socket_path=sock, listen=listen, log_path=log), *extra]


def start_engine(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    sock = tmp_path / "run" / "engine.sock"
    proc = subprocess.Popen(
        engine_argv(sock, tmp_path / "e.log", *extra),
        cwd=ROOT,
    )
    deadline = time.monotonic() + 15
    while not sock.exists():
        assert proc.poll() is None, "engine died"
        assert time.monotonic() < deadline, "no socket"
        time.sleep(0.05)
    return proc, sock


def read_line(lines: BinaryIO) -> dict[str, object]:
    """The next protocol line from the engine, parsed."""
    line = lines.readline()
    assert line.endswith(b"\n"), f"the engine closed the socket mid-line: {line!r}"
    return dict(json.loads(line))


def test_socket_is_private_and_greets_with_hello(tmp_path: Path) -> None:
    proc, sock = start_engine(tmp_path)
    try:
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(5)
            conn.connect(str(sock))
            lines = conn.makefile("rb")
            hello = read_line(lines)
            assert hello["event"] == "hello"
            assert hello["protocol"] == 1
            conn.sendall(b'{"id":"1","cmd":"ping"}\n')
            assert read_line(lines) == {
                "type": "reply",
                "id": "1",
                "ok": True,
                "result": {"pong": True},
            }
            conn.sendall(b"not json\n")
            assert read_line(lines)["ok"] is False
    finally:
        assert stop_process(proc) == 0
    assert not sock.exists()


def test_another_user_is_refused() -> None:
    if os.getuid() != 0:
        raise AssertionError("this test runs as root (CI does) to impersonate another user")
    # Under /tmp so that another user can reach the path at all; then open the
    # path up, to prove that the peer-uid check (not only the mode) refuses.
    base = Path(tempfile.mkdtemp(prefix="careline-uid-"))
    proc, sock = start_engine(base)
    try:
        os.chmod(base, 0o711)
        os.chmod(sock.parent, 0o711)
        os.chmod(sock, 0o666)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: become nobody, connect, report what the engine sent
            try:
                os.setgid(65534)
                os.setuid(65534)
                with socket.socket(socket.AF_UNIX) as conn:
                    conn.settimeout(5)
                    conn.connect(str(sock))
                    os.write(write_end, b"connected:" + conn.recv(100))
            except BaseException as exc:
                os.write(write_end, repr(exc).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as pipe:
            outcome = pipe.read()
        assert outcome == b"connected:", outcome  # accepted, then closed without a hello
    finally:
        stop_process(proc)
        shutil.rmtree(base, ignore_errors=True)


def test_orphaned_engine_exits_by_itself(tmp_path: Path) -> None:
    proc, _ = start_engine(tmp_path, "--orphan-exit", "1")
    assert proc.wait(15) == 0


def test_second_engine_on_the_same_socket_is_refused(tmp_path: Path) -> None:
    proc, sock = start_engine(tmp_path)
    try:
        second = subprocess.run(
            engine_argv(sock, tmp_path / "e2.log"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 2
        assert "an engine is already running at" in second.stderr
    finally:
        stop_process(proc)
