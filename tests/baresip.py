# SPDX-License-Identifier: GPL-2.0-or-later
"""A real headless baresip 1.0.0 softphone as an independent SIP peer for tests.

:class:`Baresip` writes a private config directory, starts ``baresip -f DIR`` on
127.0.0.1 and drives it over the ``ctrl_tcp`` module: JSON commands framed as
netstrings (``LEN:JSON,``), answered by ``{"response":true,"ok":..,"data":..,
"token":..}``; call events are pushed on the same connection as
``{"event":true,"type":"CALL_INCOMING",...}``.

Facts about Debian's baresip 1.0.0 this relies on (found on this machine):

* ``net_interface 127.0.0.1`` keeps SDP and RTP on loopback (without it the SDP
  carries the host's first interface address; ``net_interface lo`` fails).
* Audio source ``aufile,<wav>`` needs 8 kHz 16-bit mono; it plays the file
  once and when it ends emits ``AUDIO_ERROR`` ("end of file") and the ``menu``
  module *hangs the call up*, so the tone file is made long (60 s).
* ``aufile`` is only an audio source in 1.0.0 (no player). Received audio is
  recorded with the ``sndfile`` audio filter: it writes
  ``<snd_path>/dump-<time>-dec.wav`` (received, decoded) and ``...-enc.wav``
  (sent) per call, closed when the call ends; :meth:`Baresip.save_recording`
  copies the newest ``-dec.wav`` to ``record_to``.
* ``aubridge,nil`` is the audio player (and alert device): a sink that nobody
  reads, so nothing needs a sound card.
* ``;answermode=auto`` on the account answers by itself, and then there is no
  ``CALL_INCOMING`` event, only ``CALL_ESTABLISHED``.
* ``hold`` and ``resume`` exist only while a call is up (otherwise the
  response is ``ok: false``, "command not found (hold)"); they act on the
  current call, and each re-INVITE's 200 shows up as ``CALL_REMOTE_SDP`` with
  ``param: "answer"``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from tests.audio_tone import write_tone_wav
from tests.ports import PORT_FLOOR, claim_ports, free_tcp_port
from tests.support import ServiceProcess, spawn_logged, stop_process

__all__ = ["Baresip", "baresip_module_path", "free_sip_port", "free_tcp_port", "require_baresip"]

MODULE_DIRS = (
    "/usr/lib/baresip/modules",
    "/usr/lib/x86_64-linux-gnu/baresip/modules",
    "/usr/lib/aarch64-linux-gnu/baresip/modules",
    "/usr/local/lib/baresip/modules",
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def require_baresip() -> str:
    """Path of the baresip binary; fail (never skip) when it is missing."""
    path = shutil.which("baresip")
    if path is None:
        pytest.fail("baresip is not installed: apt-get install baresip-core")
    return path


def baresip_module_path() -> Path:
    """The directory holding baresip's ``*.so`` modules (the one with ctrl_tcp)."""
    for candidate in MODULE_DIRS:
        if (Path(candidate) / "ctrl_tcp.so").is_file():
            return Path(candidate)
    try:
        listing = subprocess.run(
            ["dpkg", "-L", "baresip-core"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        listing = ""
    for line in listing.splitlines():
        if line.endswith("/ctrl_tcp.so"):
            return Path(line).parent
    pytest.fail("baresip modules (ctrl_tcp.so) not found; is baresip-core installed?")


def free_sip_port() -> int:
    """A SIP port for baresip on 127.0.0.1: its sip_listen binds it for UDP and TCP,
    and the port above it for SIP over TLS, so both are free (and handed out together)."""
    return claim_ports(2)


def netstring(payload: bytes) -> bytes:
    """Frame ``payload`` as a netstring: ``b"LEN:payload,"``."""
    return str(len(payload)).encode() + b":" + payload + b","


class PortTakenError(AssertionError):
    """baresip could not bind a port that was free a moment before."""


class Baresip(ServiceProcess):
    """baresip 1.0.0, headless, on 127.0.0.1: a softphone peer driven over ctrl_tcp."""

    def __init__(
        self,
        workdir: Path,
        *,
        user: str = "baresip",
        tone_hz: float | None = 1000.0,
        record_to: Path | None = None,
        auto_answer: bool = False,
        tone_seconds: float = 60.0,
        sip_trace: bool = False,
        max_calls: int = 4,
    ) -> None:
        """``max_calls``: calls it holds at once (baresip's ``call_max_calls``)."""
        self.workdir = workdir
        self.max_calls = max_calls
        self.user = user
        self.tone_hz = tone_hz
        self.record_to = record_to
        self.auto_answer = auto_answer
        self.tone_seconds = tone_seconds
        self.sip_trace = sip_trace
        self.sip_port = free_sip_port()
        self.ctrl_port = free_tcp_port()
        self.uri = f"sip:{user}@127.0.0.1:{self.sip_port}"
        self.config_dir = workdir / f"baresip-{user}-{self.sip_port}"
        self.sound_dir = self.config_dir / "sndfile"
        self.tone_path = self.config_dir / "tone.wav"
        self.log_path = self.config_dir / "baresip.log"
        self.events: list[dict[str, Any]] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._pending: list[dict[str, Any]] = []
        self._responses: dict[str, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._tokens = 0
        self._send_lock = threading.Lock()
        self._closed = False
        self._sound_link: Path | None = None

    # -- life cycle ---------------------------------------------------------------

    def write_config(self) -> None:
        """Write ``config``, ``accounts``, ``contacts`` and the tone WAV into the config dir."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        write_tone_wav(
            self.tone_path,
            self.tone_hz or 1000.0,
            self.tone_seconds,
            amplitude=0.3 if self.tone_hz is not None else 0.0,
        )
        modules = ["g711.so", "aufile.so", "aubridge.so"]
        if self.record_to is not None:
            self.sound_dir.mkdir(exist_ok=True)
            modules.append("sndfile.so")
        lines = [
            "poll_method\t\tepoll",
            f"sip_listen\t\t127.0.0.1:{self.sip_port}",
            "net_interface\t\t127.0.0.1",
            f"audio_source\t\taufile,{self.tone_path}",
            "audio_player\t\taubridge,nil",
            "audio_alert\t\taubridge,nil",
            f"rtp_ports\t\t10000-{PORT_FLOOR - 1}",  # below the ports the tests hand out
            f"module_path\t\t{baresip_module_path()}",
            *(f"module\t\t\t{name}" for name in modules),
            "module_tmp\t\taccount.so",
            "module_app\t\tmenu.so",
            "module_app\t\tctrl_tcp.so",
            f"ctrl_tcp_listen\t\t127.0.0.1:{self.ctrl_port}",
            "statmode_default\toff",
            f"call_max_calls\t\t{self.max_calls}",
        ]
        if self.record_to is not None:
            lines.append(f"snd_path\t\t{self._short_sound_path()}")
        (self.config_dir / "config").write_text("\n".join(lines) + "\n", "utf-8")
        params = ";regint=0"
        if self.auto_answer:
            params += ";answermode=auto"
        params += ";audio_codecs=PCMU,PCMA"
        account = f"<sip:{self.user}@127.0.0.1:{self.sip_port}>{params}\n"
        (self.config_dir / "accounts").write_text(account, "utf-8")
        (self.config_dir / "contacts").write_text("", "utf-8")

    def _short_sound_path(self) -> Path:
        """A short path to :attr:`sound_dir` (a symlink in /tmp): sndfile names its dumps
        after both call parties in a 128-byte buffer and writes nothing when the path is
        longer, as a pytest-xdist worker's tmp_path makes it."""
        if self._sound_link is None:
            self._sound_link = Path(tempfile.mkdtemp(prefix="bs-")) / "s"
            self._sound_link.symlink_to(self.sound_dir, target_is_directory=True)
        return self._sound_link

    def start(self, timeout: float = 10.0) -> None:
        """Write the config dir, start ``baresip -f DIR`` and wait until ctrl_tcp accepts.

        A port found free can be taken before baresip binds it (another process's
        outgoing connection, under load): then it is started again on new ports.
        """
        for attempt in range(3):
            try:
                self._start_once(timeout)
                return
            except PortTakenError:
                if attempt == 2:
                    raise
                self.sip_port = free_sip_port()
                self.ctrl_port = free_tcp_port()
                self.uri = f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    def _start_once(self, timeout: float) -> None:
        binary = require_baresip()
        self.write_config()
        argv = [binary, "-f", str(self.config_dir)]
        if self.sip_trace:
            argv.append("-s")
        self.proc = spawn_logged(argv, self.log_path, self.config_dir)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                message = f"baresip exited {self.proc.returncode} at start; log:\n{self.log_tail()}"
                if "Address already in use" in message:
                    raise PortTakenError(message)
                raise AssertionError(message)
            try:
                sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(
                        f"baresip ctrl_tcp not up in {timeout}s; log:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.05)
        # A ctrl_tcp that could not listen leaves baresip running, and the connection
        # above then reached whoever holds the port (another test's server): refused.
        time.sleep(0.1)
        if "Address already in use" in self.log_tail():
            sock.close()
            self.proc.kill()  # started again on new ports by start()
            self.proc.wait()
            raise PortTakenError(f"baresip could not listen; log:\n{self.log_tail()}")
        sock.settimeout(None)
        self._sock = sock
        self._reader = threading.Thread(
            target=self._read, args=(sock.makefile("rb"),), name=f"baresip-{self.sip_port}"
        )
        self._reader.daemon = True
        self._reader.start()

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM by PID and wait (SIGKILL if it hangs); returns the exit code.

        When ``record_to`` is set and a recording exists but was not saved yet,
        it is copied there first.
        """
        if self.record_to is not None and not self.record_to.exists() and self.recordings():
            self.save_recording(timeout=2.0)
        code = 0
        if self.proc is not None:
            code = stop_process(self.proc, timeout)
        self._close()
        return code

    def kill(self) -> None:
        """SIGKILL by PID, no questions asked."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        self._closed = True
        if self._sound_link is not None:  # the link only: the dumps stay in tmp_path
            shutil.rmtree(self._sound_link.parent, ignore_errors=True)
            self._sound_link = None
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.join(5.0)
            self._reader = None

    # -- ctrl_tcp -----------------------------------------------------------------

    def _read(self, stream: IO[bytes]) -> None:
        """Reader thread: split the netstrings, file responses by token, queue events."""
        try:
            while True:
                head = b""
                while not head.endswith(b":"):
                    byte = stream.read(1)
                    if not byte:
                        return
                    head += byte
                    if len(head) > 12:
                        raise ValueError(f"bad netstring length {head!r}")
                size = int(head[:-1])
                body = stream.read(size)
                comma = stream.read(1)
                if len(body) < size or comma != b",":
                    return
                message: dict[str, Any] = json.loads(body)
                with self._cond:
                    if message.get("event"):
                        self.events.append(message)
                        self._pending.append(message)
                    elif message.get("response"):
                        self._responses[str(message.get("token"))] = message
                    self._cond.notify_all()
        except (OSError, ValueError):
            return
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def command(
        self, command: str, params: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Send one ctrl_tcp command and return its response (``ok``, ``data``, ``token``).

        ``params`` is left out of the JSON when it is ``None``.
        """
        if self._sock is None:
            raise RuntimeError("baresip is not started")
        with self._cond:
            self._tokens += 1
            token = f"t{self._tokens}"
        request: dict[str, Any] = {"command": command, "token": token}
        if params is not None:
            request["params"] = params
        with self._send_lock:
            self._sock.sendall(netstring(json.dumps(request).encode()))
        deadline = time.monotonic() + timeout
        with self._cond:
            while token not in self._responses:
                left = deadline - time.monotonic()
                if left <= 0 or (self._closed and token not in self._responses):
                    raise AssertionError(
                        f"no ctrl_tcp response to {command!r}; log:\n{self.log_tail()}"
                    )
                self._cond.wait(left)
            return self._responses.pop(token)

    def _checked(self, command: str, params: str | None = None) -> dict[str, Any]:
        response = self.command(command, params)
        if not response.get("ok"):
            raise AssertionError(f"baresip {command} {params or ''} failed: {response}")
        return response

    def dial(self, uri: str) -> None:
        """Start an outgoing call to ``uri`` (watch for CALL_ESTABLISHED)."""
        self._checked("dial", uri)

    def accept(self) -> None:
        """Answer the current incoming call."""
        self._checked("accept")

    def hangup(self) -> None:
        """Hang up the current call (BYE, or CANCEL while ringing)."""
        self._checked("hangup")

    def hold(self) -> None:
        """Put the current call on hold (re-INVITE with a=sendonly)."""
        self._checked("hold")

    def resume(self) -> None:
        """Take the current call off hold (re-INVITE with a=sendrecv)."""
        self._checked("resume")

    def wait_event(self, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """The oldest not yet waited-for event of ``type_`` whose fields equal ``match``.

        Every event stays recorded in :attr:`events`; this only consumes it
        from the queue that ``wait_event`` looks at.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self._pending:
                    if event.get("type") == type_ and all(
                        event.get(k) == v for k, v in match.items()
                    ):
                        self._pending.remove(event)
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    break
                self._cond.wait(left)
        seen = [e.get("type") for e in self.events]
        raise AssertionError(
            f"no {type_} {match or ''} from baresip within {timeout}s; events: {seen}; "
            f"log:\n{self.log_tail()}"
        )

    def event_types(self) -> list[str]:
        """The ``type`` of every event received so far, in order."""
        with self._cond:
            return [str(e.get("type")) for e in self.events]

    # -- audio and logs ----------------------------------------------------------

    def recordings(self) -> list[Path]:
        """sndfile's received-audio dumps (``*-dec.wav``), oldest first."""
        if not self.sound_dir.is_dir():
            return []
        return sorted(self.sound_dir.glob("dump-*-dec.wav"), key=lambda p: p.stat().st_mtime)

    def save_recording(self, timeout: float = 5.0) -> Path:
        """Copy the newest received-audio dump to ``record_to`` and return that path.

        Call it after the call ended (CALL_CLOSED): sndfile finishes the WAV
        header when the call's audio stream is torn down, so this waits until
        the RIFF size matches the file size.
        """
        if self.record_to is None:
            raise RuntimeError("this Baresip was made without record_to")
        deadline = time.monotonic() + timeout
        while True:
            found = self.recordings()
            if found and _wav_complete(found[-1]):
                break
            if time.monotonic() > deadline:
                if not found:
                    raise AssertionError(f"baresip recorded nothing; log:\n{self.log_tail()}")
                break
            time.sleep(0.05)
        self.record_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found[-1], self.record_to)
        return self.record_to

    def log_tail(self, lines: int = 30) -> str:
        """The end of baresip's stdout/stderr log, colour codes removed."""
        try:
            text = ANSI.sub("", self.log_path.read_text(errors="replace"))
        except OSError:
            return "(no baresip log)"
        return "\n".join(text.splitlines()[-lines:])


def _wav_complete(path: Path) -> bool:
    """True when the RIFF size field of ``path`` matches its length (header finished)."""
    try:
        with open(path, "rb") as wav:
            head = wav.read(8)
        size = path.stat().st_size
    except OSError:
        return False
    return len(head) == 8 and head[:4] == b"RIFF" and int.from_bytes(head[4:], "little") == size - 8
