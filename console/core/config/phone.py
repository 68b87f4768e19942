# SPDX-License-Identifier: GPL-2.0-or-later
"""The phone's settings: SIP listening, registration, TLS, dialling, and the engine process."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from console.core.config.base import ENV_NAME, Section
from console.core.schema import Field, field_validator, model_validator
from sip.codecs import DEFAULT_CODECS, RISKY, check_name


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


class AccountConfig(Section):
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


class TlsConfig(Section):
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


class DialConfig(Section):
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


class SipConfig(Section):
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


class EngineConfig(Section):
    """How the console runs the engine process."""

    socket: Path | None = None
    """Engine Unix socket; None: ``engine.sock`` in the per-user runtime directory."""
    restart_delay: Annotated[float, Field(ge=0.1, le=60)] = 1.0
    """Seconds to wait before restarting an engine that died."""
    orphan_exit: Annotated[float, Field(ge=0, le=86400)] = 60.0
    """Seconds an engine with no console attached and no call waits before exiting (0: never)."""
