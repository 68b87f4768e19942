# SPDX-License-Identifier: GPL-2.0-or-later
"""Keystrokes from "I'd like to move my appointment" to moved and wrapped up, against the
same record typed by hand.

A real console (Textual's pilot, its real engine, the demo's own schedules with
Maria's follow-up booked, wrap-up mandatory) takes two SIPp calls from Maria;
each is answered and verified before counting starts (the same keys in both).

* careline: ``k``, ``down`` (Move her follow-up), ``enter``, ``enter`` (the
  first free slot), ``h`` (hang up), ``ctrl+s``: the wrap-up opens with the
  disposition, the appointment's date and its id already filled;
* by hand, as before the EHR link: the appointment is moved in another system
  (not counted, so the baseline is flattered), then ``h``, the disposition key,
  three tabs to the appointment date, the date typed, a tab, the id typed,
  ``ctrl+s``.

Both calls must store the same disposition, appointment date and id
(asserted), so the two records say the same thing. Figures: keystrokes, and
an estimate of the agent's time with the Keystroke-Level Model (as in
bench/wrap_up.py: 0.28 s a keystroke, 1.35 s of thinking per thing the agent
decides or fills — careline: which appointment, which slot; by hand: the
disposition, the date, the id). Ratios are by hand / careline. The keys are
fixed, so every run gives the same counts: ``--runs`` repeats the check.
Run: .venv/bin/python -m bench.appointment_move [--runs 1]
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from textual.pilot import Pilot

from bench.common import bench_parser, report
from bench.wrap_up import KLM_KEYSTROKE, KLM_MENTAL
from console.app import CarelineApp
from console.core.store import Store
from console.dialogs.choice import ChoicePicker
from console.dialogs.slot_picker import SlotPicker
from console.dialogs.wrap_up import WrapUpDialog
from tests.console_app import wait_for
from tests.test_console_booking import answer_and_verify, demo_app

Record = tuple[str, str, str]
"""What a wrap-up stored: disposition, appointment date, appointment id."""


def klm(keys: int, decisions: int) -> float:
    """Estimated agent seconds: K per keystroke plus M per decision or field."""
    return KLM_KEYSTROKE * keys + KLM_MENTAL * decisions


async def wrapped_up(pilot: Pilot[int], app: CarelineApp) -> None:
    """Save the open wrap-up and wait until it has closed."""
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: not isinstance(app.screen, WrapUpDialog), what="saved")


async def with_careline(pilot: Pilot[int], app: CarelineApp, workdir: Path) -> list[str]:
    """Move Maria's follow-up with k and wrap up; the keys counted."""
    sipp = await answer_and_verify(pilot, app, workdir)
    keys: list[str] = []

    async def press(*pressed: str) -> None:
        keys.extend(pressed)
        await pilot.press(*pressed)

    await press("k")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="choices")
    await press("down", "enter")  # Move her follow-up
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, SlotPicker) and bool(app.screen.offers),
        what="free slots",
    )
    await press("enter")  # the first free slot
    await wait_for(pilot, lambda: not isinstance(app.screen, SlotPicker), what="moved")
    await press("h")
    await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), what="wrap-up")
    keys.append("ctrl+s")
    await wrapped_up(pilot, app)
    sipp.wait(10)
    return keys


async def by_hand(pilot: Pilot[int], app: CarelineApp, workdir: Path, record: Record) -> list[str]:
    """Hang up and type ``record`` into the wrap-up; the keys counted."""
    sipp = await answer_and_verify(pilot, app, workdir)
    _disposition, day, appointment_id = record
    await pilot.press("h")
    await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), what="wrap-up")
    # Focus order: disposition, reason, callback number, appointment date, appointment id.
    typed = ["a", "tab", "tab", "tab", *day, "tab", *appointment_id]
    await pilot.press(*typed)
    await wrapped_up(pilot, app)
    sipp.wait(10)
    return ["h", *typed, "ctrl+s"]


async def records(store_path: Path) -> list[Record]:
    """The stored wrap-ups, oldest first."""
    store = await Store.open(store_path)
    try:
        rows = await store.fetch_all(
            "SELECT disposition, form FROM interactions ORDER BY started_at"
        )
    finally:
        await store.close()
    found = []
    for disposition, form in rows:
        fields = json.loads(str(form))
        found.append(
            (str(disposition), str(fields["appointment_date"]), str(fields["appointment_id"]))
        )
    return found


async def one_run() -> tuple[int, int]:
    """(careline keys, by-hand keys) for the same record, checked equal."""
    with tempfile.TemporaryDirectory(prefix="careline-bench-move-") as tmp:
        root = Path(tmp)
        app = await demo_app(root, wrap_up="mandatory")
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.phone.status.online, 20)
            (root / "first").mkdir()
            careline = await with_careline(pilot, app, root / "first")
            [first] = await records(root / "store.sqlite3")
            assert first[0] == "appointment_booked", first
            (root / "second").mkdir()
            hand = await by_hand(pilot, app, root / "second", first)
        stored = await records(root / "store.sqlite3")
        assert stored == [first, first], stored  # the same record both ways
    return len(careline), len(hand)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the bench and print its figures."""
    options = bench_parser(__doc__, runs=1).options(argv)
    counts = [asyncio.run(one_run()) for _ in range(options.runs)]
    careline = [float(c) for c, _ in counts]
    hand = [float(h) for _, h in counts]
    report("keystrokes, appointment moved by hand", "keys", hand, careline, "with k")
    report(
        "agent seconds (KLM estimate), appointment moved by hand",
        "s",
        [klm(int(h), 3) for h in hand],
        [klm(int(c), 2) for c in careline],
        "with k",
    )


if __name__ == "__main__":
    main()
