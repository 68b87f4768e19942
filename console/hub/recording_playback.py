# SPDX-License-Identifier: GPL-2.0-or-later
"""A hub recording opened to be heard: fetched under row-level security, its sealed file key
opened with the QA private key (:mod:`console.core.recordings.sealing`), with the times its
call's red flags were raised. :func:`~console.core.recordings.player.open_audited` audits
the opening and :mod:`console.core.recordings.player` plays it, for ``careline recordings
play --hub`` and for ``careline qa`` alike. Failures are worded without data: the hub's
error class, or that the recording is not there (or not this login's to hear)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from console.core.config import ConfigError, read_secret_file
from console.core.recordings.player import RecordingOpener, open_sealed
from console.hub.connection import Connect, describe_failure
from console.hub.recordings import fetch, red_flag_times
from sip.recording_file import Recording, RecordingFileError


def hub_opener(connect: Connect, private_key: Path | None, call_id: str) -> RecordingOpener:
    """The hub's recording of the call opened with the QA private key (the file
    ``recording.qa_private_key`` names, read now: :class:`ConfigError` when it is not set
    or not safe), and its red flags' times (from the call's interaction on the hub)."""
    if private_key is None:
        raise ConfigError(
            "no QA private key to open the hub's recordings: set recording.qa_private_key"
        )
    private_pem = read_secret_file(private_key, "recording.qa_private_key").encode()

    async def opened() -> tuple[Recording, list[str]]:
        try:
            conn = await connect()
        except (psycopg.Error, OSError) as exc:
            raise RecordingFileError(describe_failure(exc)) from None
        try:
            found = await fetch(conn, call_id)
            raised = await red_flag_times(conn, call_id)
        except psycopg.Error as exc:
            raise RecordingFileError(f"the hub refused: {type(exc).__name__}") from None
        finally:
            await conn.close()
        if found is None:
            raise RecordingFileError("no such recording on the hub (or not yours to hear)")
        return open_sealed(found.data, found.sealed_key, private_pem), raised

    return opened
