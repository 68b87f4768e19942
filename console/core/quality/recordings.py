# SPDX-License-Identifier: GPL-2.0-or-later
"""The evaluated call's recording (issue 20), as one line beside the form.

``careline qa`` does not play recordings itself: the line says whether the call
was recorded, how long, and the command that plays it (``careline recordings
play``, which audits the playing). No patient data: the call id, times and the
recording's state only.
"""

from __future__ import annotations

from console.core.store import Store

RecordingNote = tuple[str, str]
"""What the recording is, and the command that plays it ("" when nothing can be played)."""


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
    return f"{length}{consent}", f"careline recordings play {call_id}"


def hub_recording(call_id: str) -> RecordingNote:
    """What to run for a call read from the hub (the hub holds the sealed recordings)."""
    return "on the hub, if the call was recorded", f"careline recordings play {call_id} --hub"
