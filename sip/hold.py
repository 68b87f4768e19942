# SPDX-License-Identifier: GPL-2.0-or-later
"""Hold, resume and mute: what the agent does to a call they are on.

Holding cuts the agent's audio from the call at once and re-INVITEs the far end
(``a=sendonly``); a re-INVITE that fails or is refused puts back the state the
call is really in. Everything runs on the engine thread.
"""

from __future__ import annotations

import time

import pjsua2 as pj

from sip.callbacks import PjCall
from sip.callbook import CallBook, require
from sip.engine_log import logger
from sip.media import active_audio
from sip.protocol import CallState, CommandError, ErrorCode, Event
from sip.records import CallRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost

log = logger(__name__)

REINVITE_RETRY_SECONDS = 3.0
"""How long a hold/resume waits for a pending INVITE transaction on the same call."""


class HoldControl:
    """Puts calls on hold and back, mutes and unmutes the agent on a call."""

    def __init__(self, host: EngineHost, book: CallBook) -> None:
        self._host = host
        self._book = book

    def hold(self, record: CallRecord) -> None:
        """Put an answered call on hold (re-INVITE a=sendonly)."""
        require(record, CallState.ACTIVE)
        if record.local_hold:
            return
        record.local_hold = True
        # Cut the agent off now, not when the re-INVITE is answered: the next
        # call's greeting (verification, names) must not reach the held patient.
        if self._host.audio is not None:
            self._host.audio.detach(record.id)
        self._send_hold(record.id, True, time.monotonic() + REINVITE_RETRY_SECONDS)
        self._book.fact(record, Event.CALL_HOLD, "hold", local=True, remote=record.remote_hold)

    def resume(self, record: CallRecord) -> None:
        """Take a call off hold (re-INVITE a=sendrecv)."""
        require(record, CallState.ACTIVE)
        if not record.local_hold:
            return
        record.local_hold = False
        self._send_hold(record.id, False, time.monotonic() + REINVITE_RETRY_SECONDS)
        self._book.fact(record, Event.CALL_HOLD, "resume", local=False, remote=record.remote_hold)

    def hold_talking(self, except_id: str | None = None) -> None:
        """Hold every call the agent is talking on (but ``except_id``)."""
        for other in list(self._book.calls.values()):
            if other.id != except_id and other.state == CallState.ACTIVE and not other.local_hold:
                self.hold(other)

    def _send_hold(self, rid: str, hold: bool, give_up_at: float) -> None:
        """Send the hold or resume re-INVITE; while another INVITE transaction is
        still pending on the dialog (a quick swap), try again shortly."""
        record = self._book.calls.get(rid)
        call = self._book.pj_calls.get(rid)
        if record is None or call is None or record.local_hold != hold:
            return  # ended, or the agent changed their mind meanwhile
        record.pending_hold = hold
        try:
            if hold:
                call.setHold(pj.CallOpParam())
            else:
                # CallOpParam(True): default call settings (one audio stream). A bare
                # CallOpParam() with a flag set means "zero audio streams": port 0.
                prm = pj.CallOpParam(True)
                prm.opt.flag |= pj.PJSUA_CALL_UNHOLD
                call.reinvite(prm)
        except pj.Error as exc:
            if time.monotonic() < give_up_at:
                self._host.defer(0.1, lambda: self._send_hold(rid, hold, give_up_at))
                return
            self._hold_failed(record, hold, str(exc.reason))

    def cmd_hold(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``hold`` command."""
        record = self._book.record_for(message)
        if record.local_hold:
            raise CommandError(ErrorCode.INVALID_STATE, "the call is already on hold")
        self.hold(record)
        return {"call_id": record.id}

    def cmd_resume(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``resume`` command: the agent talks on this call, every other one is held."""
        record = self._book.record_for(message)
        if not record.local_hold:
            raise CommandError(ErrorCode.INVALID_STATE, "the call is not on hold")
        self.hold_talking(except_id=record.id)
        self.resume(record)
        return {"call_id": record.id}

    def on_reinvite_failed(self, call: PjCall, status: int, reason: str) -> None:
        """The far end refused one of our re-INVITEs: undo the hold state we showed."""
        record = self._book.calls.get(call.rid)
        if record is None or record.pending_hold is None:
            return
        wanted = record.pending_hold
        record.pending_hold = None
        verb = "hold" if wanted else "resume"
        self._hold_failed(record, wanted, f"the far end refused the {verb} ({status} {reason})")

    def _hold_failed(self, record: CallRecord, wanted: bool, detail: str) -> None:
        """A hold or resume did not happen: show the state the call is really in."""
        record.local_hold = not wanted
        call = self._book.pj_calls.get(record.id)
        audio = active_audio(call) if call is not None else None
        if wanted and audio is not None and self._host.audio is not None:
            self._host.audio.attach(record.id, audio)  # still talking: reconnect the agent
        self._book.fact(
            record,
            Event.CALL_HOLD,
            "hold_failed",
            local=record.local_hold,
            remote=record.remote_hold,
            detail=detail[:200],
        )

    # ------------------------------------------------------------------ mute
    def _set_mute(self, record: CallRecord, muted: bool) -> None:
        require(record, CallState.ACTIVE, CallState.CONNECTING, CallState.EARLY)
        record.muted = muted
        audio = active_audio(self._book.library_call(record))
        if audio is not None:
            # The level of what the bridge sends into the call: 0 mutes the agent.
            audio.adjustRxLevel(0.0 if muted else 1.0)
        record.mark("mute" if muted else "unmute")
        self._host.emit(Event.CALL_MUTE, call_id=record.id, muted=muted)

    def cmd_mute(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``mute`` command: the far end stops hearing the agent."""
        return self._mute_command(message, True)

    def cmd_unmute(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``unmute`` command."""
        return self._mute_command(message, False)

    def _mute_command(self, message: dict[str, Any], muted: bool) -> dict[str, Any]:
        record = self._book.record_for(message)
        self._set_mute(record, muted)
        return {"call_id": record.id, "muted": muted}
