"""Blind and attended transfer against SIPp transferees and SIPp targets."""

from __future__ import annotations

from pathlib import Path

from tests.support import EngineProcess, Sipp


def answered(engine: EngineProcess, sipp_scenario: str, tmp_path: Path) -> tuple[Sipp, str]:
    """A SIPp caller running ``sipp_scenario``, answered by the agent."""
    sipp = Sipp(tmp_path, sipp_scenario, engine.port)
    call_id = str(engine.wait_event("call.incoming")["call"]["id"])
    assert engine.command("answer", call=call_id)["ok"]
    engine.wait_event("call.state", call_id=call_id, state="active")
    return sipp, call_id


def target(tmp_path: Path, scenario: str) -> Sipp:
    """A SIPp UAS playing a transfer or consult target."""
    uas = Sipp(tmp_path, scenario)
    uas.wait_listening()
    return uas


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
    sipp, call_id = answered(engine, "uac_transferee_ok.xml", tmp_path)
    reply = engine.command("transfer", call=call_id, target="sip:nurse@127.0.0.1:5999")
    assert reply["ok"], reply
    hold = engine.wait_event("call.hold", call_id=call_id)
    assert hold["local"] is True
    assert transfer_statuses(engine, call_id, "succeeded")[-1] == "succeeded"
    ended = engine.wait_event("call.ended", call_id=call_id)
    assert (ended["reason"], ended["ended_by"]) == ("transferred", "agent")
    facts = [fact["fact"] for fact in ended["call"]["timeline"] if fact["fact"] != "codec"]
    assert facts[:4] == ["ring", "answer", "transfer_attempt", "hold"]
    assert facts[-2:] == ["transfer_result", "end"]
    assert sipp.wait() == 0, sipp.report()


def test_failed_blind_transfer_gives_the_caller_back_off_hold(
    engine: EngineProcess, tmp_path: Path
) -> None:
    sipp, call_id = answered(engine, "uac_transferee_fails.xml", tmp_path)
    assert engine.command("transfer", call=call_id, target="sip:busy@127.0.0.1:5999")["ok"]
    failed = engine.wait_event("call.transfer", call_id=call_id, status="failed", timeout=15)
    assert failed["sip_status"] == 486
    resumed = [engine.wait_event("call.hold", call_id=call_id) for _ in range(2)]
    assert [e["local"] for e in resumed] == [True, False]
    ended = engine.wait_event("call.ended", call_id=call_id)
    assert ended["ended_by"] == "caller"
    assert sipp.wait() == 0, sipp.report()


def test_refused_refer_gives_the_caller_back(engine: EngineProcess, tmp_path: Path) -> None:
    sipp, call_id = answered(engine, "uac_refuses_refer.xml", tmp_path)
    assert engine.command("transfer", call=call_id, target="sip:x@127.0.0.1:5999")["ok"]
    failed = engine.wait_event("call.transfer", call_id=call_id, status="failed", timeout=15)
    assert failed["sip_status"] == 603
    engine.wait_event("call.ended", call_id=call_id)
    assert sipp.wait() == 0, sipp.report()


def test_consult_and_complete_attended_transfer(engine: EngineProcess, tmp_path: Path) -> None:
    sipp, call_id = answered(engine, "uac_transferee_attended.xml", tmp_path)
    uas = target(tmp_path, "uas_target_answers.xml")
    reply = engine.command("consult", call=call_id, target=f"sip:target@127.0.0.1:{uas.port}")
    assert reply["ok"], reply
    consult_id = reply["result"]["consult_id"]
    assert engine.wait_event("call.hold", call_id=call_id)["local"] is True
    engine.wait_event("call.state", call_id=consult_id, state="active")
    outgoing = [e for e in engine.events if e["event"] == "call.outgoing"]
    assert outgoing[0]["call"]["consult_for"] == call_id

    assert engine.command("complete", call=consult_id)["ok"]
    transfer_statuses(engine, call_id, "succeeded")
    ended = {engine.wait_event("call.ended")["call_id"] for _ in range(2)}
    assert ended == {call_id, consult_id}
    assert sipp.wait() == 0, sipp.report()
    assert uas.wait() == 0, uas.report()


def test_consult_to_a_busy_target_leaves_the_caller_held_for_the_agent(
    engine: EngineProcess, tmp_path: Path
) -> None:
    sipp, call_id = answered(engine, "uac_held_by_agent.xml", tmp_path)
    uas = target(tmp_path, "uas_target_busy.xml")
    reply = engine.command("consult", call=call_id, target=f"sip:target@127.0.0.1:{uas.port}")
    consult_id = reply["result"]["consult_id"]
    ended = engine.wait_event("call.ended", call_id=consult_id)
    assert (ended["reason"], ended["sip_status"]) == ("rejected", 486)
    assert ended["call"]["consult_for"] == call_id
    assert engine.command("cancel_consult", call=call_id)["error"]["code"] == "invalid_state"
    assert engine.command("resume", call=call_id)["ok"]
    assert engine.wait_event("call.hold", call_id=call_id, local=False)
    assert uas.wait() == 0, uas.report()
    assert sipp.wait() == 0, sipp.report()


def test_cancelled_consult_to_a_target_that_never_answers(
    engine: EngineProcess, tmp_path: Path
) -> None:
    sipp, call_id = answered(engine, "uac_held_by_agent.xml", tmp_path)
    uas = target(tmp_path, "uas_target_never_answers.xml")
    consult_id = engine.command("consult", call=call_id, target=f"sip:target@127.0.0.1:{uas.port}")[
        "result"
    ]["consult_id"]
    engine.wait_event("call.state", call_id=consult_id, state="ringing")
    early = engine.command("complete", call=call_id)
    assert early["error"]["code"] == "invalid_state"
    assert "not answered yet" in early["error"]["message"]
    assert engine.command("cancel_consult", call=call_id)["ok"]
    ended = engine.wait_event("call.ended", call_id=consult_id)
    assert ended["ended_by"] == "agent"
    assert engine.wait_event("call.hold", call_id=call_id, local=False)
    assert uas.wait() == 0, uas.report()
    assert sipp.wait() == 0, sipp.report()


def test_transfer_input_errors(engine: EngineProcess, tmp_path: Path) -> None:
    sipp, call_id = answered(engine, "uac_held_by_agent.xml", tmp_path)
    bad = engine.command("transfer", call=call_id, target="not a number")
    assert bad["error"]["code"] == "bad_number"
    assert engine.command("complete", call=call_id)["error"]["code"] == "invalid_state"
    assert engine.command("swap", call=call_id)["error"]["code"] == "invalid_state"
    engine.command("hold", call=call_id)
    engine.command("resume", call=call_id)
    assert sipp.wait() == 0, sipp.report()


def test_consult_leg_ended_by_the_target_during_completion_counts_as_transferred(
    engine: EngineProcess, tmp_path: Path
) -> None:
    sipp, call_id = answered(engine, "uac_transferee_late_notify.xml", tmp_path)
    uas = target(tmp_path, "uas_target_replaced.xml")
    consult_id = engine.command("consult", call=call_id, target=f"sip:target@127.0.0.1:{uas.port}")[
        "result"
    ]["consult_id"]
    engine.wait_event("call.state", call_id=consult_id, state="active")
    assert engine.command("complete", call=call_id)["ok"]
    consult = engine.wait_event("call.ended", call_id=consult_id)
    assert (consult["reason"], consult["ended_by"]) == ("transferred", "agent")
    transfer_statuses(engine, call_id, "succeeded")
    assert engine.wait_event("call.ended", call_id=call_id)["reason"] == "transferred"
    assert sipp.wait() == 0, sipp.report()
    assert uas.wait() == 0, uas.report()
