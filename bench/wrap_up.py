# SPDX-License-Identifier: GPL-2.0-or-later
"""Keystrokes and seconds for a typical wrap-up (scripted), against the same one without pre-fill.

A medication-refill call is walked with a ``ScriptRun`` along a typical path
(identity verified, no reaction, one medication with 10 days left, the
pharmacy on file, no other medication, a callback number, survey consent
yes). Then, headless in a tiny Textual app (``run_test``), the
``default-wrap-up`` form is saved as ``refill_requested`` twice:

* scripted: ``WrapUpDialog(values=prefill(form, run.answers))``; the agent
  presses the refill hot key and ctrl+s;
* baseline, same run: the same dialog with no values; the agent presses the
  hot key, tabs to the callback number and types it, tabs to the survey
  consent and sets it, and presses ctrl+s.

Both must dismiss with the same disposition, fields and consent (asserted),
so the two wrap-ups record the same thing. ``medication-refill`` has no
``call_reason`` or ``interpreter_needed`` step, so the form's reason and
interpreter fields are not pre-filled and are left empty in both.

Figures: keystrokes (keys pressed); seconds, measured wall time from the
first key to dismissal through Textual's pilot (the console's own cost, not
the agent's: Textual's pilot waits for each key to be handled, so it grows with
the key count); and an *estimate* of the agent's time with the Keystroke-Level
Model (Card, Moran & Newell, "The Psychology of Human-Computer Interaction",
1983): 0.28 s per keystroke (average skilled typist) plus 1.35 s of mental
preparation per field the agent must fill (the disposition counts as one).
Ratios are baseline / scripted (keystrokes, measured and KLM seconds).
Run: .venv/bin/python -m bench.wrap_up [--runs 5]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from textual.app import App

from bench.common import bench_parser, report
from console.core.scripts.forms import prefill
from console.core.scripts.loader import load_library
from console.core.scripts.models import Answer, Form
from console.core.scripts.runner import ScriptRun
from console.core.wrap_up import WrapUpResult
from console.dialogs.wrap_up import WrapUpDialog

NOW = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)
CALLBACK_NUMBER = "555 010 1234"
DISPOSITION_KEY = "m"  # refill_requested in default-wrap-up

KLM_KEYSTROKE = 0.28
"""KLM K: seconds per keystroke, average skilled typist (Card, Moran & Newell)."""
KLM_MENTAL = 1.35
"""KLM M: seconds of mental preparation, here one per field the agent fills."""

# The medication-refill path a typical caller takes, step by step (None: no question).
REFILL_PATH: Sequence[tuple[str, object]] = (
    ("greeting", None),
    ("verify_identity", True),
    ("reaction_now", False),
    ("medication_name", "lisinopril 10 mg"),
    ("days_left", 10),
    ("pharmacy", "on_file"),
    ("another_medication", False),
    ("callback_number", CALLBACK_NUMBER),
    ("timeline", None),
    ("feedback_ok", True),
    ("closing", None),
)


@dataclass(frozen=True)
class Plan:
    """One way of doing the wrap-up: the dialog's pre-fill and the keys pressed."""

    name: str
    values: Mapping[str, Answer]
    keys: tuple[str, ...]
    fields_filled: int
    """Fields the agent must think about and fill (KLM M operators)."""

    def klm_seconds(self) -> float:
        """Estimated agent time: K per keystroke plus M per field filled."""
        return KLM_KEYSTROKE * len(self.keys) + KLM_MENTAL * self.fields_filled


def refill_answers() -> dict[str, Answer]:
    """Walk medication-refill along :data:`REFILL_PATH`; its answers."""
    run = ScriptRun(load_library().script("medication-refill"), clock=lambda: NOW)
    for step_id, raw in REFILL_PATH:
        assert run.current.id == step_id, f"expected step {step_id}, at {run.current.id}"
        run.answer(raw, today=NOW.date())
    assert run.finished
    return run.answers


def plans(form: Form, answers: Mapping[str, Answer]) -> tuple[Plan, Plan]:
    """(scripted, baseline) for the same target wrap-up."""
    values = prefill(form, answers)
    assert set(values) == {"callback_number", "feedback_consent"}, sorted(values)
    scripted = Plan("scripted", values, (DISPOSITION_KEY, "ctrl+s"), 1)
    # Focus order: disposition, reason, callback number, appointment date,
    # appointment id, interpreter, notes, consent (the follow-up rows are hidden).
    baseline = Plan(
        "baseline",
        {},
        (
            DISPOSITION_KEY,
            "tab",
            "tab",
            *(key if key != " " else "space" for key in CALLBACK_NUMBER),
            "tab",
            "tab",
            "tab",
            "tab",
            "tab",
            "space",
            "ctrl+s",
        ),
        3,
    )
    return scripted, baseline


class WrapUpBench(App[None]):
    """Pushes one wrap-up dialog and keeps what it dismisses with, and when."""

    def __init__(self, form: Form, values: Mapping[str, Answer]) -> None:
        super().__init__()
        self.form = form
        self.values = values
        self.result: WrapUpResult | None = None
        self.dismissed_at: float | None = None

    def on_mount(self) -> None:
        """Open the wrap-up."""
        dialog = WrapUpDialog(
            form=self.form, title="Refill call · 4:12", values=self.values, clock=lambda: NOW
        )
        self.push_screen(dialog, self._done)

    def _done(self, result: WrapUpResult | None) -> None:
        self.dismissed_at = time.perf_counter()
        self.result = result


async def measure(form: Form, plan: Plan) -> tuple[WrapUpResult, float]:
    """Press ``plan``'s keys in a fresh app; the result and seconds to dismissal."""
    app = WrapUpBench(form, plan.values)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        start = time.perf_counter()
        await pilot.press(*plan.keys)
        for _ in range(200):
            if app.dismissed_at is not None:
                break
            await pilot.pause(0.01)
        if app.result is None or app.dismissed_at is None:
            raise RuntimeError(f"{plan.name}: the wrap-up was not saved")
        return app.result, app.dismissed_at - start


def same(a: WrapUpResult, b: WrapUpResult) -> bool:
    """The two wrap-ups record the same disposition, fields and consent."""
    return (
        a.disposition == b.disposition
        and dict(a.fields) == dict(b.fields)
        and a.feedback_consent == b.feedback_consent
        and a.follow_up == b.follow_up
    )


async def main_async(runs: int) -> None:
    """Both plans ``runs`` times, alternating order; print the figures."""
    form = load_library().form("default-wrap-up")
    scripted, baseline = plans(form, refill_answers())
    seconds: dict[str, list[float]] = {scripted.name: [], baseline.name: []}
    for index in range(runs):
        order = (scripted, baseline) if index % 2 == 0 else (baseline, scripted)
        results: dict[str, WrapUpResult] = {}
        for plan in order:
            results[plan.name], elapsed = await measure(form, plan)
            seconds[plan.name].append(elapsed)
        a, b = results[scripted.name], results[baseline.name]
        assert a.disposition == "refill_requested", a.disposition
        assert a.fields.get("callback_number") == CALLBACK_NUMBER
        assert a.feedback_consent is True
        assert same(a, b), f"different wrap-ups: {a.fields} vs {b.fields}"
    for plan in (scripted, baseline):
        print(
            f"{plan.name}: keys {' '.join(plan.keys)} "
            f"({len(plan.keys)} keystrokes, {plan.fields_filled} fields filled)"
        )
    report(
        "keystrokes, no pre-fill",
        "keys",
        [float(len(baseline.keys))],
        [float(len(scripted.keys))],
        "scripted",
    )
    report(
        "wall time first key -> saved, no pre-fill",
        "ms",
        [s * 1e3 for s in seconds[baseline.name]],
        [s * 1e3 for s in seconds[scripted.name]],
        "scripted",
    )
    report(
        "KLM agent time (estimate), no pre-fill",
        "s",
        [baseline.klm_seconds()],
        [scripted.klm_seconds()],
        "scripted",
    )


def main() -> None:
    """Parse arguments and run."""
    args = bench_parser(__doc__).options()
    asyncio.run(main_async(max(1, args.runs)))


if __name__ == "__main__":
    main()
