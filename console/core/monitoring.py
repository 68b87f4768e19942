# SPDX-License-Identifier: GPL-2.0-or-later
"""The supervisors on this agent's calls: each request decided, each leg shown and audited.

:class:`MonitorDesk` is the agent console's side of monitoring (plain Python; the
controller on the agent screen feeds it engine events). A ``monitor.request`` is
decided by the grant book (local grant files, or the hub): accepted with the
grant's call, modes and supervisor, or refused with the reason. Every decision,
mode switch and end is an audit row in category ``monitoring`` — a leg the
policy hides from the agent (``monitoring.show_listen: false`` hides listen) is
audited all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from console.core.audit import Action, AuditLog, Outcome
from console.core.config import SipConfig
from console.core.monitor_events import (
    MonitorChanged,
    MonitorEnded,
    MonitorRequested,
    decode_monitor,
)
from console.core.monitor_grants import GrantRefusedError, MonitorGrant
from console.core.records import dataclass
from console.core.text import safe_text

log = logging.getLogger(__name__)

VERBS = {"listen": "listening", "whisper": "whispering", "barge": "barging in"}
"""How the agent is told what a supervisor does."""

Command = Callable[..., Awaitable[dict[str, Any]]]
"""Sends one engine command: ``command(name, **args)``, its result back."""


def agent_contact(sip: SipConfig, listen: str) -> str:
    """The SIP URI a supervisor's engine calls to reach this agent's engine: the account's
    address-of-record (the PBX routes it), else the engine's listen address (``listen``,
    as the engine reports it; the configured one until then); "" when unknown."""
    if sip.account is not None:
        return f"sip:{sip.account.user}@{sip.account.domain}"
    where = listen or sip.listen
    return "" if not where or where.endswith(":0") else f"sip:agent@{where}"


class GrantBook(Protocol):
    """Where grants are checked: local grant files or the hub."""

    async def verify(self, grant_id: str, mode: str, live_calls: Collection[str]) -> MonitorGrant:
        """The grant if it lets its supervisor join one of ``live_calls`` in ``mode`` now
        (then it is used up); :class:`GrantRefusedError` otherwise."""
        ...


@dataclass(frozen=True, slots=True)
class OnCall:
    """A supervisor on one of the agent's calls, as the agent may see them."""

    monitor_id: str
    call_id: str
    supervisor: str
    mode: str
    shown: bool


class MonitorDesk:
    """Decides monitor requests, keeps who is on the agent's calls, audits it all."""

    def __init__(
        self,
        grants: GrantBook | None,
        audit: AuditLog,
        agent_id: str,
        *,
        show_listen: bool = True,
    ) -> None:
        self._grants = grants
        self._audit = audit
        self._agent_id = agent_id
        self._show_listen = show_listen
        self.on_call: dict[str, OnCall] = {}
        """Every supervisor connected now, by leg."""
        self._pending: dict[str, MonitorGrant] = {}
        """Accepted legs not connected yet: their grant."""

    async def decide(
        self, request: MonitorRequested, live_calls: Collection[str], command: Command
    ) -> str | None:
        """Check the request's grant and tell the engine; the refusal reason, or None."""
        why: str | None = None
        grant: MonitorGrant | None = None
        if self._grants is None:
            why = "unknown_grant"  # monitoring is not set up here: nobody may listen
        else:
            try:
                grant = await self._grants.verify(request.grant, request.mode, live_calls)
            except GrantRefusedError as refused:
                why = refused.reason
        if grant is None:
            why = why or "unknown_grant"
            await command("monitor_refuse", monitor=request.monitor_id, reason=why)
            await self._note("monitor", "denied", f"refused: {why}")
            return why
        shown = request.mode != "listen" or self._show_listen
        await command(
            "monitor_accept",
            monitor=request.monitor_id,
            call=grant.call_id,
            modes=list(grant.modes),
            supervisor=grant.supervisor[:64],
            shown=shown,
        )
        self._pending[request.monitor_id] = grant
        await self._note("monitor", "ok", f"{grant.supervisor} ({request.mode})")
        return None

    async def apply(self, event: MonitorChanged | MonitorEnded) -> None:
        """A leg connected, switched mode, or ended: keep it and audit it."""
        if isinstance(event, MonitorChanged):
            before = self.on_call.get(event.monitor_id)
            shown = event.mode != "listen" or self._show_listen
            self.on_call[event.monitor_id] = OnCall(
                event.monitor_id, event.call_id, event.supervisor, event.mode, shown
            )
            self._pending.pop(event.monitor_id, None)
            if before is not None and before.mode != event.mode:
                await self._note("monitor_mode", "ok", f"{event.supervisor} ({event.mode})")
            return
        was = self.on_call.pop(event.monitor_id, None)
        self._pending.pop(event.monitor_id, None)
        if event.refused:
            if not event.monitor_id:  # refused by the phone itself: never decided here
                await self._note("monitor", "denied", f"refused: {event.reason}")
            return
        if was is not None:
            await self._note("monitor_end", "ok", f"{was.supervisor} ({event.reason})")

    def restore(self, facts: object) -> None:
        """Who is on, from the engine's ``status`` (``monitors``) after the console
        (re)connected: rebuilt as it is, nothing audited again (it was, when it began)."""
        self.on_call.clear()
        for fact in facts if isinstance(facts, list) else []:
            if not isinstance(fact, dict) or fact.get("state") != "connected":
                continue
            leg = decode_monitor("monitor.state", fact, {"name": "monitor.state"})
            if isinstance(leg, MonitorChanged) and leg.monitor_id:
                shown = leg.mode != "listen" or self._show_listen
                self.on_call[leg.monitor_id] = OnCall(
                    leg.monitor_id, leg.call_id, leg.supervisor, leg.mode, shown
                )

    def label(self) -> str:
        """Who is on the agent's calls, for the status line ("" when nobody is shown)."""
        shown = [leg for leg in self.on_call.values() if leg.shown]
        return " · ".join(
            f"{safe_text(leg.supervisor, 32) or 'a supervisor'} {VERBS.get(leg.mode, leg.mode)}"
            for leg in shown
        )

    async def _note(self, action: Action, outcome: Outcome, what: str) -> None:
        # Who and how go where the row says from where: the supervisor and the mode
        # or the refusal; never the patient (the call's id is the engine's, not kept).
        try:
            await self._audit.append(
                self._agent_id, action, "monitoring", outcome, terminal=f"monitor: {what}"[:200]
            )
        except Exception:
            log.exception("could not audit a monitor leg")
