# SPDX-License-Identifier: GPL-2.0-or-later
"""Which worklist claims a console works from: the hub's when one is configured.

With ``hub.dsn`` set, every console of the floor claims from the hub
(:class:`~console.hub.worklist_claims.HubWorklists`), so no two agents ever call one
patient and the calling rules count every agent's calls; without, from the local
store (:class:`~console.core.worklists.store.WorklistStore`), shared by the consoles
of one machine. There is no falling back from the hub to the local store when the hub
is down: the local items are not the floor's, and calling from them could call a
patient another agent is calling. psycopg is imported only when a hub is configured.
"""

from __future__ import annotations

from console.core.config import CarelineConfig, hub_password
from console.core.store import Store
from console.core.worklists.claims import WorklistClaimer
from console.core.worklists.store import WorklistStore


def worklist_claimer(
    store: Store, config: CarelineConfig, password: str | None = None
) -> WorklistClaimer:
    """The claimer ``config`` asks for, over ``store`` (the console's local store).

    ``password`` is the agent's hub password (default: ``hub.password_file`` or its
    variable); :class:`~console.core.config.ConfigError` when that file is unsafe.
    """
    if not config.hub.dsn:
        return WorklistStore(store, config.worklists)
    from console.hub.connection import hub_connector
    from console.hub.worklist_claims import HubWorklists

    secret = hub_password(config) if password is None else password
    return HubWorklists(store, hub_connector(config.hub.dsn, secret or None), config.worklists)
