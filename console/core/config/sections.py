# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's settings, section by section, and :class:`CarelineConfig`, all of them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from console.core.config.base import ENV_NAME, Section
from console.core.config.ehr import EhrConfig
from console.core.config.monitoring import MonitoringConfig
from console.core.config.phone import EngineConfig, SipConfig
from console.core.config.recording import RecordingConfig
from console.core.config.worklists import WorklistsConfig
from console.core.schema import Field, field_validator, model_validator


class AgentConfig(Section):
    """Who is using this console."""

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")] = "agent"
    """Identifier stored on every call record; unique per person."""
    name: Annotated[str, Field(min_length=1, max_length=80)] = "Agent"
    """Name shown in the status bar."""


class StoreEncryptionConfig(Section):
    """Encryption at rest of the local store (SQLCipher). The key never lives in this file."""

    key_env: Annotated[str, Field(pattern=ENV_NAME)] | None = None
    """Environment variable holding the store's passphrase; None: not from the environment."""
    key_file: Path | None = None
    """File holding the passphrase (must be mode 0600 and yours); None: not from a file."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.key_env is not None and self.key_file is not None:
            raise ValueError("set key_env or key_file, not both")
        return self


class StoreConfig(Section):
    """The local SQLite store."""

    path: Path | None = None
    """Database file; None: ``careline.sqlite3`` in the user data directory."""
    encryption: StoreEncryptionConfig = StoreEncryptionConfig()
    """Encryption at rest; with neither key setting the store is plain SQLite (the default)."""


class DirectoryEntry(Section):
    """A transfer or dial target in the agent's directory."""

    name: Annotated[str, Field(min_length=1, max_length=60)]
    """What the agent searches for and sees, e.g. "Nurse line"."""
    number: Annotated[str, Field(min_length=1, max_length=256)]
    """A number, an extension or a SIP URI (resolved by the dial plan)."""
    description: Annotated[str, Field(max_length=200)] = ""
    """One line on when to use it."""
    hours: Annotated[str, Field(max_length=60)] = ""
    """When it is staffed, as text (e.g. "Mon-Fri 08:00-18:00")."""
    type: Literal["queue", "person", "external", "emergency"] = "queue"
    """Kind of target; emergency targets are listed first and marked."""


class UiConfig(Section):
    """The console's look and behaviour."""

    theme: Literal["careline", "high-contrast", "monochrome"] = "careline"
    """Colour theme: the default, a high-contrast one, or monochrome-safe."""
    not_ready_reasons: list[Annotated[str, Field(min_length=1, max_length=40)]] = [
        "Break",
        "Lunch",
        "Meeting",
        "Training",
        "Coaching",
        "Admin",
    ]
    """Reasons offered when the agent goes Not ready."""

    history_size: Annotated[int, Field(ge=1, le=500)] = 20
    """How many finished calls the history list shows."""
    bell: bool = True
    """Ring the terminal bell when a call starts ringing."""
    max_caller_chars: Annotated[int, Field(ge=8, le=200)] = 48
    """Longest caller name or number shown before it is cut with an ellipsis."""


class GuidanceConfig(Section):
    """Call scripts and clinical escalation."""

    scripts: Path | None = None
    """A directory of your own scripts and forms (YAML), used beside the shipped
    library; one with the same id replaces the shipped one. None: shipped only."""
    organisation: Annotated[str, Field(min_length=1, max_length=80)] = "Careline Health"
    """How scripts name the organisation (``{org.name}``)."""
    emergency_number: Annotated[str, Field(pattern=r"^[0-9+*#]{2,15}$")] = "911"
    """The local emergency number red flags tell the agent to use (``{org.emergency_number}``)."""
    crisis_line: Annotated[str, Field(pattern=r"^[0-9+*#]{2,15}$")] = "988"
    """The suicide and crisis line (``{org.crisis_line}``)."""
    nurse_line: Annotated[str, Field(max_length=80)] = ""
    """How callers reach the nurse advice line (``{org.nurse_line}``); empty: not said."""
    hours: Annotated[str, Field(max_length=120)] = ""
    """Opening hours as scripts should say them (``{org.hours}``); empty: not said."""
    emergency_target: Annotated[str, Field(max_length=60)] = ""
    """Directory entry (by name) the one-key escalation transfers to for an
    emergency; empty: the first directory entry of type ``emergency``."""
    nurse_target: Annotated[str, Field(max_length=60)] = ""
    """Directory entry (by name) for red flags that need a nurse; empty: none."""
    crisis_target: Annotated[str, Field(max_length=60)] = ""
    """Directory entry (by name) for the crisis line; empty: none."""


class WrapUpConfig(Section):
    """After-call work."""

    mode: Literal["optional", "mandatory", "timed", "off"] = "timed"
    """optional: the agent may skip it; mandatory: no new call until a
    disposition is saved; timed: a countdown, then the default disposition;
    off: no wrap-up screen, the interaction is saved at once with the default
    disposition (supervisors, test rigs)."""
    seconds: Annotated[int, Field(ge=5, le=3600)] = 90
    """Length of a timed wrap-up."""

    @field_validator("mode", mode="before")
    @classmethod
    def _off_is_not_false(cls, value: object) -> object:
        """YAML reads a bare ``off`` as false: take it as the mode it was meant to be."""
        return "off" if value is False else value

    extension_seconds: Annotated[int, Field(ge=5, le=3600)] = 60
    """A timed wrap-up can be extended once, by this much, with a reason."""
    default_disposition: Annotated[str, Field(min_length=1, max_length=64)] = "not_recorded"
    """Disposition id saved when a timed wrap-up runs out (must exist in the form)."""


class HubConfig(Section):
    """The central hub (PostgreSQL) the console syncs its outbox to."""

    dsn: Annotated[str, Field(max_length=500)] = ""
    """libpq connection string without the password, e.g.
    ``host=127.0.0.1 port=5432 dbname=careline user=alice``; empty: no hub
    (everything stays local; supervise and queue tail read the local store)."""
    password_env: Annotated[str, Field(pattern=ENV_NAME)] = "CARELINE_HUB_PASSWORD"
    """Environment variable holding the agent's hub password."""
    password_file: Path | None = None
    """File holding the hub password (mode 0600, yours); takes precedence over the variable."""

    @field_validator("dsn")
    @classmethod
    def _no_password(cls, value: str) -> str:
        if re.search(r"(^|\s)password\s*=|://[^/@\s]*:[^/@\s]*@", value):
            raise ValueError("put the password in hub.password_file or its variable, not the DSN")
        return value


class SuperviseConfig(Section):
    """Thresholds of the supervisor's wallboard and alerts."""

    service_level_target: Annotated[float, Field(gt=0, le=1)] = 0.80
    """Share of calls to answer within the threshold (80%)."""
    service_level_seconds: Annotated[int, Field(ge=1, le=600)] = 20
    """The service level threshold in seconds (20 s)."""
    wrap_up_alert_minutes: Annotated[int, Field(ge=1, le=240)] = 5
    """Alert when an agent has been in wrap-up this long."""
    not_ready_alert_minutes: Annotated[int, Field(ge=1, le=480)] = 15
    """Alert when an agent has been not ready this long."""
    stale_sync_minutes: Annotated[int, Field(ge=1, le=240)] = 2
    """Alert when nothing has been heard from an agent's console this long."""


class SessionConfig(Section):
    """The agent's sign-in PIN and the idle screen lock."""

    idle_lock_minutes: Annotated[float, Field(ge=0, le=480)] = 10
    """Lock the screen (hiding all patient data) after this many minutes without
    a key or mouse event; the call goes on. 0: never lock by itself."""
    pin_file: Path | None = None
    """The agent's PIN file (salted scrypt hash, mode 0600) written by
    ``careline pin set``; default: ``careline-pin`` in the user config directory."""
    sign_in: Literal["auto", "required", "off"] = "auto"
    """Ask for the agent id and PIN when the console starts (``careline run`` and
    ``careline attach``), before any patient data shows. ``auto``: when a PIN file
    exists; ``required``: refuse to start without a PIN for ``agent.id``; ``off``: never."""

    @field_validator("sign_in", mode="before")
    @classmethod
    def _sign_in_off_is_not_false(cls, value: object) -> object:
        """YAML reads a bare ``off`` as false, as in ``wrap_up.mode``."""
        return WrapUpConfig._off_is_not_false(value)


class HeadsetConfig(Section):
    """The sound device of the machine running the console (PortAudio)."""

    output_device: Annotated[str, Field(max_length=200)] | None = None
    """Where the caller is heard: a device index or part of its name
    (``careline audio devices`` lists them); None: the system default."""
    input_device: Annotated[str, Field(max_length=200)] | None = None
    """The microphone, the same way; None: the system default."""
    buffer_ms: Annotated[int, Field(ge=20, le=500)] = 60
    """Most audio held between the call and the device each way; more is dropped
    (a slower device never lets the delay grow past this)."""


class StationConfig(Section):
    """The agent's own phone, called by the engine when the agent signs in."""

    number: Annotated[str, Field(max_length=200)] = ""
    """The phone to call: a number, an extension or a SIP URI (dialled with the dial plan)."""
    answer_seconds: Annotated[int, Field(ge=5, le=120)] = 30
    """How long the station phone may ring before the attempt is given up."""


class AudioConfig(Section):
    """How the agent hears the caller and is heard."""

    mode: Literal["headset", "station", "none"] = "headset"
    """``headset``: the sound device here; ``station``: the engine calls the
    agent's own phone at sign-in and bridges every call to it; ``none``: no
    agent audio (headless, monitoring, tests: ``sip.audio_source`` is sent)."""
    headset: HeadsetConfig = HeadsetConfig()
    """Headset devices."""
    station: StationConfig = StationConfig()
    """The station phone."""

    @model_validator(mode="after")
    def _station_needs_number(self) -> Self:
        if self.mode == "station" and not self.station.number.strip():
            raise ValueError("mode station needs station.number (the agent's own phone)")
        return self


class CarelineConfig(Section):
    """The whole configuration."""

    agent: AgentConfig = AgentConfig()
    """The agent using this console."""
    sip: SipConfig = SipConfig()
    """SIP settings of the phone engine."""
    audio: AudioConfig = AudioConfig()
    """How the agent hears and is heard (headset, station phone, or none)."""
    engine: EngineConfig = EngineConfig()
    """Engine process settings."""
    store: StoreConfig = StoreConfig()
    """Local store settings."""
    ui: UiConfig = UiConfig()
    """Console settings."""
    directory: list[DirectoryEntry] = []
    """Transfer and dial targets offered in the picker."""
    guidance: GuidanceConfig = GuidanceConfig()
    """Call scripts and escalation targets."""
    wrap_up: WrapUpConfig = WrapUpConfig()
    """After-call work."""
    hub: HubConfig = HubConfig()
    """The central hub; none by default."""
    ehr: EhrConfig = EhrConfig()
    """The clinic's FHIR R4 server; none by default."""
    supervise: SuperviseConfig = SuperviseConfig()
    """The supervisor's wallboard."""
    session: SessionConfig = SessionConfig()
    """Sign-in PIN and idle lock."""
    worklists: WorklistsConfig = WorklistsConfig()
    """Outbound worklists: calling window, per-patient caps, caller ID."""
    recording: RecordingConfig = RecordingConfig()
    """Call recording per queue (off unless a queue says so)."""
    monitoring: MonitoringConfig = MonitoringConfig()
    """Supervisors listening in: local grants, what the agent is shown."""
    keymap: dict[
        Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$")],
        Annotated[str, Field(min_length=1, max_length=40)],
    ] = {}
    """Key overrides by binding id, e.g. {"call.hold": "f5"} (see the help screen for ids)."""
