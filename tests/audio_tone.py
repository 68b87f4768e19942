# SPDX-License-Identifier: GPL-2.0-or-later
"""Tiny pure-Python audio helpers for tests: write a tone, read it back, find its pitch.

Standard library only (no numpy): 16-bit mono PCM WAV files, a Goertzel scan for
the dominant frequency and an RMS level, accurate enough to tell a 1000 Hz tone
from a 600 Hz one after a trip through G.711.
"""

from __future__ import annotations

import math
import statistics
import struct
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Continuity",
    "continuity",
    "dominant_frequency",
    "read_wav_mono16",
    "rms",
    "tone_level",
    "write_tone_wav",
]


def write_tone_wav(
    path: Path, hz: float, seconds: float, rate: int = 8000, amplitude: float = 0.3
) -> None:
    """Write a sine of ``hz`` as a 16-bit mono PCM WAV (``amplitude`` of full scale)."""
    count = int(round(seconds * rate))
    peak = amplitude * 32767.0
    step = 2.0 * math.pi * hz / rate
    samples = [int(round(peak * math.sin(step * i))) for i in range(count)]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack(f"<{count}h", *samples))


def read_wav_mono16(path: Path) -> tuple[int, list[int]]:
    """Read a 16-bit PCM WAV and return ``(rate, samples)`` of its first channel.

    The RIFF chunks are walked by hand so that a file whose writer never fixed
    up the sizes (a ``data`` size of 0 or past the end) still reads to its end.
    """
    raw = path.read_bytes()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF/WAVE file")
    pos = 12
    rate = channels = bits = 0
    while pos + 8 <= len(raw):
        chunk_id = raw[pos : pos + 4]
        (size,) = struct.unpack_from("<I", raw, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt, channels, rate = struct.unpack_from("<HHI", raw, body)
            (bits,) = struct.unpack_from("<H", raw, body + 14)
            if fmt not in (1, 0xFFFE) or bits != 16:
                raise ValueError(f"{path}: not 16-bit PCM (format {fmt}, {bits} bits)")
        elif chunk_id == b"data":
            if not rate:
                raise ValueError(f"{path}: data chunk before fmt chunk")
            end = len(raw) if size == 0 or body + size > len(raw) else body + size
            frame = 2 * channels
            frames = (end - body) // frame
            pcm = struct.unpack_from(f"<{frames * channels}h", raw, body)
            return rate, list(pcm[::channels])
        pos = body + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")


def _goertzel_power(samples: Sequence[int], rate: int, hz: float) -> float:
    """Signal power at ``hz`` (Goertzel algorithm, no window)."""
    coeff = 2.0 * math.cos(2.0 * math.pi * hz / rate)
    s_prev = s_prev2 = 0.0
    for x in samples:
        s = x + coeff * s_prev - s_prev2
        s_prev2 = s_prev
        s_prev = s
    return s_prev2 * s_prev2 + s_prev * s_prev - coeff * s_prev * s_prev2


def dominant_frequency(
    samples: Sequence[int], rate: int, low: float = 100.0, high: float = 3500.0
) -> float:
    """The strongest frequency in ``low..high`` Hz, to about 1 Hz.

    Works on the loudest second of the signal: a coarse Goertzel scan in 10 Hz
    steps over a 0.1 s slice (whose 10 Hz bins leave no gaps between probes),
    then a 0.5 Hz refinement around the peak over the whole second.
    """
    if rate <= 0 or len(samples) < rate // 10:
        raise ValueError("need at least 0.1 s of audio")
    high = min(high, rate / 2 - 10)
    window = list(_loudest_window(samples, rate))
    centre = (len(window) - rate // 10) // 2
    coarse = window[centre : centre + rate // 10]
    best = max(
        (low + 10.0 * i for i in range(int((high - low) / 10.0) + 1)),
        key=lambda hz: _goertzel_power(coarse, rate, hz),
    )
    fine = [best + 0.5 * i for i in range(-24, 25) if low <= best + 0.5 * i <= high]
    return max(fine, key=lambda hz: _goertzel_power(window, rate, hz))


def _loudest_window(samples: Sequence[int], rate: int) -> Sequence[int]:
    """The one-second stretch (or the whole signal if shorter) with the most energy."""
    size = rate
    if len(samples) <= size:
        return samples
    hop = rate // 10
    starts = range(0, len(samples) - size + 1, hop)
    best = max(starts, key=lambda s: sum(x * x for x in samples[s : s + size : 4]))
    return samples[best : best + size]


def rms(samples: Sequence[int]) -> float:
    """Root-mean-square level of ``samples`` (0.0 for none)."""
    if not samples:
        return 0.0
    return math.sqrt(sum(x * x for x in samples) / len(samples))


CLIP = 32767
"""A sample at or beyond this magnitude is clipped (full scale)."""


@dataclass(frozen=True, slots=True)
class Continuity:
    """How steady a captured tone stays, measured per short window."""

    windows: int
    """Windows measured (after the skipped start)."""
    median_rms: float
    """The median window's RMS level."""
    lowest_ratio: float
    """The quietest window's RMS over the median (1.0: perfectly steady)."""
    dips: int
    """Windows whose RMS is below ``floor`` × the median: what a listener hears as a drop-out."""
    clipped: int
    """Samples at full scale (±32767): what a listener hears as a burst of noise."""

    @property
    def dip_share(self) -> float:
        """Dips as a share of all windows (0.0 … 1.0)."""
        return self.dips / self.windows if self.windows else 0.0

    def __str__(self) -> str:
        return (
            f"{self.windows} windows, median RMS {self.median_rms:.0f}, lowest "
            f"{self.lowest_ratio:.2f}x, {self.dips} dips, {self.clipped} clipped samples"
        )


def continuity(
    samples: Sequence[int],
    rate: int,
    *,
    skip_ms: int = 200,
    window_ms: int = 20,
    floor: float = 0.7,
) -> Continuity:
    """Per ``window_ms`` window after the first ``skip_ms``: level against the median.

    Clipped samples are counted over the whole capture, the skipped start included.
    """
    size = rate * window_ms // 1000
    start = rate * skip_ms // 1000
    levels = [rms(samples[at : at + size]) for at in range(start, len(samples) - size + 1, size)]
    clipped = sum(1 for x in samples if x >= CLIP or x <= -CLIP)
    if not levels:
        return Continuity(0, 0.0, 0.0, 0, clipped)
    median = statistics.median(levels)
    lowest = min(levels) / median if median else 0.0
    dips = sum(1 for level in levels if level < floor * median)
    return Continuity(len(levels), median, lowest, dips, clipped)


def tone_segments(
    samples: Sequence[int], rate: int, *, min_gap_ms: int = 700, window_ms: int = 20
) -> list[Sequence[int]]:
    """The stretches of ``samples`` that carry sound, split at silences of ``min_gap_ms`` or more.

    For a recording of a whole call (a headset, a phone): a hold is a long
    silence and splits it; a codec's drop-out (hundreds of ms) is shorter and
    stays inside its stretch, where :func:`continuity` finds it. The last two
    windows of a stretch (cut mid-window by the hold) are left out.
    """
    size = rate * window_ms // 1000
    levels = [rms(samples[at : at + size]) for at in range(0, len(samples) - size + 1, size)]
    if not levels:
        return []
    loud = sorted(levels)[int(len(levels) * 0.9)] * 0.25
    gap = min_gap_ms // window_ms
    stretches: list[tuple[int, int]] = []
    quiet_run = 0
    start: int | None = None
    for index, level in enumerate(levels):
        if level >= loud and loud > 0:
            if start is None:
                start = index
            elif quiet_run >= gap:
                stretches.append((start, index - quiet_run))
                start = index
            quiet_run = 0
        elif start is not None:
            quiet_run += 1
    if start is not None:
        stretches.append((start, len(levels) - quiet_run))
    return [samples[a * size : max(a, b - 2) * size] for a, b in stretches]


def tone_level(samples: Sequence[int], rate: int, hz: float) -> float:
    """The amplitude of the ``hz`` component of ``samples`` (a sine of amplitude A gives
    about A), to tell which of several mixed tones a party hears."""
    if not samples:
        return 0.0
    power = max(_goertzel_power(samples, rate, hz), 0.0)
    return 2.0 * math.sqrt(power) / len(samples)
