# SPDX-License-Identifier: GPL-2.0-or-later
"""Running ``careline`` as a real subprocess inside a memory ceiling, measuring its peak.

Hostile-input tests run the CLI with ``RLIMIT_AS`` set, so a runaway parse
ends in that process (a MemoryError) instead of taking the machine's memory,
and with a timeout, so a parse that never ends fails the test instead of
hanging it. The child's own peak resident size comes from ``wait4``.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT

MEMORY_CEILING = 1 << 30
"""Address space a hostile run may use (1 GiB): far above a normal run's needs."""


@dataclass(frozen=True)
class LimitedRun:
    """How one CLI run ended."""

    returncode: int
    stdout: str
    stderr: str
    peak_mib: int
    """Peak resident memory of the CLI process, MiB."""


def _ceilings(file_size_limit: int | None) -> Callable[[], None]:
    def apply() -> None:  # runs in the child, between fork and exec
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CEILING, MEMORY_CEILING))
        if file_size_limit is not None:
            # A write past the limit fails with EFBIG instead of killing the process.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return apply


def run_limited(
    *args: str, tmp_path: Path, timeout: float = 60, file_size_limit: int | None = None
) -> LimitedRun:
    """``python -m console ARGS`` under the memory ceiling; killed (by PID) after ``timeout``.

    ``file_size_limit``: the largest file the run may write (``RLIMIT_FSIZE``), a
    full disk for a store where no small filesystem can be mounted.
    """
    out_path, err_path = tmp_path / "limited.out", tmp_path / "limited.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "console", *args],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=_ceilings(file_size_limit),
        )
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    assert proc.returncode != -9, f"killed after {timeout} s: {stderr[-2000:]}"
    return LimitedRun(proc.returncode, stdout, stderr, usage.ru_maxrss // 1024)
