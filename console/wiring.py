# SPDX-License-Identifier: GPL-2.0-or-later
"""Where the console finds its engine and its store: resolved by the launcher, handed
to the app (:mod:`console.app`) and to what prepares its start (:mod:`console.startup`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from console.core.records import dataclass

if TYPE_CHECKING:
    from console.core.phone import EngineCommand
    from console.core.store import StoreKey


@dataclass(frozen=True, slots=True)
class AppWiring:
    """Where the app finds its engine and store (resolved by the launcher)."""

    engine_argv: EngineCommand
    socket_path: Path
    store_path: Path
    engine_stderr: Path | None = None
    store_key: StoreKey | None = None
    """Key of an encrypted store; None: plain SQLite."""
    local_scheduling: bool = False
    """Book, request refills and read pending tests in the store's own tables (the demo)
    instead of through the EHR link."""
