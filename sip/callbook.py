# SPDX-License-Identifier: GPL-2.0-or-later
"""The book of live calls: each call's record beside its library call, kept in step.

:class:`CallBook` is shared by the parts of the engine that act on calls
(:mod:`sip.calls`, :mod:`sip.hold`, :mod:`sip.transfer`, :mod:`sip.intake`).
:class:`EngineHost` is the narrow view of :class:`sip.engine.PhoneEngine` they
are handed: what they may read of it and the two things they may ask of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pjsua2 as pj

from sip.agent_audio import AgentAudio
from sip.callbacks import PjAccount, PjCall
from sip.engine_log import logger
from sip.protocol import CallState, CommandError, ErrorCode, Event, utc_now_iso
from sip.records import CallRecord
from sip.settings import EngineSettings
from sip.sipmsg import network_text
from sip.station import StationLeg

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from sip.callbacks import EngineCallbacks

log = logger(__name__)

LOST_CALL_CHECKS = 2
"""Once-a-second checks a call must fail before its record is ended as lost by the library."""
UNPLACED_CALL_CHECKS = 5
"""The same for a call the library never gave an id (a followed REFER it could not place)."""

if TYPE_CHECKING:
    Handler = Callable[[dict[str, Any]], dict[str, Any]]
    """Runs one command: its message in, its result out (or a CommandError)."""

    class EngineHost(Protocol):
        """What the call parts read of the engine (live: most of it changes as it runs)."""

        settings: EngineSettings
        account: PjAccount | None
        audio: AgentAudio | None
        station: StationLeg
        max_calls: int
        clock_rate: int
        """The conference bridge's clock rate (what recordings and the agent's audio run at)."""

        @property
        def queue_capacity(self) -> int: ...

        def emit(self, event: Event, **payload: Any) -> None: ...
        def defer(self, delay: float, action: Callable[[], None]) -> None: ...
        def _callbacks(self) -> EngineCallbacks: ...


def hang_up(call: PjCall, code: int) -> None:
    """Hang up (or decline with ``code``) without raising."""
    if call.getId() < 0:
        return  # never placed: nothing to hang up (and pjsua would assert)
    prm = pj.CallOpParam()
    prm.statusCode = code
    try:
        call.hangup(prm)
    except pj.Error as exc:
        log.warning("hangup failed: %s", exc.reason)


def require(record: CallRecord, *states: CallState) -> None:
    """Raise a typed error unless the call is in one of ``states``."""
    if record.state not in states:
        wanted = " or ".join(str(s) for s in states)
        raise CommandError(ErrorCode.INVALID_STATE, f"call is {record.state}, not {wanted}")


def new_record_id() -> str:
    """A fresh call id (a random UUID)."""
    import uuid  # at the first call, not at idle: it brings platform along (0.2 MiB)

    return str(uuid.uuid4())


def outbound_record(uri: str, number: str, consult_for: str | None = None) -> CallRecord:
    """The record of a call the engine places (dialled, consult, or a followed REFER)."""
    return CallRecord(
        id=new_record_id(),
        direction="outbound",
        remote_name="",
        remote_number=number,
        remote_uri=uri,
        called_uri=uri,
        received_at=utc_now_iso(),
        state=CallState.CALLING,
        consult_for=consult_for,
    )


class CallBook:
    """Every live call: its record (``calls``) and its library call (``pj_calls``)."""

    def __init__(self, host: EngineHost) -> None:
        self._host = host
        self.calls: dict[str, CallRecord] = {}
        self.pj_calls: dict[str, PjCall] = {}
        self.orphans: list[PjCall] = []
        """Library calls gone without a DISCONNECTED callback: kept until teardown, since
        deleting one now would hang up whatever call holds its slot today."""
        self.ended_this_turn: set[str] = set()
        """SIP Call-IDs of calls that ended in this loop turn (see on_library_rejected)."""
        self._lost_checks: dict[str, int] = {}
        self._sip_call_ids: dict[str, str] = {}
        """The SIP Call-ID each call had when first checked: a slot holding another is lost."""

    def open(self, record: CallRecord, pj_call_id: int) -> PjCall:
        """Enter a new call on the agent's account: its record and a library call for it
        (``pj_call_id``, or ``PJSUA_INVALID_ID`` for one not placed yet)."""
        account = self._host.account
        assert account is not None
        call = PjCall(self._host._callbacks(), account, pj_call_id, record.id)
        self.enter(record, call)
        return call

    def enter(self, record: CallRecord, call: PjCall) -> None:
        """Enter a new call whose library call exists already."""
        self.calls[record.id] = record
        self.pj_calls[record.id] = call

    def record_for(self, message: dict[str, Any], key: str = "call") -> CallRecord:
        """The live call named by ``message[key]``; typed errors otherwise."""
        call_id = message.get(key)
        if not isinstance(call_id, str):
            raise CommandError(ErrorCode.BAD_REQUEST, f"this command needs a '{key}' id")
        record = self.calls.get(call_id)
        if record is None or record.turned_away:
            raise CommandError(ErrorCode.NO_SUCH_CALL, f"no live call {call_id}")
        return record

    def library_call(self, record: CallRecord) -> PjCall:
        """The library call of a live record; a typed error once it is gone."""
        call = self.pj_calls.get(record.id)
        if call is None:
            raise CommandError(ErrorCode.NO_SUCH_CALL, f"no live call {record.id}")
        return call

    def fact(self, record: CallRecord, event: Event, fact: str, **details: Any) -> None:
        """Put a fact on the call's timeline and tell every client."""
        record.mark(fact, **details)
        self._host.emit(event, call_id=record.id, **details, call=record.snapshot())

    def hang_up_if_live(self, rid: str) -> None:
        """Hang up the call ``rid`` if the library still has it."""
        if rid in self.pj_calls:
            hang_up(self.pj_calls[rid], 200)

    # ---------------------------------------------------------- consult links
    def in_transfer_of_its_original(self, record: CallRecord) -> bool:
        """Whether ``record`` is a consult leg whose original is being transferred to it."""
        original = self.calls.get(record.consult_for or "")
        return original is not None and (original.transfer or {}).get("status") in (
            "trying",
            "ringing",
        )

    def unlink(self, record: CallRecord) -> None:
        """Untangle consult links once a call has ended."""
        if record.consult_for and record.consult_for in self.calls:
            original = self.calls[record.consult_for]
            if original.consult_id == record.id:
                original.consult_id = None
        if record.consult_id and record.consult_id in self.calls:
            self.calls[record.consult_id].consult_for = None

    # ---------------------------------------------------------- lost calls
    def lost(self) -> Iterator[CallRecord]:
        """Each record whose library call is gone; the caller ends it before the next.

        A call the agent's side did not end, with a library id, that the library
        no longer holds in :data:`LOST_CALL_CHECKS` checks in a row is over.
        """
        for rid, call in list(self.pj_calls.items()):
            record = self.calls.get(rid)
            if record is None or record.ended_locally_by is not None or self._holds(rid, call):
                self._lost_checks.pop(rid, None)
                continue
            checks = self._lost_checks.get(rid, 0) + 1
            unplaced = call.getId() == pj.PJSUA_INVALID_ID
            if checks < (UNPLACED_CALL_CHECKS if unplaced else LOST_CALL_CHECKS):
                self._lost_checks[rid] = checks
                continue
            del self._lost_checks[rid]
            log.warning("call %s: the phone library no longer has it; ending its record", rid)
            self.orphans.append(call)
            yield record
        for table in (self._lost_checks, self._sip_call_ids):
            for rid in [rid for rid in table if rid not in self.pj_calls]:
                del table[rid]  # ended meanwhile

    def _holds(self, rid: str, call: PjCall) -> bool:
        """Whether the library still has this call, and not another one in its slot."""
        try:
            if call.getId() == pj.PJSUA_INVALID_ID or not call.isActive():
                return False
            sip_call_id = network_text(call.getInfo().callIdString)
        except pj.Error:
            return False
        return self._sip_call_ids.setdefault(rid, sip_call_id) == sip_call_id
