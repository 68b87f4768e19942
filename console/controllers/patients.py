# SPDX-License-Identifier: GPL-2.0-or-later
"""The patient side of a call: screen pop, search, verification and the card.

Per call it keeps the directory matches, the greeting hints, the verified
patient and that patient's context, and it writes one audit row for every
look at patient data: the lookup and each search (``search``), each
verification attempt (``verify``, pass or fail) and the card's details
(``view``, with the categories shown). A worklist call is a screen pop too:
the claimed patient is the one match and the item's reason what it is about
(:meth:`PatientFlow.pop_outbound`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools

from console.controllers.base import Context, Controller
from console.core.calls import LiveCall
from console.core.patients.context import PatientContext, greeting_hints, load_context
from console.core.patients.phones import library_loaded, load_metadata
from console.core.patients.records import PatientSummary
from console.core.patients.search import SearchResult, search_patients
from console.messages import PatientVerified
from console.widgets.patient_card import PatientCard

GREETING_WAIT_S = 0.04
"""How long a ringing call's row waits for the directory to find its caller, so that the
greeting is drawn in the row's own frame (the lookup takes a few milliseconds; a frame
drawn meanwhile would hold the card back a frame or two). A slower directory, a disk
another program keeps busy, holds the row back no longer (the lookup's own few
milliseconds of work aside, which no wait can interrupt): the card follows it."""


def greeting_deadline() -> float:
    """The event loop's time until which the ringing rows drawn next wait for their cards:
    :data:`GREETING_WAIT_S` from now, shared by every call of one engine event (an engine
    that comes back with ten calls holds their rows no longer than one)."""
    return asyncio.get_running_loop().time() + GREETING_WAIT_S


class PatientFlow(Controller):
    """What the agent screen knows about the patient on each call."""

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.matches: dict[str, list[PatientSummary]] = {}
        """Directory matches per call id (absent: lookup not done yet)."""
        self.hints: dict[str, tuple[str, ...]] = {}
        """Greeting hints per call with a single match."""
        self.verified: dict[str, PatientSummary] = {}
        """The patient verified on each call."""
        self.contexts: dict[str, PatientContext] = {}
        """The verified patient's context, per call."""
        self.failures: dict[str, int] = {}
        """Failed verification attempts per call."""
        self.about: dict[str, str] = {}
        """Why an outbound (worklist) call is made, per call: the card says it."""
        self._metadata_asked = False
        """Whether :meth:`load_phone_metadata` has started its load."""

    def looked_up(self, call_id: str) -> bool:
        """Whether the screen pop for this call has been done."""
        return call_id in self.matches

    def forget(self, call_id: str) -> None:
        """Drop everything about an ended call: no patient data outlives its call."""
        tables = (self.matches, self.hints, self.verified, self.contexts, self.failures, self.about)
        for table in tables:
            table.pop(call_id, None)

    def focus_call(self) -> LiveCall | None:
        """The call the patient pane is about (inbound, or a worklist call to a patient):
        talking, else selected, else ringing."""
        queue = self.queue
        for call in (queue.active(), self.selected_call(), *queue.ringing()):
            if call is not None and (call.direction == "inbound" or call.id in self.about):
                return call
        return None

    # ------------------------------------------------------------ screen pop
    def load_phone_metadata(self) -> None:
        """Load the phone-number library and the region's metadata in a thread, once (the
        first screen pop calls this once its frame is drawn): a later caller's number in
        another shape than E.164 is then normalised in place, not held up by the load
        (about 25 ms). An idle console goes without them (:mod:`console.core.patients.phones`)."""
        if self._metadata_asked or library_loaded():
            return
        self._metadata_asked = True
        self.screen.run_worker(
            functools.partial(load_metadata, self.services.directory.region),
            thread=True,
            group="phone-metadata",
            exit_on_error=False,  # the next lookup then loads it, as it always could
        )

    async def lookup(self, call_id: str, number: str, until: float) -> None:
        """Start the screen pop in a worker, and wait for it to fill the card until the event
        loop's time ``until`` at most (:func:`greeting_deadline`); the caller then draws the
        ringing row."""
        greeted = asyncio.Event()
        self.screen.run_worker(self._lookup(call_id, number, greeted), group="patient-lookup")
        wait = until - asyncio.get_running_loop().time()
        # Past the wait the row goes first; the card follows when the directory answers.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(greeted.wait(), max(0.0, wait))

    async def _lookup(self, call_id: str, number: str, greeted: asyncio.Event) -> None:
        try:
            found = await self.services.directory.find_by_phone(number)
        finally:
            # Found or failed, the row waits no longer. The card is filled below before
            # this task next yields, so the waiting row is drawn after it, in its frame.
            greeted.set()
            # Then the library may load (once): after that frame, not competing with it
            # for the interpreter, and whether or not the call is still there.
            self.screen.call_after_refresh(self.load_phone_metadata)
        if self.queue.get(call_id) is None:
            return  # the call ended meanwhile
        self.matches[call_id] = found
        # The greeting is painted while its audit row is written, not after: the row
        # queues behind the call's own records (each a synchronous=FULL commit), which
        # cost the greeting up to a frame. The write is under way before the card can
        # be painted, and shielded, so that it is written even if this worker is
        # cancelled; a disk that refuses it holds it in memory (HeldWrites).
        audit = asyncio.ensure_future(self.services.audit(None, "search", "ok"))
        try:
            self.refresh()
            self.screen.refresh_bindings()
            if len(found) == 1:
                # The greeting needs only the name: the hints (two more reads, which
                # wait for the GIL while a frame is laid out) follow it, not hold it.
                hints = await greeting_hints(self.services.store, found[0], self.services.clock())
                if self.queue.get(call_id) is not None and hints:
                    self.hints[call_id] = hints
                    self.refresh()
        finally:
            await asyncio.shield(audit)

    async def pop_outbound(self, call_id: str, patient: PatientSummary, about: str) -> None:
        """A worklist call to ``patient`` was placed: the card greets them by first name and
        says ``about``, as an inbound screen pop would, until whoever answers is verified."""
        # Kept even if the engine has not reported the call yet: forget() drops it with
        # the call (or the worklist, once the outcome is saved).
        self.matches[call_id] = [patient]
        self.about[call_id] = about
        await self.services.audit(None, "search", "ok")  # the directory read for the pop
        self.refresh()
        self.screen.refresh_bindings()

    def refresh(self) -> None:
        """Show the focused call's patient (or nothing) on the card."""
        card = self.screen.query_one(PatientCard)
        call = self.focus_call()
        card.today = self.services.clock().date()
        if call is None:
            card.matches, card.hints, card.verified, card.context = None, (), None, None
            card.about = ""
            self.screen.query_one("#patient-pane").set_class(False, "-verified")
            return
        found = self.matches.get(call.id)
        card.matches = tuple(found) if found is not None else None
        card.hints = self.hints.get(call.id, ())
        card.about = self.about.get(call.id, "")
        card.verified = self.verified.get(call.id)
        card.context = self.contexts.get(call.id)
        self.screen.query_one("#patient-pane").set_class(card.context is not None, "-verified")

    # ---------------------------------------------------------- verification
    def verifiable(self) -> LiveCall | None:
        """The call whose caller can be verified now, if any."""
        call = self.focus_call()
        if call is None or call.id not in self.matches or call.id in self.verified:
            return None
        return call

    def verify(self) -> None:
        """Check the caller's identifiers; details show only after a pass."""
        call = self.verifiable()
        if call is None:
            self.screen.notify("No caller to verify.", severity="warning", markup=False)
            return
        candidates = self.matches[call.id]
        if candidates:
            self._verify_among(call, candidates)
            return

        async def audited_search(query: str) -> SearchResult:
            try:
                return await search_patients(
                    self.services.store, self.services.directory.region, query
                )
            finally:
                # Every search is a look at the directory, a refused one too
                # (it may already have matched an MRN).
                await self.services.audit(None, "search", "ok")

        def picked(chosen: list[PatientSummary] | None) -> None:
            if chosen and self.queue.get(call.id) is not None:
                self._verify_among(call, chosen)

        from console.dialogs.patient_search import PatientSearchDialog

        self.screen.app.push_screen(PatientSearchDialog(audited_search), picked)

    def _verify_among(self, call: LiveCall, candidates: list[PatientSummary]) -> None:
        def attempt(patient: PatientSummary | None, passed: bool) -> None:
            if not passed:
                self.failures[call.id] = self.failures.get(call.id, 0) + 1
            self.screen.run_worker(
                self.services.audit(
                    patient.id if patient else None, "verify", "pass" if passed else "fail"
                )
            )

        async def verified(patient: PatientSummary | None) -> None:
            if patient is None or self.queue.get(call.id) is None:
                return
            await self._show(call, patient)

        from console.dialogs.verify import VerifyDialog

        self.screen.app.push_screen(
            VerifyDialog(candidates, self.failures.get(call.id, 0), attempt), verified
        )

    async def _show(self, call: LiveCall, patient: PatientSummary) -> None:
        """The caller is verified: link the call, load the context, audit the view."""
        self.verified[call.id] = patient
        await self.services.recorder.link_patient(call.id, patient.id)
        context = await load_context(self.services.store, patient, self.services.clock())
        if self.queue.get(call.id) is None:
            return
        self.contexts[call.id] = context
        await self.services.audit(patient.id, "view", "ok", context.categories())
        self.refresh()
        self.screen.post_message(PatientVerified(call.id))
        self.screen.refresh_bindings()
