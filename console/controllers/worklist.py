# SPDX-License-Identifier: GPL-2.0-or-later
"""Preview dialling: working an outbound worklist from the agent screen.

``W`` starts worklist mode: the agent's state reads "outbound" and the next
item the calling rules allow is claimed and previewed (first name and reason
only: nobody is verified yet). Enter dials it from the engine, the rule's
script runs in the guidance pane with the rule's voicemail text beside it, and
when the call ends the agent picks the outcome (a SIP failure proposes busy,
no answer or wrong number). The outcome goes to the worklist (retries, caps
and opt-outs are the store's) and the call is stored as an interaction. The
claim is renewed while the agent holds it and released when they leave, skip
(with a reason: when the item comes back) or quit.

Inbound calls take priority (``worklists.inbound_first``): no item is offered
while a call rings or is up, and a call that rings over a preview takes its
place (the item goes back to the list).

The call is a screen pop for the claimed patient: the card greets them by first
name and says why the call is made; ``v`` verifies whoever answered against that
patient (the same dialog and audit as an inbound call), and only then does the
card show the details and the script say the day and time of the appointment a
reminder is about. ``rescheduled`` and ``cancelled`` change that appointment
(:mod:`console.controllers.reminder_change`). What an offer shows besides its claim is
read by :mod:`console.controllers.worklist_offer`.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from console.controllers.base import Context, Controller
from console.controllers.booking import BookingFlow
from console.controllers.guidance import GuidanceFlow, org_context
from console.controllers.reminder_change import ReminderChange, Settled
from console.controllers.worklist_attempt import Attempt, outbound_record, proposed_outcome
from console.controllers.worklist_offer import OfferReader
from console.controllers.wrap_up import WrapUpFlow
from console.core.events import AnyEvent, CallEnded, CallStateChanged
from console.core.interactions import InteractionError
from console.core.phone import PhoneError
from console.core.scripts.placeholders import render
from console.core.scripts.preparations import PreVisit
from console.core.scripts.runner import ScriptRun
from console.core.store_faults import StoreError, fault_words
from console.core.worklists.claims import UNREACHABLE, WorklistClaimer
from console.core.worklists.store import Claim, Outcome
from console.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from console.dialogs.worklist import OutcomeChoice, PreviewChoice, WorklistPreview

SKIP_REASONS: tuple[tuple[int, str], ...] = (
    (60, "Not now: back on the list in an hour"),
    (24 * 60, "Not today: back tomorrow"),
    (24 * 60, "The number looks wrong: check the directory first (back tomorrow)"),
)
"""(minutes until the item is offered again, label). A skip is no call: it counts no
attempt and the item is never closed by it, only put back for later."""
POLL_S = 30.0
"""How often an idle worklist mode looks for an item that became due (window, spacing)."""


class WorklistFlow(Controller):
    """Worklist mode: offer, dial, outcome, next."""

    def __init__(
        self, context: Context, guidance: GuidanceFlow, wrap_up: WrapUpFlow, booking: BookingFlow
    ) -> None:
        super().__init__(context)
        self.guidance = guidance
        """Runs the rule's script on the call."""
        self.booking = booking
        """What the call changed of the patient's appointments (``k``)."""
        self.reminder = ReminderChange(context, booking)
        """Moves or cancels a reminder's appointment for the outcome picked."""
        self.wrap_up = wrap_up
        """An inbound wrap-up waiting holds the next offer back."""
        self.working = False
        """Whether the agent is working the worklist."""
        self.attempt: Attempt | None = None
        """The item claimed now (previewed, being called, or waiting for its outcome)."""
        self._busy = False
        self._preview: WorklistPreview | None = None
        self.reader = OfferReader(context.services)
        """Reads what an offer shows besides its claim."""
        self._unreachable = False
        """The claims could not be reached at the last try (said once, not every poll)."""

    @property
    def claims(self) -> WorklistClaimer | None:
        """Where items are claimed (the local store, or the hub's claimer)."""
        return self.services.worklists

    # ---------------------------------------------------------------- mode
    def toggle(self) -> None:
        """Start or stop working the worklist."""
        if self.working:
            self.screen.run_worker(self.leave(), group="worklist")
        else:
            self.start()

    def start(self) -> None:
        """Enter worklist mode and offer the first item."""
        settings = self.services.config.worklists
        if self.claims is None or settings.caller_id is None:
            why = (
                "worklists.caller_id is not configured"
                if settings.caller_id is None
                else "the hub's password could not be read (hub.password_file)"
            )
            self.screen.notify(
                f"No worklist calls can be placed: {why}.", severity="warning", markup=False
            )
            return
        self.working = True
        self._set_outbound(True)
        self.screen.set_interval(POLL_S, self.refresh, name="worklist-poll")
        renew = max(20.0, settings.claim_minutes * 60 / 3)
        self.screen.set_interval(renew, self._renew, name="worklist-renew")
        self.refresh()

    async def leave(self) -> None:
        """Leave worklist mode; a claimed item not yet dialled goes back to the list."""
        self.working = False
        self._close_preview("leave")
        attempt = self.attempt
        if attempt is not None and attempt.call_id is None and attempt.early is None:
            self.attempt = None
            await self._release(attempt.claim)
        self._set_outbound(False)

    def _set_outbound(self, on: bool) -> None:
        self.desk.agent = replace(self.desk.agent, outbound=on)
        self.screen.query_one(StatusBar).state = self.desk.agent
        if not self.services.config.worklists.inbound_first:
            # Inbound calls go to other agents while this one works the list.
            if on:
                self.host.send_command("availability", state="not_ready", reason="outbound")
            else:
                self.host.send_command("availability", state="available", reason="")
        self.screen.run_worker(
            self.services.floor.agent_state(self.desk.agent, self.queue.active()),
            group="worklist-floor",
        )

    async def release_on_exit(self) -> None:
        """The console is quitting: the claim goes back to the list at once."""
        attempt, self.attempt = self.attempt, None
        if attempt is not None and self.claims is not None:
            with contextlib.suppress(*UNREACHABLE):  # the lease lapses on its own
                await self.claims.release(attempt.claim, self.services.clock())

    # --------------------------------------------------------------- offer
    def _may_offer(self) -> bool:
        if not self.working or self.attempt is not None or self._busy:
            return False
        if self.wrap_up.open is not None or self.wrap_up.waiting:
            return False
        # Inbound first: a call ringing or up holds the next item back.
        return not (self.services.config.worklists.inbound_first and len(self.queue))

    def refresh(self) -> None:
        """The calls changed (or time passed): yield to a ringing call, or offer an item."""
        settings = self.services.config.worklists
        if self._preview is not None and settings.inbound_first and self.queue.ringing():
            self._close_preview("yield")
            return
        if self._may_offer():
            self._busy = True
            self.screen.run_worker(self._offer(), group="worklist")

    async def _offer(self) -> None:
        try:
            claims = self.claims
            if claims is None:
                return
            now = self.services.clock()
            try:
                claim = await claims.claim_next(self.services.config.agent.id, now)
            except UNREACHABLE as exc:
                if not self._unreachable:
                    self._unreachable = True
                    self.screen.notify(
                        f"The worklist cannot be reached ({exc}): trying again.",
                        severity="warning",
                        markup=False,
                    )
                return
            self._unreachable = False
            if claim is None:
                return
            attempt = await self.reader.attempt(claims, claim)
            # Checked after the last await: a call that rang while the claim, the rule, the
            # name or the appointment was read holds the item back (refresh saw no preview
            # to dismiss).
            if not self._may_offer_now():
                await self._release(claim)  # a hub that is down now: the lease lapses
                return
            from console.dialogs.worklist import WorklistPreview

            self.attempt = attempt
            self._preview = WorklistPreview(attempt.preview)
            self.screen.app.push_screen(self._preview, self._previewed)
        finally:
            self._busy = False

    def _may_offer_now(self) -> bool:
        """Still working, and no call arrived while the claim was taken."""
        inbound_first = self.services.config.worklists.inbound_first
        return self.working and not (inbound_first and len(self.queue))

    def _close_preview(self, choice: PreviewChoice) -> None:
        """Close the preview with ``choice`` if it is still the screen on top.

        Its callback runs later: two call events before it, or a call's event just after
        the agent's own key closed it, must not close it again (a dialog closes once:
        :class:`~console.dialogs.base.ClosesOnce`). A preview under another dialog stays,
        and its Enter cannot dial while a call rings (``_previewed``)."""
        preview = self._preview
        if preview is not None and preview.is_active:
            self._preview = None
            preview.dismiss(choice)

    def _previewed(self, choice: PreviewChoice | None) -> None:
        self._preview = None
        attempt = self.attempt
        if attempt is None:
            return
        if choice == "dial" and not self._may_offer_now():
            # A call rang, or the mode was left, while a dialog covered the preview.
            choice = "yield"
            if self.working:
                self.screen.notify(
                    "Not dialled: a call is ringing and comes first. The item goes back "
                    "to the list.",
                    markup=False,
                )
        if choice == "dial":
            self.screen.run_worker(self._dial(attempt), group="worklist")
        elif choice == "skip":
            self._skip(attempt)
        else:  # leave, or a ringing call took the preview's place
            self.attempt = None
            self.screen.run_worker(self._release(attempt.claim), group="worklist")
            if choice == "leave":
                self.screen.run_worker(self.leave(), group="worklist")

    def _skip(self, attempt: Attempt) -> None:
        from console.dialogs.choice import ChoicePicker
        from console.dialogs.worklist import WorklistPreview

        def chosen(minutes: int | None) -> None:
            if minutes is None:  # back to the preview
                self._preview = WorklistPreview(attempt.preview)
                self.screen.app.push_screen(self._preview, self._previewed)
                return
            self.attempt = None
            later = self.services.clock() + timedelta(minutes=minutes)
            self.screen.run_worker(self._release(attempt.claim, later), group="worklist")

        picker = ChoicePicker[int]("Skip this item: why?", list(SKIP_REASONS))
        self.screen.app.push_screen(picker, chosen)

    async def _release(self, claim: Claim, until: datetime | None = None) -> None:
        if self.claims is not None:
            with contextlib.suppress(*UNREACHABLE):  # the lease lapses on its own
                await self.claims.release(claim, self.services.clock(), until)
        self.refresh()

    async def _renew(self) -> None:
        attempt = self.attempt
        if attempt is None or self.claims is None:
            return
        try:
            renewed = await self.claims.renew(attempt.claim, self.services.clock())
        except UNREACHABLE:
            return  # tried again at the next renewal, well inside the lease
        if renewed is None:
            self.screen.notify(
                "Your claim on this worklist item lapsed: its outcome may not be stored.",
                severity="warning",
                markup=False,
            )
        else:
            attempt.claim = renewed

    # ---------------------------------------------------------------- call
    async def _dial(self, attempt: Attempt) -> None:
        number = attempt.preview.number
        attempt.early = []
        try:
            # The clinic's number, not the agent's line: the patient sees who calls.
            caller_id = self.services.config.worklists.caller_id
            reply = await self.services.phone.command("dial", number=number, caller_id=caller_id)
        except PhoneError as exc:
            attempt.early = None
            self.screen.notify(f"Could not dial: {exc}", severity="error", markup=False)
            self._pick_outcome(attempt, Outcome.WRONG_NUMBER)
            return
        call_id = str(reply.get("call_id", ""))
        early, attempt.early = attempt.early, None
        attempt.call_id = call_id
        attempt.dialled_at = self.services.clock()
        for event in early:
            self.phone_event(event)  # what the engine said of the call before its reply
        if attempt.ended:
            return  # over already (busy, refused): its outcome is being asked for
        self._run_script(attempt, call_id)
        if attempt.patient is not None:
            # A screen pop for the claimed patient: first name and why, until verified.
            await self.guidance.patients.pop_outbound(
                call_id, attempt.patient, attempt.preview.reason
            )
        ring = self.services.config.worklists.ring_seconds
        self.screen.set_timer(ring, lambda: self._ring_timeout(attempt), name="worklist-ring")

    def _run_script(self, attempt: Attempt, call_id: str) -> None:
        values = org_context(self.services.config.guidance, self.services.config.agent.name)
        values["patient.first_name"] = attempt.preview.first_name
        values["org.callback_number"] = self.services.config.worklists.callback_number or None
        scripts = {script.id: script for script in self.guidance.library.scripts}
        script = scripts.get(attempt.claim.script_id)
        if script is not None:
            self.guidance.runs[call_id] = ScriptRun(script, values, clock=self.services.clock)
        if attempt.rule is not None:
            self.guidance.previsit[call_id] = PreVisit(
                "If you reach voicemail, read exactly this (nothing more)",
                (("", render(attempt.rule.voicemail, values).strip()),),
            )
        self.guidance.refresh()

    def patient_verified(self, call_id: str) -> None:
        """Whoever answered the worklist call was verified: the script may now say the day
        and time of the appointment the reminder is about (not the patient's next one)."""
        attempt = self.attempt
        run = self.guidance.runs.get(call_id)
        if attempt is None or attempt.call_id != call_id or run is None:
            return
        if attempt.appointment is not None:
            run.context["patient.next_appointment"] = attempt.appointment.spoken()
            self.guidance.refresh()

    def _ring_timeout(self, attempt: Attempt) -> None:
        if self.attempt is attempt and attempt.call_id and not attempt.answered:
            call = self.queue.get(attempt.call_id)
            if call is not None:
                attempt.timed_out = True
                self.host.send_command("hangup", call=attempt.call_id)

    def phone_event(self, event: AnyEvent) -> None:
        """An engine event, before the desk applies it: the worklist call answered or ended."""
        attempt = self.attempt
        if attempt is None:
            return
        if attempt.early is not None and isinstance(event, CallStateChanged | CallEnded):
            attempt.early.append(event)  # replayed once the dial reply names the call
            return
        if attempt.call_id is None or attempt.ended:
            return
        if isinstance(event, CallStateChanged) and event.call_id == attempt.call_id:
            attempt.answered = attempt.answered or event.state == "active"
        elif isinstance(event, CallEnded) and event.call_id == attempt.call_id:
            attempt.ended = True
            # Before the desk lets the call go (and its patient data with it).
            attempt.runs = self.guidance.take(attempt.call_id)
            attempt.verified = self.guidance.patients.verified.get(attempt.call_id)
            attempt.changes = tuple(self.booking.changes.get(attempt.call_id, ()))
            proposal = proposed_outcome(event.sip_status, attempt.answered, attempt.timed_out)
            self.screen.call_after_refresh(self._pick_outcome, attempt, proposal)

    def _pick_outcome(self, attempt: Attempt, proposal: Outcome | None) -> None:
        from console.dialogs.worklist import OUTCOME_LABELS, OutcomePicker

        why = f" (proposed: {OUTCOME_LABELS[proposal]})" if proposal else ""
        title = f"How did the call to {attempt.preview.first_name} end?{why}"

        def chosen(choice: OutcomeChoice | None) -> None:
            if choice is None:
                return

            def done(settled: Settled) -> None:
                attempt.changes += settled.changes  # a second pick does not change it twice
                self.screen.run_worker(self._save(attempt, choice, settled), group="worklist")

            def again(why: str) -> None:
                self.screen.notify(why, severity="warning", markup=False, timeout=10)
                self._pick_outcome(attempt, choice.outcome)

            self.reminder.settle(
                choice.outcome,
                attempt.verified,
                attempt.appointment,
                attempt.changes,
                callback=choice.callback,
                done=done,
                again=again,
            )

        self.screen.app.push_screen(OutcomePicker(title, proposal), chosen)

    async def _save(self, attempt: Attempt, choice: OutcomeChoice, settled: Settled) -> None:
        claims, now = self.claims, self.services.clock()
        if claims is None:
            return
        try:
            stored = await claims.record(attempt.claim, choice.outcome, now)
            if choice.outcome is Outcome.OPTED_OUT and not stored:
                await claims.opt_out(attempt.claim.patient_id, now, "call")  # at once
        except UNREACHABLE as exc:
            # Nothing stored: ask again, so the outcome is saved once the list is back.
            why = (
                fault_words(exc)
                if isinstance(exc, StoreError)
                else f"the worklist cannot be reached: {exc}"
            )
            # A change already made is said now: the next pick does not make it again (nor
            # say it). One that failed is not: the next pick tries it again.
            made = f" {settled.note}" if settled.changes else ""
            self.screen.notify(
                f"Outcome not saved ({why}). Try again.{made}",
                severity="error",
                markup=False,
                timeout=15,
            )
            self._pick_outcome(attempt, choice.outcome)
            return
        await self._store_interaction(attempt, choice, now, settled.callbacks)
        self.attempt = None
        if attempt.call_id is not None:
            self.guidance.patients.forget(attempt.call_id)  # a call that never showed up
        from console.dialogs.worklist import OUTCOME_LABELS

        saved = (
            f"Outcome saved: {OUTCOME_LABELS[choice.outcome]}."
            if stored
            else "The claim had lapsed: the call is recorded, the list was not changed."
        )
        if settled.note:
            # A change that could not be made is said with the outcome, not instead of it.
            self.screen.notify(
                f"{saved} {settled.note}",
                severity="information" if settled.changes else "warning",
                markup=False,
                timeout=12,
            )
        else:
            self.screen.notify(saved, markup=False)
        await self.host.refresh_history()
        self.refresh()

    async def _store_interaction(
        self,
        attempt: Attempt,
        choice: OutcomeChoice,
        now: datetime,
        later: tuple[str, ...] = (),
    ) -> None:
        agent = self.services.config.agent.id
        interaction, follow_ups = outbound_record(attempt, choice, now, agent, later)
        interactions = self.services.interactions
        try:
            await self.services.held.run(
                "worklist outcome", lambda: interactions.finish(interaction, follow_ups)
            )
        except InteractionError as exc:
            self.screen.notify(f"Call not recorded: {exc}", severity="error", markup=False)
