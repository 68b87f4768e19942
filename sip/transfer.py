# SPDX-License-Identifier: GPL-2.0-or-later
"""Transfers: blind (REFER), attended (consult, then complete or cancel), swap; a REFER received.

:class:`Transfers` is owned by :class:`sip.engine.PhoneEngine` and acts on the
calls in the :class:`sip.callbook.CallBook` through
:class:`sip.calls.CallControl` and :class:`sip.hold.HoldControl`. A transfer's
progress lives on the call being transferred (``record.transfer``); a consult
leg and its original point at each other (``consult_id``/``consult_for``).
"""

from __future__ import annotations

import pjsua2 as pj

from sip.callbacks import PjCall
from sip.callbook import CallBook, hang_up, outbound_record, require
from sip.calls import CallControl
from sip.engine_log import logger
from sip.hold import HoldControl
from sip.protocol import CallState, CommandError, EndedBy, ErrorCode, Event
from sip.records import CallRecord
from sip.sipmsg import parse_name_addr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sip.callbook import EngineHost

log = logger(__name__)

TRANSFER_TIMEOUT = 45.0
"""Seconds a transfer may stay without a final NOTIFY before the caller is taken back."""
HOLD_SETTLE_TIMEOUT = 2.0
"""Seconds to wait for the hold re-INVITE before sending a blind REFER anyway."""
_IN_PROGRESS = ("trying", "ringing")


class Transfers:
    """Hands calls on to someone else, and follows what becomes of them."""

    def __init__(
        self, host: EngineHost, book: CallBook, calls: CallControl, hold: HoldControl
    ) -> None:
        self._host = host
        self._book = book
        self._calls = calls
        self._hold = hold

    # ------------------------------------------------------------ blind
    def cmd_transfer(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``transfer`` command: a blind transfer (hold, then REFER to ``target``)."""
        record = self._book.record_for(message)
        require(record, CallState.ACTIVE)
        self._check_none_in_progress(record)
        target = self._calls.target(message, "target")
        self._begin(record, "blind", target.uri, was_held=record.local_hold, refer_sent=False)
        if record.local_hold:
            self._send_refer(record.id)
        else:
            self._hold.hold(record)
            # REFER follows once the hold re-INVITE is through (or after a short wait).
            self._host.defer(HOLD_SETTLE_TIMEOUT, lambda: self._send_refer(record.id))
        self._host.defer(TRANSFER_TIMEOUT, lambda: self._timeout(record.id))
        return {"call_id": record.id, "target": target.uri}

    def on_held(self, rid: str) -> None:
        """Our hold of ``rid`` went through: a blind transfer waiting for it sends its REFER."""
        record = self._book.calls.get(rid)
        if record is not None and record.transfer and not record.transfer.get("refer_sent"):
            # Not from inside the media callback: pjsip sends the ACK of the hold
            # re-INVITE after it, and a REFER overtaking that ACK confuses peers.
            self._host.defer(0.2, lambda: self._send_refer(rid))

    def _send_refer(self, rid: str) -> None:
        record = self._book.calls.get(rid)
        if record is None or not record.transfer or record.transfer.get("refer_sent"):
            return
        record.transfer["refer_sent"] = True
        try:
            self._book.library_call(record).xfer(record.transfer["target"], pj.CallOpParam(True))
        except (pj.Error, CommandError) as exc:
            reason = exc.reason if isinstance(exc, pj.Error) else exc.message
            self._failed(record, 0, f"REFER could not be sent: {reason}")

    def _check_none_in_progress(self, record: CallRecord) -> None:
        if record.transfer and record.transfer.get("status") in _IN_PROGRESS:
            raise CommandError(ErrorCode.INVALID_STATE, "a transfer is already in progress")

    def _begin(self, record: CallRecord, kind: str, target: str, **extra: Any) -> None:
        record.transfer = {"kind": kind, "target": target, "status": "trying", **extra}
        self._book.fact(
            record,
            Event.CALL_TRANSFER,
            "transfer_attempt",
            kind=kind,
            target=target,
            status="trying",
        )

    # ---------------------------------------------------------- attended
    def cmd_consult(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``consult`` command: hold the caller, call ``target`` to talk first."""
        record = self._book.record_for(message)
        require(record, CallState.ACTIVE)
        if record.consult_id is not None and record.consult_id in self._book.calls:
            raise CommandError(ErrorCode.INVALID_STATE, "a consult call is already up")
        target = self._calls.target(message, "target")
        consult = self._calls.call_out(target, consult_for=record.id)
        record.consult_id = consult.id
        record.mark("consult", target=target.uri, consult_id=consult.id)
        return {"call_id": record.id, "consult_id": consult.id, "target": target.uri}

    def _pair(self, record: CallRecord) -> tuple[CallRecord, CallRecord]:
        """(original, consult) for either leg of a consult."""
        calls = self._book.calls
        if record.consult_for is not None:
            original = calls.get(record.consult_for)
            if original is None:
                raise CommandError(ErrorCode.INVALID_STATE, "the call being transferred has ended")
            return original, record
        if record.consult_id is None or record.consult_id not in calls:
            raise CommandError(ErrorCode.INVALID_STATE, "no consult call for this call")
        return record, calls[record.consult_id]

    def cmd_complete(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``complete`` command: hand the caller to the consulted party (REFER/Replaces)."""
        original, consult = self._pair(self._book.record_for(message))
        if consult.state != CallState.ACTIVE:
            raise CommandError(
                ErrorCode.INVALID_STATE,
                "the consult call is not answered yet: wait, or cancel the consult",
            )
        require(original, CallState.ACTIVE)
        self._check_none_in_progress(original)
        self._begin(
            original, "attended", consult.remote_uri, consult_id=consult.id, refer_sent=True
        )
        library_call = self._book.library_call
        library_call(original).xferReplaces(library_call(consult), pj.CallOpParam(True))
        self._host.defer(TRANSFER_TIMEOUT, lambda: self._timeout(original.id))
        return {"call_id": original.id, "consult_id": consult.id}

    def cmd_cancel_consult(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``cancel_consult`` command: end the consult leg, back to the caller."""
        original, consult = self._pair(self._book.record_for(message))
        self._calls.end_locally(consult)
        original.consult_id = None
        original.mark("consult_cancelled", consult_id=consult.id)
        if original.state == CallState.ACTIVE and original.local_hold:
            self._hold.resume(original)
        return {"call_id": original.id, "consult_id": consult.id}

    def cmd_swap(self, message: dict[str, Any]) -> dict[str, Any]:
        """The ``swap`` command: talk to the other leg of a consult, hold this one."""
        original, consult = self._pair(self._book.record_for(message))
        require(original, CallState.ACTIVE)
        require(consult, CallState.ACTIVE)
        talking, waiting = (consult, original) if original.local_hold else (original, consult)
        self._hold.hold(talking)
        self._hold.resume(waiting)
        return {"talking": waiting.id, "held": talking.id}

    # ------------------------------------------------------------ progress
    def on_transfer_status(self, call: PjCall, code: int, reason: str, final: bool) -> bool:
        """NOTIFY (sipfrag) progress of a REFER we sent; returns whether to keep following."""
        record = self._book.calls.get(call.rid)
        if record is None or not record.transfer:
            return False
        transfer = record.transfer
        if transfer.get("status") in ("succeeded", "failed"):
            if 200 <= code < 300 and final and transfer["status"] == "failed":
                # Late success after we gave up: the caller reached the target.
                self._succeeded(record, code)
            return False
        if 200 <= code < 300 and final:
            self._succeeded(record, code)
            return False
        if final or code >= 300:
            self._failed(record, code, reason)
            return False
        status = "ringing" if code in (180, 183) else "trying"
        if transfer.get("status") != status:
            transfer["status"] = status
            self._book.fact(
                record,
                Event.CALL_TRANSFER,
                "transfer_progress",
                kind=transfer["kind"],
                target=transfer["target"],
                status=status,
                sip_status=code,
            )
        return True

    def _result(self, record: CallRecord, status: str, code: int, **detail: Any) -> None:
        assert record.transfer is not None
        record.transfer["status"] = status
        self._book.fact(
            record,
            Event.CALL_TRANSFER,
            "transfer_result",
            kind=record.transfer["kind"],
            target=record.transfer["target"],
            status=status,
            sip_status=code,
            **detail,
        )

    def _succeeded(self, record: CallRecord, code: int) -> None:
        assert record.transfer is not None
        self._result(record, "succeeded", code)
        record.ended_locally_by = EndedBy.AGENT
        pj_calls = self._book.pj_calls
        if record.id in pj_calls:
            hang_up(pj_calls[record.id], 200)
        consult_id = record.transfer.get("consult_id")
        if consult_id and consult_id in pj_calls:
            consult = self._book.calls[consult_id]
            consult.ended_locally_by = EndedBy.AGENT
            consult.transfer = {
                "kind": "attended",
                "target": record.remote_uri,
                "status": "succeeded",
            }
            # The target normally ends this leg itself (Replaces); make sure.
            self._host.defer(2.0, lambda: self._book.hang_up_if_live(consult_id))

    def _failed(self, record: CallRecord, code: int, reason: str) -> None:
        assert record.transfer is not None
        transfer = record.transfer
        why = f"{code} {reason}".strip() if code else reason
        self._result(record, "failed", code, detail=why[:200])
        # A blind transfer that fails gives the caller back to the agent, off hold;
        # after a failed attended transfer the agent is still with the target.
        if (
            transfer["kind"] == "blind"
            and not transfer.get("was_held")
            and record.state == CallState.ACTIVE
            and record.local_hold
        ):
            try:
                self._hold.resume(record)
            except (pj.Error, CommandError) as exc:
                log.warning("could not take the caller off hold: %s", exc)

    def _timeout(self, rid: str) -> None:
        record = self._book.calls.get(rid)
        if record is None or not record.transfer:
            return
        if record.transfer.get("status") in _IN_PROGRESS:
            self._failed(record, 408, "no final answer from the transfer target")

    # ------------------------------------------------------------ received
    def on_transfer_request(self, call: PjCall, target: str) -> tuple[int, PjCall | None]:
        """The remote party sent us a REFER; decline it unless configured to follow."""
        record = self._book.calls.get(call.rid)
        if record is None:
            return 603, None
        target = parse_name_addr(target).uri[:512]  # the Refer-To value without <>
        host = self._host
        accepted = host.settings.accept_incoming_transfer and host.account is not None
        record.mark("refer_received", accepted=accepted)
        host.emit(Event.CALL_REFER, call_id=record.id, target=target[:512], accepted=accepted)
        if not accepted or host.account is None:
            return 603, None
        new = outbound_record(target[:512], parse_name_addr(target).number)
        new.mark("dial", target=target[:512], referred_by=record.id)
        new_call = self._book.open(new, pj.PJSUA_INVALID_ID)
        host.emit(Event.CALL_OUTGOING, call_id=new.id, call=new.snapshot())
        return 202, new_call
