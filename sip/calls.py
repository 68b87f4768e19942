# SPDX-License-Identifier: GPL-2.0-or-later
"""Call control: answer, decline, hang up, DTMF, dial, media, capture, and how a call ends.

:class:`CallControl` is owned by :class:`sip.engine.PhoneEngine` and handed
what it needs: the engine's narrow :class:`sip.callbook.EngineHost` view, the
:class:`sip.callbook.CallBook` of live calls and the
:class:`sip.hold.HoldControl`. Transfers are :mod:`sip.transfer`; which calls
ring at all is :mod:`sip.intake`. Everything runs on the engine thread; every
failure becomes a :class:`CommandError` (a typed error reply) or an event,
never an exception into pjsip.
"""

from __future__ import annotations

import contextlib
import re

import pjsua2 as pj

from sip.callbacks import PjCall
from sip.callbook import CallBook, hang_up, new_record_id, outbound_record, require
from sip.dialplan import DialError, DialTarget, asserted_identity, resolve
from sip.engine_log import logger
from sip.hold import HoldControl
from sip.library import PJ_ETOOMANY
from sip.media import Capture, active_audio, stream_codec
from sip.protocol import (
    CallState,
    CommandError,
    EndedBy,
    EndReason,
    ErrorCode,
    Event,
    utc_now_iso,
)
from sip.records import CallRecord
from sip.sipmsg import network_text, parse_name_addr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost

log = logger(__name__)

MAX_CODEC_FACTS = 50
"""Codec facts kept per call; past this, only a codec that changed is recorded."""
_DTMF = re.compile(r"^[0-9*#A-Da-d]{1,64}$")
_REJECT_CODES = (480, 486, 600, 603)

_PJ_STATE = {
    pj.PJSIP_INV_STATE_CALLING: CallState.CALLING,
    pj.PJSIP_INV_STATE_INCOMING: CallState.RINGING,
    pj.PJSIP_INV_STATE_EARLY: CallState.RINGING,
    pj.PJSIP_INV_STATE_CONNECTING: CallState.CONNECTING,
    pj.PJSIP_INV_STATE_CONFIRMED: CallState.ACTIVE,
    pj.PJSIP_INV_STATE_DISCONNECTED: CallState.ENDED,
}


class CallControl:
    """The commands an agent's phone takes on one call, and that call's callbacks."""

    def __init__(self, host: EngineHost, book: CallBook, hold: HoldControl) -> None:
        self._host = host
        self._book = book
        self._hold = hold
        self._captures: dict[str, Capture] = {}

    # --------------------------------------------------------- answer & end
    def answer(self, record: CallRecord) -> None:
        """Answer a ringing inbound call, holding any other talking call first."""
        require(record, CallState.RINGING)
        if record.direction != "inbound":
            raise CommandError(ErrorCode.INVALID_STATE, "only an incoming call can be answered")
        if self._host.settings.hold_on_answer:
            self._hold.hold_talking(except_id=record.id)
        prm = pj.CallOpParam()
        prm.statusCode = 200
        self._book.library_call(record).answer(prm)

    def reject(self, record: CallRecord, code: int) -> None:
        """Decline a ringing inbound call with ``code``."""
        require(record, CallState.RINGING)
        if record.direction != "inbound":
            raise CommandError(ErrorCode.INVALID_STATE, "an outgoing call is ended with hangup")
        record.ended_locally_by = EndedBy.AGENT
        record.reject_code = code
        hang_up(self._book.library_call(record), code)

    def cmd_answer(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``answer`` command."""
        record = self._book.record_for(message)
        self.answer(record)
        return {"call_id": record.id}

    def cmd_reject(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``reject`` command: decline a ringing call (486 unless ``code`` says)."""
        record = self._book.record_for(message)
        code = message.get("code", 486)
        if code not in _REJECT_CODES or isinstance(code, bool):
            raise CommandError(ErrorCode.BAD_REQUEST, "reject code must be 480, 486, 600 or 603")
        self.reject(record, int(code))
        return {"call_id": record.id}

    def cmd_hangup(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``hangup`` command: end any call (a ringing one is declined with 603)."""
        record = self._book.record_for(message)
        if record.state == CallState.RINGING and record.direction == "inbound":
            self.reject(record, 603)
        else:
            self.end_locally(record)
        return {"call_id": record.id}

    def end_locally(self, record: CallRecord) -> None:
        """Hang up a call the agent ends (cancel it if it was never answered)."""
        record.ended_locally_by = EndedBy.AGENT
        hang_up(self._book.library_call(record), 200 if record.answered_at else 487)

    # ------------------------------------------------------------------ DTMF
    def cmd_dtmf(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``dtmf`` command: send digits in the call (RFC 4733 or SIP INFO)."""
        record = self._book.record_for(message)
        require(record, CallState.ACTIVE)
        digits = message.get("digits")
        if not isinstance(digits, str) or not _DTMF.match(digits):
            raise CommandError(ErrorCode.BAD_REQUEST, "digits must be 1-64 of 0-9 * # A-D")
        method = message.get("method", "rfc4733")
        methods = {"rfc4733": pj.PJSUA_DTMF_METHOD_RFC2833, "info": pj.PJSUA_DTMF_METHOD_SIP_INFO}
        if method not in methods:
            raise CommandError(ErrorCode.BAD_REQUEST, "method must be rfc4733 or info")
        prm = pj.CallSendDtmfParam()
        prm.digits = digits.upper()
        prm.method = methods[method]
        prm.duration = 160
        self._book.library_call(record).sendDtmf(prm)
        # The digits may be a patient's identifiers: the timeline keeps only the count.
        record.mark("dtmf_sent", method=method, count=len(digits))
        return {"call_id": record.id, "sent": len(digits)}

    def on_dtmf(self, call: PjCall, digit: str, method: str) -> None:
        """A digit arrived from the remote party."""
        record = self._book.calls.get(call.rid)
        if record is None:
            return
        record.mark("dtmf_received", method=method)
        self._host.emit(Event.CALL_DTMF, call_id=record.id, digit=digit[:1], method=method)

    # ------------------------------------------------------------------ dial
    def target(self, message: dict[str, Any], key: str) -> DialTarget:
        """The number or URI in ``message[key]``, through the dial plan."""
        text = message.get(key)
        if not isinstance(text, str):
            raise CommandError(ErrorCode.BAD_REQUEST, f"this command needs '{key}'")
        settings = self._host.settings
        domain = settings.account.domain if settings.account else ""
        try:
            return resolve(text, settings.dial, domain)
        except DialError as exc:
            raise CommandError(ErrorCode.BAD_NUMBER, str(exc)) from None

    def check_capacity(self) -> None:
        """Raise unless a call can be placed now (checked before anyone is put on hold)."""
        host = self._host
        if host.account is None:
            raise CommandError(ErrorCode.SIP_ERROR, "the phone is not ready")
        if len(self._book.pj_calls) + host.station.live >= host.max_calls:
            raise CommandError(
                ErrorCode.NO_CAPACITY,
                f"all {host.max_calls} call slots are in use: end or decline a call first",
            )

    def place_call(
        self,
        target: DialTarget,
        *,
        consult_for: str | None = None,
        identity: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> CallRecord:
        """Place an outbound call to ``target``; returns its record. ``identity``: a
        ``P-Asserted-Identity`` value (see :func:`sip.dialplan.asserted_identity`);
        ``headers``: more headers for the INVITE (values checked by the caller)."""
        self.check_capacity()
        party = parse_name_addr(target.uri)
        number = target.number if target.kind != "uri" else party.number
        record = outbound_record(target.uri, number, consult_for)
        call = self._book.open(record, pj.PJSUA_INVALID_ID)
        param = pj.CallOpParam(True)
        extra = dict(headers or {})
        if identity is not None:
            extra["P-Asserted-Identity"] = identity
        for name, value in extra.items():
            header = pj.SipHeader()
            header.hName, header.hValue = name, value
            param.txOption.headers.append(header)
        try:
            call.makeCall(target.uri, param)
        except pj.Error as exc:
            del self._book.calls[record.id]
            del self._book.pj_calls[record.id]
            # A failed makeCall leaves an invalid id: the object may be dropped,
            # but no method may be called on it.
            code = ErrorCode.NO_CAPACITY if exc.status == PJ_ETOOMANY else ErrorCode.SIP_ERROR
            raise CommandError(code, f"cannot call {target.uri}: {exc.reason}") from None
        record.mark("dial", target=target.uri)
        self._host.emit(Event.CALL_OUTGOING, call_id=record.id, call=record.snapshot())
        return record

    def call_out(
        self,
        target: DialTarget,
        consult_for: str | None = None,
        identity: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> CallRecord:
        """Place a call the agent asked for, every call they were talking on held first."""
        self.check_capacity()
        self._hold.hold_talking()
        return self.place_call(target, consult_for=consult_for, identity=identity, headers=headers)

    def cmd_dial(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``dial`` command; ``caller_id`` (optional): the number to present."""
        target = self.target(message, "number")
        identity = None
        if message.get("caller_id") is not None:
            try:
                identity = asserted_identity(message["caller_id"], target.uri)
            except DialError as exc:
                raise CommandError(ErrorCode.BAD_REQUEST, str(exc)) from None
        record = self.call_out(target, identity=identity)
        return {"call_id": record.id, "uri": target.uri, "number": target.number}

    def on_replaced(self, call: PjCall, new_pj_id: int) -> PjCall:
        """An INVITE with Replaces took over one of our calls (e.g. a pickup)."""
        old = self._book.calls.get(call.rid)
        assert self._host.account is not None
        new = CallRecord(
            id=new_record_id(),
            direction="inbound",
            remote_name=old.remote_name if old else "",
            remote_number=old.remote_number if old else "",
            remote_uri=old.remote_uri if old else "",
            called_uri=old.called_uri if old else "",
            received_at=utc_now_iso(),
            state=CallState.CONNECTING,
        )
        new.mark("replaced", replaces=call.rid)
        new_call = self._book.open(new, new_pj_id)
        self._host.emit(Event.CALL_REPLACED, call_id=call.rid, new_call=new.snapshot())
        return new_call

    # ------------------------------------------------------------ media state
    def on_media_state(self, call: PjCall) -> bool:
        """Media changed: connect the agent's audio, apply mute, detect remote hold.

        Returns whether the call is now held by our side (a blind transfer's REFER waits
        for that).
        """
        record = self._book.calls.get(call.rid)
        if record is None:
            return False
        record.pending_hold = None  # our re-INVITE (if any) went through
        info = call.getInfo()
        remote_hold = any(
            m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_REMOTE_HOLD
            for m in info.media
        )
        local_held = any(
            m.type == pj.PJMEDIA_TYPE_AUDIO and m.status == pj.PJSUA_CALL_MEDIA_LOCAL_HOLD
            for m in info.media
        )
        self._note_codec(record, call, info)
        audio = active_audio(call)
        agent = self._host.audio
        if agent is not None:
            # Held here (or no audio): cut from the agent, so a held patient
            # never hears the agent's side.
            if audio is not None and not (local_held or record.local_hold):
                agent.attach(record.id, audio)
            else:
                agent.detach(record.id)
        if audio is not None and record.muted:
            audio.adjustRxLevel(0.0)
        if remote_hold != record.remote_hold:
            record.remote_hold = remote_hold
            self._book.fact(
                record,
                Event.CALL_HOLD,
                "remote_hold" if remote_hold else "remote_resume",
                local=record.local_hold,
                remote=remote_hold,
            )
        return local_held

    def _note_codec(self, record: CallRecord, call: PjCall, info: pj.CallInfo) -> None:
        """Keep the codec of every (re-)negotiation: on the call, in its timeline, as an event."""
        codec = stream_codec(call, info)
        if codec is None:
            return
        fact = codec.fact()
        # Every renegotiation is kept, up to a bound: a peer re-offering without
        # end must not grow the timeline (and each event carrying it) without end.
        if record.codec_facts >= MAX_CODEC_FACTS and fact == record.codec:
            return
        record.codec = fact
        record.codec_facts += 1
        self._book.fact(record, Event.CALL_CODEC, "codec", **fact)

    # ----------------------------------------------------------------- capture
    def cmd_capture(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``capture`` command: record the call's audio to a WAV file (tests only)."""
        if not self._host.settings.allow_capture:
            raise CommandError(ErrorCode.NOT_ALLOWED, "capture is off (engine --allow-capture)")
        record = self._book.record_for(message)
        path = message.get("path")
        if not isinstance(path, str) or not path.endswith(".wav"):
            raise CommandError(ErrorCode.BAD_REQUEST, "capture needs a 'path' ending in .wav")
        audio = active_audio(self._book.library_call(record))
        if audio is None:
            raise CommandError(ErrorCode.INVALID_STATE, "the call has no active audio")
        self.release_media(record.id)
        self._captures[record.id] = Capture(audio, path)
        return {"call_id": record.id, "path": path}

    def cmd_capture_stop(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``capture_stop`` command."""
        record = self._book.record_for(message)
        capture = self._captures.pop(record.id, None)
        if capture is None:
            raise CommandError(ErrorCode.INVALID_STATE, "no capture running on this call")
        capture.close()
        return {"call_id": record.id, "path": capture.path}

    def release_media(self, rid: str) -> None:
        """Close a call's capture, if any."""
        capture = self._captures.pop(rid, None)
        if capture is not None:
            capture.close()

    def close_captures(self) -> None:
        """Close every capture (before libDestroy)."""
        for rid in list(self._captures):
            self.release_media(rid)

    # ------------------------------------------------------------ call state
    def on_call_state(self, call: PjCall) -> None:
        """A call's INVITE session changed state."""
        record = self._book.calls.get(call.rid)
        if record is None:
            return
        info = call.getInfo()
        state = _PJ_STATE.get(info.state)
        if state is None:
            return
        if state == CallState.ENDED:
            self.finish(record, int(info.lastStatusCode), network_text(info.lastReason))
            return
        if state == CallState.RINGING and record.direction == "outbound":
            state = CallState.EARLY if int(info.lastStatusCode) == 183 else CallState.RINGING
        if state == record.state:
            return
        record.state = state
        if state == CallState.ACTIVE and record.answered_at is None:
            record.answered_at = utc_now_iso()
            record.mark("answer")
        if record.turned_away:
            return
        self._host.emit(
            Event.CALL_STATE,
            call_id=record.id,
            state=str(state),
            sip_status=int(info.lastStatusCode),
        )

    def finish(self, record: CallRecord, status: int, reason: str) -> None:
        """The call is over: say why and who ended it, drop it from the book."""
        answered = record.answered_at is not None
        ended_by: EndedBy
        why: EndReason
        if record.ended_locally_by is not None:
            ended_by = record.ended_locally_by
            if ended_by == EndedBy.ENGINE:
                why = EndReason.SHUTDOWN
            else:
                why = EndReason.COMPLETED if answered else EndReason.REJECTED
        elif answered and (status < 300 or status == 487):
            ended_by, why = EndedBy.CALLER, EndReason.COMPLETED
        elif not answered and status == 487 and record.direction == "inbound":
            ended_by, why = EndedBy.CALLER, EndReason.CANCELLED
        elif not answered and record.direction == "outbound" and 400 <= status < 700:
            ended_by, why = EndedBy.CALLER, EndReason.REJECTED
        else:
            ended_by, why = EndedBy.NETWORK, EndReason.FAILED
        if record.transfer and record.transfer.get("status") == "succeeded":
            why = EndReason.TRANSFERRED
        if self._book.in_transfer_of_its_original(record):
            # The target ends the consult leg itself once the caller's INVITE with
            # Replaces has taken it over, often before the NOTIFY 200 reaches us.
            ended_by, why = EndedBy.AGENT, EndReason.TRANSFERRED
        if record.reject_code is not None:
            status = record.reject_code
        record.state = CallState.ENDED
        record.ended_at = utc_now_iso()
        record.mark("end", reason=str(why), ended_by=str(ended_by), sip_status=status)
        # The engine's last reference to the library call goes here, inside its
        # DISCONNECTED callback: pjsua2 deletes it as the callback returns, while
        # its slot is still its own. Deleted a turn later, Call::~Call hangs up
        # whatever new call took the slot meanwhile (ghost calls under load).
        pj_call = self._book.pj_calls.pop(record.id, None)
        if pj_call is not None:
            with contextlib.suppress(pj.Error):
                self._book.ended_this_turn.add(network_text(pj_call.getInfo().callIdString))
        self._book.calls.pop(record.id, None)
        self.release_media(record.id)
        if self._host.audio is not None:
            self._host.audio.forget(record.id)
        del pj_call
        if record.turned_away:
            return
        emit = self._host.emit
        emit(Event.CALL_STATE, call_id=record.id, state=str(CallState.ENDED), sip_status=status)
        emit(
            Event.CALL_ENDED,
            call_id=record.id,
            reason=str(why),
            ended_by=str(ended_by),
            sip_status=status,
            sip_reason=reason[:200],
            call=record.snapshot(),
        )
        self._book.unlink(record)
