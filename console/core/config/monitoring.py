# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``monitoring:`` section: who may listen in on this agent's calls, and what the agent sees.

With a hub, grants live in the hub (only a supervisor login can make one). Without
one, a supervisor's console on the same machine writes a grant file into
``grant_dir``; the agent's console accepts it only from one of
``supervisor_accounts`` (see :mod:`console.core.monitor_grants`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from console.core.config.base import Section
from console.core.schema import Field


class MonitoringConfig(Section):
    """Supervisors listening, whispering and barging in on this agent's calls."""

    grant_dir: Path | None = None
    """Where supervisors' local grant files are written and read (one machine, no hub);
    none: local grants are off and every request without a hub is refused."""
    supervisor_accounts: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    """The OS accounts (names or uids) whose grant files are accepted."""
    show_listen: bool = True
    """Show the agent who is listening; false hides listen-only legs from the agent (whisper
    and barge always show; every leg is audited either way)."""
    grant_seconds: Annotated[int, Field(ge=5, le=300)] = 60
    """How long a supervisor's new grant may be used to connect."""
