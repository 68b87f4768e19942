# SPDX-License-Identifier: GPL-2.0-or-later
"""The evaluated call's recording (issue 20), as a line beside the form.

The line says whether the call was recorded, how long, with whose consent, and
the keys that play it in ``careline qa`` (the evaluation screen's player,
:mod:`console.qa_view.recording_panel`, which opens, audits and plays it with
:mod:`console.core.recordings.player`, as ``careline recordings play`` does).
No patient data: the call id, times and the recording's state only.
"""

from __future__ import annotations

from console.core.store import Store

RecordingNote = tuple[str, str]
"""What the recording is, and how to play it ("" when nothing can be played)."""

PLAY_KEYS = "p plays/stops · f 1x/1.5x · j jumps to a moment"
"""The evaluation screen's player keys."""


async def local_recording(store: Store, call_id: str) -> RecordingNote | None:
    """The recording of a call of this store, or None when it was not recorded."""
    rows = await store.fetch_all(
        "SELECT state, seconds, mode, consent_by FROM recordings WHERE call_id = ?", (call_id,)
    )
    if not rows:
        return None
    state, seconds, mode, consent_by = rows[0]
    if state != "stopped":
        return f"{state} (nothing to play)", ""
    length = f"{int(seconds or 0) // 60} min {int(seconds or 0) % 60:02d} s"
    consent = f", consent by the {consent_by}" if mode == "consent" and consent_by else ""
    return f"{length}{consent}", PLAY_KEYS


def hub_recording(call_id: str) -> RecordingNote:
    """A call read from the hub: the hub holds the sealed recordings (the QA private key
    opens them)."""
    del call_id  # the hub is asked when it is played
    return "on the hub, if the call was recorded", PLAY_KEYS
