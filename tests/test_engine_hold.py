"""A hold the far end refuses is not shown as held."""

from __future__ import annotations

from pathlib import Path

from tests.support import EngineProcess, Sipp


def test_refused_hold_is_undone_and_reported(engine: EngineProcess, tmp_path: Path) -> None:
    sipp = Sipp(tmp_path, "uac_refuses_hold.xml", engine.port)
    call_id = engine.wait_event("call.incoming")["call"]["id"]
    assert engine.command("answer", call=call_id)["ok"]
    engine.wait_event("call.state", call_id=call_id, state="active")
    assert engine.command("hold", call=call_id)["ok"]
    assert engine.wait_event("call.hold", call_id=call_id)["local"] is True
    refused = engine.wait_event("call.hold", call_id=call_id)
    assert refused["local"] is False
    assert "refused the hold (488" in refused["detail"]
    status = engine.command("status")["result"]
    assert status["calls"][0]["hold"]["local"] is False
    ended = engine.wait_event("call.ended", call_id=call_id)
    assert [f["fact"] for f in ended["call"]["timeline"]][-3:] == ["hold", "hold_failed", "end"]
    assert sipp.wait() == 0, sipp.report()
