# SPDX-License-Identifier: GPL-2.0-or-later
"""Booking from the call: key → slot list and Enter → booking confirmed, against bare HTTP.

A real console (Textual's pilot, its real engine) takes a SIPp call from
Maria, verifies her and books against a real FHIR R4 server (sekmet-fhir with
SMART sign-in, on 127.0.0.1) holding one clinician's schedule of free slots:

* key → slot list: from ``k`` (then Enter on "Book a new appointment") until
  the slot picker holds the free slots of its first 14 days (the console's
  search: ``Slot?status=free&start=…&_include=Slot:schedule``, names of the
  clinician and location read once, the patient's own clinicians first);
* Enter → booking confirmed: from Enter on the first free slot until the card
  lists the new appointment (the console re-reads the slot, books it in one
  transaction guarded by its version, reads the answer).

Keys are posted as a terminal's keys are (``App.simulate_key``), not through
``Pilot.press``, which waits for the whole process to look idle (hundreds of
ms with an engine beside it). The times end when the widgets hold the result;
Textual paints it at its next frame (at most 1/60 s later). Baselines, in the
same run against the same server: the same Slot search as one bare ``httpx``
GET, and the same booking transaction (create the Appointment, mark the Slot
busy ``If-Match``) as one bare POST, each with a token fetched beforehand.
Each run books ``--samples`` times; a figure's p50 and p95 are per run,
reported as the median (min–max) over ``--runs``.
Run: .venv/bin/python -m bench.booking [--runs 3] [--samples 12]
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import bench_parser, median, percentile, report
from console.app import CarelineApp
from console.core.ehr.fhir_scheduling import BOOKING_SYSTEM
from console.dialogs.choice import ChoicePicker
from console.dialogs.slot_picker import DAYS, SlotPicker
from console.dialogs.verify import VerifyDialog
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, sip_port, talking, wait_for
from tests.ehr_console import MARIA_PHONE, ehr_yaml, maria_in_both, tomorrow_nine
from tests.fhir_server import FhirServer, seed_schedule
from tests.support import Sipp

FHIR_JSON = "application/fhir+json"
POLL = 0.001
"""Seconds between looks at the widgets while a figure is timed."""


async def until(predicate: Callable[[], bool], seconds: float = 20.0) -> float:
    """Wait (polling every :data:`POLL`) until ``predicate`` holds; the time it held."""
    deadline = time.perf_counter() + seconds
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError("timed out")
        await asyncio.sleep(POLL)
    return time.perf_counter()


@dataclasses.dataclass
class Samples:
    """Seconds per sample of the console's two figures and their baselines (one run)."""

    slot_list: list[float] = dataclasses.field(default_factory=list)
    booked: list[float] = dataclasses.field(default_factory=list)
    bare_search: list[float] = dataclasses.field(default_factory=list)
    bare_booking: list[float] = dataclasses.field(default_factory=list)


async def console_samples(app: CarelineApp, workdir: Path, samples: int, into: Samples) -> None:
    """Answer and verify Maria, then book ``samples`` slots, timing both figures."""
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = Sipp(
            workdir, "uac_agent_hangs_up.xml", sip_port(app), callers=[("Maria Lopez", MARIA_PHONE)]
        )
        try:
            card = app.agent_screen.query_one(PatientCard)
            await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
            await pilot.press("a")
            await wait_for(pilot, lambda: talking(app), what="the call")
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify")
            await pilot.press(*"1961-03-09", "enter", *"lopez", "enter")
            await wait_for(pilot, lambda: card.bookings is not None, what="appointments")
            for _ in range(samples):
                listed = len(card.bookings or ())
                await pilot.pause()
                start = time.perf_counter()
                app.simulate_key("k")
                await until(lambda: isinstance(app.screen, ChoicePicker))
                app.simulate_key("enter")

                def slots_shown() -> bool:
                    screen = app.screen
                    return isinstance(screen, SlotPicker) and bool(screen.offers)

                into.slot_list.append(await until(slots_shown) - start)
                picker = app.screen
                assert isinstance(picker, SlotPicker)
                await pilot.pause()
                start = time.perf_counter()
                app.simulate_key("enter")
                done = await until(lambda: len(card.bookings or ()) > listed)  # noqa: B023
                into.booked.append(done - start)
                await wait_for(pilot, lambda: not isinstance(app.screen, SlotPicker))
            await pilot.press("h")
        finally:
            sipp.wait(10)


def slot_params(first: date) -> list[tuple[str, str | int | float | bool | None]]:
    """The console's Slot search for the picker's first days from ``first``."""
    start = max(
        datetime.combine(first, datetime.min.time()).astimezone(), datetime.now().astimezone()
    )
    end = datetime.combine(first, datetime.min.time()).astimezone() + timedelta(days=DAYS)
    return [
        ("status", "free"),
        ("start", f"ge{start.isoformat(timespec='seconds')}"),
        ("start", f"lt{end.isoformat(timespec='seconds')}"),
        ("_sort", "start"),
        ("_count", "100"),
        ("_include", "Slot:schedule"),
    ]


def booking_bundle(patient_id: str, slot: dict[str, Any]) -> dict[str, Any]:
    """The console's booking transaction for ``slot`` (as read), by hand."""
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "identifier": [{"system": BOOKING_SYSTEM, "value": uuid.uuid4().hex}],
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "start": slot["start"],
        "end": slot["end"],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    }
    busy = {**slot, "status": "busy"}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": appointment, "request": {"method": "POST", "url": "Appointment"}},
            {
                "resource": busy,
                "request": {
                    "method": "PUT",
                    "url": f"Slot/{slot['id']}",
                    "ifMatch": f'W/"{slot["meta"]["versionId"]}"',
                },
            },
        ],
    }


async def bare_samples(server: FhirServer, patient_id: str, samples: int, into: Samples) -> None:
    """The same search and booking transaction as bare HTTP calls, ``samples`` times each."""
    headers = {
        "Accept": FHIR_JSON,
        "Content-Type": FHIR_JSON,
        "Authorization": f"Bearer {server.token('system/*.cruds')}",
    }
    async with httpx.AsyncClient(
        base_url=server.base_url + "/", headers=headers, timeout=20, trust_env=False
    ) as client:
        for _ in range(samples):
            start = time.perf_counter()
            found = await client.get("Slot", params=slot_params(datetime.now().astimezone().date()))
            found.raise_for_status()
            into.bare_search.append(time.perf_counter() - start)
            slots = [
                e["resource"]
                for e in found.json().get("entry", [])
                if e["resource"]["resourceType"] == "Slot"
            ]
            bundle = booking_bundle(patient_id, slots[0])
            start = time.perf_counter()
            answer = await client.post("", json=bundle)
            answer.raise_for_status()
            into.bare_booking.append(time.perf_counter() - start)


async def one_run(samples: int) -> Samples:
    """A fresh server and console: the console's samples, then the bare ones."""
    into = Samples()
    with tempfile.TemporaryDirectory(prefix="careline-bench-booking-") as tmp:
        root = Path(tmp)
        with FhirServer(root / "ehr", smart=True) as server:
            # Enough free slots for both halves inside the picker's first days.
            seed_schedule(
                server,
                "Dr Amara Osei",
                "Riverside Clinic",
                "general",
                tomorrow_nine(),
                2 * samples + 10,
                20,
            )
            console_dir = root / "console"
            console_dir.mkdir()
            fhir_id = await maria_in_both(server, console_dir / "store.sqlite3")
            app = make_app(console_dir, ehr_yaml(server))
            await console_samples(app, console_dir, samples, into)
            await bare_samples(server, fhir_id, samples, into)
    return into


def per_run(
    runs: Sequence[Samples], pick: Callable[[Samples], list[float]], q: float
) -> list[float]:
    """The ``q`` quantile of one figure in each run, in ms."""
    return [percentile(pick(run), q) * 1000 for run in runs]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the bench and print its figures."""
    parser = bench_parser(__doc__, runs=3, quick={"samples": 2})
    parser.add_argument("--samples", type=int, default=12, help="bookings per run")
    options = parser.options(argv)
    runs = [asyncio.run(one_run(options.samples)) for _ in range(options.runs)]
    for label, q in (("p50", 0.5), ("p95", 0.95)):
        report(
            f"key → slot list on screen, {label}",
            "ms",
            per_run(runs, lambda s: s.slot_list, q),
            per_run(runs, lambda s: s.bare_search, q),
            f"bare HTTP Slot search {label}",
        )
    for label, q in (("p50", 0.5), ("p95", 0.95)):
        report(
            f"Enter → booking confirmed on screen, {label}",
            "ms",
            per_run(runs, lambda s: s.booked, q),
            per_run(runs, lambda s: s.bare_booking, q),
            f"bare HTTP booking transaction {label}",
        )
    every = [x * 1000 for run in runs for x in run.slot_list]
    print(f"samples per run: {options.samples}; every key → slot list: {median(every):.1f} ms")


if __name__ == "__main__":
    main()
