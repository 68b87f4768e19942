# SPDX-License-Identifier: GPL-2.0-or-later
"""Interactions, callbacks, wrap-up drafts and the outbox in the local store.

An interaction is what an agent records about one piece of work with a
caller: script answers, red flags, urgency, disposition, notes, form values
and the callbacks it asks for. :meth:`InteractionStore.finish` writes it, its
callbacks, one outbox row for each and the removal of the call's wrap-up draft
in one transaction, so the hub sync (issue 7) sees either all of it or none.

Drafts are whatever the wrap-up screen holds so far, saved on every change
(:meth:`InteractionStore.save_draft` returns once the save is on disk), so a
console killed mid-wrap-up reopens it (:meth:`InteractionStore.load_drafts`).

Script answers and form values are plain JSON values (dicts, lists, strings,
numbers): this layer does not know the script and form models.

No ``repr`` here shows patient data, notes or answers, and error messages name
fields and ids only.
"""

from console.core.interactions.records import (
    Callback,
    Draft,
    FollowUp,
    Interaction,
    OutboxRow,
)
from console.core.interactions.store import InteractionStore
from console.core.interactions.values import (
    PAYLOAD_SCHEMA,
    URGENCIES,
    CallbackStatus,
    InteractionError,
    OutboxKind,
    Urgency,
    raise_urgency,
    urgency_rank,
    utc_text,
)

__all__ = [
    "PAYLOAD_SCHEMA",
    "URGENCIES",
    "Callback",
    "CallbackStatus",
    "Draft",
    "FollowUp",
    "Interaction",
    "InteractionError",
    "InteractionStore",
    "OutboxKind",
    "OutboxRow",
    "Urgency",
    "raise_urgency",
    "urgency_rank",
    "utc_text",
]
