# SPDX-License-Identifier: GPL-2.0-or-later
"""Call recording on the agent's screen: the key, the badge, pause and consent, forms that pause.

The engine records (``sip/recording.py``); this controller unlocks it with the
recordings key each time the phone comes online, shows the call's recording
state (:class:`~console.widgets.recording_badge.RecordingBadge`), pauses and
resumes it with one key (or, while the patient's yes is awaited, asks whether
they agreed), pauses it by itself while a form the queue names is open (the
verification dialog by default) and resumes it when that closes, stores each
step (:class:`~console.core.recordings.ledger.RecordingLedger`), and deletes
what is past its retention at start and every hour. A store that refuses the
purge's or the upload's own write (a full disk, a lock) is said once, never a
crash: both are tried again within the hour, and nothing is lost meanwhile (a
recording not marked deleted or sent stays listed for the next round).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence

from console.controllers.base import Context, Controller
from console.core.audit import AuditLog
from console.core.calls import LiveCall
from console.core.engine_settings import recordings_directory
from console.core.events import AnyEvent, CallEnded, Hello, RecordingChanged, decode
from console.core.phone import PhoneError
from console.core.recordings.keys import RecordingsKeyError, recordings_key
from console.core.recordings.ledger import RecordingLedger
from console.core.recordings.retention import PURGE_EVERY_SECONDS, purge
from console.core.store_faults import fault_words
from console.widgets.recording_badge import RecordingBadge
from sip.protocol import utc_now_iso

log = logging.getLogger(__name__)

CONSENT_QUESTION = "Did the patient agree to this call being recorded?"


class RecordingFlow(Controller):
    """The recording of the call on screen, as the agent sees and steers it."""

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        services = self.services
        self.config = services.config.recording
        self.ledger = RecordingLedger(
            services.store,
            AuditLog(services.store, clock=services.clock),
            services.config.agent.id,
            self.config,
            services.held,
        )
        self._facts: dict[str, RecordingChanged] = {}
        """The latest recording event of each live call."""
        self._queues: dict[str, str] = {}
        self._by_form: dict[str, str] = {}
        """Calls this controller paused because a form opened: the form's id."""
        self._master: bytes | None = None
        """The recordings key, once derived (to seal recordings for the hub's QA)."""
        self._failing: set[str] = set()
        """Background jobs ("purge", "upload") whose failure the agent was told of (once,
        until one works again)."""

    # -------------------------------------------------------------- lifecycle
    def mount(self) -> None:
        """Delete what is past its retention now and every hour (only when recording is on)."""
        if self.config.any_recorded:
            self.screen.run_worker(self._purge(), group="recording-purge")
            self.screen.set_interval(PURGE_EVERY_SECONDS, self._purge_later)

    def _purge_later(self) -> None:
        self.screen.run_worker(self._purge(), group="recording-purge", exclusive=True)
        self._upload_soon()

    def _upload_soon(self) -> None:
        """With a hub and the QA key: send the recordings not there yet (in the background)."""
        config = self.services.config
        if self._master and config.hub.dsn and self.config.qa_public_key is not None:
            self.screen.run_worker(self._upload(), group="recording-upload", exclusive=True)

    async def _upload(self) -> None:
        from console.core.config import ConfigError, hub_password
        from console.hub.connection import hub_connector
        from console.hub.recordings import upload_pending

        config = self.services.config
        assert self._master is not None
        assert self.config.qa_public_key is not None
        try:
            connect = hub_connector(config.hub.dsn, hub_password(config) or None)
            public = await asyncio.to_thread(self.config.qa_public_key.expanduser().read_bytes)
        except (ConfigError, OSError) as exc:
            self.screen.notify(f"Recordings cannot reach the hub: {exc}", markup=False)
            return
        try:
            await self.services.held.settled()  # the stopped row, written behind, is read
            await upload_pending(self.services.store, connect, self._master, public)
        except Exception as exc:  # a background job must not close the console
            # The local store refused (full, locked): what was not marked sent goes next time.
            self._failed("upload", "Recordings not sent to the hub now", exc)
            return
        self._failing.discard("upload")

    async def _purge(self) -> None:
        services = self.services
        now = services.clock()
        audit = AuditLog(services.store)
        try:
            await purge(services.store, audit, services.config.agent.id, now)
        except Exception as exc:  # a background job must not close the console
            # A recording not marked deleted stays listed: the next purge finishes it (its
            # file already gone counts as deleted), and only then writes its audit row.
            self._failed("purge", "Old recordings not deleted now", exc)
            return
        self._failing.discard("purge")

    def _failed(self, job: str, what: str, exc: Exception) -> None:
        """Say once (until ``job`` works again) why a background job failed; it is tried
        again at the next round (within the hour)."""
        log.warning("recordings %s failed: %s", job, type(exc).__name__)  # the kind: no data
        if job in self._failing:
            return
        self._failing.add(job)
        self.screen.notify(
            f"{what}: {fault_words(exc)}. Tried again within the hour; nothing is lost.",
            severity="warning",
            markup=False,
            timeout=15,
        )

    def phone_status(self, online: bool) -> None:
        """A phone that comes online (first start, restart, reattach) gets the key again."""
        if online and self.config.any_recorded:
            self.screen.run_worker(self._unlock(), group="recording-key", exclusive=True)

    async def _unlock(self) -> None:
        directory = recordings_directory(self.services.config)
        try:
            key = await asyncio.to_thread(recordings_key, directory, self.services.store_key)
            encoded = base64.b64encode(key.key).decode()
            await self.services.phone.command("recording", action="key", key=encoded)
            self._master = key.key
            self._upload_soon()
        except (RecordingsKeyError, PhoneError) as exc:
            self.screen.notify(
                f"Calls cannot be recorded: {exc}", severity="error", markup=False, timeout=15
            )

    # ----------------------------------------------------------------- events
    async def phone_event(self, event: AnyEvent) -> None:
        """A ``recording`` event: remember it, store it, show it. A hello closes the
        recordings of calls the engine no longer has (it stopped with them) and asks how
        those of the calls it still has stand (see :meth:`_resync`)."""
        if isinstance(event, Hello):
            calls = {call.id for call in event.calls}
            await self.ledger.phone_restarted(calls, event.time_text or utc_now_iso())
            for gone in set(self._facts) - calls:
                self._forget(gone)
            if calls and self.config.any_recorded:
                work = self._resync(tuple(calls))
                self.screen.run_worker(work, group="recording-resync", exclusive=True)
            return
        if isinstance(event, CallEnded):
            # What the badge and the form pause kept of the call goes with it (a stopped
            # recording may still be said after the end: the ledger needs none of this).
            self._forget(event.call_id)
            return
        if not isinstance(event, RecordingChanged):
            return
        call_id, state = event.call_id, event.state
        live = self.queue.get(call_id)
        if live is not None:
            self._queues.setdefault(call_id, live.queue)
        before = self._facts.get(call_id)
        self._facts[call_id] = event
        await self.ledger.apply(event, self._queues.get(call_id, ""))
        if state == "recording" and (before is None or before.state != "recording"):
            # It starts (the patient's 1, the announcement over) under a form already open:
            # the form pauses it now, as it would have had it opened later.
            self._follow_forms(call_id)
        if state == "stopped":
            self._upload_soon()
        if state in ("stopped", "refused", "failed") and live is None:
            self._forget(call_id)
        if state == "failed" and live is not None:
            self.screen.notify(
                f"This call is NOT being recorded: {event.detail}",
                severity="error",
                markup=False,
            )
        self.refresh()

    def _forget(self, call_id: str) -> None:
        self._facts.pop(call_id, None)
        self._queues.pop(call_id, None)
        self._by_form.pop(call_id, None)

    async def _resync(self, calls: Sequence[str]) -> None:
        """After a hello (this console attached, or its link to the engine came back):
        each live call's recording as the engine has it now (events went unseen
        meanwhile: the patient's 1, an announcement that ended), then the forms' rule
        for the screen now shown."""
        phone = self.services.phone
        for call_id in calls:
            try:
                reply = await phone.command("recording", call=call_id, action="status")
            except PhoneError:
                continue  # not recorded, or the link went again (its next hello resyncs)
            fact = decode({**reply, "event": "recording", "time": utc_now_iso()})
            if not isinstance(fact, RecordingChanged) or fact.call_id != call_id:
                continue
            known = self._facts.get(call_id)
            if known is not None and known.state == fact.state and known.paused == fact.paused:
                self._follow_forms(call_id)
                continue
            live = self.queue.get(call_id)
            if live is not None:
                self._queues.setdefault(call_id, live.queue)
            self._facts[call_id] = fact
            if known is not None:
                # What changed unseen is stored as if said now (a console that attached
                # knows nothing of the call's recording: its rows are the earlier console's).
                await self.ledger.apply(fact, self._queues.get(call_id, ""))
            self._follow_forms(call_id)
        self.refresh()

    def refresh(self) -> None:
        """Show the recording of the call on screen."""
        badge = self.screen.query_one(RecordingBadge)
        call = self.queue.active()
        fact = self._facts.get(call.id) if call is not None else None
        if fact is None:
            badge.state = ""
            return
        state = fact.state
        if state == "recording" and fact.paused:
            state = "paused"
        elif state == "recording" and fact.held:
            state = "held"
        badge.detail = fact.detail
        badge.state = state

    # ------------------------------------------------------------------ keys
    def recorded(self) -> tuple[LiveCall, RecordingChanged] | None:
        """The call on screen and its recording, when it has one that can be steered."""
        call = self.queue.active()
        fact = self._facts.get(call.id) if call is not None else None
        if call is None or fact is None:
            return None
        if fact.state not in ("recording", "awaiting_consent"):
            return None
        return call, fact

    def toggle(self) -> None:
        """The recording key: pause or resume; while consent is awaited, ask for it."""
        recorded = self.recorded()
        if recorded is None:
            self.screen.notify("This call is not being recorded.", markup=False)
            return
        call, fact = recorded
        if fact.state == "awaiting_consent":
            from console.dialogs.confirm import ConfirmDialog  # loads when first asked

            def decided(agreed: bool | None) -> None:
                action = "consent" if agreed else "refuse"
                self.host.send_command("recording", call=call.id, action=action)

            self.screen.app.push_screen(ConfirmDialog(CONSENT_QUESTION), decided)
            return
        self._by_form.pop(call.id, None)  # the agent decides now, not the form
        action = "resume" if fact.paused else "pause"
        self.host.send_command("recording", call=call.id, action=action, reason="agent")

    def screen_changed(self, top: object) -> None:
        """A dialog opened over the agent's screen, or the screen is back on top: a form the
        call's queue names pauses the recording while it is open."""
        call = self.queue.active()
        if call is not None:
            self._follow_forms(call.id, top)

    def _follow_forms(self, call_id: str, top: object | None = None) -> None:
        """The forms' rule for one call, with ``top`` (default: the screen now shown) on top:
        a form its queue names pauses its recording; back on the agent's screen, a recording
        a form paused resumes. Only for the call on screen (the forms are about it)."""
        call = self.queue.active()
        fact = self._facts.get(call_id)
        if call is None or call.id != call_id or fact is None or fact.state != "recording":
            return
        top = self.screen.app.screen if top is None else top
        form = str(getattr(top, "FORM_ID", ""))
        forms = self.config.for_queue(self._queues.get(call.id, call.queue)).pause_forms
        if form and form in forms and not fact.paused:
            self._by_form[call.id] = form
            self.host.send_command("recording", call=call.id, action="pause", reason=form)
        elif top is self.screen and self._by_form.pop(call.id, None) is not None:
            self.host.send_command("recording", call=call.id, action="resume", reason="form")
