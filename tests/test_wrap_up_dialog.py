# SPDX-License-Identifier: GPL-2.0-or-later
"""The wrap-up dialog: hot keys, validation, drafts, the countdown and due-time parsing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Label, TextArea

from console.core.scripts.forms import FollowUpTask, prefill
from console.core.scripts.models import Form
from console.core.wrap_up import DueError, WrapUpResult, parse_due
from console.dialogs.wrap_up import MANDATORY_MESSAGE, ChoiceBar, WrapUpDialog
from tests.console_app import screen_text, wait_for

LOCAL = timezone(timedelta(hours=-5))  # the agent's zone: UTC-5, no DST to trip on
START = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # 10:00 local, a Thursday

FORM = Form.model_validate(
    {
        "kind": "form",
        "id": "general-wrap-up",
        "title": "Wrap-up",
        "version": 3,
        "dispositions": [
            {"id": "resolved", "label": "Resolved", "key": "r"},
            {"id": "appointment_booked", "label": "Appointment booked", "key": "b"},
            {"id": "callback", "label": "Callback needed", "key": "c", "requires_follow_up": True},
            {"id": "no_action", "label": "No action", "key": "n"},
        ],
        "fields": [
            {
                "id": "reason",
                "label": "Reason",
                "input": {"kind": "text", "max_length": 80},
                "prefill_from": "call_reason",
            },
            {
                "id": "interpreter",
                "label": "Interpreter",
                "input": {"kind": "yes_no", "required": False},
            },
            {
                "id": "visit",
                "label": "Visit date",
                "input": {"kind": "date", "required": False},
            },
        ],
        "notes": {"label": "Notes", "max_length": 500},
        "follow_up": {"owners": ["me", "team", "nurse"], "default_due_hours": 24},
        "feedback_consent": {"prefill_from": "survey_ok"},
    }
)


class Clock:
    """A UTC clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class WrapUpApp(App[int]):
    """Pushes the dialog over an empty screen; keeps results and every draft body."""

    def __init__(self, clock: Clock | None = None, **options: Any) -> None:
        super().__init__()
        self.clock = clock or Clock()
        self.options: dict[str, Any] = {
            "form": FORM,
            "title": "Jane Smith · 4:12",
            "values": prefill(FORM, {"call_reason": "Prescription refill", "survey_ok": True}),
            "notes": "Asked about refill.",
            "mode": "optional",
            "seconds": 90,
            "extension_seconds": 60,
            "default_disposition": "no_action",
            "tz": LOCAL,
        }
        self.options.update(options)
        self.returned: list[WrapUpResult | None] = []
        self.bodies: list[dict[str, Any]] = []

    def on_mount(self) -> None:
        dialog = WrapUpDialog(**self.options, on_change=self.bodies.append, clock=self.clock)
        self.push_screen(dialog, self.returned.append)

    @property
    def dialog(self) -> WrapUpDialog:
        assert isinstance(self.screen, WrapUpDialog)
        return self.screen

    async def run_out(self, pilot: Pilot[int], seconds: float) -> WrapUpResult | None:
        """Move the clock ``seconds`` on, tick, and wait for what the dialog hands back."""
        self.clock.now += timedelta(seconds=seconds)
        self.dialog.tick()
        await wait_for(pilot, lambda: bool(self.returned), what="expiry")
        return self.returned[0]


def message(app: WrapUpApp) -> str:
    return str(app.dialog.query_one("#message", Label).render())


async def test_hot_key_then_ctrl_s_saves_with_prefilled_values() -> None:
    app = WrapUpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        text = screen_text(app)
        assert "r Resolved" in text
        assert "b Appointment booked" in text
        assert app.dialog.query_one("#field-reason", Input).value == "Prescription refill"
        assert app.dialog.query_one("#notes", TextArea).text == "Asked about refill."
        await pilot.press("b")
        assert app.dialog.disposition == "appointment_booked"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    result = app.returned[0]
    assert result == WrapUpResult(
        disposition="appointment_booked",
        fields={"reason": "Prescription refill", "interpreter": None, "visit": None},
        notes="Asked about refill.",
        follow_up=None,
        feedback_consent=True,
        expired=False,
        extension_reason=None,
    )
    assert "refill" not in repr(result)  # no PHI in the repr


async def test_hot_keys_type_into_text_boxes_and_enter_outside_saves() -> None:
    app = WrapUpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.dialog.query_one("#field-visit", Input).focus()
        await pilot.press("r", "b")  # letters in a text box are text, not dispositions
        assert app.dialog.disposition is None
        assert app.dialog.query_one("#field-visit", Input).value == "rb"
        app.dialog.query_one("#field-visit", Input).value = "2026-03-20"
        app.dialog.query_one("#field-interpreter").focus()
        await pilot.press("space", "r", "enter")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    result = app.returned[0]
    assert result is not None
    assert result.disposition == "resolved"
    assert result.fields["interpreter"] is True
    assert result.fields["visit"] == date(2026, 3, 20)


async def test_missing_required_values_are_listed_and_nothing_closes() -> None:
    app = WrapUpApp(values={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        shown = message(app)
        assert "Disposition: choose a disposition" in shown
        assert "Reason: an answer is required" in shown
        assert "Feedback consent: record yes or no" in shown
        assert app.returned == []
        await pilot.press("c", "ctrl+s")  # a callback disposition needs a follow-up reason
        await pilot.pause()
        assert "Follow-up reason: give a reason" in message(app)
        assert app.dialog.query_one("#follow-up").display
        assert app.returned == []


async def test_follow_up_from_disposition_with_default_due_and_owner_cycling() -> None:
    app = WrapUpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.dialog.query_one("#follow-up").display
        await pilot.press("c")
        assert app.dialog.query_one("#follow-up").display
        due = app.dialog.query_one("#due", Input)
        assert due.value == "2026-03-06 10:00"  # default: 24 hours on, local time
        app.dialog.query_one("#owner", ChoiceBar).focus()
        await pilot.press("right")
        app.dialog.query_one("#reason", Input).focus()
        await pilot.press(*"Check results", "ctrl+s")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    result = app.returned[0]
    assert result is not None
    assert result.follow_up == FollowUpTask(START + timedelta(hours=24), "team", "Check results")


async def test_ctrl_f_adds_a_follow_up_and_a_bad_due_time_is_explained() -> None:
    app = WrapUpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r", "ctrl+f")
        due = app.dialog.query_one("#due", Input)
        assert app.focused is due
        due.value = "next week"
        app.dialog.query_one("#reason", Input).value = "Chase lab"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Follow-up due: enter the due time as +2h, +1d" in message(app)
        assert app.returned == []
        due.value = "+2h"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    result = app.returned[0]
    assert result is not None
    assert result.follow_up is not None
    assert result.follow_up.due == START + timedelta(hours=2)
    assert result.follow_up.owner == "me"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("+2h", START + timedelta(hours=2)),
        ("+1d", START + timedelta(days=1)),
        ("+ 45m", START + timedelta(minutes=45)),
        ("tomorrow 09:00", datetime(2026, 3, 6, 14, 0, tzinfo=UTC)),
        ("Tomorrow", datetime(2026, 3, 6, 14, 0, tzinfo=UTC)),
        ("today 16:30", datetime(2026, 3, 5, 21, 30, tzinfo=UTC)),
        ("2026-03-09 08:15", datetime(2026, 3, 9, 13, 15, tzinfo=UTC)),
    ],
)
def test_due_times_in_every_accepted_form(typed: str, expected: datetime) -> None:
    parsed = parse_due(typed, START, LOCAL)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("typed", "message_part"),
    [
        ("soon", "enter the due time as"),
        ("", "enter a due time"),
        ("2026-02-30 09:00", "no such date or time"),
        ("tomorrow 25:00", "no such date or time"),
        ("+2w", "enter the due time as"),
    ],
)
def test_bad_due_times_are_refused_clearly(typed: str, message_part: str) -> None:
    with pytest.raises(DueError, match=message_part):
        parse_due(typed, START, LOCAL)


async def test_every_change_yields_a_body_that_restores_the_same_wrap_up() -> None:
    app = WrapUpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        assert app.bodies[-1]["disposition"] == "callback"
        count = len(app.bodies)
        app.dialog.query_one("#reason", Input).focus()
        await pilot.press(*"Lab")
        assert len(app.bodies) == count + 3  # one body per key
        app.dialog.query_one("#notes", TextArea).focus()
        await pilot.press("end", "!")
        app.dialog.query_one("#consent", ChoiceBar).focus()
        await pilot.press("right")  # yes -> no
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    body = app.bodies[-1]
    assert body["notes"] == "Asked about refill.!"
    assert body["feedback_consent"] is False
    assert body["follow_up"] == {
        "enabled": True,
        "due": "2026-03-06 10:00",
        "owner": "me",
        "reason": "Lab",
    }
    first = app.returned[0]

    restored = WrapUpApp(values={}, notes="", draft=body)
    async with restored.run_test(size=(80, 24)) as pilot:
        assert restored.dialog.draft_body() == body
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bool(restored.returned), what="dismiss")
    assert restored.returned == [first]


async def test_timed_wrap_up_counts_down_and_expires_with_the_default() -> None:
    clock = Clock()
    app = WrapUpApp(clock, mode="timed", seconds=90, values={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Wrap-up 1:30 left" in screen_text(app)
        clock.now += timedelta(seconds=7)
        app.dialog.tick()
        await pilot.pause()
        assert "Wrap-up 1:23 left" in screen_text(app)
        app.dialog.query_one("#field-visit", Input).value = "not a date"
        app.dialog.query_one("#field-interpreter", ChoiceBar).value = False
        clock.now += timedelta(seconds=83)
        await wait_for(pilot, lambda: bool(app.returned), what="expiry")  # the interval fires
    result = app.returned[0]
    assert result is not None
    assert result.expired is True
    assert result.disposition == "no_action"
    assert result.fields == {"interpreter": False}  # the invalid and missing ones are left out
    assert result.notes == "Asked about refill."


async def test_expiry_keeps_the_chosen_disposition() -> None:
    clock = Clock()
    app = WrapUpApp(clock, mode="timed", seconds=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        result = await app.run_out(pilot, 30)
    assert result is not None
    assert result.expired
    assert result.disposition == "appointment_booked"
    assert result.fields["reason"] == "Prescription refill"


async def test_one_extension_with_a_reason_and_no_second() -> None:
    clock = Clock()
    app = WrapUpApp(clock, mode="timed", seconds=60, extension_seconds=120)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+e")
        reason = app.dialog.query_one("#extend-reason", Input)
        assert app.focused is reason
        await pilot.press("enter")
        assert "Give a reason" in message(app)
        await pilot.press(*"Complex referral", "enter")
        await pilot.pause()
        assert app.dialog.extended
        assert "Wrap-up 3:00 left" in screen_text(app)
        assert app.bodies[-1]["extended"] is True
        assert app.bodies[-1]["extension_reason"] == "Complex referral"
        await pilot.press("ctrl+e")
        assert "already extended once" in message(app)
        assert not app.dialog.query_one("#extend-row").display
        clock.now += timedelta(seconds=179)
        app.dialog.tick()
        assert app.returned == []
        result = await app.run_out(pilot, 1)
    assert result is not None
    assert result.expired
    assert result.extension_reason == "Complex referral"


async def test_restored_timed_draft_keeps_its_remaining_time_and_extension() -> None:
    clock = Clock()
    body = {"disposition": "resolved", "remaining_seconds": 42, "extended": True}
    app = WrapUpApp(clock, mode="timed", seconds=90, draft=body)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Wrap-up 0:42 left" in screen_text(app)
        await pilot.press("ctrl+e")
        assert "already extended once" in message(app)


@pytest.mark.parametrize("mode", ["mandatory", "timed"])
async def test_escape_cannot_skip_a_required_wrap_up(mode: str) -> None:
    app = WrapUpApp(mode=mode)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert message(app) == MANDATORY_MESSAGE
        assert app.returned == []
        assert isinstance(app.screen, WrapUpDialog)


async def test_escape_skips_an_optional_wrap_up() -> None:
    app = WrapUpApp(mode="optional")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await wait_for(pilot, lambda: bool(app.returned), what="dismiss")
    assert app.returned == [None]


async def test_markup_in_title_and_notes_is_shown_literally() -> None:
    app = WrapUpApp(title="[red]Evil[/red] \x1b[2J caller", notes="[bold]not bold[/bold]")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[red]Evil[/red] \ufffd[2J caller" in text
        assert "[bold]not bold[/bold]" in text


async def test_fits_a_small_terminal_and_scrolls_to_the_consent() -> None:
    app = WrapUpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+f")
        consent = app.dialog.query_one("#consent", ChoiceBar)
        consent.focus()
        await pilot.pause()
        assert app.dialog.query_one("#message").region.bottom <= 24
        assert "Caller agrees" in screen_text(app)
