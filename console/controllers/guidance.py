# SPDX-License-Identifier: GPL-2.0-or-later
"""The script side of a call: which script runs, its context, red flags, escalation.

A run starts when an inbound call is answered: the script is chosen by the
number the caller dialled (DID), then the queue, then the library's default,
and the agent can switch. Placeholders get the organisation's settings and,
once the caller is verified, the patient's name and next appointment (before
that, the first name only — what the agent may say anyway). A red flag shows
the banner at once, raises the call's urgency, rings the bell and writes an
``escalate`` audit row; ``e`` then transfers the caller to the configured
target for that kind of flag. After a booking on the call, the pane also
shows the preparation for the service booked (fasting, what to bring, when
to arrive) from the library, for the agent to read to the patient.
"""

from __future__ import annotations

import re
from pathlib import Path

from console.controllers.base import Context, Controller
from console.controllers.patients import PatientFlow
from console.core.appointment_changes import AppointmentChange, last_booked
from console.core.calls import LiveCall
from console.core.config import DirectoryEntry, GuidanceConfig
from console.core.patients.context import PatientContext
from console.core.patients.records import PatientSummary
from console.core.patients.verification import first_name
from console.core.records import dataclass
from console.core.scripts.loader import Library, load_library
from console.core.scripts.models import Form, Preparation, Script, TransferKind
from console.core.scripts.placeholders import render
from console.core.scripts.preparations import (
    PreVisit,
    appointment_values,
    read_out,
    select_preparation,
)
from console.core.scripts.runner import RaisedRedFlag, ScriptRun, select_script
from console.widgets.guidance import GuidancePane
from console.widgets.red_flag import RedFlagBanner


@dataclass(frozen=True)
class ScriptLibrary:
    """The scripts and wrap-up forms the console runs."""

    scripts: tuple[Script, ...]
    forms: tuple[Form, ...]
    problems: tuple[str, ...]
    """Files left out, as "file:line: field: message" lines."""
    preparations: tuple[Preparation, ...] = ()
    """Pre-visit preparations, read out after a booking."""


def load_scripts(custom: Path | None) -> ScriptLibrary:
    """The shipped library plus the configured directory's (same id: the custom one).

    A broken file never stops the console: it is left out and reported.
    """
    libraries = [load_library()]
    if custom is not None:
        libraries.append(load_library(custom.expanduser()))
    scripts: dict[str, Script] = {}
    forms: dict[str, Form] = {}
    preparations: dict[str, Preparation] = {}
    problems: list[str] = []
    for library in libraries:
        problems.extend(str(problem) for problem in library.problems)
        scripts.update((script.id, script) for script in library.scripts)
        forms.update((form.id, form) for form in library.forms)
        preparations.update((p.id, p) for p in library.preparations)
    # The custom library's preparations first: a service it lists wins over a shipped one.
    ordered = sorted(preparations.values(), key=lambda p: p.id not in _custom_ids(libraries))
    return ScriptLibrary(
        tuple(scripts.values()), tuple(forms.values()), tuple(problems), tuple(ordered)
    )


def _custom_ids(libraries: list[Library]) -> set[str]:
    return {p.id for p in libraries[-1].preparations} if len(libraries) > 1 else set()


def dialled_number(called_uri: str) -> str:
    """The user part of the number the caller dialled (the DID), '' if none."""
    match = re.match(r"^(?:sips?|tel):\+?([0-9]{2,15})(?:[@;]|$)", called_uri.strip())
    return match.group(1) if match else ""


def org_context(guidance: GuidanceConfig, agent_name: str) -> dict[str, object]:
    """Placeholder values from the configuration."""
    return {
        "org.name": guidance.organisation,
        "org.emergency_number": guidance.emergency_number,
        "org.crisis_line": guidance.crisis_line,
        "org.nurse_line": guidance.nurse_line or None,
        "org.hours": guidance.hours or None,
        "agent.name": agent_name,
    }


def patient_context(
    greeting: PatientSummary | None,
    verified: PatientSummary | None,
    context: PatientContext | None,
) -> dict[str, object]:
    """Placeholder values from the patient: the first name once greeted, the rest
    only once verified."""
    values: dict[str, object] = {}
    if greeting is not None:
        values["patient.first_name"] = first_name(greeting)
    if verified is not None:
        values["patient.first_name"] = first_name(verified)
        values["patient.last_name"] = verified.family_name or None
        values["patient.full_name"] = (
            f"{verified.given_names} {verified.family_name}".strip() or None
        )
        values["patient.preferred_language"] = verified.preferred_language
        if context is not None and context.appointments:
            start = context.appointments[0].start.astimezone()
            values["patient.next_appointment"] = start.strftime("%A %d %B at %H:%M")
    return values


class GuidanceFlow(Controller):
    """What the agent screen knows about the script on each call."""

    def __init__(self, context: Context, patients: PatientFlow) -> None:
        super().__init__(context)
        self.patients = patients
        """Who the caller is (the script's patient placeholders)."""
        self._library: ScriptLibrary | None = None
        self.runs: dict[str, ScriptRun] = {}
        """The script run per live call (taken when the call ends, for its wrap-up)."""
        self.earlier: dict[str, list[ScriptRun]] = {}
        """Runs the agent switched away from, per call."""
        self.previsit: dict[str, PreVisit] = {}
        """The preparation to read out for what was booked, per call."""

    def load(self) -> None:
        """Read the library in a thread: composing its YAML within limits and validating
        it takes a quarter of a second, which the first frame does not wait for."""
        self.screen.run_worker(self._load_in_thread, thread=True, group="scripts")

    def _load_in_thread(self) -> None:
        library = load_scripts(self.services.config.guidance.scripts)
        self.screen.app.call_from_thread(self._use, library)

    @property
    def library(self) -> ScriptLibrary:
        """The scripts and forms (read now, if the thread has not finished yet)."""
        if self._library is None:
            self._use(load_scripts(self.services.config.guidance.scripts))
        assert self._library is not None
        return self._library

    def _use(self, library: ScriptLibrary) -> None:
        """The library is read: say which files were left out, run the waiting scripts."""
        if self._library is not None:
            return  # read on the UI thread meanwhile: the same files, the same result
        self._library = library
        if library.problems:
            self.screen.notify(
                f"{len(library.problems)} script file(s) left out; "
                "`careline scripts check` shows why.",
                severity="warning",
                markup=False,
                timeout=10,
            )

    # ------------------------------------------------------------- runs
    def start(self, call: LiveCall) -> None:
        """The agent answered ``call``: run the script that fits it."""
        if call.id in self.runs:
            return
        patients = self.patients
        script = select_script(
            self.library.scripts,
            queue=call.queue or None,
            did=dialled_number(call.called_uri) or None,
            language=self._language(call),
        )
        if script is None:
            return
        values = org_context(self.services.config.guidance, self.services.config.agent.name)
        values["call.number"] = call.caller_number
        values["call.queue"] = call.queue or None
        values.update(self._patient_values(call.id, patients))
        self.runs[call.id] = ScriptRun(script, values, clock=self.services.clock)
        self.refresh()

    def _language(self, call: LiveCall) -> str | None:
        verified = self.patients.verified.get(call.id)
        return verified.preferred_language if verified else None

    @staticmethod
    def _patient_values(call_id: str, patients: PatientFlow) -> dict[str, object]:
        matches = patients.matches.get(call_id) or []
        return patient_context(
            matches[0] if len(matches) == 1 else None,
            patients.verified.get(call_id),
            patients.contexts.get(call_id),
        )

    def patient_changed(self, call_id: str) -> None:
        """The caller was verified (or looked up): fill the patient placeholders."""
        run = self.runs.get(call_id)
        if run is not None:
            run.context.update(self._patient_values(call_id, self.patients))
            self.refresh()

    def switch(self, call_id: str, script: Script) -> None:
        """Run ``script`` instead; urgency and red flags carry over, and the
        answers given so far stay recorded (and pre-fill the wrap-up)."""
        run = self.runs.get(call_id)
        if run is not None:
            self.earlier.setdefault(call_id, []).append(run)
            self.runs[call_id] = run.switch_to(script)
            self.refresh()

    def appointment_changed(self, call_id: str, changes: tuple[AppointmentChange, ...]) -> None:
        """The call booked, moved or cancelled: show the preparation for what now stands
        booked (its service's, else the default), or none."""
        booked = last_booked(changes)
        preparation = (
            select_preparation(self.library.preparations, booked.service) if booked else None
        )
        if booked is None or preparation is None:
            self.previsit.pop(call_id, None)
        else:
            values = self._values(call_id) | appointment_values(booked, preparation)
            what = booked.service or "the appointment"
            self.previsit[call_id] = PreVisit(
                f"Before {what} · {preparation.title}",
                read_out(preparation, values),
                render(preparation.note, values),
            )
        self.refresh()

    def _values(self, call_id: str) -> dict[str, object]:
        """The placeholder values a preparation may use besides the appointment's."""
        values = org_context(self.services.config.guidance, self.services.config.agent.name)
        values.update(self._patient_values(call_id, self.patients))
        return values

    def take(self, call_id: str) -> tuple[ScriptRun, ...]:
        """Every run of a finished call, oldest first, removed (its wrap-up records them)."""
        self.previsit.pop(call_id, None)
        current = self.runs.pop(call_id, None)
        earlier = self.earlier.pop(call_id, [])
        return (*earlier, current) if current is not None else tuple(earlier)

    def current(self) -> tuple[LiveCall, ScriptRun] | None:
        """The call the pane is about (the call in progress: inbound, or a worklist call
        that runs a script) and its run."""
        call = self.queue.active()
        if call is None:
            return None
        run = self.runs.get(call.id)
        return (call, run) if run is not None else None

    def refresh(self) -> None:
        """Show the current call's run (or none) and its red flags."""
        pane = self.screen.query_one(GuidancePane)
        banner = self.screen.query_one(RedFlagBanner)
        current = self.current()
        run = current[1] if current else None
        if pane.run is not run:
            pane.show(run)
        call = self.queue.active()
        pane.previsit = self.previsit.get(call.id) if call is not None else None
        banner.flags = run.red_flags if run is not None else ()
        banner.target = (
            self._target_name(run.red_flags[-1].transfer) if run and run.red_flags else ""
        )

    # -------------------------------------------------------- escalation
    async def raised(self, flags: tuple[RaisedRedFlag, ...]) -> None:
        """Red flags were just raised on the current call: banner, bell, audit."""
        current = self.current()
        self.refresh()
        if self.services.config.ui.bell:
            self.screen.app.bell()
        patient = self.patients.verified.get(current[0].id) if current else None
        for _ in flags:
            await self.services.audit(
                patient.id if patient else None, "escalate", "ok", ("red_flag",)
            )

    def escalation_target(self) -> DirectoryEntry | None:
        """Where ``e`` sends the caller: the target for the latest red flag's kind."""
        current = self.current()
        if current is None or not current[1].red_flags:
            return None
        return self._target(current[1].red_flags[-1].transfer)

    def _target(self, kind: TransferKind) -> DirectoryEntry | None:
        guidance = self.services.config.guidance
        wanted = {
            TransferKind.EMERGENCY: guidance.emergency_target,
            TransferKind.NURSE: guidance.nurse_target,
            TransferKind.CRISIS: guidance.crisis_target,
        }[kind]
        directory = self.services.config.directory
        for entry in directory:
            if wanted and entry.name.casefold() == wanted.casefold():
                return entry
        if kind is TransferKind.EMERGENCY and not wanted:
            return next((entry for entry in directory if entry.type == "emergency"), None)
        return None

    def _target_name(self, kind: TransferKind) -> str:
        target = self._target(kind)
        return target.name if target is not None else ""

    def pick_script(self) -> None:
        """Let the agent switch the current call to another script."""
        current = self.current()
        if current is None:
            return
        call = current[0]

        def picked(script: Script | None) -> None:
            if script is not None:
                self.switch(call.id, script)

        from console.dialogs.script_picker import ScriptPicker

        scripts = self.library.scripts
        self.screen.app.push_screen(ScriptPicker(scripts, current[1].script.id), picked)

    def escalate(self) -> None:
        """Transfer the caller to the target for the red flag raised (one key)."""
        current = self.current()
        target = self.escalation_target()
        if current is None:
            return
        if target is None:
            self.screen.notify(
                "No transfer target is configured for this red flag: follow the "
                "instruction in the banner (guidance.*_target in the config).",
                severity="error",
                markup=False,
                timeout=10,
            )
            return
        self.host.send_command("transfer", call=current[0].id, target=target.number)
