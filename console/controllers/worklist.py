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
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from console.controllers.base import Context, Controller
from console.controllers.guidance import GuidanceFlow, org_context
from console.controllers.wrap_up import WrapUpFlow, script_record
from console.core.events import AnyEvent, CallEnded, CallStateChanged
from console.core.interactions import FollowUp, Interaction, InteractionError
from console.core.patients.directory import SUMMARY_COLUMNS, summary_from_row
from console.core.patients.verification import first_name
from console.core.phone import PhoneError
from console.core.scripts.loader import load_library
from console.core.scripts.placeholders import render
from console.core.scripts.preparations import PreVisit
from console.core.scripts.runner import ScriptRun
from console.core.scripts.worklist_rules import WorklistRule
from console.core.worklists.claims import WorklistClaimer, WorklistUnavailableError
from console.core.worklists.store import Claim, Outcome
from console.dialogs.choice import ChoicePicker
from console.dialogs.worklist import (
    OUTCOME_LABELS,
    OutcomeChoice,
    OutcomePicker,
    Preview,
    PreviewChoice,
    WorklistPreview,
)
from console.widgets.status_bar import StatusBar

SKIP_REASONS: tuple[tuple[int, str], ...] = (
    (60, "Not now: back on the list in an hour"),
    (24 * 60, "Not today: back tomorrow"),
    (24 * 60, "The number looks wrong: check the directory first (back tomorrow)"),
)
"""(minutes until the item is offered again, label). A skip is no call: it counts no
attempt and the item is never closed by it, only put back for later."""
CALLBACK_HOURS = 2
"""When a callback the patient asked for is due."""
POLL_S = 30.0
"""How often an idle worklist mode looks for an item that became due (window, spacing)."""


def proposed_outcome(sip_status: int | None, answered: bool, timed_out: bool) -> Outcome | None:
    """The outcome a call's end suggests: busy (486, 600), wrong number (404, 410, 484,
    604), no answer (a timeout, 408, 480, 487); None when answered (the agent knows)."""
    if answered:
        return None
    if timed_out:
        return Outcome.NO_ANSWER
    if sip_status in (486, 600):
        return Outcome.BUSY
    if sip_status in (404, 410, 484, 604):
        return Outcome.WRONG_NUMBER
    return Outcome.NO_ANSWER


UNREACHABLE = (WorklistUnavailableError, ValueError)
"""What the claims raise when the hub is down or refuses a value: said, never a crash."""


@dataclass
class Attempt:
    """The item being worked: the claim, who, the rule, and the call once dialled."""

    claim: Claim
    preview: Preview
    rule: WorklistRule | None
    call_id: str | None = None
    dialled_at: datetime | None = None
    answered: bool = False
    timed_out: bool = False
    runs: tuple[ScriptRun, ...] = ()


class WorklistFlow(Controller):
    """Worklist mode: offer, dial, outcome, next."""

    def __init__(self, context: Context, guidance: GuidanceFlow, wrap_up: WrapUpFlow) -> None:
        super().__init__(context)
        self.guidance = guidance
        """Runs the rule's script on the call."""
        self.wrap_up = wrap_up
        """An inbound wrap-up waiting holds the next offer back."""
        self.working = False
        """Whether the agent is working the worklist."""
        self.attempt: Attempt | None = None
        """The item claimed now (previewed, being called, or waiting for its outcome)."""
        self._busy = False
        self._preview: WorklistPreview | None = None
        self._rules: dict[str, WorklistRule] | None = None
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
        if self._preview is not None:
            self._preview.dismiss("leave")
        attempt = self.attempt
        if attempt is not None and attempt.call_id is None:
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
            self._preview.dismiss("yield")
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
            rule = (await self._load_rules()).get(claim.list_id)
            name = await self._first_name(claim.patient_id)
            # Checked after the last await: a call that rang while the claim, the rule or
            # the name was read holds the item back (refresh saw no preview to dismiss).
            if not self._may_offer_now():
                await self._release(claim)  # a hub that is down now: the lease lapses
                return
            preview = Preview(
                rule.title if rule else claim.list_id,
                name,
                claim.reason,
                claim.numbers[0] if claim.numbers else "",
                claim.attempt,
                claim.max_attempts,
            )
            self.attempt = Attempt(claim, preview, rule)
            self._preview = WorklistPreview(preview)
            self.screen.app.push_screen(self._preview, self._previewed)
        finally:
            self._busy = False

    def _may_offer_now(self) -> bool:
        """Still working, and no call arrived while the claim was taken."""
        inbound_first = self.services.config.worklists.inbound_first
        return self.working and not (inbound_first and len(self.queue))

    async def _load_rules(self) -> dict[str, WorklistRule]:
        """The worklist rules by id: the shipped ones, then the configured library's."""
        if self._rules is None:
            libraries = [await asyncio.to_thread(load_library)]
            custom = self.services.config.guidance.scripts
            if custom is not None:
                libraries.append(await asyncio.to_thread(load_library, custom.expanduser()))
            self._rules = {rule.id: rule for lib in libraries for rule in lib.worklists}
        return self._rules

    async def _first_name(self, patient_id: str) -> str:
        rows = await self.services.store.fetch_all(
            f"SELECT {SUMMARY_COLUMNS} FROM patients p WHERE p.id = ?", (patient_id,)
        )
        return first_name(summary_from_row(rows[0])) if rows else "the patient"

    def _previewed(self, choice: PreviewChoice | None) -> None:
        self._preview = None
        attempt = self.attempt
        if attempt is None:
            return
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
        try:
            # The clinic's number, not the agent's line: the patient sees who calls.
            caller_id = self.services.config.worklists.caller_id
            reply = await self.services.phone.command("dial", number=number, caller_id=caller_id)
        except PhoneError as exc:
            self.screen.notify(f"Could not dial: {exc}", severity="error", markup=False)
            self._pick_outcome(attempt, Outcome.WRONG_NUMBER)
            return
        call_id = str(reply.get("call_id", ""))
        attempt.call_id = call_id
        attempt.dialled_at = self.services.clock()
        self._run_script(attempt, call_id)
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

    def _ring_timeout(self, attempt: Attempt) -> None:
        if self.attempt is attempt and attempt.call_id and not attempt.answered:
            call = self.queue.get(attempt.call_id)
            if call is not None:
                attempt.timed_out = True
                self.host.send_command("hangup", call=attempt.call_id)

    def phone_event(self, event: AnyEvent) -> None:
        """An engine event, before the desk applies it: the worklist call answered or ended."""
        attempt = self.attempt
        if attempt is None or attempt.call_id is None:
            return
        if isinstance(event, CallStateChanged) and event.call_id == attempt.call_id:
            attempt.answered = attempt.answered or event.state == "active"
        elif isinstance(event, CallEnded) and event.call_id == attempt.call_id:
            attempt.runs = self.guidance.take(attempt.call_id)  # before the desk lets it go
            proposal = proposed_outcome(event.sip_status, attempt.answered, attempt.timed_out)
            self.screen.call_after_refresh(self._pick_outcome, attempt, proposal)

    def _pick_outcome(self, attempt: Attempt, proposal: Outcome | None) -> None:
        why = f" (proposed: {OUTCOME_LABELS[proposal]})" if proposal else ""
        title = f"How did the call to {attempt.preview.first_name} end?{why}"

        def chosen(choice: OutcomeChoice | None) -> None:
            if choice is not None:
                self.screen.run_worker(self._save(attempt, choice), group="worklist")

        self.screen.app.push_screen(OutcomePicker(title, proposal), chosen)

    async def _save(self, attempt: Attempt, choice: OutcomeChoice) -> None:
        claims, now = self.claims, self.services.clock()
        if claims is None:
            return
        try:
            stored = await claims.record(attempt.claim, choice.outcome, now)
            if choice.outcome is Outcome.OPTED_OUT and not stored:
                await claims.opt_out(attempt.claim.patient_id, now, "call")  # at once
        except UNREACHABLE as exc:
            # Nothing stored: ask again, so the outcome is saved once the list is back.
            self.screen.notify(
                f"Outcome not saved: the worklist cannot be reached ({exc}). Try again.",
                severity="error",
                markup=False,
                timeout=15,
            )
            self._pick_outcome(attempt, choice.outcome)
            return
        await self._store_interaction(attempt, choice, now)
        self.attempt = None
        self.screen.notify(
            f"Outcome saved: {OUTCOME_LABELS[choice.outcome]}."
            if stored
            else "The claim had lapsed: the call is recorded, the list was not changed.",
            markup=False,
        )
        await self.host.refresh_history()
        self.refresh()

    async def _store_interaction(
        self, attempt: Attempt, choice: OutcomeChoice, now: datetime
    ) -> None:
        claim, run = attempt.claim, script_record(attempt.runs) or {}
        interaction = Interaction(
            agent_id=self.services.config.agent.id,
            started_at=attempt.dialled_at or now,
            ended_at=now,
            disposition=f"worklist_{choice.outcome.value}",
            call_id=attempt.call_id,
            patient_id=claim.patient_id,
            script_id=run.get("script_id"),
            script_version=str(run["script_version"]) if run.get("script_version") else None,
            answers=[
                {"question": e["step_id"], "value": e["value"], "at": e["at"]}
                for e in run.get("log", [])
            ],
            form={
                "direction": "outbound",
                "worklist": claim.list_id,
                "worklist_item": claim.item_id,
                "outcome": choice.outcome.value,
                "attempt": claim.attempt,
            },
        )
        follow_ups = []
        if choice.callback:
            follow_ups.append(
                FollowUp(
                    number=attempt.preview.number,
                    due_at=now + timedelta(hours=CALLBACK_HOURS),
                    owner="team",
                    reason=f"Asked for a callback ({attempt.preview.list_title})"[:200],
                    patient_id=claim.patient_id,
                )
            )
        interactions = self.services.interactions
        try:
            await self.services.held.run(
                "worklist outcome", lambda: interactions.finish(interaction, follow_ups)
            )
        except InteractionError as exc:
            self.screen.notify(f"Call not recorded: {exc}", severity="error", markup=False)
