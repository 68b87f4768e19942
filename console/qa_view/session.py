# SPDX-License-Identifier: GPL-2.0-or-later
"""What ``careline qa`` works with, opened inside the app's event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from console.core.audit import AuditLog
from console.core.quality.desk import AgentEvaluations, QaDesk
from console.core.recordings.player import RecordingOpener
from console.core.records import dataclass
from console.core.scripts.evaluation_forms import EvaluationForm
from console.core.scripts.loader import Library
from console.core.store import Store
from console.core.store_connection import StoreKey
from console.qa_view.call_view import RecordingLookup

if TYPE_CHECKING:
    from console.hub.connection import Connect


@dataclass(frozen=True)
class RecordingAccess:
    """How the evaluator hears a call's recording (:mod:`console.core.recordings.player`)."""

    opener: Callable[[str], RecordingOpener]
    """Given a call id, what opens its recording (raises ``ConfigError`` at once when no
    key is configured to open it)."""
    audit: AuditLog
    """Where every playback is an audit row (the local store's log)."""
    listener: str
    """Who listens (the evaluator), as the audit rows name them."""
    device: str = ""
    """The output device ("" the system default)."""


@dataclass
class QaSession:
    """The evaluator's desk (None in ``--mine`` mode), or the agent's evaluations."""

    start: datetime
    """First moment of the calls reviewed (UTC-aware)."""
    end: datetime
    """End of the calls reviewed (exclusive)."""
    close: Callable[[], Awaitable[None]]
    """Closes the store and anything else opened."""
    desk: QaDesk | None = None
    """The evaluator's desk."""
    agent_id: str | None = None
    """``--mine``: the agent whose evaluations are shown."""
    agent: AgentEvaluations | None = None
    """``--mine``: where the agent's evaluations are (the local store or the hub)."""
    recording: RecordingLookup | None = None
    """What the call's recording is (see :mod:`console.qa_view.call_view`)."""
    listen: RecordingAccess | None = None
    """How it is played beside the form (None: it cannot be played here)."""


SessionOpener = Callable[[], Awaitable[QaSession]]
"""Opens the session (store, hub link) inside the running event loop."""


@dataclass(frozen=True)
class QaSettings:
    """How ``careline qa`` was asked to run (from the command line and the config)."""

    store_path: Path
    """The local store."""
    store_key: StoreKey | None
    """Its key, when encrypted."""
    user: str
    """The login: the evaluator, or with ``mine`` the agent."""
    start: datetime
    end: datetime
    mine: bool = False
    """Show the user's own evaluations instead of the review queue."""
    form_id: str | None = None
    """The evaluation form (None: the library's default)."""
    seed: str = "careline-qa"
    """The sample's seed: the same seed draws the same calls."""
    per_agent: int = 2
    """Sampled calls per agent per week."""
    hub_dsn: str | None = None
    """The hub (None: local store only)."""
    hub_password: str | None = None
    library: Path | None = None
    """The script library (None: the shipped one)."""
    recordings: Path | None = None
    """This console's recordings (None: beside the store)."""
    recordings_store_key: StoreKey | None = None
    """What their key derives from (the store's key; None: the key file beside them)."""
    qa_private_key: Path | None = None
    """``recording.qa_private_key``: opens the hub's recordings."""
    output_device: str = ""
    """Where recordings play ("" the default device)."""


def _recordings(store: Store, *, hub: bool) -> RecordingLookup:
    from console.core.quality.recordings import RecordingNote, hub_recording, local_recording

    async def lookup(call_id: str) -> RecordingNote | None:
        return hub_recording(call_id) if hub else await local_recording(store, call_id)

    return lookup


def _listen(settings: QaSettings, store: Store, connect: Connect | None) -> RecordingAccess:
    from console.core.recordings.player import local_opener

    directory = settings.recordings or settings.store_path.parent / "recordings"

    def opener(call_id: str) -> RecordingOpener:
        if connect is None:
            return local_opener(store, directory, settings.recordings_store_key, call_id)
        from console.hub.recording_playback import hub_opener

        return hub_opener(connect, settings.qa_private_key, call_id)

    return RecordingAccess(opener, AuditLog(store), settings.user, settings.output_device)


def pick_form(library: Library, form_id: str | None) -> EvaluationForm:
    """The form ``form_id`` (None: the default one); raises :class:`LookupError`."""
    for form in library.evaluations:
        if form.id == form_id or (form_id is None and form.default):
            return form
    raise LookupError(f"no evaluation form {form_id or '(default)'} in the library")


def session_opener(settings: QaSettings) -> SessionOpener:
    """Opens the store (and the hub link) for ``settings`` inside the app's event loop;
    raises :class:`LookupError` when the form is not in the library."""

    async def open_session() -> QaSession:
        from console.core.quality.evaluations import EvaluationStore
        from console.core.scripts.loader import load_library

        library = load_library(settings.library)
        form = pick_form(library, settings.form_id)
        store = await Store.open(settings.store_path, settings.store_key)
        hub = calls = connect = None
        if settings.hub_dsn:
            from console.hub.connection import hub_connector
            from console.hub.evaluations import HubEvaluations
            from console.hub.review_calls import HubCalls

            connect = hub_connector(settings.hub_dsn, settings.hub_password or None)
            hub, calls = HubEvaluations(connect), HubCalls(connect)
        session = QaSession(settings.start, settings.end, store.close)
        session.recording = _recordings(store, hub=calls is not None)
        session.listen = _listen(settings, store, connect)
        if settings.mine:
            from console.hub.evaluations import HubAgentEvaluations

            session.agent_id = settings.user
            session.agent = HubAgentEvaluations(hub) if hub else EvaluationStore(store)
            return session
        session.desk = QaDesk(
            store,
            library,
            form,
            settings.user,
            seed=settings.seed,
            per_agent=settings.per_agent,
            sync=hub,
            calls=calls,
        )
        await session.desk.send_pending()
        return session

    return open_session
