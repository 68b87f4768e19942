# SPDX-License-Identifier: GPL-2.0-or-later
"""Records are checked against the library's live calls: a lost call never stays "connecting".

A unit test of the engine's bookkeeping with stand-ins for library calls (a
real lost call needs a library defect; the burst test in test_engine_hostile
drives the real thing).
"""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from sip.callbook import LOST_CALL_CHECKS, UNPLACED_CALL_CHECKS
from sip.engine import PhoneEngine
from sip.protocol import CallState, EndedBy
from sip.records import CallRecord
from sip.settings import EngineSettings


class _Info:
    def __init__(self, call_id: str) -> None:
        self.callIdString = call_id


class _LibraryCall:
    """Stands in for a PjCall: an id, whether its slot is active, the SIP Call-ID there."""

    def __init__(self, pj_id: int, active: bool, sip_call_id: str = "a@127.0.0.1") -> None:
        self.pj_id = pj_id
        self.active = active
        self.sip_call_id = sip_call_id

    def getId(self) -> int:  # noqa: N802 - pjsua2 API name
        return self.pj_id

    def isActive(self) -> bool:  # noqa: N802 - pjsua2 API name
        return self.active

    def getInfo(self) -> Any:  # noqa: N802 - pjsua2 API name
        return _Info(self.sip_call_id)


def _record(rid: str, state: CallState) -> CallRecord:
    return CallRecord(
        id=rid,
        direction="inbound",
        remote_name="Ann",
        remote_number="+1555",
        remote_uri="sip:+1555@127.0.0.1",
        called_uri="sip:queue@127.0.0.1",
        received_at="2026-01-01T10:00:00.000Z",
        state=state,
    )


def test_a_call_the_library_lost_is_ended_after_repeated_checks() -> None:
    events: list[dict[str, Any]] = []
    engine = PhoneEngine(EngineSettings(), events.append)
    calls = {
        "lost": _LibraryCall(2, active=False),
        "live": _LibraryCall(1, active=True),
        "hanging-up": _LibraryCall(3, active=False),
        "transfer-target": _LibraryCall(pj.PJSUA_INVALID_ID, active=False),
    }
    for rid, call in calls.items():
        engine.calls[rid] = _record(rid, CallState.CONNECTING)
        engine.pj_calls[rid] = call  # type: ignore[assignment]
    engine.calls["hanging-up"].ended_locally_by = EndedBy.AGENT

    for _ in range(LOST_CALL_CHECKS - 1):
        engine.reconcile()
        assert not [e for e in events if e["event"] == "call.ended"]
    engine.reconcile()

    [ended] = [e for e in events if e["event"] == "call.ended"]
    assert ended["call_id"] == "lost"
    assert (ended["reason"], ended["ended_by"]) == ("failed", "network")
    assert ended["sip_reason"] == "the phone library lost this call"
    assert set(engine.calls) == {"live", "hanging-up", "transfer-target"}
    assert LOST_CALL_CHECKS < UNPLACED_CALL_CHECKS
    # Kept, not deleted: deleting it would hang up whatever holds its slot now.
    assert engine.book.orphans == [calls["lost"]]


def test_a_call_seen_alive_again_starts_its_count_over() -> None:
    events: list[dict[str, Any]] = []
    engine = PhoneEngine(EngineSettings(), events.append)
    flaky = _LibraryCall(2, active=False)
    engine.calls["c"] = _record("c", CallState.RINGING)
    engine.pj_calls["c"] = flaky  # type: ignore[assignment]

    engine.reconcile()
    flaky.active = True
    engine.reconcile()
    flaky.active = False
    engine.reconcile()

    assert "c" in engine.calls
    assert not [e for e in events if e["event"] == "call.ended"]


def test_a_slot_now_holding_another_call_is_lost_and_an_unplaced_call_times_out() -> None:
    events: list[dict[str, Any]] = []
    engine = PhoneEngine(EngineSettings(), events.append)
    reused = _LibraryCall(2, active=True, sip_call_id="first@127.0.0.1")
    unplaced = _LibraryCall(pj.PJSUA_INVALID_ID, active=False)
    for rid, call in (("reused", reused), ("unplaced", unplaced)):
        engine.calls[rid] = _record(rid, CallState.CONNECTING)
        engine.pj_calls[rid] = call  # type: ignore[assignment]

    engine.reconcile()  # remembers the first SIP Call-ID seen in the slot
    reused.sip_call_id = "someone-else@127.0.0.1"  # the library gave the slot away
    for _ in range(LOST_CALL_CHECKS):
        engine.reconcile()
    assert [e["call_id"] for e in events if e["event"] == "call.ended"] == ["reused"]

    for _ in range(UNPLACED_CALL_CHECKS - LOST_CALL_CHECKS - 1):
        engine.reconcile()
    ended = [e["call_id"] for e in events if e["event"] == "call.ended"]
    assert ended == ["reused", "unplaced"]
    assert engine.calls == {}
