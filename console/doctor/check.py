# SPDX-License-Identifier: GPL-2.0-or-later
"""What a check finds, and the facts checks leave for each other."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import field
from datetime import datetime
from typing import Any, Literal

from console.core.config import CarelineConfig
from console.core.records import dataclass

Status = Literal["ok", "warn", "fail", "skip"]

CHILD_TIMEOUT = 30.0
"""Seconds a probe in a child process may take."""


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    """What was checked: ``store``, ``socket``, ``hub``…"""
    status: Status
    """ok, warn, fail, or skip (not applicable here)."""
    detail: str
    """What was found, in words."""
    fix: str = ""
    """What to do about it ('' when nothing)."""


@dataclass
class Findings:
    """Facts one check leaves for a later one."""

    config: CarelineConfig | None = None
    engine_status: dict[str, Any] | None = None
    hub_now: datetime | None = None
    hub_offset: float | None = None
    secrets: list[str] = field(default_factory=list)


async def run_child(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python ARGV`` in a child process, its output captured.

    In a child: only ``sip/`` imports pjsua2, PortAudio can abort the process
    on a broken ALSA configuration, and neither may take the doctor down.
    """
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )
