# SPDX-License-Identifier: GPL-2.0-or-later
"""A real, small file system for tests of a full disk.

:class:`TinyDisk` mounts a tmpfs of a few megabytes (the tests run as root in
CI and here), so SQLite meets a real ``ENOSPC`` — "database or disk is full" —
exactly as on an agent's full disk. :meth:`TinyDisk.fill` takes the rest of the
space with a ballast file and :meth:`TinyDisk.free` gives it back.

Use the ``tiny_disk`` fixture (from ``tests/conftest.py``)::

    async def test_x(tiny_disk: TinyDisk) -> None:
        store = await Store.open(tiny_disk.path / "store.sqlite3")
        tiny_disk.fill()
        ...
        tiny_disk.free()
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path

import pytest

SIZE = "8m"
"""Big enough for a store with its WAL; small enough to fill in a moment."""


class TinyDisk:
    """A mounted tmpfs at ``path``; unmounted by :meth:`unmount`."""

    def __init__(self, path: Path, size: str = SIZE) -> None:
        self.path = path
        if os.geteuid() != 0:
            pytest.fail(
                "the full-disk tests mount a small tmpfs and need root (CI runs as root); "
                "run them with sudo or in the CI container",
                pytrace=False,
            )
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
            check=True,
        )
        self._ballast = path / ".ballast"

    def fill(self) -> None:
        """Take every free byte, so the next write that grows a file fails with ENOSPC."""
        try:
            # Unbuffered: a buffered file would fail again flushing its tail at close.
            ballast_file = self._ballast.open("ab", buffering=0)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                return  # full already
            raise
        with ballast_file as ballast:
            chunk = b"\0" * 65536
            with contextlib.suppress(OSError):
                while True:
                    ballast.write(chunk)
            # Whatever a 64 KiB chunk did not fit, byte by byte.
            for size in (4096, 512, 1):
                try:
                    while True:
                        os.write(ballast.fileno(), b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise

    def free(self) -> None:
        """Give the space back."""
        self._ballast.unlink(missing_ok=True)

    def unmount(self) -> None:
        """Unmount (lazily, so a file a failed test left open cannot block it).

        A tmpfs left mounted outlives the test run (pytest then cannot remove its
        directory), so a failed unmount is tried once more and then fails the test
        with umount's own words.
        """
        for _ in range(2):
            done = subprocess.run(
                ["umount", "-l", str(self.path)], capture_output=True, text=True, check=False
            )
            if not os.path.ismount(self.path):
                return
        pytest.fail(f"the tiny disk at {self.path} stayed mounted: {done.stderr.strip()}")
