"""Configuration: embedded defaults, a user file, environment overrides.

Layers, later wins: ``config/careline.yaml`` (shipped defaults), the user's
file (``--config`` or ``careline.yaml`` in the user config directory), then
``CARELINE_<SECTION>__<FIELD>`` environment variables. The merged result is
validated by pydantic models with ``extra="forbid"``; a problem becomes a
:class:`ConfigError` naming the file, the line and the field.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from platformdirs import user_config_path
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from console.core.bounded_load import LimitError, Limits, compose_yaml, read_text
from console.core.paths import default_config_file
from console.core.store import StoreKey
from sip.codecs import DEFAULT_CODECS, RISKY, check_name

ENV_PREFIX = "CARELINE_"
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
CONFIG_LIMITS = Limits(max_bytes=1_000_000)
"""A configuration is a few kilobytes: past these it is a mistake or an attack, not a config."""


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentConfig(_Model):
    """Who is using this console."""

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")] = "agent"
    """Identifier stored on every call record; unique per person."""
    name: Annotated[str, Field(min_length=1, max_length=80)] = "Agent"
    """Name shown in the status bar."""


def parse_host_port(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (IPv4 or hostname) and check the port range."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:5070")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"port {port!r} is not a number from 0 to 65535")
    return host, int(port)


HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$"
DeclineCode = Literal[480, 486, 600, 603]


class AccountConfig(_Model):
    """Registration to a registrar/PBX. The password never lives in this file."""

    registrar: Annotated[str, Field(pattern=r"^sips?:\S+$")]
    """Registrar URI, e.g. ``sip:pbx.example.org`` or ``sip:127.0.0.1:5060``."""
    user: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s@:;]+$")]
    """SIP user of the address-of-record."""
    domain: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\s@;]+$")]
    """SIP domain of the address-of-record."""
    auth_user: Annotated[str, Field(max_length=64)] = ""
    """Digest username when it differs from ``user``."""
    password_env: Annotated[str, Field(pattern=ENV_NAME)] = "CARELINE_SIP_PASSWORD"
    """Environment variable holding the digest password."""
    password_file: Path | None = None
    """File holding the digest password (must be mode 0600 and yours); wins over the variable."""
    outbound_proxy: Annotated[str, Field(pattern=r"^(sips?:\S+)?$")] = ""
    """Outbound proxy URI; empty: none."""
    expires: Annotated[int, Field(ge=30, le=86400)] = 300
    """Requested registration lifetime in seconds."""
    retry_interval: Annotated[int, Field(ge=5, le=3600)] = 30
    """Seconds between registration retries after a failure."""
    transport: Literal["udp", "tcp", "tls"] = "udp"
    """Transport to the registrar."""


class TlsConfig(_Model):
    """SIP over TLS: 1.2 and 1.3 (1.3 on the hardened library only), nothing older."""

    port: Annotated[int, Field(ge=0, le=65535)] = 5071
    """TLS listening port on the listen host."""
    version: str = "1.2"
    """The lowest TLS version spoken: ``1.2`` (1.2, and 1.3 where the engine's library has
    it) or ``1.3`` (1.3 only: needs the hardened library). Older versions are refused."""
    cert_file: Path | None = None
    """PEM certificate presented to peers."""
    key_file: Path | None = None
    """PEM private key of the certificate."""
    ca_file: Path | None = None
    """PEM CA bundle used to verify peers; None: the system bundle (Debian's
    ca-certificates) when verify_server or verify_client is on."""
    verify_server: bool = True
    """Verify the certificate of a registrar or peer we connect to."""
    verify_client: bool = False
    """Require and verify client certificates on incoming TLS connections."""

    @field_validator("version", mode="before")
    @classmethod
    def _check_version(cls, value: object) -> str:
        text = str(value).strip().lower().removeprefix("tlsv").removeprefix("tls").strip()
        if text in ("1.2", "1.3"):
            return text
        raise ValueError(f"TLS {value} is refused: weaker than TLS 1.2; use version: '1.2'")


class DialConfig(_Model):
    """How typed numbers become SIP URIs."""

    region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    """Region for numbers without a country code (ISO 3166 alpha-2, e.g. US, GB)."""
    extension_pattern: str = r"^\d{2,6}$"
    """Numbers matching this regular expression are internal extensions, dialled as typed."""
    domain: str = ""
    """Domain for dialled numbers when no account is configured."""
    prefix: Annotated[str, Field(pattern=r"^[0-9*#+]*$")] = ""
    """Prepended to external E.164 numbers (a trunk prefix); empty: none."""

    @field_validator("extension_pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


MAX_QUEUE_CAPACITY = 30
"""Most calls one agent's queue may hold: the hardened library's 32 slots less a station
leg and a consult call."""


class SipConfig(_Model):
    """The phone engine's SIP side."""

    listen: str = "127.0.0.1:5070"
    """Where the engine listens for SIP, ``HOST:PORT`` (port 0: any free port)."""
    transports: list[Literal["udp", "tcp"]] = ["udp"]
    """Plain transports on the listen address."""
    tls: TlsConfig | None = None
    """SIP over TLS (1.2, and 1.3 on the hardened library); None: no TLS listener."""
    srtp: Literal["off", "optional", "mandatory"] = "off"
    """SRTP policy; ``mandatory`` refuses calls that cannot be encrypted."""
    srtp_keying: Annotated[list[Literal["sdes", "dtls"]], Field(max_length=2)] = []
    """SRTP key exchanges, preferred first (``sdes``, ``dtls``); empty: every one the engine's
    library has, SDES first. ``dtls`` needs the hardened library (``make library``)."""
    codecs: Annotated[list[str], Field(min_length=1, max_length=16)] = list(DEFAULT_CODECS)
    """Audio codecs calls may use, most preferred first (``G722``, ``PCMU``, ``speex/8000``…);
    every other codec is off. ``careline doctor`` lists what this engine has."""
    allow_speex_despite_dropouts: bool = False
    """Allow Speex in ``codecs``. Its silence suppression sends nothing for 400 ms at a time
    on quiet, clean audio, and after a hold/resume its decoder can play ~1 s of full-scale
    noise: patients hear gaps and bursts. Off unless a peer can do nothing else."""
    account: AccountConfig | None = None
    """Registration; None: no registrar, calls are taken directly on the listen address."""
    auto_answer: Annotated[int, Field(ge=200, le=699)] | None = None
    """Answer every call with this code (200), or refuse it (4xx-6xx); None: the agent answers."""
    auto_answer_queues: list[Annotated[str, Field(min_length=1, max_length=64)]] = []
    """Queues whose calls are answered at once with a beep ("auto-in"): X-Queue or called user."""
    busy_code: DeclineCode = 486
    """SIP code for calls turned away because the local queue is full."""
    unavailable_code: DeclineCode = 480
    """SIP code for calls turned away because the agent is not available."""
    accept_calls_in_wrap_up: bool = False
    """Let new calls ring while the agent is in after-call work."""
    queue_capacity: Annotated[int, Field(ge=1, le=MAX_QUEUE_CAPACITY)] = 3
    """Incoming calls held at once. A library with fewer call slots (the PyPI wheel has 4,
    the hardened build 32; one less in station mode) holds one fewer than its slots, so a
    consult call or a dial always has one."""
    passthrough_headers: list[Annotated[str, Field(pattern=HEADER_NAME)]] = [
        "X-Queue",
        "Alert-Info",
        "Diversion",
        "Priority",
    ]
    """Headers of an incoming INVITE shown to the console (as plain text)."""
    accept_incoming_transfer: bool = False
    """Follow a REFER sent by the remote party; by default it is declined."""
    dial: DialConfig = DialConfig()
    """Dial plan."""
    audio_source: str = "silence"
    """What the engine sends into calls with no headset: ``silence``, ``tone:HZ`` or a WAV file."""
    user_agent: Annotated[str, Field(min_length=1, max_length=80)] = "careline"
    """SIP User-Agent header."""
    log_level: Annotated[int, Field(ge=0, le=6)] = 2
    """pjsip log verbosity in the engine log; 3+ writes caller identity (PHI), debug only."""
    log_sip_messages: bool = False
    """Whole SIP messages in the engine log (they carry caller identity)."""

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_host_port(value)
        return value

    @field_validator("codecs")
    @classmethod
    def _check_codecs(cls, value: list[str]) -> list[str]:
        for entry in value:
            check_name(entry)
        lowered = [entry.lower() for entry in value]
        if len(set(lowered)) != len(lowered):
            raise ValueError("a codec is named twice")
        return value

    @model_validator(mode="after")
    def _check_speex(self) -> SipConfig:
        named = [e for e in self.codecs if e.split("/")[0].lower() in RISKY]
        if named and not self.allow_speex_despite_dropouts:
            raise ValueError(
                f"codecs: {named[0]} drops out on quiet audio and can burst into noise after "
                "a hold; set sip.allow_speex_despite_dropouts: true to use it anyway"
            )
        return self

    @field_validator("auto_answer")
    @classmethod
    def _check_auto_answer(cls, value: int | None) -> int | None:
        if value is not None and 200 < value < 400:
            raise ValueError("use 200 to answer, or a 4xx-6xx code to refuse")
        return value

    @field_validator("audio_source")
    @classmethod
    def _check_audio_source(cls, value: str) -> str:
        if value == "silence":
            return value
        if value.startswith("tone:"):
            try:
                hz = float(value.removeprefix("tone:"))
            except ValueError:
                hz = -1
            if not 50 <= hz <= 3800:
                raise ValueError("tone:HZ needs a frequency from 50 to 3800")
            return value
        if not value.lower().endswith(".wav"):
            raise ValueError("use silence, tone:HZ or the path of a .wav file")
        return value


class EngineConfig(_Model):
    """How the console runs the engine process."""

    socket: Path | None = None
    """Engine Unix socket; None: ``engine.sock`` in the per-user runtime directory."""
    restart_delay: Annotated[float, Field(ge=0.1, le=60)] = 1.0
    """Seconds to wait before restarting an engine that died."""
    orphan_exit: Annotated[float, Field(ge=0, le=86400)] = 60.0
    """Seconds an engine with no console attached and no call waits before exiting (0: never)."""


class StoreEncryptionConfig(_Model):
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


class StoreConfig(_Model):
    """The local SQLite store."""

    path: Path | None = None
    """Database file; None: ``careline.sqlite3`` in the user data directory."""
    encryption: StoreEncryptionConfig = StoreEncryptionConfig()
    """Encryption at rest; with neither key setting the store is plain SQLite (the default)."""


class DirectoryEntry(_Model):
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


class UiConfig(_Model):
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


class GuidanceConfig(_Model):
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


class WrapUpConfig(_Model):
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


class HubConfig(_Model):
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


class SuperviseConfig(_Model):
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


class SessionConfig(_Model):
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


class HeadsetConfig(_Model):
    """The sound device of the machine running the console (PortAudio)."""

    output_device: Annotated[str, Field(max_length=200)] | None = None
    """Where the caller is heard: a device index or part of its name
    (``careline audio devices`` lists them); None: the system default."""
    input_device: Annotated[str, Field(max_length=200)] | None = None
    """The microphone, the same way; None: the system default."""
    buffer_ms: Annotated[int, Field(ge=20, le=500)] = 60
    """Most audio held between the call and the device each way; more is dropped
    (a slower device never lets the delay grow past this)."""


class StationConfig(_Model):
    """The agent's own phone, called by the engine when the agent signs in."""

    number: Annotated[str, Field(max_length=200)] = ""
    """The phone to call: a number, an extension or a SIP URI (dialled with the dial plan)."""
    answer_seconds: Annotated[int, Field(ge=5, le=120)] = 30
    """How long the station phone may ring before the attempt is given up."""


class AudioConfig(_Model):
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


class CarelineConfig(_Model):
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
    supervise: SuperviseConfig = SuperviseConfig()
    """The supervisor's wallboard."""
    session: SessionConfig = SessionConfig()
    """Sign-in PIN and idle lock."""
    keymap: dict[
        Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$")],
        Annotated[str, Field(min_length=1, max_length=40)],
    ] = {}
    """Key overrides by binding id, e.g. {"call.hold": "f5"} (see the help screen for ids)."""


def user_config_file() -> Path:
    """``careline.yaml`` in the user's config directory (may not exist)."""
    return user_config_path("careline") / "careline.yaml"


class _Source:
    """One YAML document with the line of every key, for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = read_text(path, CONFIG_LIMITS.max_bytes)
        except FileNotFoundError:
            raise ConfigError(f"{path}: file not found") from None
        except LimitError as exc:
            raise ConfigError(f"{path}: {exc} for a configuration file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
        try:
            node, data = compose_yaml(text, CONFIG_LIMITS)
        except LimitError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
            raise ConfigError(f"{path}: {where}: YAML syntax error: {exc.problem}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: YAML error: {exc}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: line 1: the top level must be a mapping of sections")
        self.data: dict[str, Any] = data
        self.lines: dict[tuple[str, ...], int] = {}
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, prefix: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = (*prefix, str(key.value))
                self.lines[path] = key.start_mark.line + 1
                self._index(value, path)

    def line_of(self, loc: tuple[str, ...]) -> int | None:
        """The line of the deepest key of ``loc`` this file defines."""
        for depth in range(len(loc), 0, -1):
            if loc[:depth] in self.lines:
                return self.lines[loc[:depth]]
        return None


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, field = name[len(ENV_PREFIX) :].lower().partition("__")
        try:
            value = compose_yaml(raw, CONFIG_LIMITS)[1] if raw.strip() else None
        except LimitError as exc:
            raise ConfigError(f"environment variable {name}: {exc}") from None
        except yaml.YAMLError:
            value = raw
        overrides.setdefault(section, {})[field] = value
    return overrides


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> CarelineConfig:
    """Load and validate the layered configuration.

    ``path`` is the user's file; when None the user config directory's file
    is used if it exists. Raises :class:`ConfigError`.
    """
    environ = os.environ if environ is None else environ
    defaults = _Source(default_config_file())
    sources = [defaults]
    user = path if path is not None else user_config_file()
    if path is not None or user.exists():
        sources.append(_Source(user))
    merged: dict[str, Any] = {}
    for source in sources:
        merged = _merge(merged, source.data)
    env = _env_overrides(environ)
    merged = _merge(merged, env)
    try:
        return CarelineConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources, env)) from None


def _describe(exc: ValidationError, sources: list[_Source], env: dict[str, Any]) -> str:
    """One clear message for the first validation error (and a count of the rest)."""
    error = exc.errors()[0]
    loc = tuple(str(part) for part in error["loc"])
    field = ".".join(loc)
    if error["type"] == "extra_forbidden":
        problem = "unknown setting (check the spelling; see config/careline.yaml)"
    else:
        problem = error["msg"].removeprefix("Value error, ")
        # Echo what was given, except where it may hold a secret (a DSN with
        # a password in it, a key): the message ends up in terminals and logs.
        secret = any(word in field for word in ("dsn", "password", "key", "secret"))
        if "input" in error and not isinstance(error["input"], dict) and not secret:
            problem += f" (got {error['input']!r})"
    if len(loc) >= 2 and loc[0] in env and loc[1] in env[loc[0]]:
        where = f"environment variable {ENV_PREFIX}{loc[0].upper()}__{loc[1].upper()}"
    else:
        where = str(sources[-1].path)
        for source in reversed(sources):
            line = source.line_of(loc)
            if line is not None:
                where = f"{source.path}: line {line}"
                break
    more = len(exc.errors()) - 1
    suffix = f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""
    return f"{where}: {field}: {problem}{suffix}"


def read_secret_file(path: Path, setting: str) -> str:
    """The text of a secret file (surrounding whitespace stripped), named ``setting`` in errors.

    Raises :class:`ConfigError` when the file is readable by others, not
    yours, missing or unreadable.
    """
    path = path.expanduser()
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc}") from None
    if stat.S_IMODE(info.st_mode) & 0o077 or info.st_uid != os.getuid():
        raise ConfigError(
            f"{setting}: {path} must be yours and mode 0600 "
            f"(it is {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc}") from None


def read_secret(account: AccountConfig, environ: Mapping[str, str] | None = None) -> str:
    """The account's digest password from its 0600 file or its environment variable.

    Raises :class:`ConfigError` when the file is readable by others or missing.
    """
    environ = os.environ if environ is None else environ
    if account.password_file is not None:
        return read_secret_file(account.password_file, "sip.account.password_file")
    return environ.get(account.password_env, "")


def hub_password(config: CarelineConfig, environ: Mapping[str, str] | None = None) -> str:
    """The hub password from its 0600 file or its environment variable ('' if none).

    Raises :class:`ConfigError` when the file is readable by others or missing.
    """
    environ = os.environ if environ is None else environ
    if config.hub.password_file is not None:
        return read_secret_file(config.hub.password_file, "hub.password_file")
    return environ.get(config.hub.password_env, "")


def store_key(config: CarelineConfig, environ: Mapping[str, str] | None = None) -> StoreKey | None:
    """The key that opens the local store, or None for a plain SQLite store (the default).

    Every command that opens the store asks this, so they all open it the
    same way. Raises :class:`ConfigError` when encryption is configured but
    the key file is not 0600 or unreadable, or the key is missing or empty.
    """
    environ = os.environ if environ is None else environ
    encryption = config.store.encryption
    if encryption.key_file is not None:
        setting = "store.encryption.key_file"
        path = encryption.key_file.expanduser()
        passphrase = read_secret_file(path, setting)
        source = f"key file {path}"
    elif encryption.key_env is not None:
        setting = "store.encryption.key_env"
        source = f"environment variable {encryption.key_env}"
        if encryption.key_env not in environ:
            raise ConfigError(f"{setting}: {source} is not set (it holds the store's key)")
        passphrase = environ[encryption.key_env]
    else:
        return None
    # Whitespace alone is as good as no key; a NUL would be cut off in C.
    if not passphrase.strip():
        raise ConfigError(f"{setting}: the key in {source} is empty")
    if "\x00" in passphrase:
        raise ConfigError(f"{setting}: the key in {source} holds a NUL character")
    return StoreKey(passphrase, source=source)
