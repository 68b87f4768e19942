# SPDX-License-Identifier: GPL-2.0-or-later
"""Monitoring's cast for real-audio tests: a baresip patient, the agent's engine with its
own phone (baresip, station mode), a supervisor's engine, and the agent console's grant
check played by :class:`console.core.monitor_grants.LocalGrants`.

Every party sends its own tone, so what each one hears tells who is connected to whom.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.core.monitor_grants import (
    GrantRefusedError,
    LocalGrants,
    MonitorGrant,
    write_local_grant,
)
from tests.audio_calls import (
    PATIENT_TONE,
    capture,
    capture_both,
    patient_calls,
    patient_engine,
    station_engine,
)
from tests.audio_tone import read_wav_mono16, tone_level
from tests.baresip import Baresip
from tests.engine_calls import engine_from
from tests.station_phone import connect_station
from tests.support import EngineProcess

AGENT_TONE = 600.0
"""What the agent says (into their own phone)."""
SUPERVISOR_TONE = 1500.0
"""What the supervisor says."""
HEARD = 1000.0
"""A tone at least this loud (amplitude, of 32767) is heard."""
SILENT = 150.0
"""A tone below this is not heard (a tone sent at 0.3 of full scale is ~9800)."""
SETTLE_SECONDS = 0.4
"""After a change, how long before its audio is judged (jitter buffers refill)."""
LISTEN_SECONDS = 1.2
"""How long each party's ear is judged."""
AGENT_ID = "agent-7"
SUPERVISOR_UID = 4242
"""The uid of the supervisor's OS account (tests run as root and chown grant files to it)."""


class Ear:
    """What a baresip phone hears, read from its sndfile dump as it grows."""

    def __init__(self, phone: Baresip) -> None:
        self._phone = phone

    def _samples(self) -> tuple[int, list[int]]:
        found = self._phone.recordings()
        assert found, f"{self._phone.user} records nothing"
        return read_wav_mono16(found[-1])

    def mark(self) -> int:
        """How many samples were heard so far."""
        return len(self._samples()[1])

    def since(self, mark: int) -> tuple[int, list[int]]:
        """The rate and the samples heard after ``mark``."""
        rate, samples = self._samples()
        return rate, samples[mark:]


def levels(rate: int, samples: list[int]) -> dict[float, float]:
    """How loud each party's tone is in ``samples`` (at least half a second of them: an
    ear that got no audio frames at all proves nothing about who it hears)."""
    assert len(samples) >= rate // 2, f"only {len(samples)} samples heard at {rate} Hz"
    return {hz: tone_level(samples, rate, hz) for hz in (PATIENT_TONE, AGENT_TONE, SUPERVISOR_TONE)}


@dataclass
class Heard:
    """What each party heard over the same stretch: tone → level."""

    patient: dict[float, float]
    agent: dict[float, float]
    supervisor: dict[float, float]

    def assert_hears(self, who: str, *tones: float) -> None:
        """``who`` hears exactly ``tones`` of the other two parties' tones."""
        heard: dict[float, float] = getattr(self, who)
        own = {"patient": PATIENT_TONE, "agent": AGENT_TONE, "supervisor": SUPERVISOR_TONE}[who]
        for hz, level in heard.items():
            if hz == own:
                continue
            if hz in tones:
                assert level > HEARD, f"{who} does not hear {hz:.0f} Hz: {self}"
            else:
                assert level < SILENT, f"{who} hears {hz:.0f} Hz: {self}"

    def __str__(self) -> str:
        def show(levels: dict[float, float]) -> str:
            return ", ".join(f"{hz:.0f} Hz {level:.0f}" for hz, level in levels.items())

        return (
            f"patient [{show(self.patient)}] agent [{show(self.agent)}] "
            f"supervisor [{show(self.supervisor)}]"
        )


@dataclass
class Floor:
    """The cast of one monitored call."""

    tmp_path: Path
    patient: Baresip | EngineProcess
    """A baresip softphone, or an engine (whose ear lasts through a hold: baresip
    1.0.0's recording of what it hears stops at the first hold for good)."""
    phone: Baresip | None
    """The agent's own phone (station mode); None: the agent engine has no ear."""
    agent: EngineProcess
    supervisor: EngineProcess
    spool: Path
    grants: LocalGrants
    patient_call: str = ""
    """The patient's call on the agent's engine."""
    patient_side: str = ""
    """The same call on a patient engine."""
    monitor_call: str = ""
    """The monitor leg on the supervisor's engine."""
    monitor_id: str = ""
    """The monitor leg on the agent's engine."""

    def call_in(self) -> str:
        """The patient calls the agent, who answers; returns the call's id on the agent."""
        if isinstance(self.patient, EngineProcess):
            self.patient_side, call_id = patient_calls(self.patient, self.agent)
        else:
            self.patient.dial(f"sip:queue@127.0.0.1:{self.agent.port}")
            call_id = str(self.agent.wait_event("call.incoming")["call"]["id"])
            assert self.agent.command("answer", call=call_id)["ok"]
            self.agent.wait_event("call.state", call_id=call_id, state="active")
            self.patient.wait_event("CALL_ESTABLISHED")
        self.patient_call = call_id
        return call_id

    def grant(
        self, *, modes: Collection[str] = ("listen", "whisper", "barge"), **override: Any
    ) -> str:
        """A supervisor's grant file for this agent's call (``override``: agent_id, call_id,
        seconds, now); returns its id."""
        args: dict[str, Any] = {"agent_id": AGENT_ID, "call_id": self.patient_call}
        args.update(override)
        grant = write_local_grant(self.spool, modes=modes, **args)
        os.chown(self.spool / f"{grant.id}.json", SUPERVISOR_UID, -1)
        return grant.id

    def request(self, grant: str, mode: str = "listen", *, muted: bool = False) -> dict[str, Any]:
        """The supervisor calls the agent's engine with ``grant`` (``muted``: their
        microphone off at their own engine); returns the agent's ``monitor.request``."""
        target = f"sip:agent@127.0.0.1:{self.agent.port}"
        reply = self.supervisor.command(
            "monitor", target=target, grant=grant, mode=mode, muted=muted
        )
        assert reply["ok"], reply
        self.monitor_call = str(reply["result"]["call_id"])
        return self.agent.wait_event("monitor.request")

    def decide(self, request: dict[str, Any]) -> str | None:
        """The agent's console: check the grant, accept or refuse; the refusal, if any."""
        live = [self.patient_call] if self.patient_call else []
        try:
            grant = self.grants.check(str(request["grant"]), str(request["mode"]), live)
        except GrantRefusedError as refused:
            reply = self.agent.command(
                "monitor_refuse", monitor=request["monitor_id"], reason=refused.reason
            )
            assert reply["ok"], reply
            return refused.reason
        self.accept(request, grant)
        return None

    def accept(self, request: dict[str, Any], grant: MonitorGrant) -> None:
        """The agent's console found ``grant`` good: the engine answers the leg."""
        reply = self.agent.command(
            "monitor_accept",
            monitor=request["monitor_id"],
            call=grant.call_id,
            modes=list(grant.modes),
            supervisor=grant.supervisor,
        )
        assert reply["ok"], reply
        self.monitor_id = str(request["monitor_id"])

    def join(self, mode: str = "listen", grant: str = "", *, muted: bool = False) -> dict[str, Any]:
        """Grant (unless ``grant`` is given), request, accept: the supervisor is on the
        call in ``mode``."""
        refused = self.decide(self.request(grant or self.grant(), mode, muted=muted))
        assert refused is None, refused
        state = self.agent.wait_event("monitor.state", monitor_id=self.monitor_id)
        self.supervisor.wait_event("call.state", call_id=self.monitor_call, state="active")
        self.supervisor.wait_event("call.codec", call_id=self.monitor_call)
        return state

    def refused(self, grant: str, mode: str = "listen") -> tuple[str | None, dict[str, Any]]:
        """Request with ``grant``: the console's refusal and the supervisor's call.ended."""
        why = self.decide(self.request(grant, mode))
        ended = self.supervisor.wait_event("call.ended", call_id=self.monitor_call)
        return why, ended

    def switch(self, mode: str, method: str = "rfc4733") -> None:
        """The supervisor presses the digit of ``mode`` (sent as RFC 4733 or a SIP INFO)."""
        digit = {"listen": "1", "whisper": "2", "barge": "3"}[mode]
        reply = self.supervisor.command("dtmf", call=self.monitor_call, digits=digit, method=method)
        assert reply["ok"], reply
        state = self.agent.wait_event("monitor.state", monitor_id=self.monitor_id)
        assert state["mode"] == mode, state

    def listen(self, name: str) -> Heard:
        """What each party hears over the same :data:`LISTEN_SECONDS`."""
        assert self.phone is not None, "this floor's agent has no ear"
        time.sleep(SETTLE_SECONDS)
        agent_ear = Ear(self.phone)
        mark = agent_ear.mark()
        wav = self.tmp_path / f"supervisor-{name}.wav"
        if isinstance(self.patient, EngineProcess):
            patient_wav = self.tmp_path / f"patient-{name}.wav"
            capture_both(
                (self.supervisor, self.monitor_call, wav),
                (self.patient, self.patient_side, patient_wav),
                LISTEN_SECONDS,
            )
            patient = levels(*_without_start(*read_wav_mono16(patient_wav)))
        else:
            patient_ear = Ear(self.patient)
            patient_mark = patient_ear.mark()
            capture(self.supervisor, self.monitor_call, wav, LISTEN_SECONDS)
            patient = levels(*patient_ear.since(patient_mark))
        return Heard(
            patient=patient,
            agent=levels(*agent_ear.since(mark)),
            supervisor=levels(*_without_start(*read_wav_mono16(wav))),
        )


def _without_start(rate: int, samples: list[int]) -> tuple[int, list[int]]:
    """A capture without its first 100 ms (the recorder's start)."""
    return rate, samples[rate // 10 :]


def supervisor_engine(tmp_path: Path) -> EngineProcess:
    """A supervisor's engine: no headset, its tone sent into calls, capture on."""
    config = tmp_path / "supervisor.yaml"
    config.write_text(f"audio:\n  mode: none\nsip:\n  audio_source: tone:{int(SUPERVISOR_TONE)}\n")
    engine = EngineProcess(tmp_path, "--config", str(config), "--allow-capture")
    engine.wait_event("engine.ready")
    return engine


@contextmanager
def monitored_floor(
    tmp_path: Path, agent_extra: str = "", *, engine_patient: bool = False, phone: bool = True
) -> Iterator[Floor]:
    """The cast, every process stopped by PID on the way out; ``engine_patient``: the
    patient is an engine (see :attr:`Floor.patient`); ``phone``: the agent has their own
    phone (station mode), else the agent's engine has no audio (``agent_extra``: more of
    its YAML, under ``sip:`` when there is no phone)."""
    spool = tmp_path / "grants"
    spool.mkdir()
    with ExitStack() as stack:
        patient: Baresip | EngineProcess
        if engine_patient:
            patient = patient_engine(tmp_path)
            stack.callback(patient.stop)
        else:
            patient = stack.enter_context(
                Baresip(
                    tmp_path, user="patient", tone_hz=PATIENT_TONE, record_to=tmp_path / "p.wav"
                )
            )
        own_phone: Baresip | None = None
        if phone:
            own_phone = stack.enter_context(
                Baresip(
                    tmp_path,
                    user="phone",
                    tone_hz=AGENT_TONE,
                    record_to=tmp_path / "a.wav",
                    auto_answer=True,
                )
            )
            agent = station_engine(tmp_path, own_phone.uri, agent_extra)
        else:
            mouth = f"  audio_source: tone:{int(AGENT_TONE)}\n"
            agent = engine_from(tmp_path, f"audio:\n  mode: none\nsip:\n{mouth}{agent_extra}")
            agent.wait_event("engine.ready", timeout=20)
        stack.callback(agent.stop)
        supervisor = supervisor_engine(tmp_path)
        stack.callback(supervisor.stop)
        if own_phone is not None:
            connect_station(agent)
        yield Floor(
            tmp_path,
            patient,
            own_phone,
            agent,
            supervisor,
            spool,
            LocalGrants(spool, {SUPERVISOR_UID}, AGENT_ID),
        )
