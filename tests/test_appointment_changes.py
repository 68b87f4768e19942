# SPDX-License-Identifier: GPL-2.0-or-later
"""What a call did to the caller's appointments, as its wrap-up draft keeps it on disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.core.appointment_changes import (
    AppointmentChange,
    book_later_pending,
    last_booked,
    read_changes,
    recorded,
)

AT = datetime(2030, 6, 15, 12, 0, tzinfo=UTC)
START = AT + timedelta(days=3)


def test_a_change_survives_the_draft_and_shows_no_patient_data() -> None:
    change = AppointmentChange(
        "moved", AT, "new", START, "Diabetes review", "Dr A", "Clinic", "old"
    )
    assert read_changes([change.to_json()]) == (change,)
    assert "Diabetes" not in repr(change)
    assert recorded([change]) == [
        {"id": "new", "change": "moved", "at": "2030-06-15T12:00:00+00:00", "replaces": "old"}
    ]


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "booked",
        [None, 3, "x"],
        [{"change": "deleted", "at": AT.isoformat()}],
        [{"change": "booked", "at": "yesterday"}],
        [{"change": "booked", "at": "2030-06-15T12:00:00"}],  # no zone
        [{"change": "booked", "at": AT.isoformat(), "start": "soon"}],
        [{"change": "booked", "at": AT.isoformat(), "appointment_id": ["a"]}],
    ],
)
def test_a_damaged_draft_reads_as_no_change(stored: object) -> None:
    assert read_changes(stored) == ()


def test_which_booking_stands_and_whether_a_callback_is_owed() -> None:
    one = AppointmentChange("booked", AT, "a", START)
    two = AppointmentChange("booked", AT, "b", START)
    gone = AppointmentChange("cancelled", AT, "b", START)
    later = AppointmentChange("book_later", AT)
    assert last_booked([one, two, gone]) == one
    assert last_booked([gone]) is None
    assert recorded([later]) == []
    assert book_later_pending([one, later])
    assert not book_later_pending([later, two])  # booked after all once the EHR came back
