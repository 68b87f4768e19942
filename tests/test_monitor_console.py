# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent console's side of monitoring: grants checked, who is on shown, every leg
audited (issue 20)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.core.agent_state import AgentState
from console.core.audit import AuditLog
from console.core.calls import LiveCall
from console.core.config import AccountConfig, SipConfig
from console.core.events import decode
from console.core.floor import FloorReporter
from console.core.interactions import InteractionStore
from console.core.monitor_events import MonitorChanged, MonitorEnded, MonitorRequested
from console.core.monitor_grants import new_grant_id, write_local_grant
from console.core.monitoring import MonitorDesk, agent_contact
from console.core.phone import PhoneError
from console.core.store import Store
from console.floor_view.rows import FloorEvent, check_row
from console.messages import PhoneEvent
from console.widgets.monitor_badge import MonitorBadge
from sip.monitor_terms import MODES, REFUSALS
from tests.console_app import make_app, screen_text, sip_port, talking, toasts, wait_for
from tests.monitor_calls import SUPERVISOR_UID, supervisor_engine
from tests.support import Sipp


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "s.sqlite3")
    yield opened
    await opened.close()


async def test_the_audit_log_takes_monitor_rows_and_its_chain_still_verifies(store: Store) -> None:
    log = AuditLog(store)
    await log.append("agent-7", "monitor", "monitoring", "denied", terminal="refused: expired")
    await log.append("agent-7", "monitor", "monitoring", "ok", terminal="supervisor sam (listen)")
    await log.append("agent-7", "monitor_mode", "monitoring", "ok", terminal="sam (barge)")
    await log.append("agent-7", "monitor_end", "monitoring", "ok", terminal="sam (left)")
    assert (await log.verify()).ok


async def test_the_console_lets_a_supervisors_grant_in_shows_them_and_audits_every_leg(
    tmp_path: Path,
) -> None:
    """A real console and engine, a SIPp patient, a supervisor's engine: a forged grant is
    refused, a real one connects and the agent sees who listens, then whispers; the
    audit log has every step."""
    spool = tmp_path / "grants"
    spool.mkdir()
    app = make_app(
        tmp_path,
        f"audio:\n  mode: none\nmonitoring:\n  grant_dir: {spool}\n"
        f"  supervisor_accounts: ['{SUPERVISOR_UID}']\n",
    )
    supervisor = supervisor_engine(tmp_path)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_for(pilot, lambda: app.phone.status.online, 20)
            sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app))
            await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
            await pilot.press("a")
            await wait_for(pilot, lambda: talking(app), what="answered")
            call_id = app.agent_screen.queue.calls()[0].id
            target = f"sip:agent@127.0.0.1:{sip_port(app)}"

            def ask(cmd: str, **args: Any) -> Awaitable[dict[str, Any]]:
                """A supervisor's command, off the console's event loop."""
                return asyncio.to_thread(supervisor.command, cmd, **args)

            def heard(name: str, **match: Any) -> Awaitable[dict[str, Any]]:
                """A supervisor's event, off the console's event loop."""
                return asyncio.to_thread(supervisor.wait_event, name, **match)

            forged = await ask("monitor", target=target, grant=new_grant_id())
            ended = await heard("call.ended", call_id=forged["result"]["call_id"])
            assert (ended["sip_status"], ended["sip_reason"]) == REFUSALS["unknown_grant"]

            grant = write_local_grant(
                spool, agent_id=app.services.config.agent.id, call_id=call_id, modes=MODES
            )
            os.chown(spool / f"{grant.id}.json", SUPERVISOR_UID, -1)
            leg = (await ask("monitor", target=target, grant=grant.id))["result"]["call_id"]
            await heard("call.state", call_id=leg, state="active")
            badge = app.agent_screen.query_one(MonitorBadge)
            await wait_for(pilot, lambda: "listening" in badge.label, what="listen shown")
            assert f"uid {SUPERVISOR_UID} listening" in screen_text(app)
            assert (await ask("dtmf", call=leg, digits="2"))["ok"]
            await wait_for(pilot, lambda: "whispering" in badge.label, what="whisper shown")
            assert (await ask("hangup", call=leg))["ok"]
            await wait_for(pilot, lambda: badge.label == "", what="badge gone")
            await pilot.press("h")
            assert sipp.wait() == 0, sipp.report()
            await pilot.pause(0.3)
    finally:
        supervisor.stop()
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        rows = await store.fetch_all(
            "SELECT action, outcome, terminal FROM audit WHERE category = 'monitoring' ORDER BY seq"
        )
    finally:
        await store.close()
    assert [tuple(row) for row in rows] == [
        ("monitor", "denied", "monitor: refused: unknown_grant"),
        ("monitor", "ok", f"monitor: uid {SUPERVISOR_UID} (listen)"),
        ("monitor_mode", "ok", f"monitor: uid {SUPERVISOR_UID} (whisper)"),
        ("monitor_end", "ok", f"monitor: uid {SUPERVISOR_UID} (left)"),
    ]


async def test_an_engine_error_with_markup_in_it_is_shown_to_the_agent_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's error text is not the console's markup: brackets in it neither garble
    the toast nor take the console down."""
    app = make_app(tmp_path)
    hostile = "leg [/] gone [bold]x[/bold] [link=file:///etc/passwd]y"
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        engine = app.services.phone.command

        async def failing(cmd: str, **args: Any) -> dict[str, Any]:
            if cmd == "monitor_refuse":
                raise PhoneError("error", hostile)
            return await engine(cmd, **args)

        monkeypatch.setattr(app.services.phone, "command", failing)
        request = {"event": "monitor.request", "monitor_id": "m-1", "grant": "A" * 22}
        app.agent_screen.post_message(PhoneEvent(request))
        await wait_for(pilot, lambda: "request failed" in " ".join(toasts(app)), what="said")
        assert hostile in " ".join(toasts(app))
        assert app.is_running


async def test_a_policy_may_hide_listen_from_the_agent_but_never_from_the_audit(
    store: Store,
) -> None:
    log = AuditLog(store)
    desk = MonitorDesk(None, log, "agent-7", show_listen=False)

    def state(mode: str, supervisor: str = "sam") -> MonitorChanged:
        return MonitorChanged(
            name="monitor.state", monitor_id="m-1", call_id="c-1", mode=mode, supervisor=supervisor
        )

    await desk.apply(state("listen"))
    assert desk.label() == ""
    await desk.apply(state("whisper"))
    assert desk.label() == "sam whispering"
    await desk.apply(state("barge", "[b]\x1b[31mboss\u202e"))
    assert "\x1b" not in desk.label()
    assert "\u202e" not in desk.label()
    await desk.apply(MonitorEnded(name="monitor.ended", monitor_id="m-1", reason="left"))
    rows = await store.fetch_all("SELECT action FROM audit WHERE category = 'monitoring'")
    assert [row[0] for row in rows] == ["monitor_mode", "monitor_mode", "monitor_end"]


async def test_without_a_grant_book_every_request_is_refused_and_audited(store: Store) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    async def command(name: str, **args: Any) -> dict[str, Any]:
        sent.append((name, args))
        return {}

    desk = MonitorDesk(None, AuditLog(store), "agent-7")
    request = MonitorRequested(name="monitor.request", monitor_id="m-1", grant="A" * 22)
    assert await desk.decide(request, ["c-1"], command) == "unknown_grant"
    assert sent == [("monitor_refuse", {"monitor": "m-1", "reason": "unknown_grant"})]
    rows = await store.fetch_all("SELECT action, outcome FROM audit")
    assert [tuple(row) for row in rows] == [("monitor", "denied")]


async def test_the_floor_learns_which_call_an_agent_talks_on_and_how_to_reach_their_phone(
    store: Store,
) -> None:
    """What a supervisor's key needs (call and contact) rides on the agent's state, and only
    while on a call; a new call republishes even if nothing else changed."""
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    contact = agent_contact(SipConfig(listen="127.0.0.1:5071"), "")
    reporter = FloorReporter(
        InteractionStore(store), "alice", "Alice", lambda: now, contact=lambda: contact
    )
    ready = AgentState(phone_online=True)
    first, second = (
        LiveCall(f"call-{n}", "", "", "", "active", now, answered_at=now) for n in (1, 2)
    )
    for active in (first, second, None):
        await reporter.agent_state(ready, active)
    rows = await store.fetch_all(
        "SELECT seq, payload FROM outbox WHERE kind = 'agent_state' ORDER BY seq"
    )
    checked = [check_row(int(seq), "agent_state", "alice", str(body), now) for seq, body in rows]
    assert all(isinstance(row, FloorEvent) for row in checked), checked
    payloads = [row.payload for row in checked if isinstance(row, FloorEvent)]
    assert [(p.get("call_id"), p.get("contact")) for p in payloads] == [
        ("call-1", "sip:agent@127.0.0.1:5071"),
        ("call-2", "sip:agent@127.0.0.1:5071"),
        (None, None),
    ]
    account = AccountConfig(registrar="sip:pbx.example.org", user="4021", domain="example.org")
    assert agent_contact(SipConfig(account=account), "127.0.0.1:5071") == "sip:4021@example.org"
    assert agent_contact(SipConfig(listen="127.0.0.1:0"), "") == ""


async def test_a_console_that_reconnects_shows_who_is_on_without_auditing_it_again(
    store: Store,
) -> None:
    desk = MonitorDesk(None, AuditLog(store), "agent-7", show_listen=False)
    desk.restore(
        [
            {
                "monitor_id": "m-1",
                "call_id": "c-1",
                "state": "connected",
                "mode": "whisper",
                "supervisor": "sam",
                "modes": ["listen", "whisper"],
            },
            {
                "monitor_id": "m-2",
                "call_id": "c-1",
                "state": "connected",
                "mode": "listen",
                "supervisor": "ann",
            },
            {"monitor_id": "m-3", "state": "asking", "mode": "barge", "supervisor": "bo"},
            "garbage",
            {"monitor_id": 7, "state": "connected"},
        ]
    )
    assert desk.label() == "sam whispering"  # ann only listens: hidden by the policy
    assert set(desk.on_call) == {"m-1", "m-2"}
    desk.restore("not a list")
    assert desk.on_call == {}
    assert await store.fetch_all("SELECT * FROM audit") == []


def test_hostile_monitor_events_from_the_engine_decode_to_bounded_plain_values() -> None:
    request = decode(
        {"event": "monitor.request", "monitor_id": ["x"], "grant": "G" * 10_000, "mode": "spy"}
    )
    assert isinstance(request, MonitorRequested)
    assert (request.monitor_id, len(request.grant), request.mode) == ("", 128, "")
    state = decode(
        {"event": "monitor.state", "monitor_id": "m", "modes": ["barge", "spy", 3], "shown": 0}
    )
    assert isinstance(state, MonitorChanged)
    assert (state.modes, state.shown) == (("barge",), True)
    ended = decode({"event": "monitor.ended", "refused": "yes", "sip_status": True})
    assert isinstance(ended, MonitorEnded)
    assert (ended.refused, ended.sip_status) == (False, 0)
