# SPDX-License-Identifier: GPL-2.0-or-later
"""The desk decides what each engine event means: plain Python, no terminal, no engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from console.core.desk import (
    CallGone,
    CallOver,
    CallWork,
    Desk,
    Effect,
    FloorCall,
    ForCall,
    NotesMoved,
    Notice,
    PhoneLost,
    Record,
    Step,
    TurnedAway,
)
from console.core.events import (
    CallAppeared,
    CallEnded,
    CallStateChanged,
    CallTransferChanged,
    Hello,
    Ignored,
    decode,
)

T0 = "2026-01-01T10:00:00.000Z"


def call(call_id: str = "c1", direction: str = "inbound", **extra: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "direction": direction,
        "state": "ringing",
        "received_at": T0,
        "called_uri": "sip:queue@127.0.0.1",
        "caller": {"display_name": "Maria Lopez", "number": "+12025550142"},
        **extra,
    }


def event(name: str, **fields: Any) -> dict[str, Any]:
    return {"type": "event", "event": name, "seq": 1, "time": T0, **fields}


def kinds(effects: list[Effect]) -> list[object]:
    """Each effect as what it is: its step or call work, else its type."""
    return [
        effect
        if isinstance(effect, Step)
        else effect.work
        if isinstance(effect, ForCall)
        else type(effect)
        for effect in effects
    ]


def feed(desk: Desk, *raws: dict[str, Any]) -> list[Effect]:
    effects: list[Effect] = []
    for raw in raws:
        effects = desk.apply(decode(raw))
    return effects


def test_a_ringing_call_is_looked_up_rings_paints_then_is_told_to_the_floor_and_recorded() -> None:
    desk = Desk()
    effects = feed(desk, event("call.incoming", call=call()))
    assert kinds(effects) == [
        CallWork.LOOK_UP_PATIENT,
        CallWork.RING,
        Step.REPAINT,
        Step.FOLLOW_NOTES,
        FloorCall,
        Step.FLOOR_AGENT,
        Record,
    ]
    offered = effects[4]
    assert isinstance(offered, FloorCall)
    assert offered.kind == "offered"
    assert [c.id for c in desk.queue.ringing()] == ["c1"]


def test_answering_starts_the_script_and_tells_the_floor() -> None:
    desk = Desk()
    effects = feed(
        desk,
        event("call.incoming", call=call()),
        event("call.state", call_id="c1", state="active"),
    )
    assert CallWork.START_GUIDANCE in kinds(effects)
    assert [e.kind for e in effects if isinstance(e, FloorCall)] == ["answered"]
    active = desk.queue.active()
    assert active is not None
    assert active.answered_at is not None


def test_an_answered_inbound_call_that_ends_owes_a_wrap_up_after_its_notes_are_saved() -> None:
    desk = Desk()
    effects = feed(
        desk,
        event("call.incoming", call=call()),
        event("call.state", call_id="c1", state="active"),
        event("call.ended", call_id="c1", reason="completed", ended_by="caller"),
    )
    order = kinds(effects)
    assert order.index(CallGone) < order.index(Step.REPAINT) < order.index(Step.FOLLOW_NOTES)
    assert order.index(Step.FOLLOW_NOTES) < order.index(CallOver) < order.index(Record)
    over = next(e for e in effects if isinstance(e, CallOver))
    assert over.wrap_up
    assert over.call is not None
    assert [e.kind for e in effects if isinstance(e, FloorCall)] == ["ended"]
    assert len(desk.queue) == 0


@pytest.mark.parametrize(("ended_by", "kind"), [("caller", "abandoned"), ("agent", "missed")])
def test_a_call_never_answered_is_abandoned_or_missed(ended_by: str, kind: str) -> None:
    desk = Desk()
    effects = feed(
        desk,
        event("call.incoming", call=call()),
        event("call.ended", call_id="c1", reason="cancelled", ended_by=ended_by),
    )
    assert [e.kind for e in effects if isinstance(e, FloorCall)] == [kind]
    over = next(e for e in effects if isinstance(e, CallOver))
    assert not over.wrap_up


def test_a_dialled_call_takes_its_directory_name_and_never_rings() -> None:
    desk = Desk({"+441632960001": "Pharmacy"})
    effects = feed(
        desk,
        event("call.outgoing", call=call("o1", "outbound", caller={"number": "+441632960001"})),
    )
    assert CallWork.RING not in kinds(effects)
    assert CallWork.LOOK_UP_PATIENT not in kinds(effects)
    dialled = desk.queue.get("o1")
    assert dialled is not None
    assert dialled.caller_name == "Pharmacy"


def test_a_failed_transfer_is_told_to_the_agent() -> None:
    desk = Desk()
    effects = feed(
        desk,
        event("call.incoming", call=call()),
        event("call.transfer", call_id="c1", status="failed", detail="486 Busy Here"),
    )
    notices = [e for e in effects if isinstance(e, Notice)]
    assert notices
    assert "Transfer failed (486 Busy Here)" in notices[0].text
    assert notices[0].severity == "error"


def test_hello_rebuilds_the_queue_looks_up_inbound_calls_and_closes_what_was_left_open() -> None:
    desk = Desk()
    feed(desk, event("call.incoming", call=call("gone")))
    status = {"calls": [call("c1"), call("o1", "outbound")], "availability": {"state": "not_ready"}}
    effects = feed(desk, event("hello", status=status))
    assert [c.id for c in desk.queue.calls()] == ["c1", "o1"]
    assert [e.call.id for e in effects if isinstance(e, ForCall)] == ["c1"]
    assert kinds(effects)[0] is Step.ENGINE_HELLO
    assert kinds(effects)[-1] is Step.CLOSE_LEFT_OPEN
    assert desk.agent.availability == "not_ready"
    assert desk.agent.live_calls == 2


def test_a_replaced_call_keeps_its_notes_under_the_new_id() -> None:
    desk = Desk()
    effects = feed(
        desk,
        event("call.incoming", call=call("c1")),
        event("call.replaced", call_id="c1", new_call=call("c2", state="active")),
    )
    assert NotesMoved("c1", "c2") in effects
    assert kinds(effects)[-1] is Step.SAVE_NOTES
    assert [c.id for c in desk.queue.calls()] == ["c2"]


def test_a_turned_away_call_is_recorded_and_explained() -> None:
    desk = Desk()
    effects = feed(desk, event("call.turned_away", reason="not_encrypted", caller={}))
    assert kinds(effects)[-1] is TurnedAway
    assert desk.agent.refusal_notice.startswith("Call from")


def test_losing_the_phone_saves_notes_before_closing_the_lost_calls() -> None:
    desk = Desk()
    feed(desk, event("call.incoming", call=call()))
    effects = desk.phone_status(False, "engine exited")
    assert kinds(effects) == [Step.FOLLOW_NOTES, PhoneLost, Step.REPAINT, Step.FLOOR_AGENT]
    lost = effects[1]
    assert isinstance(lost, PhoneLost)
    assert [c.id for c in lost.calls] == ["c1"]
    assert not desk.agent.phone_online
    assert len(desk.queue) == 0


def test_events_about_unknown_calls_change_nothing() -> None:
    desk = Desk()
    effects = feed(desk, event("call.hold", call_id="nobody", local=True))
    assert kinds(effects) == [Step.REPAINT, Step.FOLLOW_NOTES, Step.FLOOR_AGENT, Record]
    assert len(desk.queue) == 0


# ------------------------------------------------------------------ decoding
def test_every_event_the_console_uses_decodes_to_its_type() -> None:
    assert isinstance(decode(event("hello", status={})), Hello)
    assert isinstance(decode(event("call.incoming", call=call())), CallAppeared)
    assert isinstance(decode(event("call.state", call_id="c1", state="active")), CallStateChanged)
    transfer = decode(event("call.transfer", call_id="c1", status="trying", call=call()))
    assert isinstance(transfer, CallTransferChanged)
    assert transfer.has_call
    ended = decode(event("call.ended", call_id="c1"))
    assert isinstance(ended, CallEnded)
    assert ended.record == {"id": "c1"}
    assert isinstance(decode(event("engine.ready")), Ignored)


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"event": None},
        {"event": "call.incoming"},
        {"event": "call.incoming", "call": "not an object"},
        {"event": "call.incoming", "call": {"caller": "x"}},
        {"event": "call.state"},
        {"event": "call.ended", "call_id": ""},
        {"event": "hello", "status": {"calls": "many"}},
        {"event": "hello", "status": {"calls": [{"no": "id"}]}},
        {"event": "hello", "status": {"queue_capacity": "three"}},
        {"event": "call.transfer", "call_id": "c1", "call": [1, 2]},
        {"event": "audio", "station": "up", "queue_capacity": "x"},
        {"event": "call.turned_away", "caller": ["not", "a", "mapping"]},
        {"event": 7, "time": 12},
        {"event": "hello", "status": {"queue_capacity": float("inf"), "max_calls": 1e400}},
        {"event": "hello", "status": {"calls": [{"id": "c1", "consult_for": ["x"]}]}},
        {"event": "call.incoming", "call": {"id": "c1", "consult_id": {"a": 1}}},
        {"event": "call.incoming", "call": {"id": "c1", "received_at": "2026-01-01T10:00:00"}},
        {"event": "call.incoming", "call": {"id": ["c1"]}},
        {"event": "agent.availability", "since": "yesterday", "state": {"x": 1}},
    ],
)
def test_malformed_events_are_ignored_with_a_reason_never_raised(raw: dict[str, Any]) -> None:
    decoded = decode(raw)
    desk = Desk()
    desk.apply(decoded)  # whatever it decoded to, the desk takes it
    if isinstance(decoded, Ignored):
        assert decoded.why


def test_hostile_strings_are_kept_verbatim_for_safe_rendering_later() -> None:
    name = "[b]Eve[/b]\x1b[2J" + "x" * 10_000
    decoded = decode(event("call.incoming", call=call(caller={"display_name": name})))
    assert isinstance(decoded, CallAppeared)
    assert decoded.call.caller_name == name


def test_one_unreadable_call_does_not_cost_the_whole_snapshot() -> None:
    desk = Desk()
    status = {"calls": [call("c1"), {"id": "c2", "caller": "not an object"}, call("c3")]}
    desk.apply(decode(event("hello", status=status, availability={"state": "x"})))
    assert [c.id for c in desk.queue.calls()] == ["c1", "c3"]


def test_a_transfer_failure_is_told_even_when_its_call_object_is_unreadable() -> None:
    desk = Desk()
    feed(desk, event("call.incoming", call=call()))
    failed = event("call.transfer", call_id="c1", status="failed", detail="busy", call="?")
    effects = desk.apply(decode(failed))
    assert any(isinstance(e, Notice) and "Transfer failed" in e.text for e in effects)


def test_a_time_without_an_offset_is_utc_and_a_call_link_must_be_an_id() -> None:
    desk = Desk()
    odd = call("c1", received_at="2026-01-01T10:00:00", consult_for=["c0"], consult_id=7)
    feed(desk, event("call.incoming", call=odd), event("call.incoming", call=call("c2")))
    first = desk.queue.get("c1")
    assert first is not None
    assert first.received_at.utcoffset() is not None
    assert (first.consult_for, first.consult_id) == (None, None)
    assert [c.id for c in desk.queue.calls()] == ["c1", "c2"]  # sorting aware with aware


def test_an_event_without_a_time_takes_the_desk_clock() -> None:
    frozen = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    desk = Desk(clock=lambda: frozen)
    raw = event("call.incoming", call=call())
    del raw["time"]
    effects = desk.apply(decode(raw))
    assert [e.at for e in effects if isinstance(e, FloorCall)] == [frozen]


def test_an_event_the_console_does_not_use_costs_nothing() -> None:
    desk = Desk()
    feed(desk, event("call.incoming", call=call()))
    for raw in (
        event("engine.ready"),
        event("call.dtmf", call_id="c1"),
        {"event": "hello", "status": {"calls": 1}},
    ):
        assert desk.apply(decode(raw)) == []  # no repaint, no store or floor write
    assert [c.id for c in desk.queue.calls()] == ["c1"]
