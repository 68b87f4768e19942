# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's monitoring events, typed (``monitor.request``, ``monitor.state``,
``monitor.ended``: see ``docs/engine-protocol.md``); part of :data:`console.core.events.AnyEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from console.core.records import dataclass
from sip.monitor_terms import MODES

MONITOR_EVENTS = ("monitor.request", "monitor.state", "monitor.ended")
"""The events this module decodes."""
MAX_TEXT = 128
"""Longest id or name kept from a monitoring event."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorEvent:
    """What every monitoring event carries (the fields of ``EngineEvent``, and the leg)."""

    name: str
    time_text: str = ""
    time: datetime | None = None
    monitor_id: str = ""
    """The leg on the agent's engine ("" for one the phone library refused itself)."""
    mode: str = ""
    """``listen``, ``whisper`` or ``barge`` ("" when unknown)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorRequested(MonitorEvent):
    """A supervisor asks to join: the console checks the grant, then accepts or refuses."""

    grant: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorChanged(MonitorEvent):
    """A leg connected, or its supervisor switched mode."""

    call_id: str = ""
    supervisor: str = ""
    modes: tuple[str, ...] = ()
    shown: bool = True
    """False: a listen-only leg the policy hides from the agent (never from the audit)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorEnded(MonitorEvent):
    """A leg is gone: refused (``reason`` a refusal key), left, or ended with its call."""

    call_id: str = ""
    supervisor: str = ""
    shown: bool = True
    reason: str = ""
    refused: bool = False
    sip_status: int = 0


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _mode(raw: Mapping[str, Any]) -> str:
    mode = raw.get("mode")
    return mode if isinstance(mode, str) and mode in MODES else ""


def decode_monitor(
    name: str, raw: Mapping[str, Any], base: dict[str, Any]
) -> MonitorRequested | MonitorChanged | MonitorEnded:
    """The typed event for a ``monitor.*`` event (``base``: name and times)."""
    monitor_id, mode = _text(raw, "monitor_id"), _mode(raw)
    if name == "monitor.request":
        return MonitorRequested(**base, monitor_id=monitor_id, mode=mode, grant=_text(raw, "grant"))
    call_id, supervisor = _text(raw, "call_id"), _text(raw, "supervisor")
    shown = raw.get("shown", True) is not False
    if name == "monitor.state":
        modes = raw.get("modes")
        return MonitorChanged(
            **base,
            monitor_id=monitor_id,
            mode=mode,
            call_id=call_id,
            supervisor=supervisor,
            modes=tuple(m for m in MODES if isinstance(modes, list) and m in modes),
            shown=shown,
        )
    status = raw.get("sip_status")
    return MonitorEnded(
        **base,
        monitor_id=monitor_id,
        mode=mode,
        call_id=call_id,
        supervisor=supervisor,
        shown=shown,
        reason=_text(raw, "reason"),
        refused=raw.get("refused") is True,
        sip_status=status if isinstance(status, int) and not isinstance(status, bool) else 0,
    )
