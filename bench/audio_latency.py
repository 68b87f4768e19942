# SPDX-License-Identifier: GPL-2.0-or-later
"""Added one-way latency of the agent's audio path, measured with sound.

headset: the headset bridge (``sip.headset.Headset``: queues, PortAudio, an
ALSA device) in a pjsua2 process, with the device's speaker looped back into
its microphone through a FIFO (virtual ALSA ``file`` plugins, see
tests/alsa.py). A tone generator sends a 10 ms 1 kHz burst every second into
the headset port; one WAV recorder on the same conference bridge takes both
the burst as sent and what comes back from the port, so both onsets share a
time base. Round trip minus the FIFO's fixed pre-fill, halved, is the one-way
latency of the bridge.

Baseline: the same rig with the headset swapped for a port that echoes
inside the conference bridge (one Python port hop each way, no queue, no
PortAudio): what any agent audio port costs anyway.

station: the engine in station mode, the agent's phone a pjsua2 endpoint
that loops what it hears straight back (bench/station_probe.py, which also
plays the patient). The patient's burst goes patient -> engine -> station leg
-> phone -> back the same way, recorded in one file with the burst as sent.
Baseline: the patient calling that looping phone directly (one RTP hop each
way). Half the difference of the round trips is what the engine's bridge
adds one way (its jitter buffers and the conference bridge, both legs).

Run: .venv/bin/python -m bench.audio_latency --mode headset --runs 5
     .venv/bin/python -m bench.audio_latency --mode station --runs 5
(``--seconds``: how long each run records bursts, 6 by default.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.common import bench_parser, report
from tests.audio_tone import read_wav_mono16
from tests.support import EngineProcess, free_udp_port, run_module

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000
BURST_MS = 10
SECONDS_PER_RUN = 6.0
LOOP_PREFILL_MS = 20
"""Silence written into the loopback FIFO before the device starts: a duplex
callback reads its microphone before it plays, so an empty loop would block it."""

LOOPBACK_ASOUNDRC = """\
pcm.!default {{
    type asym
    playback.pcm {{ type plug slave.pcm {{ type file slave.pcm {{ type null }}
                                            file "{fifo}" format "raw" }} }}
    capture.pcm {{ type plug slave.pcm {{ type file slave.pcm {{ type null }}
                                           file "/dev/null" infile "{fifo}" }} }}
}}
"""


def onsets(samples: Sequence[int], rate: int, threshold: float = 2000.0) -> list[float]:
    """Times (ms) where sound starts after at least 5 ms of quiet, to 1 ms."""
    window = rate // 1000
    found: list[float] = []
    quiet = 5  # the file may open on a burst
    for start in range(0, len(samples) - window, window):
        loud = max(abs(x) for x in samples[start : start + window]) > threshold
        if loud and quiet >= 5:
            found.append(start * 1000 / rate)
        quiet = 0 if loud else quiet + 1
    return found


def round_trips(recording: Path) -> list[float]:
    """Round trips (ms) of every burst: sent bursts are 1 s apart, echoes fall between."""
    rate, samples = read_wav_mono16(recording)
    times = onsets(samples, rate)
    if not times:
        return []
    sent = [t for t in times if abs((t - times[0]) % 1000) < 5 or abs((t - times[0]) % 1000) > 995]
    echoes = [t for t in times if t not in sent]
    trips: list[float] = []
    for burst in sent:
        later = [e - burst for e in echoes if 0 < e - burst < 900]
        if later:
            trips.append(min(later))
    return trips[1:]  # the first burst meets the start-up transient


def median_round_trip(recording: Path) -> float:
    """The median of :func:`round_trips` (ms); a recording with no echo ends the bench."""
    trips = round_trips(recording)
    if not trips:
        raise SystemExit(f"no echo found in {recording}")
    return sorted(trips)[len(trips) // 2]


def probe(recording: Path, env: dict[str, str], seconds: float, *extra: str) -> None:
    """One run of tests/headset_probe.py (a pjsua2 process) recording bursts and echoes
    for ``seconds``."""
    argv = ["--seconds", str(seconds), "--tone", "1000", "--burst-ms", str(BURST_MS)]
    done = run_module("tests.headset_probe", *argv, "--record", str(recording), *extra, env=env)
    if done.returncode != 0:
        raise SystemExit(f"probe failed: {done.stdout[-500:]} {done.stderr[-500:]}")


def measure_headset(
    workdir: Path, runs: int, seconds: float = SECONDS_PER_RUN
) -> tuple[list[float], list[float]]:
    """(headset one-way ms, baseline one-way ms), one median per run."""
    fifo = workdir / "loop.fifo"
    os.mkfifo(fifo)
    asoundrc = workdir / "asoundrc"
    asoundrc.write_text(LOOPBACK_ASOUNDRC.format(fifo=fifo))
    env = {**os.environ, "ALSA_CONFIG_PATH": str(asoundrc)}
    headset: list[float] = []
    baseline: list[float] = []
    for run in range(runs):
        # Held open read-write here: neither side's open() blocks on the FIFO,
        # and the pre-fill is the loop's only (fixed) delay.
        holder = os.open(fifo, os.O_RDWR)
        try:
            os.write(holder, bytes(RATE * LOOP_PREFILL_MS // 1000 * 2))
            recording = workdir / f"headset-{run}.wav"
            probe(recording, env, seconds)
        finally:
            os.close(holder)
        headset.append((median_round_trip(recording) - LOOP_PREFILL_MS) / 2)
        recording = workdir / f"echo-{run}.wav"
        probe(recording, env, seconds, "--echo")
        baseline.append(median_round_trip(recording) / 2)
    return headset, baseline


def station_round_trip(
    workdir: Path, name: str, *, through_engine: bool, seconds: float = SECONDS_PER_RUN
) -> float:
    """Median round trip (ms) of one station-probe run of ``seconds``, through the engine
    or direct."""
    phone_port = free_udp_port()
    recording = workdir / f"{name}.wav"
    call = f"sip:phone@127.0.0.1:{phone_port}"
    engine: EngineProcess | None = None
    if through_engine:
        config = workdir / f"{name}.yaml"
        config.write_text(f"audio:\n  mode: station\n  station:\n    number: '{call}'\n")
        engine = EngineProcess(workdir, "--config", str(config), "--auto-answer")
        engine.wait_event("engine.ready")
        call = f"sip:queue@127.0.0.1:{engine.port}"
    argv = [sys.executable, "-m", "bench.station_probe", "--listen", str(phone_port)]
    argv += ["--call", call, "--seconds", str(seconds), "--record", str(recording)]
    argv += ["--burst-ms", str(BURST_MS)] + (["--wait-station"] if through_engine else [])
    probe_proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert probe_proc.stdout is not None
        probe_proc.stdout.readline()  # listening
        if engine is not None:
            reply = engine.command("station", action="connect")
            if not reply["ok"]:
                raise SystemExit(f"station connect failed: {reply}")
        out, _ = probe_proc.communicate(timeout=60)
    finally:
        if probe_proc.poll() is None:
            probe_proc.kill()
            probe_proc.wait()
        if engine is not None:
            engine.stop()
    if probe_proc.returncode != 0:
        raise SystemExit(f"station probe failed: {out[-500:]}")
    return median_round_trip(recording)


def measure_station(
    workdir: Path, runs: int, seconds: float = SECONDS_PER_RUN
) -> tuple[list[float], list[float]]:
    """(patient -> engine -> phone one-way ms, direct patient -> phone one-way ms) per run."""
    station: list[float] = []
    direct: list[float] = []
    for run in range(runs):
        for name, through, trips in (("station", True, station), ("direct", False, direct)):
            trip = station_round_trip(
                workdir, f"{name}-{run}", through_engine=through, seconds=seconds
            )
            trips.append(trip / 2)
    return station, direct


MODES: dict[str, Callable[[Path, int, float], tuple[list[float], list[float]]]] = {
    "headset": measure_headset,
    "station": measure_station,
}
"""Each mode's measurement: (one-way ms per run, baseline one-way ms per run)."""
BASELINES = {"headset": "in-bridge echo port", "station": "patient calling the phone directly"}


def main() -> None:
    """Measure and print."""
    # Quick: 3 s of bursts a run (two timed after the first, which is dropped).
    parser = bench_parser(__doc__, quick={"seconds": 3.0})
    parser.add_argument("--mode", choices=sorted(MODES), default="headset")
    parser.add_argument(
        "--seconds", type=float, default=SECONDS_PER_RUN, help="bursts recorded per run"
    )
    args = parser.options()
    with tempfile.TemporaryDirectory(prefix="careline-bench-") as tmp:
        values, baseline = MODES[args.mode](Path(tmp), args.runs, args.seconds)
    report(
        f"one-way audio latency, {args.mode} bridge",
        "ms",
        values,
        baseline,
        BASELINES[args.mode],
    )
    added = [v - b for v, b in zip(values, baseline, strict=True)]
    report(f"added by the {args.mode} bridge over the baseline", "ms", added)


if __name__ == "__main__":
    main()
