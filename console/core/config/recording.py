# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``recording:`` section: which queues' calls are recorded, how, and for how long.

A queue is recorded ``off`` (the default), ``announce`` (an announcement tells the
patient before the agent joins, then the call is recorded) or ``consent`` (the
patient presses 1, or the agent records their spoken yes, before anything is
recorded). Recordings are encrypted as they are written (see
:mod:`sip.recording_file`); the key comes from the store's key material.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from console.core.config.base import Section
from console.core.schema import Field, field_validator, model_validator

PauseForm = Literal["verify", "keypad"]
"""A form that can pause a recording: ``verify`` (the verification dialog, paused by
default) and ``keypad`` (the DTMF pad): each dialog's ``FORM_ID``."""


class QueueRecordingConfig(Section):
    """How one queue's calls are recorded."""

    mode: Literal["off", "announce", "consent"] = "off"
    """off: never; announce: the announcement plays to the patient, then the call is
    recorded; consent: recorded only after the patient presses 1 (or the agent records
    their yes); 2 or the agent's refusal: nothing is recorded."""
    announcement: Path | None = None
    """A WAV file (16-bit PCM) played to the patient before the agent joins; required for
    announce, optional for consent (e.g. "press 1 to agree to this call being recorded")."""
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """Recordings older than this are deleted (and each deletion audited)."""
    pause_forms: list[PauseForm] = ["verify"]
    """While one of these is open the recording pauses by itself: ``verify`` (the identity
    check), ``keypad`` (the DTMF pad, e.g. keying a card number into a payment line)."""

    @field_validator("mode", mode="before")
    @classmethod
    def _off_is_not_false(cls, value: object) -> object:
        """YAML reads a bare ``off`` as false: take it as the mode it was meant to be."""
        return "off" if value is False else value

    @field_validator("announcement")
    @classmethod
    def _wav(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        import wave  # only a configuration with an announcement needs it

        path = value.expanduser()
        try:
            with wave.open(str(path), "rb") as wav:
                if wav.getsampwidth() != 2 or wav.getnframes() == 0:
                    raise ValueError(f"{path} must be 16-bit PCM audio, not empty")
        except FileNotFoundError:
            raise ValueError(f"no such file: {path}") from None
        except (OSError, wave.Error, EOFError) as exc:
            raise ValueError(f"{path} is not a WAV file: {exc}") from None
        return path

    @model_validator(mode="after")
    def _announce_needs_audio(self) -> Self:
        if self.mode == "announce" and self.announcement is None:
            raise ValueError("mode announce needs an announcement (a WAV file)")
        return self


class RecordingConfig(Section):
    """Call recording, queue by queue; nothing is recorded unless a queue says so."""

    directory: Path | None = None
    """Where the encrypted recordings go; None: ``recordings`` beside the local store."""
    queues: dict[Annotated[str, Field(min_length=1, max_length=128)], QueueRecordingConfig] = {}
    """Each queue's recording (X-Queue header or called user); ``"*"``: every queue not
    listed."""

    qa_public_key: Path | None = None
    """The QA team's X25519 public key (PEM): with a hub, each recording goes there for QA,
    still encrypted, its key sealed for this key. None: recordings stay on this machine."""
    qa_private_key: Path | None = None
    """A supervisor's QA private key (PEM, a 0600 file) to play recordings from the hub."""

    def for_queue(self, queue: str) -> QueueRecordingConfig:
        """The recording of ``queue`` (off when neither it nor ``*`` is listed)."""
        return self.queues.get(queue) or self.queues.get("*") or QueueRecordingConfig()

    @property
    def any_recorded(self) -> bool:
        """Whether some queue is recorded."""
        return any(queue.mode != "off" for queue in self.queues.values())

    @property
    def longest_retention_days(self) -> int:
        """The longest retention of any queue (what a recording of an unknown queue keeps)."""
        return max((q.retention_days for q in self.queues.values()), default=90)
