"""Call control: the commands an agent's phone takes, and the call callbacks.

:class:`CallControl` is the part of :class:`sip.engine.PhoneEngine` that acts
on calls: answer, reject, hang up, hold/resume, mute, DTMF, dial, blind and
attended transfer, availability and capture. Everything runs on the engine
thread; every failure becomes a :class:`CommandError` (a typed error reply)
or an event, never an exception into pjsip.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pjsua2 as pj

from sip.agent_audio import AgentAudio
from sip.callbacks import EngineCallbacks, PjAccount, PjCall
from sip.dialplan import DialError, DialTarget, resolve
from sip.library import PJ_ETOOMANY
from sip.media import Capture, active_audio, stream_codec
from sip.protocol import (
    Availability,
    CallState,
    Command,
    CommandError,
    EndedBy,
    ErrorCode,
    Event,
    utc_now_iso,
)
from sip.records import CallRecord
from sip.settings import EngineSettings
from sip.sipmsg import parse_name_addr
from sip.station import STATION_RID, StationLeg

if TYPE_CHECKING:
    from sip.protocol import Event as EventType

log = logging.getLogger(__name__)

TRANSFER_TIMEOUT = 45.0
"""Seconds a transfer may stay without a final NOTIFY before the caller is taken back."""
REINVITE_RETRY_SECONDS = 3.0
"""How long a hold/resume waits for a pending INVITE transaction on the same call."""
MAX_CODEC_FACTS = 50
"""Codec facts kept per call; past this, only a codec that changed is recorded."""
HOLD_SETTLE_TIMEOUT = 2.0
"""Seconds to wait for the hold re-INVITE before sending a blind REFER anyway."""
_DTMF = re.compile(r"^[0-9*#A-Da-d]{1,64}$")
_REJECT_CODES = (480, 486, 600, 603)

Handler = Callable[["CallControl", dict[str, Any]], dict[str, Any]]


class CallControl:
    """Call commands and call callbacks (mixed into the engine).

    It implements the call half of :class:`sip.callbacks.EngineCallbacks`.
    """

    settings: EngineSettings
    calls: dict[str, CallRecord]
    pj_calls: dict[str, PjCall]
    account: PjAccount | None
    audio: AgentAudio | None
    station: StationLeg
    max_calls: int
    availability: Availability
    availability_reason: str
    availability_since: str
    registration: dict[str, Any]
    _captures: dict[str, Capture]

    # Provided by the engine.
    def emit(self, event: EventType, **payload: Any) -> None:
        raise NotImplementedError

    def defer(self, delay: float, action: Callable[[], None]) -> None:
        raise NotImplementedError

    def record_for(self, message: dict[str, Any], key: str = "call") -> CallRecord:
        raise NotImplementedError

    def new_record_id(self) -> str:
        raise NotImplementedError

    def availability_fact(self) -> dict[str, Any]:
        raise NotImplementedError

    def _callbacks(self) -> EngineCallbacks:
        # The engine that mixes this class in implements the rest of the protocol.
        return cast("EngineCallbacks", self)

    # --------------------------------------------------------------- dispatch
    def dispatch(self, command: Command, message: dict[str, Any]) -> dict[str, Any]:
        """Run one call-related command; returns its result."""
        handler = _HANDLERS.get(command)
        if handler is None:
            raise CommandError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {command!r}")
        return handler(self, message)

    # ------------------------------------------------------------ primitives
    def hangup_pj(self, call: PjCall, code: int) -> None:
        """Hang up (or decline with ``code``) without raising."""
        if call.getId() < 0:
            return  # never placed: nothing to hang up (and pjsua would assert)
        prm = pj.CallOpParam()
        prm.statusCode = code
        try:
            call.hangup(prm)
        except pj.Error as exc:
            log.warning("hangup failed: %s", exc.reason)

    def _pj(self, record: CallRecord) -> PjCall:
        call = self.pj_calls.get(record.id)
        if call is None:
            raise CommandError(ErrorCode.NO_SUCH_CALL, f"no live call {record.id}")
        return call

    def _require(self, record: CallRecord, *states: CallState) -> None:
        if record.state not in states:
            wanted = " or ".join(str(s) for s in states)
            raise CommandError(ErrorCode.INVALID_STATE, f"call is {record.state}, not {wanted}")

    def _fact(self, record: CallRecord, event: EventType, fact: str, **details: Any) -> None:
        record.mark(fact, **details)
        self.emit(event, call_id=record.id, **details, call=record.snapshot())

    # --------------------------------------------------------- answer & end
    def answer(self, record: CallRecord) -> None:
        """Answer a ringing inbound call, holding any other talking call first."""
        self._require(record, CallState.RINGING)
        if record.direction != "inbound":
            raise CommandError(ErrorCode.INVALID_STATE, "only an incoming call can be answered")
        if self.settings.hold_on_answer:
            self._hold_talking(except_id=record.id)
        prm = pj.CallOpParam()
        prm.statusCode = 200
        self._pj(record).answer(prm)

    def reject(self, record: CallRecord, code: int) -> None:
        """Decline a ringing inbound call with ``code``."""
        self._require(record, CallState.RINGING)
        if record.direction != "inbound":
            raise CommandError(ErrorCode.INVALID_STATE, "an outgoing call is ended with hangup")
        record.ended_locally_by = EndedBy.AGENT
        record.reject_code = code
        self.hangup_pj(self._pj(record), code)

    def _cmd_answer(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        self.answer(record)
        return {"call_id": record.id}

    def _cmd_reject(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        code = message.get("code", 486)
        if code not in _REJECT_CODES or isinstance(code, bool):
            raise CommandError(ErrorCode.BAD_REQUEST, "reject code must be 480, 486, 600 or 603")
        self.reject(record, int(code))
        return {"call_id": record.id}

    def _cmd_hangup(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        if record.state == CallState.RINGING and record.direction == "inbound":
            self.reject(record, 603)
        else:
            record.ended_locally_by = EndedBy.AGENT
            self.hangup_pj(self._pj(record), 200 if record.answered_at else 487)
        return {"call_id": record.id}

    # ------------------------------------------------------- hold and mute
    def hold(self, record: CallRecord) -> None:
        """Put an answered call on hold (re-INVITE a=sendonly)."""
        self._require(record, CallState.ACTIVE)
        if record.local_hold:
            return
        record.local_hold = True
        # Cut the agent off now, not when the re-INVITE is answered: the next
        # call's greeting (verification, names) must not reach the held patient.
        if self.audio is not None:
            self.audio.detach(record.id)
        self._send_hold(record.id, True, time.monotonic() + REINVITE_RETRY_SECONDS)
        self._fact(record, Event.CALL_HOLD, "hold", local=True, remote=record.remote_hold)

    def resume(self, record: CallRecord) -> None:
        """Take a call off hold (re-INVITE a=sendrecv)."""
        self._require(record, CallState.ACTIVE)
        if not record.local_hold:
            return
        record.local_hold = False
        self._send_hold(record.id, False, time.monotonic() + REINVITE_RETRY_SECONDS)
        self._fact(record, Event.CALL_HOLD, "resume", local=False, remote=record.remote_hold)

    def _send_hold(self, rid: str, hold: bool, give_up_at: float) -> None:
        """Send the hold or resume re-INVITE; while another INVITE transaction is
        still pending on the dialog (a quick swap), try again shortly."""
        record = self.calls.get(rid)
        call = self.pj_calls.get(rid)
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
                self.defer(0.1, lambda: self._send_hold(rid, hold, give_up_at))
                return
            self._hold_failed(record, hold, str(exc.reason))

    def _cmd_hold(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        if record.local_hold:
            raise CommandError(ErrorCode.INVALID_STATE, "the call is already on hold")
        self.hold(record)
        return {"call_id": record.id}

    def _cmd_resume(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        if not record.local_hold:
            raise CommandError(ErrorCode.INVALID_STATE, "the call is not on hold")
        for other in list(self.calls.values()):
            if other.id != record.id and other.state == CallState.ACTIVE and not other.local_hold:
                self.hold(other)
        self.resume(record)
        return {"call_id": record.id}

    def _set_mute(self, record: CallRecord, muted: bool) -> None:
        self._require(record, CallState.ACTIVE, CallState.CONNECTING, CallState.EARLY)
        record.muted = muted
        audio = active_audio(self._pj(record))
        if audio is not None:
            # The level of what the bridge sends into the call: 0 mutes the agent.
            audio.adjustRxLevel(0.0 if muted else 1.0)
        record.mark("mute" if muted else "unmute")
        self.emit(Event.CALL_MUTE, call_id=record.id, muted=muted)

    def _cmd_mute(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        self._set_mute(record, True)
        return {"call_id": record.id, "muted": True}

    def _cmd_unmute(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        self._set_mute(record, False)
        return {"call_id": record.id, "muted": False}

    # ------------------------------------------------------------------ DTMF
    def _cmd_dtmf(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        self._require(record, CallState.ACTIVE)
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
        self._pj(record).sendDtmf(prm)
        # The digits may be a patient's identifiers: the timeline keeps only the count.
        record.mark("dtmf_sent", method=method, count=len(digits))
        return {"call_id": record.id, "sent": len(digits)}

    def on_dtmf(self, call: PjCall, digit: str, method: str) -> None:
        """A digit arrived from the remote party."""
        record = self.calls.get(call.rid)
        if record is None:
            return
        record.mark("dtmf_received", method=method)
        self.emit(Event.CALL_DTMF, call_id=record.id, digit=digit[:1], method=method)

    # ------------------------------------------------------------------ dial
    def _target(self, message: dict[str, Any], key: str) -> DialTarget:
        text = message.get(key)
        if not isinstance(text, str):
            raise CommandError(ErrorCode.BAD_REQUEST, f"this command needs '{key}'")
        domain = self.settings.account.domain if self.settings.account else ""
        try:
            return resolve(text, self.settings.dial, domain)
        except DialError as exc:
            raise CommandError(ErrorCode.BAD_NUMBER, str(exc)) from None

    def _check_capacity(self) -> None:
        """Raise unless a call can be placed now (checked before anyone is put on hold)."""
        if self.account is None:
            raise CommandError(ErrorCode.SIP_ERROR, "the phone is not ready")
        if len(self.pj_calls) + self.station.live >= self.max_calls:
            raise CommandError(
                ErrorCode.NO_CAPACITY,
                f"all {self.max_calls} call slots are in use: end or decline a call first",
            )

    def place_call(self, target: DialTarget, *, consult_for: str | None = None) -> CallRecord:
        """Place an outbound call to ``target``; returns its record."""
        self._check_capacity()
        party = parse_name_addr(target.uri)
        record = CallRecord(
            id=self.new_record_id(),
            direction="outbound",
            remote_name="",
            remote_number=target.number if target.kind != "uri" else party.number,
            remote_uri=target.uri,
            called_uri=target.uri,
            received_at=utc_now_iso(),
            state=CallState.CALLING,
            consult_for=consult_for,
        )
        call = PjCall(self._callbacks(), self.account, pj.PJSUA_INVALID_ID, record.id)
        self.calls[record.id] = record
        self.pj_calls[record.id] = call
        try:
            call.makeCall(target.uri, pj.CallOpParam(True))
        except pj.Error as exc:
            del self.calls[record.id]
            del self.pj_calls[record.id]
            # A failed makeCall leaves an invalid id: the object may be dropped,
            # but no method may be called on it.
            code = ErrorCode.NO_CAPACITY if exc.status == PJ_ETOOMANY else ErrorCode.SIP_ERROR
            raise CommandError(code, f"cannot call {target.uri}: {exc.reason}") from None
        record.mark("dial", target=target.uri)
        self.emit(Event.CALL_OUTGOING, call_id=record.id, call=record.snapshot())
        return record

    def _hold_talking(self, except_id: str | None = None) -> None:
        for other in list(self.calls.values()):
            if other.id != except_id and other.state == CallState.ACTIVE and not other.local_hold:
                self.hold(other)

    def _cmd_dial(self, message: dict[str, Any]) -> dict[str, Any]:
        target = self._target(message, "number")
        self._check_capacity()
        self._hold_talking()
        record = self.place_call(target)
        return {"call_id": record.id, "uri": target.uri, "number": target.number}

    # ------------------------------------------------------------ transfer
    def _cmd_transfer(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        self._require(record, CallState.ACTIVE)
        if record.transfer and record.transfer.get("status") in ("trying", "ringing"):
            raise CommandError(ErrorCode.INVALID_STATE, "a transfer is already in progress")
        target = self._target(message, "target")
        record.transfer = {
            "kind": "blind",
            "target": target.uri,
            "status": "trying",
            "was_held": record.local_hold,
            "refer_sent": False,
        }
        self._fact(
            record,
            Event.CALL_TRANSFER,
            "transfer_attempt",
            kind="blind",
            target=target.uri,
            status="trying",
        )
        if record.local_hold:
            self._send_refer(record.id)
        else:
            self.hold(record)
            # REFER follows once the hold re-INVITE is through (or after a short wait).
            self.defer(HOLD_SETTLE_TIMEOUT, lambda: self._send_refer(record.id))
        self.defer(TRANSFER_TIMEOUT, lambda: self._transfer_timeout(record.id))
        return {"call_id": record.id, "target": target.uri}

    def _send_refer(self, rid: str) -> None:
        record = self.calls.get(rid)
        if record is None or not record.transfer or record.transfer.get("refer_sent"):
            return
        record.transfer["refer_sent"] = True
        try:
            self._pj(record).xfer(record.transfer["target"], pj.CallOpParam(True))
        except (pj.Error, CommandError) as exc:
            reason = exc.reason if isinstance(exc, pj.Error) else exc.message
            self._transfer_failed(record, 0, f"REFER could not be sent: {reason}")

    def _cmd_consult(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
        self._require(record, CallState.ACTIVE)
        if record.consult_id is not None and record.consult_id in self.calls:
            raise CommandError(ErrorCode.INVALID_STATE, "a consult call is already up")
        target = self._target(message, "target")
        self._check_capacity()
        self._hold_talking()
        consult = self.place_call(target, consult_for=record.id)
        record.consult_id = consult.id
        record.mark("consult", target=target.uri, consult_id=consult.id)
        return {"call_id": record.id, "consult_id": consult.id, "target": target.uri}

    def _pair(self, record: CallRecord) -> tuple[CallRecord, CallRecord]:
        """(original, consult) for either leg of a consult."""
        if record.consult_for is not None:
            original = self.calls.get(record.consult_for)
            if original is None:
                raise CommandError(ErrorCode.INVALID_STATE, "the call being transferred has ended")
            return original, record
        if record.consult_id is None or record.consult_id not in self.calls:
            raise CommandError(ErrorCode.INVALID_STATE, "no consult call for this call")
        return record, self.calls[record.consult_id]

    def _cmd_complete(self, message: dict[str, Any]) -> dict[str, Any]:
        original, consult = self._pair(self.record_for(message))
        if consult.state != CallState.ACTIVE:
            raise CommandError(
                ErrorCode.INVALID_STATE,
                "the consult call is not answered yet: wait, or cancel the consult",
            )
        self._require(original, CallState.ACTIVE)
        if original.transfer and original.transfer.get("status") in ("trying", "ringing"):
            raise CommandError(ErrorCode.INVALID_STATE, "a transfer is already in progress")
        original.transfer = {
            "kind": "attended",
            "target": consult.remote_uri,
            "status": "trying",
            "consult_id": consult.id,
            "refer_sent": True,
        }
        self._fact(
            original,
            Event.CALL_TRANSFER,
            "transfer_attempt",
            kind="attended",
            target=consult.remote_uri,
            status="trying",
        )
        self._pj(original).xferReplaces(self._pj(consult), pj.CallOpParam(True))
        self.defer(TRANSFER_TIMEOUT, lambda: self._transfer_timeout(original.id))
        return {"call_id": original.id, "consult_id": consult.id}

    def _cmd_cancel_consult(self, message: dict[str, Any]) -> dict[str, Any]:
        original, consult = self._pair(self.record_for(message))
        consult.ended_locally_by = EndedBy.AGENT
        self.hangup_pj(self._pj(consult), 200 if consult.answered_at else 487)
        original.consult_id = None
        original.mark("consult_cancelled", consult_id=consult.id)
        if original.state == CallState.ACTIVE and original.local_hold:
            self.resume(original)
        return {"call_id": original.id, "consult_id": consult.id}

    def _cmd_swap(self, message: dict[str, Any]) -> dict[str, Any]:
        original, consult = self._pair(self.record_for(message))
        self._require(original, CallState.ACTIVE)
        self._require(consult, CallState.ACTIVE)
        talking, waiting = (consult, original) if original.local_hold else (original, consult)
        self.hold(talking)
        self.resume(waiting)
        return {"talking": waiting.id, "held": talking.id}

    def on_transfer_status(self, call: PjCall, code: int, reason: str, final: bool) -> bool:
        """NOTIFY (sipfrag) progress of a REFER we sent; returns whether to keep following."""
        record = self.calls.get(call.rid)
        if record is None or not record.transfer:
            return False
        transfer = record.transfer
        if transfer.get("status") in ("succeeded", "failed"):
            if 200 <= code < 300 and final and transfer["status"] == "failed":
                # Late success after we gave up: the caller reached the target.
                self._transfer_succeeded(record, code)
            return False
        if 200 <= code < 300 and final:
            self._transfer_succeeded(record, code)
            return False
        if final or code >= 300:
            self._transfer_failed(record, code, reason)
            return False
        status = "ringing" if code in (180, 183) else "trying"
        if transfer.get("status") != status:
            transfer["status"] = status
            self._fact(
                record,
                Event.CALL_TRANSFER,
                "transfer_progress",
                kind=transfer["kind"],
                target=transfer["target"],
                status=status,
                sip_status=code,
            )
        return True

    def _transfer_succeeded(self, record: CallRecord, code: int) -> None:
        assert record.transfer is not None
        record.transfer["status"] = "succeeded"
        self._fact(
            record,
            Event.CALL_TRANSFER,
            "transfer_result",
            kind=record.transfer["kind"],
            target=record.transfer["target"],
            status="succeeded",
            sip_status=code,
        )
        record.ended_locally_by = EndedBy.AGENT
        if record.id in self.pj_calls:
            self.hangup_pj(self.pj_calls[record.id], 200)
        consult_id = record.transfer.get("consult_id")
        if consult_id and consult_id in self.pj_calls:
            consult = self.calls[consult_id]
            consult.ended_locally_by = EndedBy.AGENT
            consult.transfer = {
                "kind": "attended",
                "target": record.remote_uri,
                "status": "succeeded",
            }
            # The target normally ends this leg itself (Replaces); make sure.
            self.defer(2.0, lambda: self._hang_up_if_live(consult_id))

    def _hang_up_if_live(self, rid: str) -> None:
        if rid in self.pj_calls:
            self.hangup_pj(self.pj_calls[rid], 200)

    def _transfer_failed(self, record: CallRecord, code: int, reason: str) -> None:
        assert record.transfer is not None
        transfer = record.transfer
        transfer["status"] = "failed"
        why = f"{code} {reason}".strip() if code else reason
        self._fact(
            record,
            Event.CALL_TRANSFER,
            "transfer_result",
            kind=transfer["kind"],
            target=transfer["target"],
            status="failed",
            sip_status=code,
            detail=why[:200],
        )
        # A blind transfer that fails gives the caller back to the agent, off hold;
        # after a failed attended transfer the agent is still with the target.
        if (
            transfer["kind"] == "blind"
            and not transfer.get("was_held")
            and record.state == CallState.ACTIVE
            and record.local_hold
        ):
            try:
                self.resume(record)
            except (pj.Error, CommandError) as exc:
                log.warning("could not take the caller off hold: %s", exc)

    def _transfer_timeout(self, rid: str) -> None:
        record = self.calls.get(rid)
        if record is None or not record.transfer:
            return
        if record.transfer.get("status") in ("trying", "ringing"):
            self._transfer_failed(record, 408, "no final answer from the transfer target")

    def on_transfer_request(self, call: PjCall, target: str) -> tuple[int, PjCall | None]:
        """The remote party sent us a REFER; decline it unless configured to follow."""
        record = self.calls.get(call.rid)
        if record is None:
            return 603, None
        target = parse_name_addr(target).uri[:512]  # the Refer-To value without <>
        accepted = self.settings.accept_incoming_transfer and self.account is not None
        record.mark("refer_received", accepted=accepted)
        self.emit(Event.CALL_REFER, call_id=record.id, target=target[:512], accepted=accepted)
        if not accepted or self.account is None:
            return 603, None
        new = CallRecord(
            id=self.new_record_id(),
            direction="outbound",
            remote_name="",
            remote_number=parse_name_addr(target).number,
            remote_uri=target[:512],
            called_uri=target[:512],
            received_at=utc_now_iso(),
            state=CallState.CALLING,
        )
        new.mark("dial", target=target[:512], referred_by=record.id)
        new_call = PjCall(self._callbacks(), self.account, pj.PJSUA_INVALID_ID, new.id)
        self.calls[new.id] = new
        self.pj_calls[new.id] = new_call
        self.emit(Event.CALL_OUTGOING, call_id=new.id, call=new.snapshot())
        return 202, new_call

    def on_replaced(self, call: PjCall, new_pj_id: int) -> PjCall:
        """An INVITE with Replaces took over one of our calls (e.g. a pickup)."""
        old = self.calls.get(call.rid)
        assert self.account is not None
        new = CallRecord(
            id=self.new_record_id(),
            direction="inbound",
            remote_name=old.remote_name if old else "",
            remote_number=old.remote_number if old else "",
            remote_uri=old.remote_uri if old else "",
            called_uri=old.called_uri if old else "",
            received_at=utc_now_iso(),
            state=CallState.CONNECTING,
        )
        new.mark("replaced", replaces=call.rid)
        new_call = PjCall(self._callbacks(), self.account, new_pj_id, new.id)
        self.calls[new.id] = new
        self.pj_calls[new.id] = new_call
        self.emit(Event.CALL_REPLACED, call_id=call.rid, new_call=new.snapshot())
        return new_call

    def on_reinvite_failed(self, call: PjCall, status: int, reason: str) -> None:
        """The far end refused one of our re-INVITEs: undo the hold state we showed."""
        record = self.calls.get(call.rid)
        if record is None or record.pending_hold is None:
            return
        wanted = record.pending_hold
        record.pending_hold = None
        verb = "hold" if wanted else "resume"
        self._hold_failed(record, wanted, f"the far end refused the {verb} ({status} {reason})")

    def _hold_failed(self, record: CallRecord, wanted: bool, detail: str) -> None:
        """A hold or resume did not happen: show the state the call is really in."""
        record.local_hold = not wanted
        call = self.pj_calls.get(record.id)
        audio = active_audio(call) if call is not None else None
        if wanted and audio is not None and self.audio is not None:
            self.audio.attach(record.id, audio)  # still talking: reconnect the agent
        self._fact(
            record,
            Event.CALL_HOLD,
            "hold_failed",
            local=record.local_hold,
            remote=record.remote_hold,
            detail=detail[:200],
        )

    # ------------------------------------------------------------ media state
    def on_media_state(self, call: PjCall) -> None:
        """Media changed: connect the agent's audio, apply mute, detect remote hold, send REFER."""
        if call.rid == STATION_RID:
            self.station.on_media_state(call)
            return
        record = self.calls.get(call.rid)
        if record is None:
            return
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
        if self.audio is not None:
            # Held here (or no audio): cut from the agent, so a held patient
            # never hears the agent's side.
            if audio is not None and not (local_held or record.local_hold):
                self.audio.attach(record.id, audio)
            else:
                self.audio.detach(record.id)
        if audio is not None and record.muted:
            audio.adjustRxLevel(0.0)
        if remote_hold != record.remote_hold:
            record.remote_hold = remote_hold
            self._fact(
                record,
                Event.CALL_HOLD,
                "remote_hold" if remote_hold else "remote_resume",
                local=record.local_hold,
                remote=remote_hold,
            )
        if local_held and record.transfer and not record.transfer.get("refer_sent"):
            # Not from inside this callback: pjsip sends the ACK of the hold
            # re-INVITE after it, and a REFER overtaking that ACK confuses peers.
            self.defer(0.2, lambda: self._send_refer(record.id))

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
        self._fact(record, Event.CALL_CODEC, "codec", **fact)

    # ------------------------------------------------------------ availability
    def _cmd_availability(self, message: dict[str, Any]) -> dict[str, Any]:
        try:
            state = Availability(str(message.get("state")))
        except ValueError:
            names = ", ".join(a.value for a in Availability)
            raise CommandError(ErrorCode.BAD_REQUEST, f"state must be one of {names}") from None
        reason = message.get("reason", "")
        if not isinstance(reason, str) or len(reason) > 80:
            raise CommandError(
                ErrorCode.BAD_REQUEST, "reason must be text of at most 80 characters"
            )
        if state == Availability.NOT_READY and not reason.strip():
            raise CommandError(ErrorCode.BAD_REQUEST, "not_ready needs a reason (e.g. Lunch)")
        if state != self.availability or reason != self.availability_reason:
            self.availability = state
            self.availability_reason = reason.strip() if state == Availability.NOT_READY else ""
            self.availability_since = utc_now_iso()
            self.emit(Event.AVAILABILITY, **self.availability_fact())
        return self.availability_fact()

    # ----------------------------------------------------------------- capture
    def _cmd_capture(self, message: dict[str, Any]) -> dict[str, Any]:
        if not self.settings.allow_capture:
            raise CommandError(ErrorCode.NOT_ALLOWED, "capture is off (engine --allow-capture)")
        record = self.record_for(message)
        path = message.get("path")
        if not isinstance(path, str) or not path.endswith(".wav"):
            raise CommandError(ErrorCode.BAD_REQUEST, "capture needs a 'path' ending in .wav")
        audio = active_audio(self._pj(record))
        if audio is None:
            raise CommandError(ErrorCode.INVALID_STATE, "the call has no active audio")
        self.release_media(record.id)
        self._captures[record.id] = Capture(audio, path)
        return {"call_id": record.id, "path": path}

    def _cmd_capture_stop(self, message: dict[str, Any]) -> dict[str, Any]:
        record = self.record_for(message)
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

    def after_end(self, record: CallRecord) -> None:
        """Untangle consult links once a call has ended."""
        if record.consult_for and record.consult_for in self.calls:
            original = self.calls[record.consult_for]
            if original.consult_id == record.id:
                original.consult_id = None
        if record.consult_id and record.consult_id in self.calls:
            self.calls[record.consult_id].consult_for = None


_HANDLERS: dict[Command, Handler] = {
    Command.ANSWER: CallControl._cmd_answer,
    Command.REJECT: CallControl._cmd_reject,
    Command.HANGUP: CallControl._cmd_hangup,
    Command.HOLD: CallControl._cmd_hold,
    Command.RESUME: CallControl._cmd_resume,
    Command.MUTE: CallControl._cmd_mute,
    Command.UNMUTE: CallControl._cmd_unmute,
    Command.DTMF: CallControl._cmd_dtmf,
    Command.DIAL: CallControl._cmd_dial,
    Command.TRANSFER: CallControl._cmd_transfer,
    Command.CONSULT: CallControl._cmd_consult,
    Command.COMPLETE: CallControl._cmd_complete,
    Command.CANCEL_CONSULT: CallControl._cmd_cancel_consult,
    Command.SWAP: CallControl._cmd_swap,
    Command.AVAILABILITY: CallControl._cmd_availability,
    Command.CAPTURE: CallControl._cmd_capture,
    Command.CAPTURE_STOP: CallControl._cmd_capture_stop,
}
