# SPDX-License-Identifier: GPL-2.0-or-later
"""The supervisor's phone on the wallboard: listen, whisper or barge into an agent's call.

:class:`FloorMonitor` starts the supervisor's own phone engine (headset or
station, as an agent's) only at the first key, so the wallboard starts as fast
without a phone. A key on an agent who is on a call makes a grant for that
agent and call (:class:`GrantMaker`: a local grant file or the hub) and calls the
agent's engine with it; once connected the same keys switch mode (a digit in the
call: 1 listen, 2 whisper, 3 barge) and one key leaves. One leg at a time: the leg
exists (``joining``) from the key on, so a key pressed while the grant is made and
the phone starts only changes the mode it will join in, and ``x`` then stops the
join (a call already placed for it is hung up). In listen mode the
supervisor's microphone is muted at their own engine too: whoever answers that
call hears nothing of the supervisor's room.

Plain asyncio, no Textual: the app calls :meth:`FloorMonitor.join`,
:meth:`FloorMonitor.leave` and shows :meth:`FloorMonitor.status`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from console.core.config import CarelineConfig
from console.core.engine_settings import engine_starter
from console.core.monitor_grants import GRANT_SECONDS, sweep_local_grants, write_local_grant
from console.core.paths import log_dir, socket_path
from console.core.phone import EventHandler, PhoneClient, PhoneError, StatusHandler
from console.core.records import dataclass
from console.core.text import safe_text
from console.floor_view.figures import AgentRow
from sip.monitor_terms import MODE_DIGITS, MODES, MonitorMode

ONLINE_TIMEOUT = 20.0
"""How long the first key waits for the supervisor's engine to come up."""
EARLY_EVENTS = 32
"""At most this many call events are kept for a joining leg (a busy engine's other
calls' events among them); the join replays its own."""
VERBS = {"listen": "Listening to", "whisper": "Whispering to", "barge": "Barged in on"}


class GrantMaker(Protocol):
    """Makes a grant for one agent's call (only a supervisor can)."""

    async def make(self, agent_id: str, call_id: str, modes: tuple[str, ...]) -> str:
        """The new grant's id."""
        ...


class LocalGrantMaker:
    """Grant files in the spool directory, owned by this OS account (one machine, no hub)."""

    def __init__(self, spool: Path, seconds: int = GRANT_SECONDS) -> None:
        self._spool = spool
        self._seconds = seconds

    async def make(self, agent_id: str, call_id: str, modes: tuple[str, ...]) -> str:
        """Write the grant file (this account's stale ones go first); its id."""
        sweep_local_grants(self._spool)
        grant = write_local_grant(
            self._spool, agent_id=agent_id, call_id=call_id, modes=modes, seconds=self._seconds
        )
        return grant.id


class HubGrantMaker:
    """Grants in the hub, made as the supervisor's hub login (``dsn``)."""

    def __init__(self, dsn: str, seconds: int = GRANT_SECONDS) -> None:
        self._dsn = dsn
        self._seconds = seconds

    async def make(self, agent_id: str, call_id: str, modes: tuple[str, ...]) -> str:
        """Insert the grant; its id."""
        import psycopg  # only a wallboard on a hub that monitors loads it

        from console.hub.monitor_grants import make_hub_grant

        async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as conn:
            return await make_hub_grant(
                conn, agent_id=agent_id, call_id=call_id, modes=modes, seconds=self._seconds
            )


PhoneFactory = Callable[[EventHandler, StatusHandler], PhoneClient]
"""Builds the supervisor's (not yet started) phone client with its two callbacks."""


@dataclass
class Leg:
    """The supervisor's call into one agent's call."""

    agent_id: str
    agent_name: str
    call_id: str
    """The leg's id on the supervisor's engine."""
    mode: MonitorMode
    """The mode it is in (while ``joining``: the mode it will join in)."""
    state: str = "calling"
    """``joining`` (grant and phone on the way, no call yet), ``calling``, ``on`` or
    ``ended``."""
    detail: str = ""
    """Why it ended (the agent's engine's reason, e.g. "monitor grant expired")."""
    asked_at: float = 0.0
    """When the key was pressed (monotonic s)."""
    heard_at: float | None = None
    """When the leg's audio started (monotonic s)."""
    stopped: bool = False
    """The supervisor left (``x``) before it was on."""


class MonitorError(Exception):
    """A key could not act (message fit for the supervisor)."""


class FloorMonitor:
    """The supervisor's monitor legs, over a phone engine started at the first use."""

    def __init__(
        self,
        phone: PhoneFactory,
        grants: GrantMaker,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._make_phone = phone
        self.grants = grants
        """Makes each leg's grant (kept public: a test holds it to press keys meanwhile)."""
        self.on_change = on_change
        """Called after every change of :attr:`leg` (the app redraws its line)."""
        self._phone: PhoneClient | None = None
        self._online = asyncio.Event()
        self.offline_detail = ""
        self.leg: Leg | None = None
        """The leg now (or the last one, ended)."""
        self.audio_mode = ""
        """How the supervisor hears (``headset``, ``station``, ``none``), once the phone says."""
        self._early: list[dict[str, Any]] = []
        """Call events read while a leg is joining: the engine's reply to ``monitor`` only
        wakes the join, and the lines read behind it (the leg answered, or refused at once)
        are handed on before the join knows the leg's call id; it replays them."""

    @property
    def started(self) -> bool:
        """Whether the supervisor's phone was started (a key was pressed)."""
        return self._phone is not None

    async def _ready(self) -> PhoneClient:
        first = self._phone is None
        if self._phone is None:
            self._phone = self._make_phone(self._on_event, self._on_status)
            self._phone.start()
        try:
            await asyncio.wait_for(self._online.wait(), ONLINE_TIMEOUT)
        except TimeoutError:
            raise MonitorError(
                f"your phone did not come up: {self.offline_detail or 'no answer'}"
            ) from None
        if first and self.audio_mode == "station":
            # As an agent's console does at sign-in: the engine calls the supervisor's
            # own phone, and every leg is bridged to it once it answers.
            await self._phone.command("station", action="connect")
        return self._phone

    def live(self) -> Leg | None:
        """The leg that is joining, calling or on, if any."""
        return self.leg if self.leg is not None and self.leg.state != "ended" else None

    async def join(self, agent: AgentRow, mode: MonitorMode) -> None:
        """Join ``agent``'s call in ``mode``, or switch to it on the agent already joined
        (while still joining: join in ``mode`` instead)."""
        live = self.live()
        if live is not None:
            if live.agent_id != agent.agent_id:
                raise MonitorError("leave the call you are on first (x)")
            if live.state == "joining":
                live.mode = mode  # the last key wins: no second grant, no second leg
                self.on_change()
                return
            await self.switch(mode)
            return
        if not agent.on_call or not agent.call_id or not agent.contact:
            raise MonitorError("that agent is not on a call careline can join")
        before = self.leg
        # The leg exists before the first await: a key pressed meanwhile finds it.
        leg = Leg(agent.agent_id, agent.name, "", mode, "joining", asked_at=time.monotonic())
        self.leg = leg
        self._early.clear()
        self.on_change()
        try:
            call_id = await self._place(leg, agent)
        except BaseException:
            self._early.clear()
            if self.leg is leg:
                self.leg = before  # nothing was joined: the line says what it said
                self.on_change()
            raise
        early, self._early = self._early, []
        if call_id is None:
            return  # stopped before the call was placed
        leg.call_id = call_id
        if leg.stopped:  # x while the call was being placed: no leg is left behind
            await self._hang_up(leg)
            return
        leg.state = "calling"
        for message in early:
            if message.get("call_id") == call_id:
                self._apply(leg, message)
        self.on_change()

    async def _place(self, leg: Leg, agent: AgentRow) -> str | None:
        """Make the grant, start the phone, call the agent's engine in the leg's mode
        (as it is by then); the call's id, or None when the leg was stopped first."""
        # The grant first: a wallboard that cannot make one starts no phone.
        grant = await self.grants.make(agent.agent_id, agent.call_id, MODES)
        if leg.stopped:
            return None
        phone = await self._ready()
        if leg.stopped:
            return None
        try:
            reply = await phone.command(
                "monitor",
                target=agent.contact,
                grant=grant,
                mode=leg.mode,
                muted=leg.mode == "listen",
            )
        except PhoneError as exc:
            raise MonitorError(f"cannot call the agent's phone: {exc}") from None
        return str(reply["call_id"])

    async def switch(self, mode: MonitorMode) -> None:
        """Press the digit of ``mode`` in the call; the microphone is open unless listening."""
        leg = self.live()
        if leg is None or self._phone is None:
            raise MonitorError("not on a call")
        if leg.state != "on":
            raise MonitorError("still joining: switch once you are on")
        if mode == leg.mode:
            return
        phone = self._phone
        await phone.command("dtmf", call=leg.call_id, digits=MODE_DIGITS[mode])
        await phone.command("mute" if mode == "listen" else "unmute", call=leg.call_id)
        leg.mode = mode
        self.on_change()

    async def leave(self) -> None:
        """Hang up the leg (one key); while still joining, stop the join."""
        leg = self.live()
        if leg is None:
            return
        if leg.state == "joining":
            leg.stopped = True  # the join sees it at its next step
            leg.state = "ended"
            self.on_change()
            return
        await self._hang_up(leg)

    async def _hang_up(self, leg: Leg) -> None:
        if self._phone is None:
            return
        try:
            await self._phone.command("hangup", call=leg.call_id)
        except PhoneError:
            leg.state = "ended"  # gone already
        self.on_change()

    async def close(self) -> None:
        """Stop the supervisor's phone (the wallboard closes)."""
        if self._phone is not None:
            await self._phone.stop()

    def status(self) -> str:
        """One line for the wallboard: what the supervisor is on, or why it ended."""
        leg = self.leg
        if leg is None:
            return ""
        name = safe_text(leg.agent_name, 32)
        if leg.state == "joining":
            return f"Joining {name}'s call to {leg.mode}… (x cancels)"
        if leg.stopped:
            return f"Stopped joining {name}'s call"
        if leg.state == "calling":
            return f"Calling into {name}'s call… (x cancels)"
        if leg.state == "on":
            others = "  ".join(f"{MODE_DIGITS[m]} {m}" for m in MODES if m != leg.mode)
            return f"{VERBS[leg.mode]} {name}  ({others}, x leave)"
        if leg.detail:  # refused: the agent's phone said why
            return f"Could not join {name}'s call: {safe_text(leg.detail, 80)}"
        return f"Left {name}'s call"

    def _on_status(self, status: Any) -> None:
        if status.online:
            self._online.set()
        else:
            self._online.clear()
            self.offline_detail = str(status.detail)[:120]

    def _on_event(self, message: dict[str, Any]) -> None:
        status = message.get("status")
        if message.get("event") == "hello" and isinstance(status, dict):
            audio = status.get("audio")
            self.audio_mode = str(audio.get("mode", "")) if isinstance(audio, dict) else ""
        leg = self.leg
        if leg is not None and not leg.call_id and leg.state == "joining":
            if message.get("call_id"):
                # Perhaps the leg's, read behind the reply: the join replays it.
                self._early = [*self._early[-(EARLY_EVENTS - 1) :], message]
            return
        if leg is None or message.get("call_id") != leg.call_id:
            return
        if self._apply(leg, message):
            self.on_change()

    def _apply(self, leg: Leg, message: dict[str, Any]) -> bool:
        """Move ``leg`` on by one of its call's events; whether it changed."""
        event = message.get("event")
        if event == "call.state" and message.get("state") == "active" and leg.state == "calling":
            leg.state = "on"
        elif event == "call.codec" and leg.heard_at is None:
            leg.heard_at = time.monotonic()  # the leg's audio stream runs
        elif event == "call.ended":
            leg.state = "ended"
            status, reason = message.get("sip_status"), message.get("sip_reason")
            refused = isinstance(status, int) and status >= 400 and leg.heard_at is None
            leg.detail = str(reason)[:120] if refused and isinstance(reason, str) else ""
        else:
            return False
        return True


def floor_monitor(config: CarelineConfig, hub_dsn: str | None) -> FloorMonitor | None:
    """The wallboard's monitor for ``config``: grants in the hub (``hub_dsn``, the
    supervisor's login) or in ``monitoring.grant_dir``; None when neither is set."""
    monitoring = config.monitoring
    grants: GrantMaker
    if hub_dsn:
        grants = HubGrantMaker(hub_dsn, monitoring.grant_seconds)
    elif monitoring.grant_dir is not None:
        grants = LocalGrantMaker(monitoring.grant_dir, monitoring.grant_seconds)
    else:
        return None
    host = config.sip.listen.rpartition(":")[0] or "127.0.0.1"

    def phone(on_event: EventHandler, on_status: StatusHandler) -> PhoneClient:
        # Its own engine on any free port: an agent's engine may run on this machine.
        sock = socket_path("supervise-engine.sock")
        start = engine_starter(
            config,
            socket_path=sock,
            log_path=log_dir() / "supervise-engine.log",
            listen=f"{host}:0",
        )
        return PhoneClient(
            start,
            sock,
            on_event=on_event,
            on_status=on_status,
            stderr_path=log_dir() / "supervise-engine.err",
        )

    return FloorMonitor(phone, grants)
