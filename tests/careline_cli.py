# SPDX-License-Identifier: GPL-2.0-or-later
"""Run the real ``careline`` command line in a child process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import ROOT


def careline(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``careline ARGS`` (``python -m console``) from the repository root, output captured.

    The autouse ``isolated_home`` fixture has pointed HOME and the XDG
    directories at a temporary directory, so the config and store the CLI
    resolves are private to the test. ``env`` adds to the inherited variables.
    """
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
