# SPDX-License-Identifier: GPL-2.0-or-later
"""The headset's frame queue where two 20 ms clocks meet, simulated on a fake clock.

pjmedia's conference bridge and the sound card each tick every 20 ms on their
own thread; nothing keeps their phases apart. The simulation runs both clocks
with a seeded jitter for half a minute and checks what a listener would hear:
every frame in order, no silence inside the stream, and a delay that stays
bounded when one clock runs faster than the other. Before the playout cushion
the queue was trimmed back to "one frame, taken at once", so a writer and a
reader ticking a millisecond apart swapped order now and then: the reader found
the queue empty and the agent heard 20 ms of silence (the headset call test's
flake, about one run in four).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sip.headset.frames import FRAME_MS, FrameQueue

FRAME = FRAME_MS / 1000
FRAME_BYTES = 640


@dataclass
class Clock:
    """A clock the queue reads; the simulation sets it before each operation."""

    now: float = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Run:
    """What the reader got, frame by frame: a sequence number, or None for silence."""

    taken: list[int | None] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)

    def silences_after(self, start: int) -> list[int]:
        """Indexes of silent reads after the first ``start`` reads and before the stream's end."""
        last = max(i for i, seq in enumerate(self.taken) if seq is not None)
        return [i for i in range(start, last) if self.taken[i] is None]

    def frames(self) -> list[int]:
        return [seq for seq in self.taken if seq is not None]


def frame(seq: int) -> bytes:
    return seq.to_bytes(4, "big") + bytes(FRAME_BYTES - 4)


def simulate(
    *,
    seconds: float = 30.0,
    phase: float = 0.0005,
    jitter: float = 0.003,
    writer_period: float = FRAME,
    reader_period: float = FRAME,
    writer_delay: Callable[[int], float] = lambda _seq: 0.0,
    writer_stops: tuple[float, float] | None = None,
    wander: float = 0.0,
    capacity: int = 3,
    seed: int = 7,
) -> tuple[FrameQueue, Run]:
    """Run the writer (bridge) and reader (card) clocks against one queue.

    ``phase``: how long after the writer's tick the reader's falls;
    ``jitter``: each tick lands up to this much early or late;
    ``writer_delay``: extra lateness of one tick (a stalled thread);
    ``writer_stops``: (from, to) seconds in which the writer puts nothing (a hold);
    ``wander``: the reader's phase swings this far either way every 10 s, with no
    net drift (two threads' sleep overshoot differs as the load changes).
    """
    rng = random.Random(seed)
    clock = Clock()
    queue = FrameQueue(FRAME_BYTES, capacity, clock=clock)
    events: list[tuple[float, int, int]] = []
    for seq in range(int(seconds / writer_period)):
        at = seq * writer_period
        if writer_stops and writer_stops[0] <= at < writer_stops[1]:
            continue
        events.append((at + rng.uniform(-jitter, jitter) + writer_delay(seq), 0, seq))
    for tick in range(int(seconds / reader_period)):
        at = tick * reader_period
        swing = wander * math.sin(2 * math.pi * at / 10.0)
        events.append((at + phase + swing + rng.uniform(-jitter, jitter), 1, tick))
    run = Run()
    for at, kind, seq in sorted(events):
        clock.now = 100.0 + at
        if kind == 0:
            queue.put(frame(seq))
        else:
            run.depths.append(len(queue._frames))
            data = queue.take()
            run.taken.append(None if data == queue.silence else int.from_bytes(data[:4], "big"))
    return queue, run


def test_two_clocks_a_hair_apart_never_starve_the_reader() -> None:
    queue, run = simulate()

    assert run.silences_after(5) == []
    assert queue.underruns == 0
    frames = run.frames()
    assert frames == list(range(frames[0], frames[0] + len(frames)))  # nothing lost, in order


def test_a_phase_that_wanders_across_the_writer_never_starves_the_reader() -> None:
    queue, run = simulate(phase=0.0, jitter=0.001, wander=0.008)

    assert run.silences_after(5) == []
    assert queue.underruns == 0


def test_jitter_of_any_phase_is_absorbed() -> None:
    for phase_ms in range(0, 20, 2):
        queue, run = simulate(phase=phase_ms / 1000, seed=phase_ms)
        assert run.silences_after(5) == [], phase_ms
        assert queue.underruns == 0, phase_ms


def test_a_writer_stalled_for_most_of_a_frame_is_not_heard() -> None:
    queue, run = simulate(writer_delay=lambda seq: 0.015 if seq % 250 == 100 else 0.0)

    assert run.silences_after(5) == []
    assert queue.underruns == 0


def test_a_writer_running_fast_is_trimmed_and_the_delay_stays_bounded() -> None:
    queue, run = simulate(writer_period=FRAME * 0.995)  # 0.5 %: far worse than any crystal

    assert queue.trimmed > 0
    assert max(run.depths[-500:]) <= queue.capacity
    assert run.silences_after(5) == []
    assert queue.underruns == 0


def test_a_reader_running_fast_is_heard_as_a_few_counted_drop_outs() -> None:
    queue, run = simulate(reader_period=FRAME * 0.998)  # 0.2 %: 3 frames short in 30 s

    # Each frame the writer falls behind is one drop-out (counted, re-primed), not a stutter.
    assert 1 <= len(run.silences_after(5)) <= 8
    assert 1 <= queue.underruns <= 8


def test_a_hold_is_a_pause_not_a_drop_out_and_the_stream_resumes_cleanly() -> None:
    queue, run = simulate(writer_stops=(10.0, 11.5))

    assert queue.underruns == 0  # 1.5 s of nothing: the writer stopped, nothing dropped
    frames = run.frames()
    resumed = frames.index(next(seq for seq in frames if seq * FRAME >= 11.5))
    after = frames[resumed:]
    assert after == list(range(after[0], after[0] + len(after)))
    # After the pause the reader waits for its cushion once, then never starves again.
    first_after = run.taken.index(after[0])
    assert run.silences_after(first_after) == []


def test_a_queue_of_one_frame_still_plays() -> None:
    queue, run = simulate(capacity=1, jitter=0.0, phase=0.005)

    assert run.silences_after(5) == []
    assert queue.target == 1
