# SPDX-License-Identifier: GPL-2.0-or-later
"""A real Kamailio 5.6 on 127.0.0.1 as the tests' SIP registrar and proxy.

``Kamailio`` renders ``tests/kamailio/kamailio.cfg.in`` into a working
directory, runs ``kamailio -DD -E`` in the foreground (its own process group,
so that the forked children go with it) and waits until it answers an OPTIONS
probe. The location service is in memory; ``registered_contacts`` reads it over
a ctl (binrpc) socket with ``kamcmd``.

What the config does:

- REGISTER: digest auth (``www_challenge`` / ``pv_www_authenticate``) against
  ``users`` in ``realm``, with ``algorithm`` MD5 or SHA-256. No credentials:
  401; wrong password, unknown user, or credentials of another user: 403.
- Initial requests to the proxy: no auth, record-routed, sent to the
  registered contact of the R-URI user (404 when there is none); to another
  host: relayed as they are. In-dialog requests: ``loose_route`` +
  ``t_relay``. OPTIONS to the proxy itself (no user part): 200.

With ``tls=TlsIdentity(...)`` it also listens for SIP over TLS 1.2 on
``tls_port`` (the ``tls`` module, ``tests/kamailio/tls.cfg.in``), presenting the
given certificate; the UDP/TCP listeners stay as they are.

SIPp runs against it through ``tests.support.Sipp`` (``auth=`` for digest
credentials, ``port=`` for the Contact a REGISTER put in the location service).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pytest

from tests.rawsip import SipResponse, parse_response
from tests.support import (
    ServiceProcess,
    Sipp,
    file_tail,
    free_udp_tcp_port,
    spawn_logged,
    stop_process,
)

TEMPLATE = Path(__file__).resolve().parent / "kamailio" / "kamailio.cfg.in"
TLS_TEMPLATE = TEMPLATE.with_name("tls.cfg.in")
DEFAULT_USERS: Mapping[str, str] = MappingProxyType({"agent": "secret"})
ALGORITHMS = ("MD5", "SHA-256")
HOST = "127.0.0.1"
REGISTER_TIMEOUT = 3.0
"""Seconds :func:`digest_register` waits for the final response to each REGISTER."""

_REALM = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")
_USER = re.compile(r"[A-Za-z0-9_.!~*'()&=+$,;?/%-]+")
_ADDRESS = re.compile(r"^\s*Address:\s*(\S+)\s*$", re.MULTILINE)
# A Unix socket path must fit in sun_path (108 bytes with its NUL).
_MAX_SOCKET_PATH = 100


def require_kamailio() -> None:
    """Fail (never skip) when Kamailio or kamcmd is missing."""
    for tool in ("kamailio", "kamcmd"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: apt-get install -y kamailio")


def live_group_members(pgid: int) -> list[int]:
    """PIDs in process group ``pgid`` that still run (zombies left out), from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold anything, so split after ')'
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(entry))
    return members


def _cfg_string(value: str) -> str:
    """``value`` as a double-quoted Kamailio config string."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"control character in {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sip_options(port: int, local_port: int, tag: str) -> bytes:
    """An OPTIONS request for the proxy itself (no user part), sent from ``local_port``."""
    return (
        f"OPTIONS sip:{HOST}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:{local_port};branch=z9hG4bK-{tag};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@{HOST}:{local_port}>;tag={tag}\r\n"
        f"To: <sip:{HOST}:{port}>\r\n"
        f"Call-ID: {tag}@{HOST}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@dataclass(frozen=True)
class TlsIdentity:
    """What Kamailio presents on its TLS listener, and the CA it trusts going out:
    ``cert``, the PEM certificate presented to TLS clients (e.g. the engine
    registering), ``key``, its private key, and ``ca``, the PEM CA list for the
    connections Kamailio opens itself."""

    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True)
class Registration:
    """How a REGISTER from ``digest_register`` ended."""

    status: int
    """The final response code (200, 403, ...)."""
    challenge: str
    """The WWW-Authenticate header of the 401 ("" when there was no challenge)."""


def _digest_params(header: str) -> dict[str, str]:
    """``key=value`` pairs of a ``Digest ...`` challenge (quotes removed)."""
    return {
        key.lower(): quoted if quoted or value.startswith('"') else value
        for key, value, quoted in re.findall(r'(\w+)=("([^"]*)"|[^,\s]+)', header)
    }


def digest_register(port: int, user: str, password: str, *, contact: str) -> Registration:
    """REGISTER ``user`` at 127.0.0.1:``port`` with ``contact`` for an hour, over UDP from
    Python (each transaction has :data:`REGISTER_TIMEOUT` seconds).

    Answers a 401 with an MD5 or SHA-256 digest (whichever it asks for, qop=auth
    when offered): what SIPp 3.6.1 cannot do for SHA-256. Also handy to register
    a contact on a port nobody listens on yet.
    """
    tag = uuid.uuid4().hex[:12]
    call_id = f"{uuid.uuid4().hex}@{HOST}"
    uri = f"sip:{HOST}:{port}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        local = f"{HOST}:{sock.getsockname()[1]}"

        def transaction(cseq: int, extra: str) -> SipResponse:
            request = (
                f"REGISTER {uri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {local};branch=z9hG4bK-{tag}-{cseq};rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:{user}@{HOST}:{port}>;tag={tag}\r\n"
                f"To: <sip:{user}@{HOST}:{port}>\r\n"
                f"Call-ID: {call_id}\r\n"
                f"CSeq: {cseq} REGISTER\r\n"
                f"Contact: <{contact}>\r\n"
                "Expires: 3600\r\n"
                f"{extra}"
                "User-Agent: careline-tests\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
            deadline = time.monotonic() + REGISTER_TIMEOUT
            while (left := deadline - time.monotonic()) > 0:
                sock.sendto(request, (HOST, port))
                sock.settimeout(min(left, 0.5))
                try:
                    while True:
                        response = parse_response(sock.recv(65535).decode(errors="replace"))
                        if response is None or response.header("call-id") != call_id:
                            continue
                        if response.status >= 200 and response.header("cseq") == f"{cseq} REGISTER":
                            return response
                except (TimeoutError, ConnectionRefusedError):
                    continue
            raise AssertionError(f"no final response to REGISTER {user} in {REGISTER_TIMEOUT}s")

        first = transaction(1, "")
        if first.status != 401:
            return Registration(first.status, "")
        challenge = first.header("www-authenticate")
        params = _digest_params(challenge)
        algorithm = params.get("algorithm", "MD5")
        hash_name = {"MD5": "md5", "SHA-256": "sha256"}[algorithm.upper()]

        def digest(text: str) -> str:
            return hashlib.new(hash_name, text.encode()).hexdigest()

        ha1 = digest(f"{user}:{params['realm']}:{password}")
        ha2 = digest(f"REGISTER:{uri}")
        fields = [
            f'username="{user}"',
            f'realm="{params["realm"]}"',
            f'nonce="{params["nonce"]}"',
            f'uri="{uri}"',
            f"algorithm={algorithm}",
        ]
        if "auth" in params.get("qop", "").split(","):
            cnonce, nc = uuid.uuid4().hex[:16], "00000001"
            answer = digest(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            answer = digest(f"{ha1}:{params['nonce']}:{ha2}")
        fields.append(f'response="{answer}"')
        if "opaque" in params:
            fields.append(f'opaque="{params["opaque"]}"')
        second = transaction(2, f"Authorization: Digest {', '.join(fields)}\r\n")
        return Registration(second.status, challenge)


class Kamailio(ServiceProcess):
    """Kamailio 5.6 on 127.0.0.1 as registrar + proxy, foreground (-DD -E), usrloc in memory."""

    def __init__(
        self,
        workdir: Path,
        *,
        users: Mapping[str, str] = DEFAULT_USERS,
        realm: str = "careline.test",
        algorithm: str = "MD5",
        port: int | None = None,
        tls: TlsIdentity | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, not {algorithm!r}")
        if not _REALM.fullmatch(realm):
            raise ValueError(f"realm must be a host name, not {realm!r}")
        for user in users:
            if not _USER.fullmatch(user):
                raise ValueError(f"not a SIP user part: {user!r}")
        self.users = dict(users)
        self.realm = realm
        self.algorithm = algorithm
        self.port = port or free_udp_tcp_port()
        self.tls = tls
        self.tls_port = 0
        while tls is not None and self.tls_port in (0, self.port):
            self.tls_port = free_udp_tcp_port()
        self.dir = workdir / f"kamailio-{self.port}"
        self.config_path = self.dir / "kamailio.cfg"
        self.tls_config_path = self.dir / "tls.cfg"
        self.log_path = self.dir / "kamailio.log"
        self.pid_path = self.dir / "kamailio.pid"
        self.run_dir = self.dir / "run"
        self.ctl_socket = self.dir / "ctl.sock"
        self._short_dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------

    def uri(self, user: str | None = None) -> str:
        """``sip:user@127.0.0.1:port`` (or the proxy's own URI without a user)."""
        return f"sip:{user}@{HOST}:{self.port}" if user else f"sip:{HOST}:{self.port}"

    def caller(self, workdir: Path, user: str, name: str, number: str) -> Sipp:
        """A SIPp caller (``name``, ``number``) on plain UDP calling ``user`` through this proxy."""
        return Sipp(
            workdir, "uac_call_kamailio.xml", self.port, callers=[(name, number)], service=user
        )

    def tls_uri(self) -> str:
        """The proxy's own URI on its TLS listener (``;transport=tls``)."""
        if self.tls is None:
            raise RuntimeError("this Kamailio has no TLS listener")
        return f"sip:{HOST}:{self.tls_port};transport=tls"

    def render_tls_config(self) -> str:
        """The tls module's profiles for this instance."""
        if self.tls is None:
            raise RuntimeError("this Kamailio has no TLS listener")
        text = TLS_TEMPLATE.read_text("utf-8")
        for marker, path in (
            ("@@CERT@@", self.tls.cert),
            ("@@KEY@@", self.tls.key),
            ("@@CA@@", self.tls.ca),
        ):
            if any(ch.isspace() or ch in "#;" for ch in str(path)):
                raise ValueError(f"unusable path for tls.cfg: {path}")
            text = text.replace(marker, str(path))
        if "@@" in text:
            raise AssertionError(f"unfilled marker in {TLS_TEMPLATE}")
        return text

    def render_config(self) -> str:
        """The config text for this instance (the template with its markers filled)."""
        lines = [
            f"\tif ($au == {_cfg_string(user)}) {{\n"
            f"\t\t$var(known) = 1;\n"
            f"\t\t$var(password) = {_cfg_string(password)};\n"
            "\t}"
            for user, password in self.users.items()
        ]
        text = TEMPLATE.read_text("utf-8")
        for marker, value in (
            ("@@USERS@@", "\n".join(lines)),
            ("@@PORT@@", str(self.port)),
            ("@@REALM@@", self.realm),
            ("@@ALGORITHM@@", self.algorithm),
            ("@@CTL@@", str(self.ctl_socket)),
            ("@@DEFINES@@", "#!define WITH_TLS" if self.tls is not None else ""),
            ("@@TLS_PORT@@", str(self.tls_port)),
            ("@@TLS_CONFIG@@", str(self.tls_config_path)),
        ):
            text = text.replace(marker, value)
        if "@@" in text:
            raise AssertionError(f"unfilled marker in {TEMPLATE}")
        return text

    def start(self, timeout: float = 10.0) -> None:
        """Write the config, start Kamailio and wait until it answers OPTIONS."""
        require_kamailio()
        if self.proc is not None:
            raise RuntimeError("Kamailio already started")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if len(str(self.ctl_socket)) > _MAX_SOCKET_PATH:
            self._short_dir = Path(tempfile.mkdtemp(prefix="careline-kam-"))
            self.ctl_socket = self._short_dir / "ctl.sock"
        self.config_path.write_text(self.render_config(), "utf-8")
        if self.tls is not None:
            self.tls_config_path.write_text(self.render_tls_config(), "utf-8")
        argv = [
            "kamailio",
            "-DD",
            "-E",
            "-f",
            str(self.config_path),
            "-Y",
            str(self.run_dir),
            "-P",
            str(self.pid_path),
            "-w",
            str(self.dir),
            "-m",
            "32",
            "-M",
            "8",
        ]
        self.proc = spawn_logged(argv, self.log_path, self.dir, append=True, new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._kill_group(self.proc.pid)
                self.proc = None
                self._cleanup()
                raise RuntimeError(f"kamailio exited {code} at start:\n{self.log_tail()}")
            if self.ping(0.2) and self.ctl_socket.exists():
                return
        self.stop()
        raise RuntimeError(f"kamailio did not answer OPTIONS in {timeout}s:\n{self.log_tail()}")

    def ping(self, timeout: float = 1.0) -> bool:
        """Send one OPTIONS to the proxy; True when a 200 comes back within ``timeout``."""
        tag = uuid.uuid4().hex[:16]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((HOST, 0))
            sock.settimeout(timeout)
            sock.sendto(sip_options(self.port, int(sock.getsockname()[1]), tag), (HOST, self.port))
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data = sock.recv(65535)
                except (TimeoutError, ConnectionRefusedError):
                    return False
                if data.startswith(b"SIP/2.0 200") and tag.encode() in data:
                    return True
        return False

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM by PID, wait, SIGKILL fallback; returns the exit code (None: not started)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        code = stop_process(proc, timeout)
        # Children Kamailio forked share its process group (== its PID): none may outlive it.
        self._kill_group(proc.pid)
        self._cleanup()
        return code

    def kill(self) -> None:
        """SIGKILL Kamailio and its children at once: a registrar that disappears."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        self._kill_group(proc.pid)
        proc.wait()
        self._cleanup()

    @staticmethod
    def _kill_group(pgid: int, timeout: float = 5.0) -> None:
        """SIGKILL what is left of the group and wait until none of it runs."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while (left := live_group_members(pgid)) and time.monotonic() < deadline:
            time.sleep(0.02)
        if left:
            raise RuntimeError(f"kamailio processes {left} survived SIGKILL")

    def _cleanup(self) -> None:
        if self._short_dir is not None:
            shutil.rmtree(self._short_dir, ignore_errors=True)
            self._short_dir = None
            self.ctl_socket = self.dir / "ctl.sock"

    @property
    def running(self) -> bool:
        """Whether the Kamailio main process is alive."""
        return self.proc is not None and self.proc.poll() is None

    # -- inspection ------------------------------------------------------

    def log_tail(self, lines: int = 30) -> str:
        """The end of Kamailio's log (its stderr), for assertion messages."""
        return file_tail(self.log_path, lines, "kamailio log")

    def rpc(self, *command: str, timeout: float = 5.0) -> str:
        """Run one RPC command through ``kamcmd`` on the ctl socket; its output."""
        if not self.running:
            raise RuntimeError("kamailio is not running")
        result = subprocess.run(
            ["kamcmd", "-s", f"unix:{self.ctl_socket}", *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"kamcmd {' '.join(command)} failed: {result.stderr.strip()}")
        return result.stdout

    def registered_contacts(self, user: str) -> list[str]:
        """The contact URIs registered for ``user`` right now (usrloc ``ul.lookup``)."""
        output = self.rpc("ul.lookup", "location", user)
        # kamcmd exits 0 on RPC errors too; "error: 404 - AOR not found" means none.
        if output.lstrip().lower().startswith("error:"):
            if "not found" in output.lower():
                return []
            raise RuntimeError(f"ul.lookup {user}: {output.strip()}")
        return _ADDRESS.findall(output)

    def wait_registered(self, user: str, timeout: float = 5.0) -> list[str]:
        """Wait until ``user`` has at least one contact; returns the contacts."""
        deadline = time.monotonic() + timeout
        while True:
            contacts = self.registered_contacts(user)
            if contacts or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if not contacts:
            raise AssertionError(f"{user} not registered in {timeout}s:\n{self.log_tail()}")
        return contacts
