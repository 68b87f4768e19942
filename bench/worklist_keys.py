# SPDX-License-Identifier: GPL-2.0-or-later
"""Keystrokes and agent seconds per reminder item, from the offer to the saved outcome,
against dialling and recording the same call by hand.

A real console (Textual's pilot, its real engine, the demo's reminder worklist
generated as ``careline demo`` generates it, wrap-up mandatory) calls a SIPp
patient who answers, once each way; every key the agent presses is counted:

* careline, preview dialling: the item is offered (who, why, the number;
  ``W`` starts the list once a session and is not counted), ``enter`` dials,
  ``h`` hangs up once the patient has confirmed, ``1`` (confirmed) saves the
  outcome to the list, the call's interaction and the log the caps count;
* by hand, as today without worklists: ``p`` (dial), the patient's number
  typed from a list (``+1…``, 12 characters) and ``enter``, ``h``; then the
  record. A dialled call opens no wrap-up (asserted), so the record is typed
  into the same default wrap-up form in the real dialog, as after an inbound
  call: ``r`` (resolved), six ``tab`` to the notes, "reminder confirmed",
  ``ctrl+s``. Finding the patient on a list, keeping the calling window and
  caps, linking the record to the patient and marking the list are not
  counted, so the baseline is flattered.

Both records are checked: the item done as ``confirmed`` with its interaction
(``worklist_confirmed``), the typed wrap-up saved as resolved with the notes.
Seconds are the Keystroke-Level Model's (as bench/wrap_up.py: 0.28 s a
keystroke, 1.35 s of thinking for each thing the agent decides or fills —
careline: whether to call, the outcome; by hand: the number, the disposition,
the notes). Ratios are by hand / careline. The keys are fixed, so every run
gives the same counts: ``--runs`` repeats the check (median over the runs).
Run: .venv/bin/python -m bench.worklist_keys [--runs 3]
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from textual.pilot import Pilot

from bench.common import bench_parser, report
from bench.wrap_up import KLM_KEYSTROKE, KLM_MENTAL, Plan, measure
from console.app import CarelineApp
from console.core.config import load_config
from console.core.demo_worklist import DEMO_ANSWERERS
from console.core.scripts.loader import load_library
from console.core.store import Store
from console.dialogs.target_picker import TargetPicker
from console.dialogs.worklist import OutcomePicker, WorklistPreview
from console.dialogs.wrap_up import WrapUpDialog
from console.launch import _load_demo_patients
from tests.console_app import make_app, talking, wait_for
from tests.support import Sipp, free_udp_port
from tests.worklist_console import config

NOTES = "reminder confirmed"
"""What the agent types by hand to record the outcome."""
CARELINE_DECISIONS = 2
"""KLM M operators with careline: call this patient now, which outcome."""
HAND_DECISIONS = 3
"""KLM M operators by hand: the number, the disposition, the notes."""


def klm(keys: int, decisions: int) -> float:
    """Estimated agent seconds: K per keystroke plus M per decision or field."""
    return KLM_KEYSTROKE * keys + KLM_MENTAL * decisions


class Keys:
    """Presses keys in the app one at a time (Textual's pilot) and counts them."""

    def __init__(self, pilot: Pilot[int]) -> None:
        self.pilot = pilot
        self.sent: list[str] = []

    async def press(self, *keys: str) -> None:
        """Send ``keys`` (each counted)."""
        for key in keys:
            self.sent.append(key)
            await self.pilot.press(key)


async def with_careline(pilot: Pilot[int], app: CarelineApp) -> list[str]:
    """Work the first offered item: dial, hang up, save "confirmed"; the keys counted."""
    await pilot.press("W")  # once a session: the list is worked, items are offered
    await wait_for(pilot, lambda: isinstance(app.screen, WorklistPreview), 20, "offer")
    flow = app.agent_screen.worklist
    assert flow.attempt is not None
    offered = flow.attempt.claim.item_id
    keys = Keys(pilot)
    await keys.press("enter")
    await wait_for(pilot, lambda: talking(app), 20, "patient answered")
    await keys.press("h")
    await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 20, "outcome picker")
    await keys.press("1")  # confirmed
    # Saved: the item is no longer held (the next one may be offered at once).
    await wait_for(
        pilot,
        lambda: flow.attempt is None or flow.attempt.claim.item_id != offered,
        20,
        "saved",
    )
    return keys.sent


async def by_hand(pilot: Pilot[int], app: CarelineApp, number: str) -> list[str]:
    """Dial ``number`` typed and hang up in the console, then type the record into the
    default wrap-up form; the keys counted."""
    keys = Keys(pilot)
    await keys.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, TargetPicker), 10, "dial dialog")
    await keys.press(*number, "enter")
    await wait_for(pilot, lambda: talking(app), 20, "patient answered")
    await keys.press("h")
    await wait_for(pilot, lambda: app.agent_screen.queue.active() is None, 20, "hung up")
    await pilot.pause(0.5)
    # A dialled call opens no wrap-up today: the record is typed into the same form in
    # the real dialog, as after an inbound call (nothing links it to the patient).
    assert not isinstance(app.screen, WrapUpDialog), "a dialled call now opens a wrap-up"
    form = load_library().form("default-wrap-up")
    # Focus order: disposition, reason, callback number, appointment date,
    # appointment id, interpreter, notes.
    record = ("r", *("tab",) * 6, *(c if c != " " else "space" for c in NOTES), "ctrl+s")
    result, _ = await measure(form, Plan("by hand", {}, record, HAND_DECISIONS - 1))
    assert (result.disposition, result.notes) == ("resolved", NOTES), result
    return [*keys.sent, *record]


async def stored(store_path: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(the worklist items done: outcome, list; the interactions' dispositions)."""
    store = await Store.open(store_path)
    try:
        items = await store.fetch_all(
            "SELECT outcome, list_id FROM worklist_items WHERE state = 'done'"
        )
        rows = await store.fetch_all("SELECT disposition FROM interactions")
    finally:
        await store.close()
    return [(str(o), str(i)) for o, i in items], [str(d) for (d,) in rows]


async def one_run() -> tuple[list[str], list[str]]:
    """(careline keys, by-hand keys) for one reminder call each way, both checked stored."""
    with tempfile.TemporaryDirectory(prefix="careline-bench-worklist-") as tmp:
        root = Path(tmp)
        sipp_port = free_udp_port()
        app = make_app(root, config(f"127.0.0.1:{sipp_port}"), wrap_up="mandatory")
        await asyncio.to_thread(_load_demo_patients, root / "store.sqlite3", load_config(None))
        patient = Sipp(root, "uas_target_answers.xml", port=sipp_port, calls=2, timeout=120)
        patient.wait_listening()
        try:
            async with app.run_test(size=(160, 48)) as pilot:
                await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
                hand = await by_hand(pilot, app, DEMO_ANSWERERS[1].number)
                careline = await with_careline(pilot, app)
            items, dispositions = await stored(root / "store.sqlite3")
            assert items == [("confirmed", "appointment-reminders")], items
            assert dispositions == ["worklist_confirmed"], dispositions
            assert patient.wait() == 0, patient.report()
        finally:
            patient.stop()
    return careline, hand


def main(argv: Sequence[str] | None = None) -> None:
    """Run the bench and print its figures."""
    options = bench_parser(__doc__, runs=3).options(argv)
    runs = [asyncio.run(one_run()) for _ in range(options.runs)]
    keys = runs[0]
    careline = [float(len(c)) for c, _ in runs]
    hand = [float(len(h)) for _, h in runs]
    report("keystrokes per reminder item, by hand", "keys", hand, careline, "preview dialling")
    report(
        "agent seconds per reminder item (KLM estimate), by hand",
        "s",
        [klm(int(h), HAND_DECISIONS) for h in hand],
        [klm(int(c), CARELINE_DECISIONS) for c in careline],
        "preview dialling",
    )
    print(f"preview dialling: {' '.join(keys[0])}; by hand: {' '.join(keys[1])}")


if __name__ == "__main__":
    main()
