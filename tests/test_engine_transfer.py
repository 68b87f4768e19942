# SPDX-License-Identifier: GPL-2.0-or-later
"""Blind and attended transfer against SIPp transferees and SIPp targets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.engine_calls import answered_call, consulted, ended_as, playing
from tests.support import EngineProcess


@contextmanager
def consulting(
    engine: EngineProcess, tmp_path: Path, caller: str, target: str
) -> Iterator[tuple[str, str]]:
    """A SIPp caller running ``caller``, answered, then consulting a SIPp UAS running
    ``target`` about it: yields (the call's id, the consult's id). Both SIPps must play
    their whole scenario by the end of the block (when it fails, both are stopped)."""
    with answered_call(engine, tmp_path, caller) as call_id:
        uas, consult_id = consulted(engine, call_id, tmp_path, target)
        with playing(uas):
            yield call_id, consult_id


def transfer_statuses(engine: EngineProcess, call_id: str, last: str) -> list[str]:
    """call.transfer statuses for ``call_id`` up to and including ``last``."""
    seen: list[str] = []
    while not seen or seen[-1] != last:
        seen.append(engine.wait_event("call.transfer", call_id=call_id)["status"])
        assert len(seen) < 10, seen
    return seen


def test_blind_transfer_succeeds_and_the_agent_leg_ends(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with answered_call(engine, tmp_path, "uac_transferee_ok.xml") as call_id:
        reply = engine.command("transfer", call=call_id, target="sip:nurse@127.0.0.1:5999")
        assert reply["ok"], reply
        hold = engine.wait_event("call.hold", call_id=call_id)
        assert hold["local"] is True
        assert transfer_statuses(engine, call_id, "succeeded")[-1] == "succeeded"
        ended = ended_as(engine, call_id, "transferred", "agent")
        facts = [fact["fact"] for fact in ended["call"]["timeline"] if fact["fact"] != "codec"]
        assert facts[:4] == ["ring", "answer", "transfer_attempt", "hold"]
        assert facts[-2:] == ["transfer_result", "end"]


def test_failed_blind_transfer_gives_the_caller_back_off_hold(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with answered_call(engine, tmp_path, "uac_transferee_fails.xml") as call_id:
        assert engine.command("transfer", call=call_id, target="sip:busy@127.0.0.1:5999")["ok"]
        failed = engine.wait_event("call.transfer", call_id=call_id, status="failed", timeout=15)
        assert failed["sip_status"] == 486
        resumed = [engine.wait_event("call.hold", call_id=call_id) for _ in range(2)]
        assert [e["local"] for e in resumed] == [True, False]
        ended = engine.wait_event("call.ended", call_id=call_id)
        assert ended["ended_by"] == "caller"


def test_refused_refer_gives_the_caller_back(engine: EngineProcess, tmp_path: Path) -> None:
    with answered_call(engine, tmp_path, "uac_refuses_refer.xml") as call_id:
        assert engine.command("transfer", call=call_id, target="sip:x@127.0.0.1:5999")["ok"]
        failed = engine.wait_event("call.transfer", call_id=call_id, status="failed", timeout=15)
        assert failed["sip_status"] == 603
        engine.wait_event("call.ended", call_id=call_id)


def test_consult_and_complete_attended_transfer(engine: EngineProcess, tmp_path: Path) -> None:
    with consulting(engine, tmp_path, "uac_transferee_attended.xml", "uas_target_answers.xml") as (
        call_id,
        consult_id,
    ):
        assert engine.wait_event("call.hold", call_id=call_id)["local"] is True
        engine.wait_event("call.state", call_id=consult_id, state="active")
        outgoing = [e for e in engine.events if e["event"] == "call.outgoing"]
        assert outgoing[0]["call"]["consult_for"] == call_id

        assert engine.command("complete", call=consult_id)["ok"]
        transfer_statuses(engine, call_id, "succeeded")
        ended = {engine.wait_event("call.ended")["call_id"] for _ in range(2)}
        assert ended == {call_id, consult_id}


def test_consult_to_a_busy_target_leaves_the_caller_held_for_the_agent(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with consulting(engine, tmp_path, "uac_held_by_agent.xml", "uas_target_busy.xml") as (
        call_id,
        consult_id,
    ):
        ended = engine.wait_event("call.ended", call_id=consult_id)
        assert (ended["reason"], ended["sip_status"]) == ("rejected", 486)
        assert ended["call"]["consult_for"] == call_id
        assert engine.command("cancel_consult", call=call_id)["error"]["code"] == "invalid_state"
        assert engine.command("resume", call=call_id)["ok"]
        assert engine.wait_event("call.hold", call_id=call_id, local=False)


def test_cancelled_consult_to_a_target_that_never_answers(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with consulting(engine, tmp_path, "uac_held_by_agent.xml", "uas_target_never_answers.xml") as (
        call_id,
        consult_id,
    ):
        engine.wait_event("call.state", call_id=consult_id, state="ringing")
        early = engine.command("complete", call=call_id)
        assert early["error"]["code"] == "invalid_state"
        assert "not answered yet" in early["error"]["message"]
        assert engine.command("cancel_consult", call=call_id)["ok"]
        ended = engine.wait_event("call.ended", call_id=consult_id)
        assert ended["ended_by"] == "agent"
        assert engine.wait_event("call.hold", call_id=call_id, local=False)


def test_transfer_input_errors(engine: EngineProcess, tmp_path: Path) -> None:
    with answered_call(engine, tmp_path, "uac_held_by_agent.xml") as call_id:
        bad = engine.command("transfer", call=call_id, target="not a number")
        assert bad["error"]["code"] == "bad_number"
        assert engine.command("complete", call=call_id)["error"]["code"] == "invalid_state"
        assert engine.command("swap", call=call_id)["error"]["code"] == "invalid_state"
        engine.command("hold", call=call_id)
        engine.command("resume", call=call_id)


def test_consult_leg_ended_by_the_target_during_completion_counts_as_transferred(
    engine: EngineProcess, tmp_path: Path
) -> None:
    with consulting(
        engine, tmp_path, "uac_transferee_late_notify.xml", "uas_target_replaced.xml"
    ) as (call_id, consult_id):
        engine.wait_event("call.state", call_id=consult_id, state="active")
        assert engine.command("complete", call=call_id)["ok"]
        consult = engine.wait_event("call.ended", call_id=consult_id)
        assert (consult["reason"], consult["ended_by"]) == ("transferred", "agent")
        transfer_statuses(engine, call_id, "succeeded")
        assert engine.wait_event("call.ended", call_id=call_id)["reason"] == "transferred"
