# SPDX-License-Identifier: GPL-2.0-or-later
"""Listening in: a supervisor's key to hearing the call, and the latency listening adds.

setup: a patient engine on a call with an agent engine; a supervisor engine. From
the key (the grant file written, the ``monitor`` command sent) through the agent's
console deciding (``monitor.request`` → the grant checked → ``monitor_accept``) to
the supervisor's leg running audio (its ``call.codec``), in ms. Baseline: a plain
call set up on the same engines, from ``dial`` through ``call.incoming`` →
``answer`` to the caller's ``call.codec``: the same control path without a grant.

latency: bench/station_probe.py is the patient and the supervisor in one pjsua2
process: it calls the agent's engine (auto-answer), then listens in on that call; a
10 ms burst every second goes out on the patient's call and one recorder takes it as
sent and as it arrives on the monitor leg (one time base): the one-way mouth-to-ear
time patient -> agent's engine -> supervisor. Baseline: a direct call (the patient
calling a looping phone, half the round trip, as bench.audio_latency measures it).

Run: .venv/bin/python -m bench.monitor_setup --runs 5
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.audio_latency import BURST_MS, ROOT, median_round_trip, station_round_trip
from bench.common import bench_parser, report
from console.core.monitor_grants import LocalGrants, new_grant_id, write_local_grant
from tests.audio_calls import patient_engine
from tests.support import EngineProcess, free_udp_port

AGENT_ID = "agent-bench"


def agent_engine(workdir: Path, *extra: str) -> EngineProcess:
    """The agent's engine: no audio (silence), ready."""
    config = workdir / "agent.yaml"
    config.write_text("audio:\n  mode: none\n")
    engine = EngineProcess(workdir, "--config", str(config), *extra)
    engine.wait_event("engine.ready")
    return engine


def patient_on_call(patient: EngineProcess, agent: EngineProcess) -> tuple[str, str]:
    """The patient calls, the agent answers: (patient's call id, agent's call id)."""
    reply = patient.command("dial", number=f"sip:queue@127.0.0.1:{agent.port}")
    incoming = str(agent.wait_event("call.incoming")["call"]["id"])
    assert agent.command("answer", call=incoming)["ok"]
    agent.wait_event("call.state", call_id=incoming, state="active")
    return str(reply["result"]["call_id"]), incoming


def hang_up(engine: EngineProcess, call_id: str) -> None:
    """End a call and wait until it is gone."""
    engine.command("hangup", call=call_id)
    engine.wait_event("call.ended", call_id=call_id)


def monitor_setup_ms(
    supervisor: EngineProcess, agent: EngineProcess, call_id: str, grants: LocalGrants, spool: Path
) -> float:
    """Key to hearing, one leg; the leg is hung up after."""
    start = time.perf_counter()
    grant = write_local_grant(spool, agent_id=AGENT_ID, call_id=call_id, modes=["listen"])
    target = f"sip:agent@127.0.0.1:{agent.port}"
    leg = supervisor.command("monitor", target=target, grant=grant.id, muted=True)["result"]
    request = agent.wait_event("monitor.request")
    checked = grants.check(request["grant"], request["mode"], [call_id])
    agent.command(
        "monitor_accept",
        monitor=request["monitor_id"],
        call=checked.call_id,
        modes=list(checked.modes),
        supervisor=checked.supervisor,
    )
    supervisor.wait_event("call.codec", call_id=leg["call_id"])
    elapsed = (time.perf_counter() - start) * 1000
    hang_up(supervisor, leg["call_id"])
    agent.wait_event("monitor.ended", monitor_id=request["monitor_id"])
    return elapsed


def plain_setup_ms(supervisor: EngineProcess, agent: EngineProcess) -> float:
    """Dial to hearing, one plain call on the same engines; hung up after."""
    start = time.perf_counter()
    reply = supervisor.command("dial", number=f"sip:queue@127.0.0.1:{agent.port}")
    incoming = str(agent.wait_event("call.incoming")["call"]["id"])
    agent.command("answer", call=incoming)
    supervisor.wait_event("call.codec", call_id=reply["result"]["call_id"])
    elapsed = (time.perf_counter() - start) * 1000
    hang_up(supervisor, reply["result"]["call_id"])
    agent.wait_event("call.ended", call_id=incoming)
    return elapsed


def measure_setup(workdir: Path, runs: int) -> tuple[list[float], list[float]]:
    """(key to hearing ms, plain call set-up ms), one each a run."""
    spool = workdir / "grants"
    spool.mkdir()
    grants = LocalGrants(spool, {os.getuid()}, AGENT_ID)
    patient = patient_engine(workdir)
    agent = agent_engine(workdir)
    supervisor_dir = workdir / "supervisor"
    supervisor_dir.mkdir()
    supervisor = agent_engine(supervisor_dir)
    keyed: list[float] = []
    plain: list[float] = []
    try:
        for _ in range(runs):
            patient_call, call_id = patient_on_call(patient, agent)
            keyed.append(monitor_setup_ms(supervisor, agent, call_id, grants, spool))
            hang_up(patient, patient_call)
            plain.append(plain_setup_ms(supervisor, agent))
    finally:
        for engine in (supervisor, agent, patient):
            engine.stop()
    return keyed, plain


def probe_arguments(
    probe_port: int, agent_port: int, seconds: float, recording: Path, grant_id: str
) -> list[str]:
    """``bench.station_probe``'s arguments to call the agent's engine and listen in."""
    return [
        *("--listen", str(probe_port), "--call", f"sip:queue@127.0.0.1:{agent_port}"),
        *("--seconds", str(seconds), "--record", str(recording), "--burst-ms", str(BURST_MS)),
        # Joined: a grant id is URL-safe base64, and one in 64 starts with "-", which
        # argparse would take for an option (the probe then stopped with a usage error).
        f"--monitor={grant_id}",
    ]


def listen_one_way_ms(workdir: Path, name: str, seconds: float) -> float:
    """One probe run listening in: the median one-way trip patient -> engine -> supervisor."""
    spool = workdir / f"{name}-grants"
    spool.mkdir()
    grants = LocalGrants(spool, {os.getuid()}, AGENT_ID)
    agent = agent_engine(workdir, "--auto-answer")
    probe_port = free_udp_port()
    recording = workdir / f"{name}.wav"
    try:
        grant_id = new_grant_id()
        # The grant names the agent's call, known once it rings: the probe is told the
        # grant's id up front, and the grant is made under that id when the call rings.
        argv = probe_arguments(probe_port, agent.port, seconds, recording, grant_id)
        probe = subprocess.Popen(
            [sys.executable, "-m", "bench.station_probe", *argv],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            call_id = str(agent.wait_event("call.incoming", 20)["call"]["id"])
            write_local_grant(
                spool, agent_id=AGENT_ID, call_id=call_id, modes=["listen"], grant_id=grant_id
            )
            request = agent.wait_event("monitor.request", 20)
            checked = grants.check(request["grant"], request["mode"], [call_id])
            reply = agent.command(
                "monitor_accept",
                monitor=request["monitor_id"],
                call=checked.call_id,
                modes=list(checked.modes),
                supervisor=checked.supervisor,
            )
            if not reply["ok"]:
                raise SystemExit(f"monitor refused: {reply}")
            out, _ = probe.communicate(timeout=seconds + 60)
        finally:
            if probe.poll() is None:
                probe.kill()
                probe.wait()
        if probe.returncode != 0:
            raise SystemExit(f"probe failed: {out[-500:]}")
    finally:
        agent.stop()
    return median_round_trip(recording)


def measure_latency(workdir: Path, runs: int, seconds: float) -> tuple[list[float], list[float]]:
    """(listening one-way ms, direct call one-way ms), one each a run."""
    listen: list[float] = []
    direct: list[float] = []
    for run in range(runs):
        listen.append(listen_one_way_ms(workdir, f"listen-{run}", seconds))
        trip = station_round_trip(workdir, f"direct-{run}", through_engine=False, seconds=seconds)
        direct.append(trip / 2)
    return listen, direct


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, quick={"seconds": 3.0})
    parser.add_argument("--seconds", type=float, default=6.0, help="burst recording per run")
    args = parser.options()
    with tempfile.TemporaryDirectory(prefix="careline-bench-") as tmp:
        keyed, plain = measure_setup(Path(tmp), args.runs)
        listen, direct = measure_latency(Path(tmp), args.runs, args.seconds)
    report("supervisor key to hearing the call", "ms", keyed, plain, "plain call set-up")
    report("one-way latency listening in", "ms", listen, direct, "direct call")
    added = [a - b for a, b in zip(listen, direct, strict=True)]
    report("latency added by listening in over a direct call", "ms", added)


if __name__ == "__main__":
    main()
