# SPDX-License-Identifier: GPL-2.0-or-later
"""Rendering with 4 calls in the queue and the clock ticking: frames drawn per second, CPU.

The console runs in a pseudo-terminal (160×48) with its real engine; SIPp
rings 4 calls at it (queue capacity raised to 4). Frames are counted as
bursts of terminal output (writes separated by more than 4 ms), bytes too;
CPU is the console process's utime+stime over the window. Baseline, same run:
the same console idle before the calls arrive.
Run: .venv/bin/python -m bench.render_rate [--runs 5] [--window 10]
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from bench.common import bench_parser, cpu_seconds, isolated_home, report_columns
from tests.support import Sipp, free_udp_port

GAP = 0.004
"""Output closer together than this belongs to the same frame."""


class Terminal:
    """A console process on a pty, with its output counted in frames and bytes."""

    def __init__(self, env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # child: become the console
            os.execve(sys.executable, [sys.executable, "-m", "console", "run"], env)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        self.frames = 0
        self.bytes = 0
        self._last = 0.0
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            now = time.monotonic()
            if now - self._last > GAP:
                self.frames += 1
            self._last = now
            self.bytes += len(chunk)

    def window(self, seconds: float) -> tuple[float, float, float]:
        """(frames/s, KiB/s, CPU %) over the next ``seconds``."""
        frames, sent, cpu = self.frames, self.bytes, cpu_seconds(self.pid)
        time.sleep(seconds)
        return (
            (self.frames - frames) / seconds,
            (self.bytes - sent) / 1024 / seconds,
            (cpu_seconds(self.pid) - cpu) / seconds * 100,
        )

    def keys(self, text: str) -> None:
        """Type into the console."""
        os.write(self.fd, text.encode())

    def close(self) -> None:
        """Quit (confirming), then make sure the process is gone, by PID."""
        self.keys("q")
        time.sleep(0.5)
        self.keys("y")
        deadline = time.monotonic() + 10
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:  # it did not quit: killed, and reaped
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.1)
        self._stop = True
        self._thread.join(1)
        os.close(self.fd)


def decline_all(terminal: Terminal, sipp: Sipp, timeout: float = 20.0) -> None:
    """Press ``d`` until SIPp's four callers are all refused (486) and it exits 0.

    One key at a time, a moment apart: ``d`` refuses the selected (or longest waiting)
    ringing call, which stays on screen until the engine's event says it ended, so
    four keys typed at once would refuse that same call four times."""
    deadline = time.monotonic() + timeout
    while sipp.proc.poll() is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the ringing calls were not all declined: {sipp.report()}")
        terminal.keys("d")
        time.sleep(0.3)
    if sipp.wait() != 0:
        raise RuntimeError(f"SIPp's callers were not refused as scripted: {sipp.report()}")


def one_run(window: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(idle, four ringing calls) measurements for one console."""
    port = free_udp_port()
    with isolated_home() as env, tempfile.TemporaryDirectory() as tmp:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_SIP__QUEUE_CAPACITY"] = "4"
        env["CARELINE_UI__BELL"] = "false"
        env["CARELINE_ENGINE__ORPHAN_EXIT"] = "5"
        terminal = Terminal(env)
        try:
            time.sleep(4)  # started, engine online, first frames drawn
            idle = terminal.window(window)
            sipp = Sipp(Path(tmp), "uac_ring.xml", port, calls=4, concurrent=4)
            time.sleep(2)
            busy = terminal.window(window)
            decline_all(terminal, sipp)
            return idle, busy
        finally:
            terminal.close()


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__, window=10.0).options()
    runs = [one_run(args.window) for _ in range(args.runs)]
    names = [("frames drawn", "fps"), ("terminal output", "KiB/s"), ("console CPU", "%")]
    figures = [(f"{name}, 4 ringing calls + clock", unit) for name, unit in names]
    report_columns(figures, [busy for _, busy in runs], [idle for idle, _ in runs], "idle console")


if __name__ == "__main__":
    main()
