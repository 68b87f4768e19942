# SPDX-License-Identifier: GPL-2.0-or-later
"""Audio continuity and clipping of call audio: the codec policy against pjsua's defaults.

Two engines on 127.0.0.1, a patient (1 kHz tone) and an agent in one of the
audio modes (none: a 440 Hz source; headset: a virtual ALSA device whose
microphone plays 600 Hz; station: baresip as the agent's phone, 600 Hz).
Both engines run either careline's codec policy (G.722, PCMU, PCMA; VAD off)
or, as the baseline in the same run, pjsua's own defaults
(``--library-media-defaults``: Speex first, VAD on) — what careline shipped
before the policy.

- continuity: each run records what both sides receive for ``--seconds``
  (after the stream is up) and counts the 20 ms windows below 0.7x the median
  level (after the first 200 ms): the share of drop-out windows, per mode.
- clipping (none mode): ``--cycles`` hold/resume cycles by the agent; after
  each resume, the first 2 s both sides receive, counting full-scale samples.

``--codecs`` sets ``sip.codecs`` for the policy side (e.g. ``opus,G722,PCMU``
on an engine library that has Opus), to decide an order by measurement.

Run: .venv/bin/python -m bench.audio_continuity
     .venv/bin/python -m bench.audio_continuity --mode headset --runs 3 --seconds 10 --cycles 20
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import bench_parser, report
from tests.alsa import make_virtual_alsa
from tests.audio_calls import capture_both, patient_calls, renegotiate, wait_station
from tests.audio_tone import Continuity, continuity, read_wav_mono16
from tests.baresip import Baresip
from tests.support import EngineProcess

MODES = ("none", "headset", "station")
LIBRARY_DEFAULTS = ("--library-media-defaults",)
"""The baseline's engine flag (pjsua's own media defaults); both engines of a call get it."""
CLIP_SECONDS = 2.0


@dataclass
class Tally:
    """Windows and drop-outs added up over runs."""

    windows: int = 0
    dips: int = 0
    shares: list[float] = field(default_factory=list)
    """The share of drop-out windows (%) of each recording."""
    codecs: set[str] = field(default_factory=set)
    """What the calls landed on (``G722/16000``)."""

    def add(self, heard: Continuity) -> None:
        self.windows += heard.windows
        self.dips += heard.dips
        self.shares.append(100.0 * heard.dips / heard.windows if heard.windows else 0.0)

    @property
    def share(self) -> float:
        return 100.0 * self.dips / self.windows if self.windows else 0.0

    @property
    def drop_outs(self) -> str:
        """The share of drop-out windows, and the counts: ``1.5 % (3/200)``."""
        return f"{self.share:.1f} % ({self.dips}/{self.windows})"

    @property
    def landed_on(self) -> str:
        """The codecs the calls landed on: ``G722/16000, PCMU/8000``."""
        return ", ".join(sorted(self.codecs))


@contextmanager
def call_pair(
    work: Path, mode: str, flags: tuple[str, ...], codecs: str
) -> Iterator[tuple[EngineProcess, ...]]:
    """A patient engine and an agent engine in ``mode``, both with ``flags``; stopped after."""
    with ExitStack() as stack:
        sip = f"sip:\n  codecs: [{codecs}]\n" if codecs else "sip:\n"
        patient_yaml = work / "patient.yaml"
        patient_yaml.write_text(f"audio:\n  mode: none\n{sip}  audio_source: tone:1000\n")
        agent_yaml = work / "agent.yaml"
        env = None
        if mode == "headset":
            env = make_virtual_alsa(work / "alsa").env
            agent_yaml.write_text(f"audio:\n  mode: headset\n{sip}  audio_source: tone:440\n")
        elif mode == "station":
            phone = stack.enter_context(Baresip(work, user="phone", tone_hz=600, auto_answer=True))
            agent_yaml.write_text(
                f"audio:\n  mode: station\n  station:\n    number: '{phone.uri}'\n"
                f"{sip}  audio_source: tone:440\n"
            )
        else:
            agent_yaml.write_text(f"audio:\n  mode: none\n{sip}  audio_source: tone:440\n")
        engines = []
        for config, extra_env in ((patient_yaml, None), (agent_yaml, env)):
            engine = EngineProcess(
                work, "--config", str(config), "--allow-capture", *flags, env=extra_env
            )
            stack.callback(engine.stop)
            engine.wait_event("engine.ready")
            engines.append(engine)
        patient, agent = engines
        if mode == "station":
            assert agent.command("station", action="connect")["ok"]
            wait_station(agent, "up")
        yield patient, agent


def heard(path: Path) -> Continuity:
    rate, samples = read_wav_mono16(path)
    return continuity(samples, rate)


def measure_continuity(
    mode: str, flags: tuple[str, ...], codecs: str, runs: int, seconds: float
) -> Tally:
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="careline-bench-") as tmp:
        work = Path(tmp)
        with call_pair(work, mode, flags, codecs) as (patient, agent):
            for run in range(runs):
                outgoing, incoming = patient_calls(patient, agent)
                (call,) = agent.command("status")["result"]["calls"]
                tally.codecs.add(f"{call['codec']['name']}/{call['codec']['clock_rate']}")
                by_patient, by_agent = work / f"p{run}.wav", work / f"a{run}.wav"
                capture_both((patient, outgoing, by_patient), (agent, incoming, by_agent), seconds)
                assert agent.command("hangup", call=incoming)["ok"]
                patient.wait_event("call.ended", call_id=outgoing)
                tally.add(heard(by_patient))
                tally.add(heard(by_agent))
    return tally


def measure_clipping(flags: tuple[str, ...], codecs: str, cycles: int) -> list[int]:
    """Clipped samples in the first 2 s after each resume (both sides added)."""
    counts: list[int] = []
    with tempfile.TemporaryDirectory(prefix="careline-bench-") as tmp:
        work = Path(tmp)
        with call_pair(work, "none", flags, codecs) as (patient, agent):
            outgoing, incoming = patient_calls(patient, agent)
            for cycle in range(cycles):
                renegotiate(agent, "hold", incoming)
                renegotiate(agent, "resume", incoming)
                by_patient, by_agent = work / f"p{cycle}.wav", work / f"a{cycle}.wav"
                capture_both(
                    (patient, outgoing, by_patient), (agent, incoming, by_agent), CLIP_SECONDS
                )
                counts.append(heard(by_patient).clipped + heard(by_agent).clipped)
    return counts


def per_cycle(counts: list[int]) -> str:
    """The median clipped samples a cycle and the cycles with any."""
    return (
        f"median {statistics.median(counts):g}/cycle, {sum(1 for c in counts if c)} cycles with any"
    )


def main() -> None:
    # Quick: the none mode only (no ALSA device, no phone), one short call, one cycle.
    quick = {"mode": "none", "seconds": 1.0, "cycles": 1}
    parser = bench_parser(__doc__, runs=3, quick=quick)
    parser.add_argument("--mode", choices=(*MODES, "all"), default="all")
    parser.add_argument("--seconds", type=float, default=10.0, help="recorded per call")
    parser.add_argument("--cycles", type=int, default=20, help="hold/resume cycles (0: skip)")
    parser.add_argument(
        "--codecs",
        default="",
        help="sip.codecs of the policy side, comma-separated (default: G722,PCMU,PCMA)",
    )
    args = parser.options()
    # (engine flags, sip.codecs) of each side, the policy first.
    sides: list[tuple[tuple[str, ...], str]] = [((), args.codecs), (LIBRARY_DEFAULTS, "")]
    modes = MODES if args.mode == "all" else (args.mode,)
    for mode in modes:
        new, old = (measure_continuity(mode, *side, args.runs, args.seconds) for side in sides)
        print(
            f"continuity, {mode} mode ({args.runs} calls x {args.seconds:g} s, both sides): "
            f"drop-out windows {new.drop_outs} with the policy ({new.landed_on}), "
            f"{old.drop_outs} with the library defaults ({old.landed_on})",
            flush=True,
        )
        report(
            f"drop-out windows per call side, {mode} mode",
            "%",
            new.shares,
            old.shares,
            "library defaults",
        )
    if args.cycles:
        new_counts, old_counts = (measure_clipping(*side, args.cycles) for side in sides)
        print(
            f"clipping, {args.cycles} hold/resume cycles (first {CLIP_SECONDS:g} s after each "
            f"resume, both sides): {sum(new_counts)} clipped samples with the policy "
            f"({per_cycle(new_counts)}), {sum(old_counts)} with the library defaults "
            f"({per_cycle(old_counts)})",
            flush=True,
        )
        report(
            "clipped samples a hold/resume cycle",
            "samples",
            [float(n) for n in new_counts],
            [float(n) for n in old_counts],
            "library defaults",
        )


if __name__ == "__main__":
    main()
