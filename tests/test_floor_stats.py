# SPDX-License-Identifier: GPL-2.0-or-later
"""Queue and agent statistics folded from floor events, at a frozen moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.floor_view.source import FloorEvent
from console.floor_view.stats import FloorState, Thresholds, duration, sparkline

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Feed:
    """Builds numbered events the way consoles publish them."""

    def __init__(self) -> None:
        self.events: list[FloorEvent] = []

    def add(self, kind: str, agent: str, at: datetime, **payload: Any) -> None:
        body = {"agent_id": agent, "at": z(at), **payload}
        self.events.append(FloorEvent(len(self.events) + 1, agent, kind, body, at))

    def call(
        self,
        agent: str,
        call: str,
        event: str,
        at: datetime,
        queue: str = "nurse",
        **times: float | str,
    ) -> None:
        self.add("call_event", agent, at, call_id=call, queue=queue, event=event, **times)

    def state(self, agent: str, availability: str, since: datetime, **extra: Any) -> None:
        self.add(
            "agent_state",
            agent,
            since,
            agent_name=extra.pop("name", agent.upper()),
            availability=availability,
            reason=extra.pop("reason", ""),
            since=z(since),
            on_call=extra.pop("on_call", False),
            call_since=extra.pop("call_since", None),
            **extra,
        )


def folded(
    feed: Feed, thresholds: Thresholds | None = None, since: datetime | None = None
) -> FloorState:
    state = FloorState(thresholds, since)
    state.apply_all(feed.events)
    return state


def queue_feed() -> Feed:
    feed = Feed()
    # c1 answered in 10 s, talked 100, wrapped 20; c2 answered in 30 s (late), ended 50,
    # not wrapped; c3 abandoned; c4 and c5 still waiting (since 90 s and 40 s).
    feed.call("a1", "c1", "offered", ago(600))
    feed.call("a1", "c1", "answered", ago(590), wait_s=10)
    feed.call("a1", "c1", "ended", ago(490), wait_s=10, talk_s=100)
    feed.call("a1", "c1", "wrapped", ago(470), acw_s=20)
    feed.call("a2", "c2", "offered", ago(500))
    feed.call("a2", "c2", "answered", ago(470), wait_s=30)
    feed.call("a2", "c2", "ended", ago(420), wait_s=30, talk_s=50)
    feed.call("a2", "c3", "offered", ago(300))
    feed.call("a2", "c3", "abandoned", ago(280), wait_s=20)
    feed.call("a1", "c4", "offered", ago(90))
    feed.call("a2", "c5", "offered", ago(40))
    feed.call("a2", "b1", "offered", ago(10), queue="billing")
    return feed


def test_queue_statistics_with_both_service_levels() -> None:
    rows = {row.queue: row for row in folded(queue_feed()).queues(NOW)}
    nurse = rows["nurse"]
    assert (nurse.waiting, nurse.longest_wait_s) == (2, 90.0)
    assert (nurse.answered, nurse.abandoned) == (2, 1)
    assert nurse.sl_answered == pytest.approx(1 / 2)  # c1 within 20 s of 2 answered
    assert nurse.sl_abandon == pytest.approx(1 / 3)  # ... of answered + abandoned
    assert nurse.aht_s == pytest.approx((120 + 50) / 2)  # c2 not wrapped: talk only
    assert nurse.acw_s == pytest.approx(20)
    billing = rows["billing"]
    assert (billing.waiting, billing.answered, billing.sl_answered, billing.aht_s) == (
        1,
        0,
        None,
        None,
    )


def test_threshold_is_configurable() -> None:
    nurse = folded(queue_feed(), Thresholds(sl_threshold_s=30)).queues(NOW, "nurse")[0]
    assert nurse.sl_answered == 1.0
    assert nurse.sl_abandon == pytest.approx(2 / 3)


def test_missed_leaves_the_wait_and_replays_are_ignored() -> None:
    feed = Feed()
    feed.call("a1", "c1", "offered", ago(50))
    feed.call("a1", "c1", "missed", ago(20), wait_s=30)
    state = folded(feed)
    state.apply_all(feed.events)  # the same seqs again: no effect
    row = state.queues(NOW)[0]
    assert (row.waiting, row.answered, row.abandoned) == (0, 0, 0)


def test_agent_time_in_state_call_duration_and_sync_age() -> None:
    feed = Feed()
    feed.state("a1", "available", ago(300), on_call=True, call_since=z(ago(75)), team="east")
    feed.state("a2", "not_ready", ago(65), reason="Break [b]x[/b]")
    rows = {row.agent_id: row for row in folded(feed).agent_rows(NOW)}
    # On a call: in that state since the call began, not since she became available.
    assert (rows["a1"].in_state_s, rows["a1"].call_s, rows["a1"].team) == (75, 75, "east")
    assert (rows["a2"].reason, rows["a2"].call_s, rows["a2"].sync_age_s) == (
        "Break [b]x[/b]",
        None,
        65,
    )
    assert [row.agent_id for row in folded(feed).agent_rows(NOW, team="east")] == ["a1"]


def test_agents_filter_by_the_queue_they_serve() -> None:
    state = folded(queue_feed())
    assert [row.agent_id for row in state.agent_rows(NOW, queue="billing")] == ["a2"]
    assert [row.agent_id for row in state.agent_rows(NOW, queue="nurse")] == ["a1", "a2"]


def test_alerts_for_service_level_state_too_long_and_stale_sync() -> None:
    feed = queue_feed()
    # Over the 5 min wrap-up limit, but not stale: a call was offered to Ann 90 s ago.
    feed.state("a1", "wrap_up", ago(6 * 60), name="Ann")
    feed.state("a2", "not_ready", ago(60), name="Bo")  # under 15 min
    feed.state("a3", "available", ago(3 * 60), name="Cy")  # nothing for 3 min: stale
    feed.state("a4", "offline", ago(3600), name="Di")  # offline agents are never stale
    alerts = {(alert.kind, alert.subject): alert.text for alert in folded(feed).alerts(NOW)}
    assert alerts == {
        ("service_level", "nurse"): "nurse: service level 50% under target 80%",
        ("state_too_long", "a1"): "Ann: wrap_up for 6:00",
        ("stale_sync", "a3"): "Cy: no update for 3:00",
    }
    relaxed = Thresholds(sl_target=0.5, stale_sync_s=600, state_limits={"wrap_up": 400})
    assert folded(feed, relaxed).alerts(NOW) == []


def test_waiting_history_and_sparkline() -> None:
    feed = Feed()
    feed.call("a1", "old", "offered", ago(2 * 3600))  # waiting since before the hour
    feed.call("a1", "c1", "offered", ago(30 * 60 + 10))
    feed.call("a1", "c2", "offered", ago(30 * 60 + 5))
    feed.call("a1", "c1", "answered", ago(29 * 60 + 30), wait_s=40)
    feed.call("a1", "c2", "abandoned", ago(10 * 60 + 30), wait_s=1200)
    history = folded(feed).waiting_history(NOW)
    assert len(history) == 60
    assert history[:29] == [1] * 29
    assert history[29:31] == [3, 3]  # the peak inside a minute counts
    assert history[31:50] == [2] * 19
    assert history[50:] == [1] * 10
    assert sparkline(history[27:32]) == "▃▃██▆"
    assert sparkline([0, 0]) == "▁▁"


def test_duration_text() -> None:
    assert [duration(None), duration(5), duration(65.9), duration(3725)] == [
        "–",
        "0:05",
        "1:05",
        "1:02:05",
    ]


def test_call_time_starts_at_the_answer_and_state_time_at_the_call() -> None:
    """A console says "on call" as the agent picks up, before the answer, and says
    nothing more for a minute: the answered call event starts the call clock."""
    feed = Feed()
    feed.add(
        "agent_state",
        "a1",
        ago(20),
        agent_name="Ann",
        availability="available",
        since=z(ago(300)),
        on_call=True,
        call_since=None,
    )
    feed.call("a1", "c1", "offered", ago(25))
    feed.call("a1", "c1", "answered", ago(18), wait_s=7)
    row = folded(feed).agent_rows(NOW)[0]
    assert (row.on_call, row.call_s, row.in_state_s) == (True, 18, 18)

    feed.call("a1", "c1", "ended", ago(10), wait_s=7, talk_s=8)
    feed.state("a1", "available", ago(300), name="Ann")  # the console's next state
    row = folded(feed).agent_rows(NOW)[0]
    assert (row.on_call, row.call_s, row.in_state_s) == (False, None, 10)


def test_waiting_now_is_the_current_count_not_the_minutes_peak() -> None:
    feed = Feed()
    for call in ("c1", "c2", "c3"):
        feed.call("a1", call, "offered", ago(50))
    feed.call("a1", "c1", "answered", ago(20), wait_s=30)
    feed.call("a1", "c2", "abandoned", ago(10), wait_s=40)
    state = folded(feed)
    assert state.waiting_history(NOW)[-1] == 3  # the sparkline's bar: the minute's peak
    assert state.waiting_now() == 1
    assert (state.waiting_now("nurse"), state.waiting_now("billing")) == (1, 0)


def test_calls_turned_away_are_counted_per_queue_with_the_commonest_reason() -> None:
    feed = queue_feed()
    for n, reason in enumerate(("agent not_ready", "queue_full", "agent not_ready")):
        feed.call("a1", f"t{n}", "turned_away", ago(60 - n), reason=reason)
    feed.call("a1", "t0", "turned_away", ago(30), reason="agent not_ready")  # again: once
    feed.call("a2", "t9", "turned_away", ago(5), queue="billing", reason="queue_full")
    state = folded(feed)
    rows = {row.queue: row for row in state.queues(NOW)}
    nurse, billing = rows["nurse"], rows["billing"]
    assert (nurse.turned_away, nurse.top_reason, nurse.waiting) == (3, "agent not_ready", 2)
    assert (billing.turned_away, billing.top_reason, billing.waiting) == (1, "queue_full", 1)
    assert (nurse.answered, nurse.abandoned) == (2, 1)  # no other count moves
    alerts = {(a.kind, a.subject): a.text for a in state.alerts(NOW) if a.kind == "turned_away"}
    assert alerts == {
        ("turned_away", "nurse"): "nurse: 3 calls turned away, most often agent not_ready",
        ("turned_away", "billing"): "billing: 1 call turned away, most often queue_full",
    }
    # Before the day's start they count no more than other calls do.
    assert [row.turned_away for row in folded(feed, since=ago(3)).queues(NOW)] == []
