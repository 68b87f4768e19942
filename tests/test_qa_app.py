# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline qa`` under Pilot (issue 21): a supervisor evaluates a call from the queue
with the keyboard (the automatic checks' answers pre-filled), the agent reads and
acknowledges it with ``--mine``, and a second evaluator's answers show as calibration."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from console.core.audit import AuditLog
from console.core.config.recording import RecordingConfig
from console.core.events import RecordingChanged
from console.core.paths import data_dir
from console.core.quality.evaluations import EvaluationStore
from console.core.quality.selection import week_of
from console.core.recordings.ledger import RecordingLedger
from console.core.store import Store
from console.qa_view.app import QaApp, create_qa
from console.qa_view.calibration_screen import CalibrationScreen
from console.qa_view.evaluation_screen import EvaluationScreen
from console.qa_view.mine_screen import MineScreen
from console.qa_view.queue_screen import QueueScreen
from console.qa_view.session import QaSettings, session_opener
from console.qa_view.text_prompt import TextPrompt
from tests.careline_cli import careline
from tests.console_app import screen_text, wait_for
from tests.qa_calls import MONDAY, a_week

SIZE = (160, 48)
SCORE_KEYS = ("y", "n", "y", "4", "5", "y")
"""minimum necessary, emergency advice (not given), no medical advice, empathy 4 of 5,
clarity 5, notes complete: the questions the automatic checks leave."""


def settings(path: Path, user: str, **changes: object) -> QaSettings:
    start, end = week_of(MONDAY)
    return QaSettings(path, None, user, start, end, **changes)  # type: ignore[arg-type]


async def seeded(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "store.sqlite3"
    store = await Store.open(path)
    try:
        emergency = await a_week(store)
        # The emergency was recorded with the caller's consent (the console's own ledger).
        ledger = RecordingLedger(store, AuditLog(store), "alice", RecordingConfig())
        for state, at in (("recording", "09:00:10"), ("stopped", "09:03:05")):
            event = RecordingChanged(
                name="recording",
                time_text=f"2026-12-02T{at}.000Z",
                call_id=emergency,
                mode="consent",
                consent_by="patient",
                state=state,
                file=f"{emergency}.clrec",
                seconds=175.0 if state == "stopped" else None,
            )
            await ledger.apply(event, "general")
        await ledger.held.settled()  # written behind, as in the console: on disk from here
    finally:
        await store.close()
    return path, emergency


async def evaluate_first(app: QaApp, pilot: object, keys: tuple[str, ...]) -> None:
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen) and bool(app.screen.entries))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, EvaluationScreen), what="the form")
    await pilot.press(*keys, "s")
    screen = app.screen
    assert isinstance(screen, EvaluationScreen)
    await wait_for(pilot, lambda: screen.evaluation.state == "submitted", what="submitted")


async def test_a_supervisor_scores_a_call_and_the_agent_acknowledges_it(tmp_path: Path) -> None:
    path, emergency = await seeded(tmp_path)
    app = create_qa(session_opener(settings(path, "sam")))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, QueueScreen) and bool(app.screen.entries)
        )
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        first = queue.entries[0]
        assert (first.pick.call_id, first.pick.reason) == (emergency, "emergency")
        # 2 sampled calls per agent besides the emergency.
        assert sorted(e.pick.reason for e in queue.entries) == ["emergency", *["sample"] * 4]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EvaluationScreen), what="the form")
        text = screen_text(app)
        assert "red flag to transfer 30 s (limit 120 s)" in text  # the call beside the form
        assert "Recording: 2 min 55 s, consent by the patient" in text
        assert "p plays/stops · f 1x/1.5x · j jumps to a moment" in text  # played here
        screen = app.screen
        assert isinstance(screen, EvaluationScreen)
        assert screen.evaluation.values() == {
            "verified_before_details": "na",
            "red_flag_escalated": "yes",
            "script_followed": "na",
            "hold_etiquette": "na",
            "disposition_accurate": "yes",
            "wrap_up_timely": "yes",
        }
        await pilot.press("s")  # too early: says what is missing and stays a draft
        await pilot.pause(0.2)
        assert screen.evaluation.state == "draft"
        await pilot.press(*SCORE_KEYS)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt), what="text box")
        await pilot.press(*"Calm [b]and[/b] quick", "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the form")
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.evaluation.state == "submitted", what="submitted")
        # safety: red flag yes (3), advice no (1), no medical advice yes (2) -> 5/6
        # conversation: empathy 0.75*2 + clarity 2 + script N/A + hold N/A -> 3.5/4
        expected = round((25 * 1 + 30 * 5 / 6 + 25 * 3.5 / 4 + 20 * 1) / 100 * 100, 1)
        assert screen.evaluation.score == expected == 91.9
        assert "PASS (submitted)" in screen_text(app)
        await pilot.press("y")  # final now: nothing changes
        await pilot.pause(0.2)
        assert screen.evaluation.score == expected
        await pilot.press("escape")
        await wait_for(pilot, lambda: "91.9 pass (submitted)" in screen_text(app), what="row")

    mine = create_qa(session_opener(settings(path, "alice", mine=True)))
    async with mine.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: isinstance(mine.screen, MineScreen) and bool(mine.screen.evaluations)
        )
        text = screen_text(mine)
        assert "1 to acknowledge" in text
        assert "coaching: Calm [b]and[/b] quick" in text  # shown as typed, not as markup
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(mine.screen, TextPrompt), what="reply box")
        await pilot.press(*"Thanks", "enter")
        await wait_for(pilot, lambda: "0 to acknowledge" in screen_text(mine), what="acknowledged")

    store = await Store.open(path)
    try:
        (stored,) = await EvaluationStore(store).of_agent("alice")
        assert (stored.state, stored.agent_comment, stored.score) == (
            "acknowledged",
            "Thanks",
            91.9,
        )
        assert await EvaluationStore(store).of_agent("bob") == []
        rows = await store.fetch_all(
            "SELECT agent_id, action, category FROM audit WHERE patient_id = 'patient-1'"
        )
        # Opening the call showed the patient's script answers and wrap-up: audited.
        assert [tuple(r) for r in rows] == [("sam", "view", "interactions")]
    finally:
        await store.close()


async def test_calibration_shows_where_two_evaluators_disagree(tmp_path: Path) -> None:
    path, _ = await seeded(tmp_path)
    for evaluator, keys in (("sam", SCORE_KEYS), ("kim", ("y", "y", "y", "1", "5", "y"))):
        app = create_qa(session_opener(settings(path, evaluator)))
        async with app.run_test(size=SIZE) as pilot:
            await evaluate_first(app, pilot, keys)
            if evaluator == "kim":
                await pilot.press("c")
                await wait_for(pilot, lambda: isinstance(pilot.app.screen, CalibrationScreen))
                table = pilot.app.screen.query_one(DataTable)
                empathy = table.get_row("empathy")
                assert [str(cell) for cell in empathy] == [
                    "Empathy and courtesy",
                    "1",
                    "4",
                    "0.75",
                ]
                advice = [str(cell) for cell in table.get_row("emergency_advice")]
                assert advice[1:] == ["yes", "no", "1"]
                assert "Calibration: 2 submitted evaluation(s)" in screen_text(app)


async def test_the_queue_prints_without_a_screen_the_same_in_every_run(tmp_path: Path) -> None:
    path, _ = await seeded(tmp_path)
    config = tmp_path / "careline.yaml"
    config.write_text(f"store:\n  path: {path}\n", encoding="utf-8")
    args = ("qa", "--config", str(config), "--list", "--week", "2026-12-02", "--as", "sam")
    first = careline(*args)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("emergency\talice\t")
    assert first.stderr == "5 calls to review\n"
    assert careline(*args).stdout == first.stdout  # the seeded sample draws the same calls
    other = careline(*args, "--seed", "another")
    assert other.stdout.splitlines()[0] == lines[0]  # targeted calls do not depend on it
    missing = careline(*args, "--form", "nope")
    assert (missing.returncode, missing.stderr) == (
        2,
        "careline qa: no evaluation form nope in the library\n",
    )


async def test_the_demo_s_calls_are_reviewed_as_the_demo_supervisor() -> None:
    demo = data_dir() / "demo.sqlite3"  # where `careline demo` keeps its calls
    store = await Store.open(demo)
    try:
        await a_week(store, agents=("demo-agent",), per_agent=2)
    finally:
        await store.close()
    listed = careline("qa", "--demo", "--list", "--week", "2026-12-02")
    assert listed.returncode == 0, listed.stderr
    reasons = [line.split("\t")[:2] for line in listed.stdout.splitlines()]
    assert reasons == [
        ["emergency", "demo-agent"],
        ["sample", "demo-agent"],
        ["sample", "demo-agent"],
    ]
