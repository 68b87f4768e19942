# SPDX-License-Identifier: GPL-2.0-or-later
"""Engine tests' helpers for calls from SIPp: start an engine from a config, answer
a call, wait for how it ended, consult a target, and check each SIPp played its part.

Shared by the engine test modules, so that none of them imports another.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support import EngineProcess, Sipp


def engine_from(tmp_path: Path, yaml_text: str, *extra: str) -> EngineProcess:
    """An engine process started with ``yaml_text`` as its config (not waited for)."""
    config = tmp_path / f"engine-{abs(hash(yaml_text))}.yaml"
    config.write_text(yaml_text)
    return EngineProcess(tmp_path, "--config", str(config), *extra)


@contextmanager
def engine_with(tmp_path: Path, yaml_text: str, *extra: str) -> Iterator[EngineProcess]:
    """An engine started with ``yaml_text`` as its config, ready; it must stop cleanly after."""
    engine = engine_from(tmp_path, yaml_text, *extra)
    try:
        engine.wait_event("engine.ready", timeout=20)
        yield engine
    finally:
        assert engine.stop() == 0


def wait_incoming(engine: EngineProcess, sipp: Sipp, timeout: float = 10.0) -> str:
    """Wait for SIPp's call to ring; fails at once (with SIPp's output) if SIPp died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return str(engine.wait_event("call.incoming", timeout=0.2)["call"]["id"])
        except AssertionError:
            code = sipp.proc.poll()
            if code is not None:
                raise AssertionError(
                    f"SIPp exited {code} before calling:\n{sipp.report()}"
                ) from None
            if time.monotonic() > deadline:
                raise


def answer_incoming(engine: EngineProcess, sipp: Sipp) -> str:
    """Wait for SIPp's call, answer it, wait until it is active; returns its id."""
    call_id = wait_incoming(engine, sipp)
    reply = engine.command("answer", call=call_id)
    assert reply["ok"], reply
    engine.wait_event("call.state", call_id=call_id, state="active")
    return call_id


def answered(engine: EngineProcess, tmp_path: Path, scenario: str) -> tuple[Sipp, str]:
    """A SIPp caller running ``scenario``, answered by the agent: SIPp and the call's id."""
    sipp = Sipp(tmp_path, scenario, engine.port)
    return sipp, answer_incoming(engine, sipp)


@contextmanager
def answered_call(engine: EngineProcess, tmp_path: Path, scenario: str) -> Iterator[str]:
    """A SIPp caller running ``scenario``, answered by the agent: yields the call's id.

    SIPp must have played its whole scenario by the end of the block (:func:`playing`).
    """
    sipp, call_id = answered(engine, tmp_path, scenario)
    with playing(sipp):
        yield call_id


@contextmanager
def playing(sipp: Sipp) -> Iterator[Sipp]:
    """SIPp must have played its whole scenario by the end of the block (see :func:`finish`);
    when the block fails, SIPp is stopped and the failure stands."""
    try:
        yield sipp
    except BaseException:
        sipp.stop()
        raise
    finish(sipp)


def ended_as(
    engine: EngineProcess, call_id: str, reason: str, ended_by: str, sip_status: int | None = None
) -> dict[str, Any]:
    """Wait for ``call_id``'s call.ended: it must say ``reason`` and ``ended_by`` (and
    ``sip_status`` when given)."""
    ended = engine.wait_event("call.ended", call_id=call_id)
    assert (ended["reason"], ended["ended_by"]) == (reason, ended_by), ended
    if sip_status is not None:
        assert ended["sip_status"] == sip_status, ended
    return ended


def finish(*sipps: Sipp) -> None:
    """Each SIPp must have played its whole scenario (exit 0), in turn."""
    for sipp in sipps:
        try:
            code = sipp.wait()
        finally:
            sipp.stop()
        assert code == 0, f"SIPp exited {code}: {sipp.report()}"


def consulted(
    engine: EngineProcess, call_id: str, tmp_path: Path, scenario: str
) -> tuple[Sipp, str]:
    """Consult a SIPp UAS running ``scenario`` about ``call_id``: the UAS and the consult id."""
    uas = Sipp(tmp_path, scenario)
    uas.wait_listening()
    reply = engine.command("consult", call=call_id, target=f"sip:target@127.0.0.1:{uas.port}")
    assert reply["ok"], reply
    return uas, str(reply["result"]["consult_id"])
