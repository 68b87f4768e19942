# SPDX-License-Identifier: GPL-2.0-or-later
"""Evaluations on the hub (migration ``0007_evaluations.sql``).

A supervisor's ``careline qa`` saves every evaluation to its local store
first and sends it here when submitted, with ``careline.evaluation_save`` (as
the supervisor's login: the hub checks the agent is in one of their teams and
that a submitted score is never changed); one not sent yet (the hub down) is
sent again at the next start. The function takes drafts too (a client may
share work in progress); ``careline qa`` keeps them local. An agent reads their own submitted
evaluations and acknowledges them with ``careline.evaluation_acknowledge``;
row-level security shows them nothing else.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from console.core.interactions.values import utc_text
from console.core.quality.evaluations import Evaluation, EvaluationError, ItemAnswer
from console.hub.connection import Connect, close_quietly, describe_failure

_SELECT = """
SELECT id::text, call_id, interaction_id, agent_id, evaluator, form_id, form_version,
       call_at, reason, state, score, passed, auto_failed, comment, answers, created_at,
       updated_at, submitted_at, acknowledged_at, agent_comment
FROM careline.evaluations
"""


_AS_IS = (
    "id",
    "call_id",
    "interaction_id",
    "agent_id",
    "evaluator",
    "form_id",
    "form_version",
    "reason",
    "state",
    "score",
    "passed",
    "auto_failed",
    "comment",
    "agent_comment",
)
"""Columns read into :class:`Evaluation` as they come (times are turned into text)."""


def _time(value: datetime | None) -> str | None:
    return None if value is None else utc_text(value)


def _evaluation(row: dict[str, Any]) -> Evaluation:
    answers = {
        str(a["item"]): ItemAnswer(a.get("value"), a.get("automatic"), bool(a.get("overridden")))
        for a in row["answers"]
        if isinstance(a, dict) and "item" in a
    }
    updated = utc_text(row["updated_at"])
    return Evaluation(
        **{name: row[name] for name in _AS_IS},
        call_at=utc_text(row["call_at"]),
        created_at=utc_text(row["created_at"]),
        updated_at=updated,
        submitted_at=_time(row["submitted_at"]),
        acknowledged_at=_time(row["acknowledged_at"]),
        synced_at=updated,
        answers=answers,
    )


class HubEvaluations:
    """Evaluations on the hub that ``connect`` opens, as its login."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def _call(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        conn = None
        try:
            conn = await self._connect()
            async with conn.cursor(row_factory=dict_row) as cursor:
                await cursor.execute(sql, params)
                return await cursor.fetchall() if cursor.description else []
        except psycopg.errors.InsufficientPrivilege as exc:
            raise EvaluationError(f"the hub refused: {exc.diag.message_primary}") from None
        except psycopg.Error as exc:
            if exc.sqlstate in ("CL400", "CL409"):
                raise EvaluationError(f"the hub refused: {exc.diag.message_primary}") from None
            raise EvaluationError(describe_failure(exc)) from None
        except (OSError, TimeoutError) as exc:
            raise EvaluationError(describe_failure(exc)) from None
        finally:
            await close_quietly(conn)

    async def save(self, evaluation: Evaluation) -> str:
        """Send an evaluation (a draft or submitted); the hub's state for it."""
        rows = await self._call(
            "SELECT careline.evaluation_save(%s::jsonb) AS state",
            (json.dumps(evaluation.to_hub()),),
        )
        return str(rows[0]["state"])

    async def acknowledge(self, evaluation_id: str, reply: str = "") -> None:
        """The login (the evaluated agent) has read the evaluation."""
        await self._call(
            "SELECT careline.evaluation_acknowledge(%s::uuid, %s)", (evaluation_id, reply)
        )

    async def visible(self) -> list[Evaluation]:
        """Every evaluation the login may read (an agent: their own submitted ones; a
        supervisor: their teams' and their own), by call time."""
        rows = await self._call(_SELECT + " ORDER BY call_at, evaluator", ())
        return [_evaluation(row) for row in rows]

    async def of_agent(self, agent_id: str) -> list[Evaluation]:
        """The agent's submitted evaluations the login may read."""
        rows = await self._call(
            _SELECT + " WHERE agent_id = %s AND state <> 'draft' ORDER BY call_at, evaluator",
            (agent_id,),
        )
        return [_evaluation(row) for row in rows]

    async def for_call(self, call_id: str) -> list[Evaluation]:
        """Every evaluation of one call the login may read (calibration)."""
        rows = await self._call(_SELECT + " WHERE call_id = %s ORDER BY evaluator", (call_id,))
        return [_evaluation(row) for row in rows]


class HubAgentEvaluations:
    """An agent's own evaluations on the hub (``careline qa --mine`` with a hub)."""

    def __init__(self, hub: HubEvaluations) -> None:
        self._hub = hub

    async def of_agent(self, agent_id: str) -> list[Evaluation]:
        """The agent's submitted evaluations (RLS shows no one else's)."""
        return await self._hub.of_agent(agent_id)

    async def acknowledge(self, evaluation_id: str, agent_id: str, reply: str = "") -> None:  # noqa: ARG002 - the login is the agent
        """Acknowledge as the login."""
        await self._hub.acknowledge(evaluation_id, reply)
