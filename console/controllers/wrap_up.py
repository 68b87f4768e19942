# SPDX-License-Identifier: GPL-2.0-or-later
"""After-call work: the wrap-up of each answered call, saved as an interaction.

When an answered inbound call ends, the agent goes into ``wrap_up`` (the
engine then declines new calls unless ``sip.accept_calls_in_wrap_up``) and
the wrap-up form opens, pre-filled from the script's answers, the notes and
what the call did to the caller's appointments (disposition, the
appointment's date and id; a callback to book later when the EHR could not).
Every change is saved as a draft — the call's facts, the script record and
the form so far, under an interaction id fixed when the wrap-up opens — so a
console killed mid-wrap-up reopens it on the next start. Saving writes the
interaction, its callbacks and its outbox row in one transaction (a retry
with the same id writes nothing twice) and makes the agent available again.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from console.controllers.base import Context, Controller
from console.controllers.guidance import GuidanceFlow
from console.controllers.notes import NotesFlow
from console.core.appointment_changes import (
    BOOK_LATER_REASON,
    AppointmentChange,
    book_later_pending,
    read_changes,
    recorded,
)
from console.core.calls import LiveCall
from console.core.interactions import Callback, Draft, FollowUp, Interaction, InteractionError
from console.core.records import dataclass
from console.core.scripts.forms import FollowUpTask, prefill, select_form
from console.core.scripts.models import Answer, Form
from console.core.scripts.runner import ScriptRun
from console.core.text import caller_label
from console.core.wrap_up import WrapUpResult


@dataclass(frozen=True, slots=True)
class CallEnding:
    """What the console held of a call that is over, for its wrap-up."""

    patient_id: str | None = None
    """The verified caller's patient id."""
    runs: tuple[ScriptRun, ...] = ()
    """The call's script runs, oldest first."""
    changes: tuple[AppointmentChange, ...] = ()
    """What the call did to the caller's appointments, in order."""


@dataclass
class WrapUp:
    """One call's wrap-up: what is needed to write its interaction."""

    body: dict[str, Any]
    """The draft: interaction id, call facts, script record, the form so far."""

    @property
    def call_id(self) -> str:
        """The call wrapped up."""
        return str(self.body["call"]["id"])

    @property
    def changes(self) -> tuple[AppointmentChange, ...]:
        """What the call did to the caller's appointments (none in an older draft)."""
        return read_changes(self.body.get("appointments"))


def call_facts(call: LiveCall, ended_at: datetime, patient_id: str | None) -> dict[str, Any]:
    """The facts of a finished call a draft keeps (the rest is in the calls table)."""
    return {
        "id": call.id,
        "caller": caller_label(call.caller_name, call.caller_number, 40),
        "number": call.caller_number,
        "received_at": call.received_at.astimezone(UTC).isoformat(),
        "ended_at": ended_at.astimezone(UTC).isoformat(),
        "talked": int((ended_at - (call.answered_at or ended_at)).total_seconds()),
        "queue": call.queue,
        "patient_id": patient_id,
    }


def script_record(runs: Sequence[ScriptRun]) -> dict[str, Any] | None:
    """What the call's scripts recorded: the last run's record, with every
    run's answer log (a switch keeps what was already asked)."""
    if not runs:
        return None
    records = [run.to_record() for run in runs]
    combined = dict(records[-1])
    combined["log"] = [entry for record in records for entry in record["log"]]
    combined["scripts"] = [
        {"script_id": record["script_id"], "script_version": record["script_version"]}
        for record in records
    ]
    return combined


def merged_answers(runs: Sequence[ScriptRun]) -> dict[str, Answer]:
    """Answers from every run of the call, a later answer to the same step winning."""
    answers: dict[str, Answer] = {}
    for run in runs:
        answers.update(run.answers)
    return answers


def interaction_from(
    wrap: WrapUp,
    result: WrapUpResult | None,
    agent_id: str,
    default_disposition: str,
    owed: FollowUpTask | None = None,
) -> tuple[Interaction, list[FollowUp]]:
    """The interaction (and callbacks) a finished or skipped wrap-up stands for.

    ``owed``: the callback the call promised (to book when the EHR is back), kept
    when the wrap-up was skipped or off; a saved wrap-up says itself what it keeps.
    """
    body = wrap.body
    call = body["call"]
    run = body.get("run") or {}
    prefilled = body.get("values") or {}
    fields = dict(result.fields) if result is not None else {}
    interaction = Interaction(
        id=body["interaction_id"],
        agent_id=agent_id,
        call_id=call["id"],
        patient_id=call.get("patient_id"),
        started_at=datetime.fromisoformat(call["received_at"]),
        ended_at=datetime.fromisoformat(call["ended_at"]),
        # Skipped (or wrap-up off): what the call's booking chose, else the default.
        disposition=(
            result.disposition if result is not None else str(prefilled.get("disposition") or "")
        )
        or default_disposition,
        script_id=run.get("script_id"),
        script_version=str(run["script_version"]) if run.get("script_version") else None,
        answers=[
            {"question": entry["step_id"], "value": entry["value"], "at": entry["at"]}
            for entry in run.get("log", [])
        ],
        red_flags=[{"rule": flag["id"], "at": flag["at"]} for flag in run.get("red_flags", [])],
        appointments=recorded(wrap.changes),
        urgency=run.get("urgency", "routine"),
        notes=result.notes if result is not None else str(body.get("notes", "")),
        form={key: _json(value) for key, value in fields.items()},
        feedback_consent=bool(result.feedback_consent) if result is not None else False,
    )
    follow_ups = []
    task = result.follow_up if result is not None else owed
    if task is not None:
        follow_ups.append(
            FollowUp(
                number=call["number"],
                due_at=task.due,
                owner=task.owner,
                reason=task.reason,
                patient_id=call.get("patient_id"),
            )
        )
    return interaction, follow_ups


def _json(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


class WrapUpFlow(Controller):
    """Opens one wrap-up at a time (others wait), saves drafts, writes interactions."""

    def __init__(self, context: Context, guidance: GuidanceFlow, notes: NotesFlow) -> None:
        super().__init__(context)
        self.guidance = guidance
        """The call's script runs (and the forms library)."""
        self.notes = notes
        """The notes box's memory of each call."""
        self.waiting: deque[WrapUp] = deque()
        self.open: WrapUp | None = None
        self._pending_drafts: dict[str, dict[str, Any]] = {}
        self._saving = False
        self._was_available = False
        self.dialled_callbacks: dict[str, Callback] = {}
        """Callbacks being dialled, by the number dialled."""

    # ---------------------------------------------------------------- start
    async def call_ended(
        self,
        call: LiveCall,
        ended_at: datetime,
        ending: CallEnding,
        *,
        lost: bool = False,
    ) -> None:
        """An answered inbound call ended: its wrap-up (or, with mode off, its record).

        ``lost``: it died with the engine or a console, not hung up: the wrap-up
        says so, for the agent to decide on a call back.
        """
        notes = await self._notes(call.id)
        runs, changes = ending.runs, ending.changes
        wrap = WrapUp(
            {
                "interaction_id": str(uuid.uuid4()),
                "call": call_facts(call, ended_at, ending.patient_id) | {"lost": lost},
                "run": script_record(runs),
                "notes": notes,
                "values": {k: _json(v) for k, v in self._prefill(runs, changes).items()},
                "appointments": [change.to_json() for change in changes],
                "dialog": None,
            }
        )
        # Both written behind (HeldWrites.behind): the screen shows the call's end at once,
        # even while the disk is slow or another program holds the store.
        if self.services.config.wrap_up.mode == "off":
            await self._write(wrap, None, behind=True)
            return
        self._save_behind(wrap)  # once on disk, a crash from here on reopens this wrap-up
        self.waiting.append(wrap)
        self._open_next()

    def reopen(self, draft: Draft) -> None:
        """Queue the saved wrap-up of a call found lost at start (its draft was on
        disk, the call not yet closed, when the last console stopped)."""
        queued = [*self.waiting, *([self.open] if self.open is not None else [])]
        if "interaction_id" in draft.body and all(wrap.call_id != draft.call_id for wrap in queued):
            self.waiting.append(WrapUp(draft.body))
            self._open_next()

    async def restore(self) -> None:
        """Reopen the wrap-ups a previous console left unsaved (their calls have ended)."""
        for draft in await self.services.interactions.load_drafts():
            if draft.call_finished and "interaction_id" in draft.body:
                self.waiting.append(WrapUp(draft.body))
        self._open_next()

    def _prefill(
        self, runs: Sequence[ScriptRun], changes: Sequence[AppointmentChange]
    ) -> dict[str, Any]:
        form = self._form(runs[-1].script.id if runs else None)
        if form is None or not (runs or changes):
            return {}
        return prefill(form, merged_answers(runs), changes)

    def _form(self, script_id: str | None) -> Form | None:
        return select_form(self.guidance.library.forms, script_id)

    async def _notes(self, call_id: str) -> str:
        # From the notes box's memory first: a full disk may be holding the save back.
        text = await self.notes.text_of(call_id)
        self.notes.forget(call_id)  # the draft holds them from here on
        return text

    # --------------------------------------------------------------- dialog
    def open_waiting(self) -> None:
        """Open the next waiting wrap-up now that the agent is back (signed in, unlocked)."""
        self._open_next()

    def _open_next(self) -> None:
        if self.open is not None or not self.waiting:
            return
        session = self.services.session
        if session.locked or session.signing_in:
            # Not over the lock or sign-in screen: the caller's name is in its
            # title, and it would take the PIN's keystrokes. It opens on return.
            return
        wrap = self.waiting.popleft()
        run = wrap.body.get("run") or {}
        form = self._form(run.get("script_id"))
        if form is None:
            # No form in the library (a broken custom library): record the call anyway.
            self.screen.run_worker(self._write(wrap, None))
            return
        self.open = wrap
        self._enter_wrap_up()
        settings = self.services.config.wrap_up
        call = wrap.body["call"]
        talked = divmod(int(call.get("talked", 0)), 60)
        from console.dialogs.wrap_up import WrapUpDialog

        dialog = WrapUpDialog(
            form=form,
            title=f"{call['caller']} · talked {talked[0]}:{talked[1]:02d}"
            + (" · CALL LOST: call back?" if call.get("lost") else ""),
            values=wrap.body.get("values") or {},
            follow_up_reason=BOOK_LATER_REASON if book_later_pending(wrap.changes) else "",
            notes=str(wrap.body.get("notes", "")),
            mode="timed" if settings.mode == "off" else settings.mode,
            seconds=settings.seconds,
            extension_seconds=settings.extension_seconds,
            default_disposition=settings.default_disposition,
            draft=wrap.body.get("dialog"),
            on_change=lambda dialog_body: self._changed(wrap, dialog_body),
            clock=self.services.clock,
        )

        async def done(result: WrapUpResult | None) -> None:
            await self._write(wrap, result)
            self.open = None
            if not self.waiting:
                self._leave_wrap_up()
            self._open_next()

        self.screen.app.push_screen(dialog, done)

    def _enter_wrap_up(self) -> None:
        """Tell the engine the agent is in wrap-up (new calls are declined)."""
        if self.desk.agent.availability == "available":
            self._was_available = True
            self.host.send_command("availability", state="wrap_up", reason="")

    def _leave_wrap_up(self) -> None:
        if self._was_available:
            self._was_available = False
            self.host.send_command("availability", state="available", reason="")

    # --------------------------------------------------------------- drafts
    def _changed(self, wrap: WrapUp, dialog_body: dict[str, Any]) -> None:
        wrap.body["dialog"] = dialog_body
        self._pending_drafts[wrap.call_id] = dict(wrap.body)
        if not self._saving:
            self._saving = True
            self.screen.run_worker(self._drain_drafts(), group="wrap-up-drafts")

    async def _drain_drafts(self) -> None:
        """Save the latest body per call, oldest call first; a burst of keys is one write."""
        try:
            while self._pending_drafts:
                call_id = next(iter(self._pending_drafts))
                await self._save_draft(call_id, self._pending_drafts.pop(call_id))
        finally:
            self._saving = False

    def _save_behind(self, wrap: WrapUp) -> None:
        what, write, key = self._draft_write(wrap.call_id, dict(wrap.body))
        self.services.held.behind(what, write, key=key)

    async def _save_draft(self, call_id: str, body: dict[str, Any]) -> None:
        what, write, key = self._draft_write(call_id, body)
        await self.services.held.run(what, write, key=key)

    def _draft_write(
        self, call_id: str, body: dict[str, Any]
    ) -> tuple[str, Callable[[], Awaitable[object]], tuple[str, str]]:
        # Held in memory on a full disk; a newer draft of the call replaces a held one.
        interactions = self.services.interactions
        return "wrap-up draft", partial(interactions.save_draft, call_id, body), ("draft", call_id)

    # ------------------------------------------------------------ callbacks
    def dial_callback(self, callback: Callback) -> None:
        """Call a callback's number; when that call is answered and ends, it is done."""
        self.dialled_callbacks[callback.number] = callback
        self.host.send_command("dial", number=callback.number)

    async def outbound_ended(self, call: LiveCall, ended_at: datetime) -> None:
        """An outbound call ended: if it was a callback that got through, record it."""
        callback = self.dialled_callbacks.pop(call.caller_number, None)
        if callback is None or call.answered_at is None:
            return  # not a callback, or nobody answered: it stays on the list
        await self._complete(callback, call.received_at, ended_at, call.id, "callback_completed")

    async def callback_done(self, callback: Callback) -> None:
        """The agent marked a callback done without calling (e.g. the patient called in)."""
        now = self.services.clock()
        await self._complete(callback, now, now, None, "callback_closed")

    async def _complete(
        self,
        callback: Callback,
        started: datetime,
        ended: datetime,
        call_id: str | None,
        disposition: str,
    ) -> None:
        outcome = Interaction(
            agent_id=self.services.config.agent.id,
            started_at=started,
            ended_at=ended,
            disposition=disposition,
            call_id=call_id,
            patient_id=callback.patient_id,
            notes=f"Callback: {callback.reason}" if callback.reason else "Callback",
        )
        interactions = self.services.interactions
        try:
            saved = await self.services.held.run(
                "callback", lambda: interactions.complete_callback(callback.id, outcome)
            )
        except InteractionError as exc:
            self.screen.notify(f"Callback not recorded: {exc}", severity="error", markup=False)
            return
        self.screen.notify(
            "Callback done and recorded."
            if saved is not None
            else "Callback done: kept in memory, saved when the disk takes writes again.",
            markup=False,
        )

    # ---------------------------------------------------------------- write
    def _owed(self, wrap: WrapUp) -> FollowUpTask | None:
        """The callback the call promised (to book when the EHR is back), if it did: due
        as the form suggests a follow-up, owned by its first owner (else the team)."""
        if not book_later_pending(wrap.changes):
            return None
        run = wrap.body.get("run") or {}
        form = self._form(run.get("script_id"))
        spec = form.follow_up if form is not None else None
        hours = spec.default_due_hours if spec is not None else 24
        owner = spec.owners[0] if spec is not None else "team"
        return FollowUpTask(
            self.services.clock() + timedelta(hours=hours), owner, BOOK_LATER_REASON
        )

    async def _write(
        self, wrap: WrapUp, result: WrapUpResult | None, *, behind: bool = False
    ) -> None:
        """Store the wrap-up as an interaction. ``behind`` (a call's end, wrap-up off): in turn
        without waiting for the disk; a record the store later refuses is counted and said
        as every held write's is."""
        self._pending_drafts.pop(wrap.call_id, None)
        settings = self.services.config.wrap_up
        try:
            interaction, follow_ups = interaction_from(
                wrap,
                result,
                self.services.config.agent.id,
                settings.default_disposition,
                self._owed(wrap),
            )
            finish = partial(self.services.interactions.finish, interaction, follow_ups)
            if behind:
                self.services.held.behind("wrap-up", finish)
                saved: object | None = True
            else:
                saved = await self.services.held.run("wrap-up", finish)
        except InteractionError as exc:
            # The draft stays: the wrap-up reopens at the next start.
            self.screen.notify(
                f"The wrap-up could not be saved ({exc}); it is kept as a draft.",
                severity="error",
                markup=False,
                timeout=10,
            )
            return
        if saved is None:
            self.screen.notify(
                "The wrap-up is kept in memory and saved when the disk takes writes again.",
                severity="warning",
                markup=False,
                timeout=10,
            )
        call = wrap.body["call"]
        acw = self.services.clock() - datetime.fromisoformat(call["ended_at"])
        await self.services.floor.wrapped(
            call["id"], str(call.get("queue", "")), acw.total_seconds(), behind=behind
        )
        if result is not None and result.follow_up is not None:
            self.screen.notify("Callback scheduled (b lists callbacks).", markup=False)
