# SPDX-License-Identifier: GPL-2.0-or-later
"""Which incoming calls ring: the agent's availability, the queue's room, auto-answer.

:class:`CallIntake` is owned by :class:`sip.engine.PhoneEngine`. A new INVITE
rings, is auto-answered, or is turned away (the agent is not available, the
queue is full); an INVITE the library refused itself is reported as turned
away too, with the reason a supervisor can act on.
"""

from __future__ import annotations

import pjsua2 as pj

from sip.callbacks import PjAccount, PjCall
from sip.callbook import CallBook, hang_up, new_record_id
from sip.calls import CallControl
from sip.codec_policy import CodecPolicy
from sip.codecs import codec_mismatch, offered, sdp_body
from sip.engine_log import logger
from sip.protocol import (
    Availability,
    CallState,
    CommandError,
    EndedBy,
    ErrorCode,
    Event,
    utc_now_iso,
)
from sip.records import CallRecord
from sip.sipmsg import caller_of, parse_headers, parse_name_addr, request_uri

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost

log = logger(__name__)


class CallIntake:
    """Rings, auto-answers or turns away each new call, as the agent's availability says."""

    def __init__(self, host: EngineHost, book: CallBook, calls: CallControl) -> None:
        self._host = host
        self._book = book
        self._calls = calls
        self.availability = Availability.AVAILABLE
        self.availability_reason = ""
        self.availability_since = utc_now_iso()

    # ------------------------------------------------------------ availability
    def availability_fact(self) -> dict[str, Any]:
        """The agent's availability as a protocol object."""
        return {
            "state": str(self.availability),
            "reason": self.availability_reason,
            "since": self.availability_since,
        }

    def cmd_availability(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``availability`` command: available, not ready (with a reason), wrap-up, offline."""
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
            self._host.emit(Event.AVAILABILITY, **self.availability_fact())
        return self.availability_fact()

    # ------------------------------------------------------------ new calls
    def on_incoming(self, account: PjAccount, pj_call_id: int, raw: str) -> None:
        """A new INVITE: ring, turn away, or auto-answer."""
        host = self._host
        settings = host.settings
        rid = new_record_id()
        call = PjCall(host._callbacks(), account, pj_call_id, rid)
        party = caller_of(raw)
        headers = parse_headers(raw)
        called = request_uri(raw)
        wanted = {name.lower(): name for name in settings.passthrough_headers}
        passed = {wanted[k]: v[0] for k, v in headers.items() if k in wanted and v}
        queue_name = passed.get("X-Queue") or parse_name_addr(called).number
        record = CallRecord(
            id=rid,
            direction="inbound",
            remote_name=party.display_name,
            remote_number=party.number,
            remote_uri=party.uri,
            called_uri=called,
            received_at=utc_now_iso(),
            queue=queue_name[:128],
            headers=passed,
        )
        self._book.enter(record, call)
        refusal = self._refusal()
        if refusal is not None:
            code, why = refusal
            record.turned_away = True
            record.reject_code = code
            record.ended_locally_by = EndedBy.ENGINE
            hang_up(call, code)
            host.emit(
                Event.CALL_TURNED_AWAY,
                caller=record.snapshot()["caller"],
                called_uri=called,
                queue=record.queue,
                reason=why,
                sip_status=code,
                availability=self.availability_fact(),
            )
            return
        record.mark("ring")
        auto_code = settings.auto_answer
        if auto_code is None and record.queue in settings.auto_answer_queues:
            auto_code = 200
            record.auto_answered = True  # "auto-in": the console beeps instead of ringing
        host.emit(Event.CALL_INCOMING, call=record.snapshot())
        try:
            prm = pj.CallOpParam()
            prm.statusCode = 180
            call.answer(prm)
        except pj.Error as exc:
            log.warning("could not send 180 for call %s: %s", rid, exc.reason)
        if auto_code is not None:
            code = auto_code
            host.defer(0, lambda: self._auto_answer(rid, code))

    def _refusal(self) -> tuple[int, str] | None:
        """Why a new call must be turned away now, or None."""
        settings = self._host.settings
        state = self.availability
        allowed = state == Availability.AVAILABLE or (
            state == Availability.WRAP_UP and settings.accept_calls_in_wrap_up
        )
        if not allowed:
            return settings.unavailable_code, f"agent {state}"
        inbound = sum(
            1
            for r in self._book.calls.values()
            if r.direction == "inbound" and r.live and not r.turned_away
        )
        if inbound > self._host.queue_capacity:  # the new call is already counted
            return settings.busy_code, "queue_full"
        return None

    def _auto_answer(self, rid: str, code: int) -> None:
        record = self._book.calls.get(rid)
        if record is None or record.state != CallState.RINGING:
            return
        try:
            if code < 300:
                self._calls.answer(record)
            else:
                self._calls.reject(record, code)
        except CommandError as exc:
            log.warning("auto-answer of %s failed: %s", rid, exc)

    # ------------------------------------------------------- refused by pjsua
    def on_library_rejected(
        self, status: int, reason: str, raw: str, codecs: CodecPolicy | None
    ) -> None:
        """pjsua refused an INVITE itself (e.g. every call slot in use, or unencrypted media)."""
        sip_call_id = (parse_headers(raw).get("call-id") or [""])[0]
        if sip_call_id and sip_call_id in self._book.ended_this_turn:
            # Refused after it rang (its media failed, e.g. 406 for broken SRTP
            # crypto): call.ended has told the clients already; once is enough.
            log.info("library refused a call that had rung (%d): reported as ended", status)
            return
        party = caller_of(raw)
        why, detail = "refused", reason[:200]
        sdp = sdp_body(raw)
        if status == 486:
            why = "library_capacity"
        elif (
            status == 488
            and self._host.settings.srtp == "mandatory"
            and ("a=crypto:" not in sdp and "RTP/SAVP" not in sdp)
        ):
            # Under a mandatory SRTP policy pjsua answers 488 itself, before
            # onIncomingCall, to an offer without SDES crypto (plain RTP/AVP).
            why = "not_encrypted"
            detail = "the caller offered unencrypted media (plain RTP); sip.srtp is mandatory"
        elif status == 488 and codecs is not None:
            mismatch = codec_mismatch(offered(sdp), codecs.allowed)
            if mismatch:
                why, detail = "no_allowed_codec", mismatch
        self._host.emit(
            Event.CALL_TURNED_AWAY,
            caller={"display_name": party.display_name, "number": party.number, "uri": party.uri},
            called_uri=request_uri(raw),
            reason=why,
            sip_status=status,
            detail=detail,
        )
