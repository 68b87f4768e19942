# SPDX-License-Identifier: GPL-2.0-or-later
"""Supervisor keystrokes and seconds to evaluate a typical call, with the automatic checks'
pre-fill against without.

``careline qa`` (Textual's pilot, the real app and local store) on a week of calls
(tests/qa_calls.py: six calls per agent and an emergency, its red flag transferred
30 s later); the emergency, first in the queue, is evaluated twice with the shipped
form, by two evaluators who give the same answers:

* with pre-fill: Enter opens the call; the six questions that name an automatic
  check are answered already, so the cursor goes through the six others (one key
  each: y / n / a or a mark) and ``s`` submits;
* without: the same form with its ``automatic:`` links removed, so all twelve scored
  questions take a key, the six answers the checks would give found by reading the
  call's timeline, audit and wrap-up beside the form.

Both evaluations must store the same score (asserted). Figures: keystrokes, and the
evaluator's time with the Keystroke-Level Model as in bench/wrap_up.py (0.28 s a
keystroke, 1.35 s of thinking per question decided; with pre-fill one more M to look
over the pre-filled answers; without, one more M per automatic question, for finding
its fact — when the red flag was raised and the transfer made, whether a view came
before the verification — in the call's panel). Ratios are without / with. The keys
are fixed, so every run gives the same counts: ``--runs`` repeats the check.
Run: .venv/bin/python -m bench.qa_keys [--runs 1]
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.appointment_move import klm
from bench.common import bench_parser, report
from console.core.quality.desk import QaDesk
from console.core.quality.evaluations import EvaluationStore
from console.core.quality.selection import week_of
from console.core.scripts.evaluation_forms import EvaluationForm, YesNoItem
from console.core.scripts.loader import load_library
from console.core.store import Store
from console.qa_view.app import create_qa
from console.qa_view.evaluation_screen import EvaluationScreen
from console.qa_view.queue_screen import QueueScreen
from console.qa_view.session import QaSession
from tests.console_app import wait_for
from tests.qa_calls import MONDAY, a_week

OWN_ANSWERS = {
    "minimum_necessary": "y",
    "emergency_advice": "y",
    "no_medical_advice": "y",
    "empathy": "4",
    "clarity": "5",
    "notes_complete": "y",
}
"""The evaluator's own judgement on the questions no check answers."""
KEY_OF = {"yes": "y", "no": "n", "na": "a"}


def without_checks(form: EvaluationForm) -> EvaluationForm:
    """``form`` with no question linked to an automatic check."""
    sections = [
        section.model_copy(
            update={
                "questions": [
                    q.model_copy(update={"automatic": None}) if isinstance(q, YesNoItem) else q
                    for q in section.questions
                ]
            }
        )
        for section in form.sections
    ]
    return form.model_copy(update={"sections": sections})


async def evaluate(
    store: Store, form: EvaluationForm, evaluator: str, auto: dict[str, str]
) -> tuple[list[str], float]:
    """Evaluate the first call of the queue as ``evaluator``; the keys pressed and the score.
    ``auto``: the answers the checks gave (typed by hand when ``form`` has no links)."""
    library = load_library()
    desk = QaDesk(store, library, form, evaluator, seed="bench")
    start, end = week_of(MONDAY)

    async def close() -> None:
        return None

    session = QaSession(start, end, close, desk=desk)
    app = create_qa(lambda: _ready(session))
    keys: list[str] = ["enter"]
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(
            pilot, lambda: isinstance(app.screen, QueueScreen) and bool(app.screen.entries)
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EvaluationScreen), what="the form")
        screen = app.screen
        assert isinstance(screen, EvaluationScreen)
        prefilled = screen.evaluation.values()
        for item in form.questions:
            if item.id in prefilled or item.kind == "text":
                continue
            key = OWN_ANSWERS.get(item.id) or KEY_OF[auto[item.id]]
            keys.append(key)
            await pilot.press(key)
        keys.append("s")
        await pilot.press("s")
        await wait_for(pilot, lambda: screen.evaluation.state == "submitted", what="submitted")
        score = screen.evaluation.score
    assert score is not None
    return keys, score


async def _ready(session: QaSession) -> QaSession:
    return session


async def one_run() -> tuple[int, int, int]:
    """(keys with pre-fill, keys without, automatic questions), scores checked equal."""
    with tempfile.TemporaryDirectory(prefix="careline-bench-qa-") as tmp:
        store = await Store.open(Path(tmp) / "store.sqlite3")
        try:
            await a_week(store)
            (form,) = load_library().evaluations
            with_keys, with_score = await evaluate(store, form, "sam", {})
            # The answers the checks gave the first evaluator, typed by the second.
            (first,) = await EvaluationStore(store).by_evaluator("sam")
            auto = {k: v for k, v in first.values().items() if first.answers[k].automatic and v}
            bare = without_checks(form)
            without_keys, without_score = await evaluate(store, bare, "kim", auto)
        finally:
            await store.close()
    assert with_score == without_score, (with_score, without_score)
    return len(with_keys), len(without_keys), len(auto)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the bench and print its figures."""
    options = bench_parser(__doc__, runs=1).options(argv)
    runs = [asyncio.run(one_run()) for _ in range(options.runs)]
    with_keys = [float(w) for w, _, _ in runs]
    without = [float(b) for _, b, _ in runs]
    automatic = runs[0][2]
    scored = len(OWN_ANSWERS) + automatic
    report(
        "keystrokes to evaluate a call, without pre-fill",
        "keys",
        without,
        with_keys,
        "with pre-fill",
    )
    report(
        "evaluator seconds (KLM estimate) to evaluate a call, without pre-fill",
        "s",
        [klm(int(b), scored + automatic) for b in without],
        [klm(int(w), len(OWN_ANSWERS) + 1) for w in with_keys],
        "with pre-fill",
    )


if __name__ == "__main__":
    main()
