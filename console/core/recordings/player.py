# SPDX-License-Identifier: GPL-2.0-or-later
"""Hearing a recording: open it (audited), list its timeline, play it through the sound device.

One place for what ``careline recordings play`` and ``careline qa`` both do:

- :func:`open_audited` runs an opener (this console's file with its key,
  :func:`local_opener`; or the hub's, sealed for the QA key, built in
  :mod:`console.hub.recordings`), writes the ``record_play`` audit row
  (``ok``, or ``fail`` when the file is missing, not this key's or altered)
  and returns an :class:`OpenRecording` with its timeline of moments;
- :func:`play_pcm` writes audio to the output device, paced to real time (a
  virtual device has no clock) and stoppable between blocks;
- :class:`Playback` runs that in a thread of its own, so a screen never waits
  on the sound device.

Messages name files and settings, never the audio, a key or a patient.
``sounddevice`` and ``cryptography`` are imported only when a recording is
played or opened.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from console.core.audit import AuditLog, Outcome
from console.core.recordings.playback import Moment, red_flags, speed_up, timeline
from console.core.records import dataclass
from console.core.store import Store
from console.core.store_connection import StoreKey

if TYPE_CHECKING:
    from sip.recording_file import Recording

PLAY_BLOCK_SECONDS = 0.1
"""Audio handed to the device per write (also how soon a stop is heard)."""

RecordingOpener = Callable[[], Awaitable[tuple["Recording", list[str]]]]
"""Reads and decrypts one recording: the recording, and when red flags were raised on
its call (UTC ISO times)."""


class PlaybackError(Exception):
    """The recording cannot be heard here; the message says why (no audio, no key in it)."""


@dataclass(frozen=True)
class OpenRecording:
    """A decrypted recording and its timeline, ready to be played from any moment."""

    call_id: str
    recording: Recording = field(repr=False)
    moments: list[Moment]
    """Pauses, holds, transfer steps and red flags, in time order."""

    @property
    def rate(self) -> int:
        """Samples per second."""
        return self.recording.sample_rate

    @property
    def seconds(self) -> float:
        """Length of the audio."""
        return self.recording.seconds

    def summary(self) -> str:
        """``12.0 s, complete`` (or cut short)."""
        state = "complete" if self.recording.complete else "cut short (the phone stopped mid-call)"
        return f"{self.seconds:.1f} s, {state}"

    def audio_from(self, seconds: float, speed: float) -> bytes:
        """The audio from ``seconds`` on, at ``speed`` (slow at 1.5x: run it in a thread)."""
        start = max(0, int(seconds * self.rate)) * 2
        return speed_up(self.recording.pcm[start:], self.rate, speed)


async def audit_play(audit: AuditLog, agent_id: str, outcome: Outcome) -> None:
    """The audit row of one playback (or of a playback that could not open)."""
    await audit.append(agent_id, "record_play", "recording", outcome)


async def open_audited(
    audit: AuditLog, agent_id: str, call_id: str, opener: RecordingOpener
) -> OpenRecording:
    """Open a recording for playing, with its audit row; raises :class:`PlaybackError`."""
    from console.core.recordings.sealing import SealError
    from sip.recording_file import RecordingFileError

    try:
        recording, raised = await opener()
    except (RecordingFileError, SealError, OSError) as exc:
        await audit_play(audit, agent_id, "fail")
        if isinstance(exc, FileNotFoundError):
            raise PlaybackError("its file is gone (deleted, or on another machine)") from None
        raise PlaybackError(str(exc)) from None
    await audit_play(audit, agent_id, "ok")
    flags = red_flags(str(recording.header.get("created", "")), recording.seconds, raised)
    moments = timeline(recording.marks, recording.sample_rate, flags)
    return OpenRecording(call_id, recording, moments)


def local_opener(
    store: Store, directory: Path, store_key: StoreKey | None, call_id: str
) -> RecordingOpener:
    """This console's recording of the call (its key from ``directory`` and the store's key,
    never made here), and when red flags were raised (its audit log)."""
    from console.core.recordings.keys import recordings_key
    from sip.recording_file import RecordingFileError, read_recording

    async def opened() -> tuple[Recording, list[str]]:
        rows = await store.fetch_all(
            "SELECT file FROM recordings WHERE call_id = ? AND state <> 'deleted'", (call_id,)
        )
        if not rows:
            raise RecordingFileError("no such recording here (deleted, or never made)")
        key = await asyncio.to_thread(recordings_key, directory, store_key, create=False)
        recording = await asyncio.to_thread(read_recording, Path(rows[0][0]), key.key)
        raised = await store.fetch_all("SELECT at FROM audit WHERE action = 'escalate'")
        return recording, [str(row[0]) for row in raised]

    return opened


def open_sealed(data: bytes, sealed_key: bytes, private_pem: bytes) -> Recording:
    """A hub recording's bytes opened with the QA private key (raises ``SealError`` or
    ``RecordingFileError``)."""
    from console.core.recordings.sealing import unseal
    from sip.recording_file import decrypt_recording

    return decrypt_recording(data, unseal(sealed_key, private_pem))


def play_pcm(
    pcm: bytes,
    rate: int,
    device: str,
    stop: threading.Event | None = None,
    played: Callable[[int], None] | None = None,
) -> None:
    """Play 16-bit mono ``pcm`` on the output ``device`` ("" the default) until it ends or
    ``stop`` is set; ``played`` hears the samples written so far after each block. Raises
    ``HeadsetError`` (no such device, no PortAudio) with a message fit for the user."""
    from sip.headset.devices import load_sounddevice, rescan_devices, resolve_device
    from sip.headset.pacing import RealTimeGuard

    sd = load_sounddevice()
    rescan_devices()  # a headset plugged in since, or another device configuration
    output = resolve_device(device, "output")
    frames = int(rate * PLAY_BLOCK_SECONDS)
    guard = RealTimeGuard(rate)  # a card paces itself; a virtual device is held here
    written = 0
    with sd.RawOutputStream(
        device=output["index"], samplerate=rate, channels=1, dtype="int16"
    ) as stream:
        for at in range(0, len(pcm), frames * 2):
            if stop is not None and stop.is_set():
                return
            block = pcm[at : at + frames * 2]
            stream.write(block)
            written += len(block) // 2
            guard(len(block) // 2)
            if played is not None:
                played(written)


class Playback:
    """One recording playing in a thread of its own, from a moment, at a speed.

    ``ended`` is called once from that thread with None (the end was reached or
    :meth:`stop` was called) or what went wrong (no sound device): hand it on with a
    thread-safe call such as Textual's ``post_message``.
    """

    def __init__(
        self,
        opened: OpenRecording,
        start: float,
        speed: float,
        device: str,
        ended: Callable[[str | None], None],
        after: Playback | None = None,
    ) -> None:
        self.opened = opened
        self.start = start
        """Where on the recording it started (seconds)."""
        self.speed = speed
        self.device = device
        self._ended = ended
        self._after = after
        """A playback told to stop, which this one waits for (one stream at a time)."""
        self._stop = threading.Event()
        self.finished = False
        """Played to the end (not stopped, nothing failed)."""
        self._samples = 0
        self._thread = threading.Thread(target=self._run, name="careline-playback", daemon=True)

    def begin(self) -> None:
        """Start playing (returns at once)."""
        self._thread.start()

    @property
    def position(self) -> float:
        """Where on the recording it is now (seconds)."""
        heard = self._samples / self.opened.rate * self.speed
        return min(self.start + heard, self.opened.seconds)

    @property
    def playing(self) -> bool:
        """Whether the thread is still playing."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop within a block (:data:`PLAY_BLOCK_SECONDS`), or before it starts; returns at
        once (:meth:`wait` waits)."""
        self._stop.set()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the thread to end; whether it has."""
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(seconds)
        return not self._thread.is_alive()

    def _played(self, samples: int) -> None:
        self._samples = samples

    def _run(self) -> None:
        from sip.headset.errors import HeadsetError

        problem: str | None = None
        if self._after is not None:
            self._after.stop()
            self._after.wait(60.0)  # preparing 1.5x cannot be cut short; playing stops at once
            self._after = None
        try:
            pcm = self.opened.audio_from(self.start, self.speed)
            if not self._stop.is_set():
                play_pcm(pcm, self.opened.rate, self.device, self._stop, self._played)
                self.finished = not self._stop.is_set()
        except HeadsetError as exc:
            problem = str(exc)
        except Exception as exc:  # the sound library's own errors: said, never raised here
            problem = f"the sound device failed ({type(exc).__name__})"
        self._ended(problem)
