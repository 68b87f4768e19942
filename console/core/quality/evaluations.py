# SPDX-License-Identifier: GPL-2.0-or-later
"""Evaluations in the local store: drafts, answers, submission, acknowledgement.

A supervisor starts an evaluation of a call with a form: a draft whose
questions that name an automatic check are pre-filled from the call's
findings. Answers are saved one by one (a crash loses nothing); submitting
scores the answers under the form and makes the evaluation final (the
store's triggers refuse any later change of score or answers). The evaluated
agent acknowledges it, with an optional reply. Several evaluators of one call
are calibration (:func:`console.core.quality.calibration.spread`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from console.core.interactions.values import new_id, utc_text
from console.core.quality.checks import PREFILL, CheckResult
from console.core.quality.scoring import EvaluationAnswerError, Score, check_answer, score
from console.core.records import dataclass
from console.core.scripts.evaluation_forms import AutomaticCheck, EvaluationForm, YesNoItem
from console.core.store import Store

COMMENT_MAX = 4000
"""Longest overall comment or agent reply."""
_COLUMNS = (
    "id, call_id, interaction_id, agent_id, evaluator, form_id, form_version, call_at, reason, "
    "state, score, passed, auto_failed, comment, created_at, updated_at, submitted_at, "
    "acknowledged_at, agent_comment, synced_at"
)


class EvaluationError(Exception):
    """An evaluation cannot be changed as asked; the message is for the user (no PHI)."""


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One question's answer."""

    value: str | None
    """"yes", "no", "na", the mark, the text; None: not answered."""
    automatic: str | None = None
    """The check that pre-filled it."""
    overridden: bool = False
    """The evaluator changed the pre-filled answer."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation of one call by one evaluator."""

    id: str
    call_id: str | None
    interaction_id: str | None
    agent_id: str
    evaluator: str
    form_id: str
    form_version: str
    call_at: str
    reason: str
    state: str
    score: float | None
    passed: bool | None
    auto_failed: bool
    comment: str
    created_at: str
    updated_at: str
    submitted_at: str | None
    acknowledged_at: str | None
    agent_comment: str
    synced_at: str | None
    answers: dict[str, ItemAnswer] = field(default_factory=dict)

    def values(self) -> dict[str, str | None]:
        """The stored answer of each question."""
        return {item: answer.value for item, answer in self.answers.items()}

    def to_hub(self) -> dict[str, Any]:
        """The plain JSON the hub's ``careline.evaluation_save`` takes."""
        return {
            "id": self.id,
            "call_id": self.call_id,
            "interaction_id": self.interaction_id,
            "agent_id": self.agent_id,
            "evaluator": self.evaluator,
            "form_id": self.form_id,
            "form_version": self.form_version,
            "call_at": self.call_at,
            "reason": self.reason,
            "state": "draft" if self.state == "draft" else "submitted",
            "score": self.score,
            "passed": self.passed,
            "auto_failed": self.auto_failed,
            "comment": self.comment,
            "answers": [
                {
                    "item": item,
                    "value": a.value,
                    "automatic": a.automatic,
                    "overridden": a.overridden,
                }
                for item, a in sorted(self.answers.items())
            ],
        }


def _evaluation(row: tuple[Any, ...], answers: dict[str, ItemAnswer]) -> Evaluation:
    values: dict[str, Any] = dict(zip(_COLUMNS.split(", "), row, strict=True))
    values["passed"] = None if values["passed"] is None else bool(values["passed"])
    values["auto_failed"] = bool(values["auto_failed"])
    return Evaluation(**values, answers=answers)


def prefilled(
    form: EvaluationForm, findings: Mapping[AutomaticCheck, CheckResult]
) -> dict[str, ItemAnswer]:
    """The answers the automatic checks give the questions that name them (an "N/A" a
    question does not allow is left for the evaluator)."""
    out: dict[str, ItemAnswer] = {}
    for item in form.questions:
        if not isinstance(item, YesNoItem) or item.automatic is None:
            continue
        result = findings.get(item.automatic)
        if result is None:
            continue
        value = PREFILL[result.outcome]
        if value == "na" and not item.allow_na:
            continue
        out[item.id] = ItemAnswer(value, item.automatic.value)
    return out


class EvaluationStore:
    """Evaluations and automatic-check findings in the local store."""

    def __init__(self, store: Store, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    def _now(self) -> str:
        return utc_text(self._clock(), "clock")

    # -- automatic checks ---------------------------------------------------------

    async def record_checks(
        self, call_id: str, findings: Mapping[AutomaticCheck, CheckResult]
    ) -> None:
        """Keep the findings of one call (replacing earlier ones)."""
        now = self._now()
        async with self._store.transaction() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO call_checks (call_id, check_id, outcome, detail, "
                "computed_at) VALUES (?, ?, ?, ?, ?)",
                [(call_id, c.value, r.outcome, r.detail, now) for c, r in findings.items()],
            )

    # -- evaluations --------------------------------------------------------------

    async def start(
        self,
        *,
        call_id: str,
        interaction_id: str | None,
        agent_id: str,
        evaluator: str,
        form: EvaluationForm,
        call_at: str,
        reason: str,
        prefill: Mapping[str, ItemAnswer] = {},  # noqa: B006 - read only
    ) -> Evaluation:
        """The evaluator's evaluation of the call with ``form``: the existing one, or a new
        draft with ``prefill`` answers."""
        existing = await self._find(call_id, form.id, evaluator)
        if existing is not None:
            return existing
        evaluation_id, now = new_id(), self._now()
        async with self._store.transaction() as db:
            await db.execute(
                "INSERT INTO evaluations (id, call_id, interaction_id, agent_id, evaluator, "
                "form_id, form_version, call_at, reason, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    evaluation_id,
                    call_id,
                    interaction_id,
                    agent_id,
                    evaluator,
                    form.id,
                    str(form.version),
                    call_at,
                    reason,
                    now,
                    now,
                ),
            )
            await db.executemany(
                "INSERT INTO evaluation_answers (evaluation_id, item_id, value, automatic) "
                "VALUES (?, ?, ?, ?)",
                [(evaluation_id, item, a.value, a.automatic) for item, a in prefill.items()],
            )
        found = await self.get(evaluation_id)
        assert found is not None
        return found

    async def _find(self, call_id: str, form_id: str, evaluator: str) -> Evaluation | None:
        rows = await self._store.fetch_all(
            "SELECT id FROM evaluations WHERE call_id = ? AND form_id = ? AND evaluator = ?",
            (call_id, form_id, evaluator),
        )
        return await self.get(rows[0][0]) if rows else None

    async def get(self, evaluation_id: str) -> Evaluation | None:
        """One evaluation with its answers."""
        found = await self._select("WHERE id = ?", (evaluation_id,))
        return found[0] if found else None

    async def _select(self, where: str, params: tuple[Any, ...]) -> list[Evaluation]:
        rows = await self._store.fetch_all(
            f"SELECT {_COLUMNS} FROM evaluations {where} ORDER BY call_at, evaluator", params
        )
        answers: dict[str, dict[str, ItemAnswer]] = {row[0]: {} for row in rows}
        if rows:
            marks = ",".join("?" * len(rows))
            for evaluation_id, item, value, automatic, overridden in await self._store.fetch_all(
                "SELECT evaluation_id, item_id, value, automatic, overridden "
                f"FROM evaluation_answers WHERE evaluation_id IN ({marks})",
                tuple(answers),
            ):
                answers[evaluation_id][item] = ItemAnswer(value, automatic, bool(overridden))
        return [_evaluation(row, answers[row[0]]) for row in rows]

    async def for_call(self, call_id: str) -> list[Evaluation]:
        """Every evaluation of one call (calibration: one per evaluator)."""
        return await self._select("WHERE call_id = ?", (call_id,))

    async def of_agent(self, agent_id: str) -> list[Evaluation]:
        """The agent's submitted and acknowledged evaluations (drafts are not theirs to see)."""
        return await self._select("WHERE agent_id = ? AND state <> 'draft'", (agent_id,))

    async def by_evaluator(self, evaluator: str) -> list[Evaluation]:
        """Everything ``evaluator`` has started or submitted."""
        return await self._select("WHERE evaluator = ?", (evaluator,))

    async def answer(
        self, evaluation: Evaluation, form: EvaluationForm, item_id: str, raw: str | None
    ) -> Evaluation:
        """Save one answer of a draft; raises :class:`EvaluationAnswerError` for an answer
        that does not fit, :class:`EvaluationError` when the evaluation is final."""
        if evaluation.state != "draft":
            raise EvaluationError("a submitted evaluation cannot be changed")
        value = check_answer(form.question(item_id), raw)
        before = evaluation.answers.get(item_id)
        automatic = before.automatic if before else None
        overridden = bool(automatic) and (
            (before.overridden if before else False) or value != (before.value if before else None)
        )
        async with self._store.transaction() as db:
            await db.execute(
                "INSERT INTO evaluation_answers (evaluation_id, item_id, value, automatic, "
                "overridden) VALUES (?, ?, ?, ?, ?) ON CONFLICT (evaluation_id, item_id) "
                "DO UPDATE SET value = excluded.value, overridden = excluded.overridden",
                (evaluation.id, item_id, value, automatic, int(overridden)),
            )
            await db.execute(
                "UPDATE evaluations SET updated_at = ?, synced_at = NULL WHERE id = ?",
                (self._now(), evaluation.id),
            )
        found = await self.get(evaluation.id)
        assert found is not None
        return found

    async def submit(
        self, evaluation: Evaluation, form: EvaluationForm, comment: str = ""
    ) -> Evaluation:
        """Score and finalise a draft; raises :class:`EvaluationError` while questions are
        unanswered or when it is already submitted."""
        if evaluation.state != "draft":
            raise EvaluationError("already submitted")
        if form.id != evaluation.form_id or str(form.version) != evaluation.form_version:
            raise EvaluationError("the form changed since this evaluation started")
        result: Score = score(form, evaluation.values())
        if result.unanswered:
            raise EvaluationError(f"{len(result.unanswered)} question(s) still to answer")
        now = self._now()
        async with self._store.transaction() as db:
            await db.execute(
                "UPDATE evaluations SET state = 'submitted', score = ?, passed = ?, "
                "auto_failed = ?, comment = ?, submitted_at = ?, updated_at = ?, "
                "synced_at = NULL WHERE id = ? AND state = 'draft'",
                (
                    result.score,
                    int(result.passed),
                    int(result.auto_failed),
                    comment[:COMMENT_MAX],
                    now,
                    now,
                    evaluation.id,
                ),
            )
        found = await self.get(evaluation.id)
        assert found is not None
        return found

    async def acknowledge(self, evaluation_id: str, agent_id: str, reply: str = "") -> Evaluation:
        """The evaluated agent has read a submitted evaluation (again: no change)."""
        found = await self.get(evaluation_id)
        if found is None or found.agent_id != agent_id or found.state == "draft":
            raise EvaluationError("no such evaluation of yours")
        if found.state == "acknowledged":
            return found
        now = self._now()
        async with self._store.transaction() as db:
            await db.execute(
                "UPDATE evaluations SET state = 'acknowledged', acknowledged_at = ?, "
                "agent_comment = ?, updated_at = ?, synced_at = NULL WHERE id = ?",
                (now, reply[:COMMENT_MAX], now, evaluation_id),
            )
        acknowledged = await self.get(evaluation_id)
        assert acknowledged is not None
        return acknowledged

    # -- hub sync -----------------------------------------------------------------

    async def unsynced(self) -> list[Evaluation]:
        """Evaluations whose current state the hub does not hold yet."""
        return await self._select("WHERE synced_at IS NULL", ())

    async def mark_synced(self, evaluation: Evaluation) -> None:
        """The hub holds ``evaluation`` as read (a later change stays unsynced)."""
        async with self._store.transaction() as db:
            await db.execute(
                "UPDATE evaluations SET synced_at = ? WHERE id = ? AND updated_at = ?",
                (self._now(), evaluation.id, evaluation.updated_at),
            )


__all__ = ["EvaluationAnswerError", "EvaluationError", "EvaluationStore", "ItemAnswer"]
