# SPDX-License-Identifier: GPL-2.0-or-later
"""The library waits for the network at its end only when answers are due.

pjsua's ``libDestroy()`` handles events for a second, for answers to the BYEs and
un-REGISTERs it just sent; an engine with nothing up, and the doctor's probes,
sent nothing, and each stop and each doctor check paid that second. A unit test
of the choice with a stand-in endpoint (the time itself is ``bench.engine_stop``),
and the doctor's probes run for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pjsua2 as pj

from sip.engine import PhoneEngine
from sip.library import destroy_endpoint
from sip.protocol import CallState
from sip.settings import EngineSettings
from tests.support import ROOT
from tests.test_engine_reconcile import _LibraryCall, _record


class _Endpoint:
    """Stands in for the pjsua2 Endpoint: what ``libDestroy`` was given."""

    def __init__(self) -> None:
        self.destroyed_with: list[int] = []
        self.engine: Any = None

    def libDestroy(self, flags: int = 0) -> None:  # noqa: N802 - pjsua2 API name
        self.destroyed_with.append(flags)

    def libHandleEvents(self, _msec: int) -> int:  # noqa: N802 - pjsua2 API name
        return 0


class _HungUpCall(_LibraryCall):
    """A library call that is gone once hung up (as after the far end's 200 to BYE)."""

    def __init__(self, engine: PhoneEngine, rid: str) -> None:
        super().__init__(1, active=True)
        self.engine, self.rid, self.hung_up = engine, rid, False

    def hangup(self, _prm: Any) -> None:
        self.hung_up = True
        self.engine.pj_calls.pop(self.rid, None)


class _Account:
    """Stands in for the agent's account: the registrar answers the un-REGISTER at once."""

    def __init__(self, engine: PhoneEngine) -> None:
        self.engine = engine

    def setRegistration(self, renew: bool) -> None:  # noqa: N802 - pjsua2 API name
        self.engine.registration.fact = {"state": "registered" if renew else "none"}

    def shutdown(self) -> None:
        pass


def _engine() -> tuple[PhoneEngine, _Endpoint]:
    events: list[dict[str, Any]] = []
    engine = PhoneEngine(EngineSettings(), events.append)
    endpoint = _Endpoint()
    engine.endpoint = endpoint  # type: ignore[assignment]
    return engine, endpoint


def test_an_endpoint_is_destroyed_without_the_wait_only_when_no_answer_is_due() -> None:
    quiet, due = _Endpoint(), _Endpoint()

    destroy_endpoint(quiet, answers_due=False)
    destroy_endpoint(due, answers_due=True)

    assert quiet.destroyed_with == [pj.PJSUA_DESTROY_NO_RX_MSG]
    assert due.destroyed_with == [0]  # the library's own wait, for the answers


def test_an_idle_engine_stops_without_waiting_for_the_network() -> None:
    engine, endpoint = _engine()

    engine._teardown()

    assert endpoint.destroyed_with == [pj.PJSUA_DESTROY_NO_RX_MSG]


def test_an_engine_that_hangs_up_a_call_at_its_end_lets_the_library_wait() -> None:
    engine, endpoint = _engine()
    call = _HungUpCall(engine, "c1")
    engine.calls["c1"] = _record("c1", CallState.ACTIVE)
    engine.pj_calls["c1"] = call  # type: ignore[assignment]

    engine._teardown()

    assert call.hung_up
    assert endpoint.destroyed_with == [0]


def test_an_engine_that_unregisters_at_its_end_lets_the_library_wait() -> None:
    engine, endpoint = _engine()
    engine.account = _Account(engine)  # type: ignore[assignment]
    engine.registration.fact = {"state": "registered"}

    engine._teardown()

    assert endpoint.destroyed_with == [0]


def test_the_doctors_probes_answer_and_end_cleanly() -> None:
    for module, args in (("sip.library_report", ()), ("sip.codec_policy", ("PCMU",))):
        done = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout.splitlines()[-1])
        assert "error" not in answer, answer
        assert "failure" not in answer, answer
