# SPDX-License-Identifier: GPL-2.0-or-later
"""The evaluator's desk: what ``careline qa`` does, without the screen.

Builds the review queue, opens a call's evaluation (pre-filled from the
automatic checks; the look at the call's answers and wrap-up is audited as a
view of the patient's interactions), saves answers to the local store and,
when a hub is configured, sends each submitted evaluation there (what the hub
could not take is sent again later, and said in :attr:`QaDesk.sync_problem`).
The agent's side (their evaluations and the acknowledgement) is
:class:`AgentEvaluations`, local or on the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from console.core.audit import AuditLog
from console.core.interactions.values import utc_text
from console.core.quality.calibration import ItemSpread, spread
from console.core.quality.evaluations import (
    Evaluation,
    EvaluationError,
    EvaluationStore,
    prefilled,
)
from console.core.quality.facts import CallFacts, answered_calls
from console.core.quality.review import QueueEntry, review_queue
from console.core.scripts.evaluation_forms import EvaluationForm
from console.core.scripts.loader import Library
from console.core.store import Store


class EvaluationSync(Protocol):
    """Where evaluations go beyond the local store (the hub)."""

    async def save(self, evaluation: Evaluation) -> str:
        """Store ``evaluation`` (raises EvaluationError when refused or unreachable)."""
        ...

    async def for_call(self, call_id: str) -> list[Evaluation]:
        """Every evaluation of a call the login may read."""
        ...


class CallSource(Protocol):
    """Where the calls to review come from: this store, or the hub (an agent's calls are
    on their own workstation and, with a hub, there)."""

    async def answered_calls(self, start: datetime, end: datetime) -> list[CallFacts]:
        """Every answered call received in ``[start, end)``."""
        ...


class LocalCalls:
    """The calls of this workstation's store (the demo, an after-hours desk)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def answered_calls(self, start: datetime, end: datetime) -> list[CallFacts]:
        """Every answered call received in ``[start, end)``, with the whole timeline and
        the agent's audit rows."""
        return await answered_calls(self._store, utc_text(start), utc_text(end))


class AgentEvaluations(Protocol):
    """An agent's evaluations and their acknowledgement (local store or hub)."""

    async def of_agent(self, agent_id: str) -> list[Evaluation]:
        """The agent's submitted evaluations."""
        ...

    async def acknowledge(self, evaluation_id: str, agent_id: str, reply: str = "") -> object:
        """The agent has read it."""
        ...


class QaDesk:
    """One evaluator's work on one form."""

    def __init__(
        self,
        store: Store,
        library: Library,
        form: EvaluationForm,
        evaluator: str,
        *,
        seed: str,
        per_agent: int = 2,
        sync: EvaluationSync | None = None,
        calls: CallSource | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.library = library
        self.form = form
        self.evaluator = evaluator
        self.seed = seed
        self.per_agent = per_agent
        self.sync = sync
        self.calls = calls or LocalCalls(store)
        """Where the calls come from (default: this store)."""
        self.evaluations = EvaluationStore(store, clock)
        self.audit = AuditLog(store, clock)
        self.sync_problem: str | None = None
        """Why the last send to the hub failed (None: all sent, or no hub)."""

    async def queue(self, start: datetime, end: datetime) -> list[QueueEntry]:
        """The calls of ``[start, end)`` to review."""
        return await review_queue(
            await self.calls.answered_calls(start, end),
            self.evaluations,
            self.library,
            self.form,
            evaluator=self.evaluator,
            seed=self.seed,
            per_agent=self.per_agent,
            record=isinstance(self.calls, LocalCalls),
        )

    async def open(self, entry: QueueEntry) -> Evaluation:
        """The evaluator's evaluation of ``entry``'s call (a new pre-filled draft, or the
        one started before); audited as a look at the patient's interaction."""
        facts = entry.facts
        evaluation = await self.evaluations.start(
            call_id=facts.call_id,
            interaction_id=facts.interaction_id,
            agent_id=facts.agent_id,
            evaluator=self.evaluator,
            form=self.form,
            call_at=entry.pick.received_at.isoformat().replace("+00:00", "Z"),
            reason=entry.pick.reason,
            prefill=prefilled(self.form, entry.findings),
        )
        if facts.patient_id is not None:
            await self.audit.append(self.evaluator, "view", "interactions", "ok", facts.patient_id)
        return evaluation

    async def answer(self, evaluation: Evaluation, item_id: str, raw: str | None) -> Evaluation:
        """Save one answer (see :meth:`EvaluationStore.answer`). Only the local store:
        a draft is the evaluator's alone, and a key press never waits for the hub."""
        return await self.evaluations.answer(evaluation, self.form, item_id, raw)

    async def submit(self, evaluation: Evaluation, comment: str = "") -> Evaluation:
        """Score and finalise (see :meth:`EvaluationStore.submit`)."""
        saved = await self.evaluations.submit(evaluation, self.form, comment)
        await self._send(saved)
        return saved

    async def calibration(self, call_id: str) -> tuple[list[Evaluation], list[ItemSpread]]:
        """Every evaluation of the call with this form (the hub's, when there is one) and
        the spread per question."""
        if self.sync is not None:
            try:
                found = await self.sync.for_call(call_id)
            except EvaluationError as exc:
                self.sync_problem = str(exc)
                found = await self.evaluations.for_call(call_id)
        else:
            found = await self.evaluations.for_call(call_id)
        mine = [e for e in found if e.form_id == self.form.id]
        return mine, spread(self.form, [e for e in mine if e.state != "draft"])

    async def send_pending(self) -> int:
        """Send the submitted evaluations the hub does not hold yet; how many went."""
        sent = 0
        for evaluation in await self.evaluations.unsynced():
            mine = evaluation.evaluator == self.evaluator and evaluation.state != "draft"
            if mine and await self._send(evaluation):
                sent += 1
        return sent

    async def _send(self, evaluation: Evaluation) -> bool:
        if self.sync is None:
            return False
        try:
            await self.sync.save(evaluation)
        except EvaluationError as exc:
            self.sync_problem = str(exc)
            return False
        self.sync_problem = None
        await self.evaluations.mark_synced(evaluation)
        return True
