# SPDX-License-Identifier: GPL-2.0-or-later
"""The calls to review, read from the hub (``careline qa`` with a hub).

An agent's calls live on their workstation; the hub holds what their console
synced: every interaction (script answers, red flags, urgency, disposition,
notes, appointment changes, when the wrap-up was saved) and the floor's call
events (talk time). The engine's timeline (holds, transfers) and the audit log
(verification before details) stay on the workstation, so a call read here
says so (:attr:`CallFacts.timeline_known`, :attr:`CallFacts.audit_known`) and
the checks that need them pre-fill nothing. A supervisor's queue holds the calls
of the agents of their teams (the teams whose evaluations they may write).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from console.core.calls import parse_time
from console.core.quality.evaluations import EvaluationError
from console.core.quality.facts import CallFacts
from console.hub.connection import Connect, close_quietly, describe_failure

_CALLS = """
SELECT i.agent_id, i.payload, ended.talk_s, ended.queue
FROM careline.interactions AS i
LEFT JOIN LATERAL (
    SELECT (f.payload ->> 'talk_s')::double precision AS talk_s, f.payload ->> 'queue' AS queue
    FROM careline.floor_events AS f
    WHERE f.kind = 'call_event' AND f.agent_id = i.agent_id
      AND f.payload ->> 'call_id' = i.payload ->> 'call_id'
      AND f.payload ->> 'event' = 'ended'
    ORDER BY f.seq DESC
    LIMIT 1
) AS ended ON true
WHERE i.started_at >= %s AND i.started_at < %s
  AND jsonb_typeof(i.payload -> 'call_id') = 'string'
  AND (careline.supervises(i.agent_id) OR careline.is_hub_admin())
ORDER BY i.started_at, i.id
"""


def _list(value: object) -> tuple[dict[str, Any], ...]:
    return tuple(v for v in value if isinstance(v, dict)) if isinstance(value, list) else ()


def _facts(
    agent_id: str, payload: dict[str, Any], talk_s: float | None, queue: str | None
) -> CallFacts | None:
    received = parse_time(payload.get("started_at"))
    ended = parse_time(payload.get("ended_at"))
    if received is None or ended is None:
        return None
    # The answer is not synced: the end minus the talk time the floor saw.
    answered = ended - timedelta(seconds=talk_s) if talk_s is not None else received
    form = payload.get("form")
    return CallFacts(
        call_id=str(payload["call_id"]),
        agent_id=agent_id,
        queue=queue or "",
        received_at=received,
        answered_at=max(answered, received),
        ended_at=ended,
        patient_id=payload.get("patient_id")
        if isinstance(payload.get("patient_id"), str)
        else None,
        interaction_id=str(payload.get("id", "")) or None,
        script_id=payload.get("script_id") if isinstance(payload.get("script_id"), str) else None,
        answers=_list(payload.get("answers")),
        red_flags=_list(payload.get("red_flags")),
        urgency=str(payload.get("urgency") or "routine"),
        disposition=str(payload.get("disposition") or ""),
        form=form if isinstance(form, dict) else {},
        appointments=_list(payload.get("appointments")),
        wrapped_at=parse_time(payload.get("created_at")),
        notes=str(payload.get("notes") or ""),
        timeline_known=False,
        audit_known=False,
    )


class HubCalls:
    """Answered calls with their interactions, from the hub ``connect`` opens."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def answered_calls(self, start: datetime, end: datetime) -> list[CallFacts]:
        """Every call with a synced interaction that started in ``[start, end)``."""
        conn = None
        try:
            conn = await self._connect()
            cursor = await conn.execute(_CALLS, (start, end))
            rows = await cursor.fetchall()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            raise EvaluationError(describe_failure(exc)) from None
        finally:
            await close_quietly(conn)
        found = [_facts(agent, payload, talk, queue) for agent, payload, talk, queue in rows]
        return [facts for facts in found if facts is not None]
