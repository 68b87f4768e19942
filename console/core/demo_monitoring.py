# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo's monitoring: ``careline supervise --demo`` listens in on ``careline demo``'s calls.

The demo console accepts grant files from this OS account in the demo's grant
directory; the demo wallboard reads the demo's store (its floor rows name the demo
agent's calls and engine) and writes its grants there. Both on this machine, no hub.
"""

from __future__ import annotations

import os
from pathlib import Path

from console.core.config import CarelineConfig, StoreEncryptionConfig
from console.core.config.monitoring import MonitoringConfig

DEMO_AGENT_ID = "demo-agent"
"""The demo console's agent id."""
DEMO_STORE = "demo.sqlite3"
"""The demo's store, in the data directory."""
DEMO_GRANTS = "demo-monitor"
"""The demo's grant directory, in the data directory."""


def demo_monitoring(data: Path) -> MonitoringConfig:
    """Grants from this OS account in the demo's grant directory (made 0700 if missing)."""
    grants = data / DEMO_GRANTS
    grants.mkdir(mode=0o700, parents=True, exist_ok=True)
    return MonitoringConfig(grant_dir=grants, supervisor_accounts=[str(os.getuid())])


def demo_supervisor(config: CarelineConfig, data: Path) -> CarelineConfig:
    """``config`` turned into the demo wallboard's: the demo store, no hub, demo grants."""
    return config.model_copy(
        update={
            "agent": config.agent.model_copy(update={"id": DEMO_AGENT_ID}),
            "store": config.store.model_copy(
                update={"path": data / DEMO_STORE, "encryption": StoreEncryptionConfig()}
            ),
            "hub": config.hub.model_copy(update={"dsn": ""}),
            "monitoring": demo_monitoring(data),
        }
    )
