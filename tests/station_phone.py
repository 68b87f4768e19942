# SPDX-License-Identifier: GPL-2.0-or-later
"""Station mode's cast: the agent's own phone (baresip) and an engine that calls it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.audio_calls import station_engine, wait_station
from tests.baresip import Baresip
from tests.support import EngineProcess


@contextmanager
def phone_and_station(
    tmp_path: Path,
    tone_hz: float,
    *,
    auto_answer: bool = True,
    record_to: Path | None = None,
) -> Iterator[tuple[Baresip, EngineProcess]]:
    """The agent's phone (sending ``tone_hz``) and an engine in station mode for it.

    On the way out the engine must stop cleanly. A phone that records
    (``record_to``) must then see its call close, and its recording is saved
    before the phone goes.
    """
    with Baresip(
        tmp_path, user="phone", tone_hz=tone_hz, record_to=record_to, auto_answer=auto_answer
    ) as phone:
        agent = station_engine(tmp_path, phone.uri)
        try:
            yield phone, agent
        finally:
            assert agent.stop() == 0, agent.log_tail()
        if record_to is not None:
            phone.wait_event("CALL_CLOSED")
            phone.save_recording()


def connect_station(agent: EngineProcess) -> dict[str, Any]:
    """Sign in: the engine calls the phone; returns the ``audio`` event once it is up."""
    reply = agent.command("station", action="connect")
    assert reply["ok"], reply
    return wait_station(agent, "up")
