# SPDX-License-Identifier: GPL-2.0-or-later
"""A benchmark stopped with SIGTERM leaves nothing behind.

``make bench`` runs for over an hour, so a person stops a bench that runs too long
(kill, or a CI job's time-out). ``bench.records_campaign`` mounts a tmpfs and starts
consoles, engines and SIPp: stopped halfway it must still unmount its disk, stop its
processes and remove its directory, as it does when it ends on its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import ROOT
from tests.test_demo_tmux import processes_mentioning


def _campaign_mounts(tmp: Path) -> list[str]:
    """The campaign's tmpfs mounts under ``tmp`` (another test's campaign may run too)."""
    with open("/proc/mounts", encoding="utf-8") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(f"{tmp}/")]


def _a_console_is_online(tmp: Path) -> bool:
    """A run's console has journalled ``online`` (bench.records_campaign's steps)."""
    for journal in tmp.glob("careline-campaign-*/run-*/journal"):
        try:
            if "online" in journal.read_text(encoding="utf-8"):
                return True
        except OSError:
            continue
    return False


def test_a_stopped_records_campaign_unmounts_its_disk_and_stops_its_processes() -> None:
    # A short directory of its own: the campaign's consoles put their engine sockets
    # under it, and a socket's path holds at most 107 bytes (pytest's tmp_path is long).
    tmp_path = Path(tempfile.mkdtemp(prefix="cl-stop-", dir="/tmp"))
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.records_campaign", "--quick", "--runs", "3"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        # Stopped once its first call's console is online: the disk is mounted, a
        # console and its engine run.
        while not _a_console_is_online(tmp_path):
            assert bench.poll() is None, bench.communicate()[0].decode(errors="replace")
            assert time.monotonic() < deadline, "the campaign's console never came online"
            time.sleep(0.1)
        assert _campaign_mounts(tmp_path), "the campaign's disk was not mounted"
        assert processes_mentioning(str(tmp_path)), "no console of the campaign runs"
        bench.send_signal(signal.SIGTERM)
        bench.wait(timeout=60)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    left_mounted = _campaign_mounts(tmp_path)
    left_running = processes_mentioning(str(tmp_path))
    left_behind = list(tmp_path.glob("careline-campaign-*"))
    for mount in left_mounted:  # a failing run must not leave the next one a mount
        subprocess.run(["umount", mount], check=False)
    shutil.rmtree(tmp_path, ignore_errors=True)
    assert left_mounted == []
    assert left_running == []
    assert left_behind == []
