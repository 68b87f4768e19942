# SPDX-License-Identifier: GPL-2.0-or-later
"""Plain settings for the phone engine, built by the CLI from validated config.

Frozen plain classes (:mod:`sip.plain`) of plain values: no pjsua2 types and no config parsing
here, so the engine can be started from a test or a script just as well.

The console validates the YAML configuration (:mod:`console.core.schema`, careline's
own small model layer) and hands the engine process these settings as a plain JSON
*settings document* (:func:`settings_document`); the engine reads it back with
:func:`settings_from_document`, in plain Python, so the engine process never
loads YAML, that model layer or anything else of the console's code.
"""

from __future__ import annotations

import json
import os

from sip.codecs import DEFAULT_CODECS
from sip.plain import fields, plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SETTINGS_FORMAT = 1
"""Version of the settings document; an engine refuses a document of another version."""


@plain(frozen=True)
class AccountSettings:
    """Registration to a registrar/PBX with digest authentication."""

    registrar: str
    """Registrar URI, e.g. ``sip:pbx.example.org``."""
    user: str
    """SIP user (the address-of-record is ``sip:user@domain``)."""
    domain: str
    """SIP domain of the address-of-record."""
    auth_user: str = ""
    """Digest username when it differs from ``user``."""
    password: str = ""
    """Digest password (from the environment or a 0600 file, never from YAML)."""
    outbound_proxy: str = ""
    """Outbound proxy URI (``;lr`` is added when missing)."""
    expires: int = 300
    """Requested registration lifetime in seconds."""
    retry_interval: int = 30
    """Seconds between registration retries after a failure."""
    transport: str = "udp"
    """Transport used to reach the registrar: ``udp``, ``tcp`` or ``tls``."""


@plain(frozen=True)
class TlsSettings:
    """SIP over TLS: 1.2 and, where the library has it, 1.3."""

    port: int
    """TLS listening port on the listen host (0: any free port)."""
    min_version: str = "1.2"
    """``1.2`` (1.2 and 1.3 where the library has it) or ``1.3`` (1.3 only)."""
    cert_file: str = ""
    """PEM certificate presented to peers."""
    key_file: str = ""
    """PEM private key of ``cert_file``."""
    ca_file: str = ""
    """PEM CA bundle used to verify peers."""
    verify_server: bool = True
    """Verify the registrar's/peer's certificate when we connect."""
    verify_client: bool = False
    """Require and verify a client certificate on incoming TLS."""


@plain(frozen=True)
class DialSettings:
    """How typed numbers become SIP URIs."""

    region: str = "US"
    """Default region for numbers without a country code (ISO 3166 alpha-2)."""
    extension_pattern: str = r"^\d{2,6}$"
    """Numbers matching this are internal extensions and are dialled as typed."""
    domain: str = ""
    """Domain for dialled numbers when there is no account (``sip:NUMBER@domain``)."""
    prefix: str = ""
    """Prepended to external E.164 numbers (e.g. a trunk prefix); empty: none."""


@plain(frozen=True)
class HeadsetSettings:
    """The PortAudio devices of the headset bridge."""

    output_device: str = ""
    """Device index or part of its name; empty: the system default."""
    input_device: str = ""
    """Microphone device index or part of its name; empty: the system default."""
    buffer_ms: int = 60
    """Most audio queued each way before the oldest is dropped."""


@plain(frozen=True)
class AudioSettings:
    """How the agent hears and is heard."""

    mode: str = "none"
    """``headset``, ``station`` or ``none`` (the audio source is sent into calls)."""
    headset: HeadsetSettings = HeadsetSettings()
    """Headset devices (mode ``headset``)."""
    station_number: str = ""
    """The agent's own phone (mode ``station``), dialled with the dial plan."""
    station_answer_seconds: int = 30
    """How long the station phone may ring."""


@plain(frozen=True)
class QueueRecordingSettings:
    """Whether and how one queue's calls are recorded (see sip.recording)."""

    queue: str
    """The queue (X-Queue header or called user); ``*``: every queue not listed."""
    mode: str = "off"
    """``off``, ``announce`` (announced, then recorded) or ``consent`` (recorded once
    the patient or the agent says yes)."""
    announcement: str = ""
    """A WAV file played to the patient before the agent joins; empty: none."""


@plain(frozen=True)
class RecordingSettings:
    """Call recording: where the encrypted files go and which queues are recorded."""

    directory: str = ""
    """Directory of the recording files (created 0700)."""
    queues: tuple[QueueRecordingSettings, ...] = ()
    """Each recorded queue; a queue not listed (and no ``*``) is not recorded."""


@plain(frozen=True)
class EngineSettings:
    """Everything the engine needs to start."""

    listen_host: str = "127.0.0.1"
    """Address the SIP transports and RTP bind to."""
    listen_port: int = 5070
    """SIP UDP (and TCP) port; 0 picks a free one (reported in ``engine.ready``)."""
    transports: tuple[str, ...] = ("udp",)
    """Plain transports to listen on: ``udp`` and/or ``tcp``."""
    tls: TlsSettings | None = None
    """TLS transport, when configured."""
    srtp: str = "off"
    """SRTP policy for calls: ``off``, ``optional`` or ``mandatory``."""
    srtp_keying: tuple[str, ...] = ()
    """SRTP key exchanges in order (``sdes``, ``dtls``); empty: all the library has, SDES first."""
    codecs: tuple[str, ...] = DEFAULT_CODECS
    """The audio codecs calls may use, most preferred first; every other codec is off."""
    allow_speex_despite_dropouts: bool = False
    """Let ``codecs`` name Speex, whose silence suppression drops quiet audio (see sip.codecs)."""
    account: AccountSettings | None = None
    """Registration; None: a local account that takes calls addressed to us."""
    auto_answer: int | None = None
    """Answer every incoming call with this SIP code (200 accepts, 4xx-6xx refuse)."""
    auto_answer_queues: tuple[str, ...] = ()
    """Queues (X-Queue header or called user) whose calls are answered at once ("auto-in")."""
    busy_code: int = 486
    """Code for calls turned away because the local queue is full."""
    unavailable_code: int = 480
    """Code for calls turned away because the agent is not available."""
    accept_calls_in_wrap_up: bool = False
    """Let calls ring during after-call work."""
    queue_capacity: int = 3
    """Most incoming calls held at once; the library's last slot is kept for consult/dial."""
    passthrough_headers: tuple[str, ...] = ("X-Queue", "Alert-Info", "Diversion", "Priority")
    """Headers of an incoming INVITE passed to the console as plain strings."""
    accept_incoming_transfer: bool = False
    """Follow a REFER from the remote party (an agent phone normally declines it)."""
    dial: DialSettings = DialSettings()
    """Dial plan."""
    audio_source: str = "silence"
    """What the engine sends into calls: ``silence``, ``tone:HZ`` or a WAV path."""
    audio: AudioSettings = AudioSettings()
    """The agent's audio path."""
    library_media_defaults: bool = False
    """pjsua's own codec order and VAD instead of ``codecs``: the audio benchmark's baseline."""
    hold_on_answer: bool = True
    """Answering holds the call the agent is talking on (False: the capacity benchmark)."""
    allow_capture: bool = False
    """Allow the ``capture`` command (writes call audio to WAV): tests and QA only."""
    user_agent: str = "careline"
    """User-Agent header value."""
    log_path: str | None = None
    """Engine log file; native output (pjlib banner, asserts) is sent here too."""
    log_level: int = 2
    """pjsip log verbosity in the log file (0-6); 3+ logs caller identity in call dumps."""
    log_sip_messages: bool = False
    """Write whole SIP messages to the log. Off by default: they carry caller identity."""
    recording: RecordingSettings = RecordingSettings()
    """Call recording (off for every queue unless listed)."""


class SettingsError(ValueError):
    """A settings document that is not one this engine can run (the message says where)."""


def settings_document(settings: EngineSettings) -> dict[str, Any]:
    """``settings`` as a JSON-ready document (the inverse of :func:`settings_from_document`)."""
    return {"format": SETTINGS_FORMAT, "engine": _plain(settings)}


def settings_from_document(document: object) -> EngineSettings:
    """The settings a document holds, every value checked against its field's type.

    Raises :class:`SettingsError` for another format, an unknown or mistyped field.
    """
    if not isinstance(document, dict) or set(document) != {"format", "engine"}:
        raise SettingsError("a settings document is an object with 'format' and 'engine'")
    if document["format"] != SETTINGS_FORMAT:
        raise SettingsError(
            f"settings format {document['format']!r}; this engine reads {SETTINGS_FORMAT}"
        )
    settings = _build(EngineSettings, document["engine"], "engine")
    assert isinstance(settings, EngineSettings)
    return settings


def read_settings(data: bytes) -> EngineSettings:
    """The settings in a JSON settings document; raises :class:`SettingsError`."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SettingsError(f"the settings document is not JSON: {exc}") from None
    return settings_from_document(document)


def _plain(value: object) -> Any:
    if fields(type(value)):
        return {name: _plain(getattr(value, name)) for name in fields(type(value))}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _build(cls: type, data: object, where: str) -> object:
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: expected an object")
    names = fields(cls)
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise SettingsError(f"{where}: unknown setting {unknown[0]!r}")
    hints = cls.__annotations__
    values = {name: _value(hints[name], value, f"{where}.{name}") for name, value in data.items()}
    try:
        return cls(**values)
    except TypeError:  # a required field left out
        missing = [name for name in names if name not in values]
        raise SettingsError(f"{where}: missing setting {missing[0]!r}") from None


_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bool": (bool,),
    "int": (int,),
    "float": (int, float),
}


def _value(hint: str, value: object, where: str) -> object:
    """``value`` read as a field annotated ``hint``: the annotation's text (``from __future__
    import annotations``), one of the few forms the settings use: a scalar, a settings
    class, ``X | None``, ``tuple[X, ...]``; not :mod:`typing`'s introspection, which an
    idle engine would load for this alone."""
    if hint.endswith(" | None"):
        return None if value is None else _value(hint.removesuffix(" | None"), value, where)
    if hint.startswith("tuple[") and hint.endswith(", ...]"):
        if not isinstance(value, list):
            raise SettingsError(f"{where}: expected a list")
        item = hint.removeprefix("tuple[").removesuffix(", ...]")
        return tuple(_value(item, each, f"{where}[{i}]") for i, each in enumerate(value))
    if hint in _SECTIONS:
        return _build(_SECTIONS[hint], value, where)
    wanted = _SCALARS.get(hint)
    if wanted is None:
        raise SettingsError(f"{where}: no reader for {hint!r}")
    if not isinstance(value, wanted) or (hint != "bool" and isinstance(value, bool)):
        raise SettingsError(f"{where}: expected {hint}, got {type(value).__name__}")
    if hint == "float" and isinstance(value, int):
        return float(value)
    return value


_SECTIONS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        AccountSettings,
        TlsSettings,
        DialSettings,
        HeadsetSettings,
        AudioSettings,
        QueueRecordingSettings,
        RecordingSettings,
        EngineSettings,
    )
}
"""The settings classes a field may name, by the name its annotation uses."""
