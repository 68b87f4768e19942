# SPDX-License-Identifier: GPL-2.0-or-later
"""The floor's worklist items on the hub, as ``careline worklist status --hub`` and
``export --hub`` show them to a supervisor: the same lines as a local store's
(:class:`~console.core.worklists.report.ItemLine`), no patient data.

Why an item is not offered is what the last claim that met it stored: a lasting reason
(``block_reason``: opted out, no number, past its due day) or, for an item put off, the
rule it waits for (``waiting_for``: the window or a cap) until its next attempt time;
``not_yet`` for one waiting only for that time (a retry's spacing, a skip). An item no
claim has met since its due day ended still shows as offerable: the next claim meets it
first (claims go by due day) and closes it as expired.

Only a supervisor (or the hub's owner) reads every item; an agent's login sees only the
items it holds, so it is refused here rather than shown a floor that looks empty.
"""

from __future__ import annotations

from typing import Any

import psycopg

from console.core.worklists.report import ItemLine
from console.hub.schema import HubError

_LINES = """
SELECT id::text, list_id, kind, state, due_from::text, due_until::text, attempts,
       max_attempts, coalesce(outcome, ''),
       CASE WHEN state = 'blocked' THEN block_reason
            WHEN state = 'pending' AND next_attempt_at > now()
                THEN coalesce(waiting_for, 'not_yet')
            ELSE '' END
FROM careline.worklist_items ORDER BY list_id, due_until, id
"""


async def hub_item_lines(conn: psycopg.AsyncConnection[Any]) -> list[ItemLine]:
    """Every item on the hub ``conn`` is connected to; :class:`HubError` unless the login
    is a supervisor or the hub's owner."""
    cur = await conn.execute(
        "SELECT pg_has_role(session_user, 'careline_supervisor', 'MEMBER') "
        "OR careline.is_hub_admin()"
    )
    row = await cur.fetchone()
    if row is None or not row[0]:
        raise HubError(
            "the floor's worklists are read with a supervisor's login (an agent's sees "
            "only the items it holds)"
        )
    cur = await conn.execute(_LINES)
    return [ItemLine.of(row, row[9]) for row in await cur.fetchall()]
