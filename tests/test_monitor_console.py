"""The agent console's side of monitoring: every supervisor leg is audited (issue 20)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.core.audit import AuditLog
from console.core.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "s.sqlite3")
    yield opened
    await opened.close()


async def test_the_audit_log_takes_monitor_rows_and_its_chain_still_verifies(store: Store) -> None:
    log = AuditLog(store)
    await log.append("agent-7", "monitor", "monitoring", "denied", terminal="refused: expired")
    await log.append("agent-7", "monitor", "monitoring", "ok", terminal="supervisor sam (listen)")
    await log.append("agent-7", "monitor_mode", "monitoring", "ok", terminal="sam (barge)")
    await log.append("agent-7", "monitor_end", "monitoring", "ok", terminal="sam (left)")
    assert (await log.verify()).ok
