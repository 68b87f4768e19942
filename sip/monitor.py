# SPDX-License-Identifier: GPL-2.0-or-later
"""Supervisor monitoring on the agent's engine: listen, whisper and barge legs in its bridge.

A supervisor's engine calls this engine with :data:`sip.monitor_terms.MONITOR_HEADER`.
Such an INVITE is never a patient call: it is not queued, does not ring and is
not answered until the agent's console has checked its grant. The engine tells
the console (``monitor.request``); the console answers ``monitor_accept`` (the
leg is answered and mixed into the bridge) or ``monitor_refuse`` (a SIP error
with a fixed reason phrase). With no answer in :data:`DECISION_SECONDS` the leg
is refused.

Mixing, in pjsua's conference bridge (native, no Python per frame), mirrors
what :class:`sip.agent_audio.AgentAudio` connects for the monitored call:

* listen: the patient (while the agent hears them) and the agent's mouth → the
  supervisor; nothing from the supervisor goes anywhere;
* whisper: also the supervisor → the agent's ear only;
* barge: also the supervisor → the patient.

The agent's hold detaches the patient from the agent, and so from the
supervisor both ways; a transfer or the end of the monitored call ends the
leg. The supervisor switches mode with a digit (1 listen, 2 whisper, 3 barge;
only modes the grant allows) and leaves by hanging up. The supervisor's own
engine places the leg with the ``monitor`` command.

A monitor leg takes one of the library's call slots, and never the last free
one: the agent must always be able to consult a nurse or dial out.
"""

from __future__ import annotations

import contextlib

import pjsua2 as pj

from sip.agent_audio import AgentAudio
from sip.callbacks import PjAccount, PjCall
from sip.callbook import CallBook, hang_up, new_record_id
from sip.calls import CallControl
from sip.engine_log import logger
from sip.media import active_audio
from sip.monitor_terms import (
    DIGIT_MODES,
    MODES,
    MONITOR_HEADER,
    REFUSALS,
    MonitorRequest,
    MonitorRequestError,
    monitor_header,
    parse_monitor_header,
)
from sip.plain import field, plain
from sip.protocol import CallState, CommandError, ErrorCode, Event
from sip.sipmsg import network_text, parse_headers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost
    from sip.monitor_terms import MonitorMode

log = logger(__name__)

MONITOR_RID_PREFIX = "monitor-"
"""The record id of every monitor leg starts so (no patient call's id does)."""
DECISION_SECONDS = 5.0
"""How long a monitor request waits for the console's grant check before it is refused."""
MAX_SUPERVISOR_LABEL = 64
"""Longest supervisor name the console may give a leg (shown to the agent)."""
MAX_ASKING = 2
"""Monitor requests waiting for the console at once; more are refused at once: a flood of
monitor INVITEs must not hold the call slots patients' calls need."""
MAX_LEGS = 4
"""Monitor legs on this engine at once, asking or connected."""

Edge = tuple[pj.AudioMedia, pj.AudioMedia]


def is_monitor(rid: str) -> bool:
    """Whether the record id ``rid`` is a monitor leg's."""
    return rid.startswith(MONITOR_RID_PREFIX)


def monitor_request_in(raw: str) -> str | None:
    """The monitor header's value in a raw INVITE, or None when it is not a monitor request."""
    values = parse_headers(raw).get(MONITOR_HEADER.lower())
    return values[0] if values else None


@plain()
class MonitorLeg:
    """One supervisor's leg into this engine, from request to hang-up."""

    id: str
    request: MonitorRequest | None = None
    """What the INVITE asked for (None when its header was malformed)."""
    state: str = "asking"
    """``asking`` (the console checks the grant), ``answering``, ``connected``, ``ending``."""
    call_id: str = ""
    """The monitored call (set on accept)."""
    mode: MonitorMode = "listen"
    modes: tuple[MonitorMode, ...] = ()
    """The modes the grant allows."""
    supervisor: str = ""
    """Who is on the leg, as the console named them."""
    shown: bool = True
    """Whether the agent is shown this leg (a policy may hide listen; never the audit)."""
    audio: pj.AudioMedia | None = None
    edges: dict[tuple[int, int], Edge] = field(default_factory=dict)
    """Bridge connections made for this leg, by (source, sink) port id."""
    ended_reason: str = ""
    sip_status: int = 0

    def fact(self) -> dict[str, Any]:
        """The leg as a protocol object."""
        return {
            "monitor_id": self.id,
            "call_id": self.call_id,
            "state": self.state,
            "mode": self.mode,
            "modes": list(self.modes),
            "supervisor": self.supervisor,
            "shown": self.shown,
        }


class Monitors:
    """Monitor legs into this engine's calls, and the supervisor's ``monitor`` command."""

    def __init__(self, host: EngineHost, book: CallBook, control: CallControl) -> None:
        self._host = host
        self._book = book
        self._control = control
        self.legs: dict[str, MonitorLeg] = {}

    def follow(self, audio: AgentAudio) -> None:
        """Follow the agent's bridge: every change rewires the legs."""
        audio.watch(self._bridge_changed)

    def facts(self) -> list[dict[str, Any]]:
        """Every leg as a protocol object (for status)."""
        return [leg.fact() for leg in self.legs.values()]

    # ------------------------------------------------------------ requests
    def on_invite(self, account: PjAccount, pj_call_id: int, raw: str) -> bool:
        """A new INVITE: if it is a monitor request, take it (True); else leave it."""
        value = monitor_request_in(raw)
        if value is not None:
            self.on_request(account, pj_call_id, value)
        return value is not None

    def on_request(self, account: PjAccount, pj_call_id: int, value: str) -> None:
        """A monitor INVITE: ask the console about its grant (or refuse it at once)."""
        host = self._host
        rid = MONITOR_RID_PREFIX + new_record_id().replace("-", "")
        call = PjCall(host._callbacks(), account, pj_call_id, rid)
        self._book.pj_calls[rid] = call  # it holds a slot like any call
        leg = MonitorLeg(rid)
        self.legs[rid] = leg
        try:
            leg.request = parse_monitor_header(value)
        except MonitorRequestError:
            self.refuse(leg, "malformed")
            return
        leg.mode = leg.request.mode
        legs = [other for other in self.legs.values() if other.state != "ending"]
        if len(legs) > MAX_LEGS or sum(o.state == "asking" for o in legs) > MAX_ASKING:
            self.refuse(leg, "too_many")  # (this leg is counted: it is asking)
            return
        if not self._slot_free():
            self.refuse(leg, "no_slot")
            return
        host.emit(
            Event.MONITOR_REQUEST, monitor_id=rid, grant=leg.request.grant, mode=leg.request.mode
        )
        host.defer(DECISION_SECONDS, lambda: self._undecided(rid))

    def _slot_free(self) -> bool:
        """Whether a slot is left for the agent once this leg has its own."""
        host = self._host
        station = host.station.live or (host.audio is not None and host.audio.mode == "station")
        return len(self._book.pj_calls) + station + 1 <= host.max_calls

    def _undecided(self, rid: str) -> None:
        leg = self.legs.get(rid)
        if leg is not None and leg.state == "asking":
            self.refuse(leg, "no_decision")

    def on_library_rejected(self, status: int, raw: str) -> bool:
        """pjsua refused an INVITE itself: if it was a monitor request, say so; True then."""
        value = monitor_request_in(raw)
        if value is None:
            return False
        # 486: every slot of the library in use; else e.g. an offer it cannot take (488).
        why = "no_slot" if status == 486 else "library_refused"
        self._host.emit(
            Event.MONITOR_ENDED,
            monitor_id="",
            call_id="",
            mode="",
            supervisor="",
            reason=why,
            refused=True,
            sip_status=status,
        )
        return True

    def refuse(self, leg: MonitorLeg, why: str) -> None:
        """Decline a leg not answered yet, with the SIP status and phrase of ``why``."""
        code, phrase = REFUSALS[why]
        leg.state, leg.ended_reason, leg.sip_status = "ending", why, code
        call = self._book.pj_calls.get(leg.id)
        if call is None:
            return
        prm = pj.CallOpParam()
        prm.statusCode = code
        prm.reason = phrase
        try:
            call.hangup(prm)
        except pj.Error as exc:
            log.warning("could not refuse monitor leg: %s", exc.reason)

    def _asking(self, message: dict[str, Any]) -> MonitorLeg:
        rid = message.get("monitor")
        leg = self.legs.get(rid) if isinstance(rid, str) else None
        if leg is None:
            raise CommandError(ErrorCode.NO_SUCH_CALL, "no such monitor request")
        if leg.state != "asking":
            raise CommandError(ErrorCode.INVALID_STATE, f"the monitor leg is {leg.state}")
        return leg

    def cmd_monitor_accept(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``monitor_accept`` command: the grant holds; answer and mix the leg.

        ``call``: the monitored call; ``modes``: what the grant allows; ``supervisor``:
        who (shown to the agent); ``shown``: false hides a listen-only leg from the agent.
        """
        leg = self._asking(message)
        modes = message.get("modes")
        if (
            not isinstance(modes, list)
            or not modes
            or len(modes) > len(MODES)
            or any(m not in MODES for m in modes)
        ):
            raise CommandError(ErrorCode.BAD_REQUEST, "modes must list listen, whisper, barge")
        supervisor = message.get("supervisor", "")
        if not isinstance(supervisor, str) or len(supervisor) > MAX_SUPERVISOR_LABEL:
            raise CommandError(ErrorCode.BAD_REQUEST, "supervisor must be a short name")
        assert leg.request is not None
        if leg.request.mode not in modes:
            self.refuse(leg, "mode_not_granted")
            raise CommandError(ErrorCode.NOT_ALLOWED, "the grant does not allow that mode")
        record = self._book.calls.get(str(message.get("call")))
        if record is None or record.turned_away or record.state != CallState.ACTIVE:
            self.refuse(leg, "no_call")
            raise CommandError(ErrorCode.NO_SUCH_CALL, "the monitored call is not live")
        leg.call_id = record.id
        leg.modes = tuple(m for m in MODES if m in modes)
        leg.supervisor = network_text(supervisor)
        leg.shown = message.get("shown", True) is not False
        leg.state = "answering"
        prm = pj.CallOpParam()
        prm.statusCode = 200
        self._book.pj_calls[leg.id].answer(prm)
        record.mark("monitor", monitor_id=leg.id, mode=leg.mode)
        return leg.fact()

    def cmd_monitor_refuse(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``monitor_refuse`` command: the grant does not hold (``reason``: why)."""
        leg = self._asking(message)
        why = message.get("reason")
        if not isinstance(why, str) or why not in REFUSALS:
            raise CommandError(ErrorCode.BAD_REQUEST, "reason must be a known refusal")
        self.refuse(leg, why)
        return {"monitor_id": leg.id, "reason": why}

    # ------------------------------------------------------- the supervisor
    def cmd_monitor(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``monitor`` command (a supervisor's engine): call the agent's engine at
        ``target`` with ``grant`` to start in ``mode``; then digits switch, hang-up leaves.
        ``muted``: the supervisor's microphone starts muted (``unmute`` opens it)."""
        target = self._control.target(message, "target")
        grant, mode = message.get("grant"), message.get("mode", "listen")
        try:
            value = monitor_header(str(grant), mode)
        except MonitorRequestError as exc:
            raise CommandError(ErrorCode.BAD_REQUEST, str(exc)) from None
        record = self._control.call_out(target, headers={MONITOR_HEADER: value})
        record.muted = message.get("muted") is True  # applied as its audio comes up
        record.mark("monitor_call", mode=mode)
        return {"call_id": record.id, "uri": target.uri, "mode": mode}

    # ------------------------------------------------------------- the leg
    def on_call_state(self, call: PjCall) -> None:
        """A leg's INVITE session changed state."""
        leg = self.legs.get(call.rid)
        if leg is None:
            return
        info = call.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED and leg.state == "answering":
            leg.state = "connected"
            self._rewire(leg)
            self._host.emit(Event.MONITOR_STATE, **leg.fact())
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            # Released inside its DISCONNECTED callback, as every call (see CallControl.finish).
            self._book.pj_calls.pop(leg.id, None)
            self.legs.pop(leg.id, None)
            leg.edges.clear()  # its port is gone with its connections: touch nothing
            leg.audio = None
            reason = leg.ended_reason or "left"
            status = leg.sip_status or int(info.lastStatusCode)
            self._host.emit(
                Event.MONITOR_ENDED,
                monitor_id=leg.id,
                call_id=leg.call_id,
                mode=leg.mode,
                supervisor=leg.supervisor,
                shown=leg.shown,
                reason=reason,
                refused=reason in REFUSALS,
                sip_status=status,
            )

    def on_media_state(self, call: PjCall) -> None:
        """A leg's audio came up (or was rebuilt): mix it in."""
        leg = self.legs.get(call.rid)
        if leg is None:
            return
        audio = active_audio(call)
        if leg.audio is not None and (audio is None or audio.getPortId() != leg.audio.getPortId()):
            self._unwire(leg)
        leg.audio = audio
        self._rewire(leg)

    def on_dtmf(self, call: PjCall, digit: str) -> bool:
        """A digit: from a supervisor (True), it switches to its mode if the grant allows."""
        if not is_monitor(call.rid):
            return False
        leg = self.legs.get(call.rid)
        mode = DIGIT_MODES.get(digit[:1])
        if leg is None or leg.state != "connected" or mode is None:
            return True
        if mode not in leg.modes:
            log.info("monitor leg asked for a mode its grant does not allow")
            return True
        if mode != leg.mode:
            leg.mode = mode
            self._rewire(leg)
            call_record = self._book.calls.get(leg.call_id)
            if call_record is not None:
                call_record.mark("monitor_mode", monitor_id=leg.id, mode=mode)
            self._host.emit(Event.MONITOR_STATE, **leg.fact())
        return True

    def observe(self, event: Event, payload: dict[str, Any]) -> None:
        """Every engine event: the end or the transfer of a monitored call ends its legs."""
        if event not in (Event.CALL_ENDED, Event.CALL_TRANSFER):
            return
        if event == Event.CALL_TRANSFER and payload.get("status") != "trying":
            return
        why = "call_ended" if event == Event.CALL_ENDED else "transferred"
        for leg in list(self.legs.values()):
            if leg.call_id and leg.call_id == payload.get("call_id"):
                self._end(leg, why)

    def _end(self, leg: MonitorLeg, why: str) -> None:
        if leg.state == "ending":
            return
        leg.state, leg.ended_reason = "ending", why
        self._unwire(leg)
        rid = leg.id
        # Not from inside the callback that ended the patient's call: next turn.
        self._host.defer(0, lambda: self._hang_up(rid))

    def _hang_up(self, rid: str) -> None:
        call = self._book.pj_calls.get(rid)
        if call is not None:
            hang_up(call, 200)

    def end_all(self) -> None:
        """The engine is stopping: refuse every leg still asking; the engine hangs up the
        others with every call."""
        for leg in list(self.legs.values()):
            if leg.state == "asking":
                self.refuse(leg, "no_decision")
            elif leg.state != "ending":
                leg.state, leg.ended_reason = "ending", "shutdown"

    def close(self) -> None:
        """Drop every native reference (before libDestroy)."""
        for leg in self.legs.values():
            leg.edges.clear()
            leg.audio = None
        self.legs.clear()

    # ------------------------------------------------------------ the mix
    def _bridge_changed(self, gone: int | None) -> None:
        for leg in self.legs.values():
            if gone is not None:
                leg.edges = {k: e for k, e in leg.edges.items() if gone not in k}
            self._rewire(leg)

    def _wanted(self, leg: MonitorLeg) -> list[Edge]:
        """The connections ``leg``'s mode asks for, as the agent's bridge stands now."""
        agent = self._host.audio
        sup = leg.audio
        if leg.state != "connected" or sup is None or agent is None:
            return []
        patient = agent.heard(leg.call_id)  # None while held here: cut both ways
        mouth, ear = agent.mouth(), agent.ear()
        edges: list[Edge] = []
        if patient is not None:
            edges.append((patient, sup))
        if mouth is not None:
            edges.append((mouth, sup))
        if leg.mode in ("whisper", "barge") and ear is not None:
            edges.append((sup, ear))
        if leg.mode == "barge" and patient is not None:
            edges.append((sup, patient))
        return edges

    def _rewire(self, leg: MonitorLeg) -> None:
        wanted: dict[tuple[int, int], Edge] = {}
        for source, sink in self._wanted(leg):
            with contextlib.suppress(pj.Error):
                wanted[(source.getPortId(), sink.getPortId())] = (source, sink)
        for key in [key for key in leg.edges if key not in wanted]:
            source, sink = leg.edges.pop(key)
            with contextlib.suppress(pj.Error):
                source.stopTransmit(sink)
        for key, (source, sink) in wanted.items():
            # Always (re)connect: a rebuilt stream port loses its connections,
            # and connecting twice is a no-op.
            try:
                source.startTransmit(sink)
            except pj.Error as exc:
                log.warning("cannot mix monitor audio: %s", exc.reason)
                continue
            leg.edges[key] = (source, sink)

    def _unwire(self, leg: MonitorLeg) -> None:
        for source, sink in leg.edges.values():
            with contextlib.suppress(pj.Error):
                source.stopTransmit(sink)
        leg.edges.clear()
