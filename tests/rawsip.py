# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal SIP caller over a raw UDP socket, for races SIPp cannot script.

SIPp runs a scenario step by step, so it cannot put a CANCEL on the wire at
the very instant the engine is told to answer. :class:`RawCaller` can: it
sends an INVITE, a CANCEL, the ACK of whichever final response wins, and a
BYE, each when the test says so. (Adapted from ``bench/rawsip.py``.)
"""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass, field

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _branch() -> str:
    """A fresh RFC 3261 Via branch."""
    return "z9hG4bK" + uuid.uuid4().hex[:16]


@dataclass(frozen=True, slots=True)
class SipResponse:
    """One SIP response as received: status line facts and headers."""

    status: int
    reason: str
    headers: dict[str, list[str]]
    raw: str

    def header(self, name: str) -> str:
        """The first value of header ``name`` (case-insensitive), or ''."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def method(self) -> str:
        """The method named in CSeq (what this response answers)."""
        parts = self.header("cseq").split()
        return parts[1].upper() if len(parts) == 2 else ""


@dataclass(slots=True)
class Dialog:
    """What the caller remembers about one call it placed."""

    call_id: str
    branch: str
    tag: str
    number: str
    next_cseq: int = 2
    to: str = ""
    """The To header of the final response (with the engine's tag), once known."""
    responses: list[SipResponse] = field(default_factory=list)
    """Every response received for this call, in order."""
    invite: str = ""
    """The INVITE as sent, for retransmissions."""


def parse_response(data: str) -> SipResponse | None:
    """Parse a SIP response; None for a request or garbage."""
    head = data.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] != "SIP/2.0" or not parts[1].isdigit():
        return None
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return SipResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, data)


class RawCaller:
    """One UDP socket on 127.0.0.1 that places calls to ``target_port``."""

    def __init__(self, target_port: int, user: str = "queue") -> None:
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.uri = f"sip:{user}@127.0.0.1:{target_port}"

    # ----------------------------------------------------------- requests
    def invite(
        self,
        number: str = "+15550100",
        name: str = "Raw Caller",
        *,
        sdp: str = SDP,
        headers: str = "",
    ) -> Dialog:
        """Send an INVITE with an SDP offer (``sdp``, ``{port}`` filled in) and ``headers``
        (whole lines, each ending in CRLF); returns the dialog."""
        dialog = Dialog(uuid.uuid4().hex, _branch(), uuid.uuid4().hex[:8], number)
        body = sdp.format(port=self.port + 2)
        head = (
            f"INVITE {self.uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={dialog.branch};rport\r\n"
            f'From: "{name}" <sip:{number}@127.0.0.1:{self.port}>;tag={dialog.tag}\r\n'
            f"To: <{self.uri}>\r\n"
            f"Call-ID: {dialog.call_id}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:{number}@127.0.0.1:{self.port}>\r\nMax-Forwards: 70\r\n{headers}"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        dialog.invite = head + body
        self._send(dialog.invite)
        return dialog

    def retransmit(self, dialog: Dialog) -> None:
        """Send the INVITE again: a UDP retransmission (same branch and CSeq)."""
        self._send(dialog.invite)

    def poll(self, dialog: Dialog, timeout: float) -> SipResponse | None:
        """The next response for ``dialog`` within ``timeout`` s, or None."""
        return self._receive(dialog, timeout)

    def cancel(self, dialog: Dialog) -> None:
        """CANCEL the INVITE (same branch and CSeq number, as RFC 3261 9.1 requires)."""
        self._send(
            f"CANCEL {self.uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={dialog.branch};rport\r\n"
            f"From: <sip:{dialog.number}@127.0.0.1:{self.port}>;tag={dialog.tag}\r\n"
            f"To: <{self.uri}>\r\n"
            f"Call-ID: {dialog.call_id}\r\nCSeq: 1 CANCEL\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )

    def ack(self, dialog: Dialog, final: SipResponse) -> None:
        """ACK a final response: same branch for a non-2xx, a new transaction for a 2xx."""
        branch = dialog.branch if final.status >= 300 else _branch()
        self._send(
            f"ACK {self.uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
            f"From: <sip:{dialog.number}@127.0.0.1:{self.port}>;tag={dialog.tag}\r\n"
            f"To: {final.header('to')}\r\n"
            f"Call-ID: {dialog.call_id}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )

    def bye(self, dialog: Dialog, timeout: float = 5.0) -> int:
        """Hang up an answered call; returns the status of the BYE's final response."""
        cseq = dialog.next_cseq
        dialog.next_cseq += 1
        self._send(
            f"BYE {self.uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={_branch()};rport\r\n"
            f"From: <sip:{dialog.number}@127.0.0.1:{self.port}>;tag={dialog.tag}\r\n"
            f"To: {dialog.to}\r\n"
            f"Call-ID: {dialog.call_id}\r\nCSeq: {cseq} BYE\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        return self.final_response(dialog, "BYE", timeout).status

    # ---------------------------------------------------------- responses
    def final_response(
        self, dialog: Dialog, method: str = "INVITE", timeout: float = 5.0
    ) -> SipResponse:
        """Wait for the final response to ``method`` in ``dialog`` (others are recorded)."""
        for seen in dialog.responses:
            if seen.method == method and seen.status >= 200:
                dialog.responses.remove(seen)
                return seen
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            response = self._receive(dialog, left)
            if response is None:
                break
            if response.method == method and response.status >= 200:
                if method == "INVITE":
                    dialog.to = response.header("to")
                return response
            dialog.responses.append(response)
        raise AssertionError(f"no final response to {method} within {timeout}s")

    def final_acked(self, dialog: Dialog, timeout: float = 5.0) -> SipResponse:
        """Wait for the INVITE's final response and ACK it (a refusal, or an answer)."""
        final = self.final_response(dialog, "INVITE", timeout)
        self.ack(dialog, final)
        return final

    def wait_status(self, dialog: Dialog, status: int, timeout: float = 5.0) -> SipResponse:
        """Wait for a response with ``status`` to the INVITE (earlier ones are recorded)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            response = self._receive(dialog, left)
            if response is None:
                break
            dialog.responses.append(response)
            if response.status == status and response.method == "INVITE":
                if status >= 200:
                    dialog.to = response.header("to")
                return response
        raise AssertionError(f"no {status} to the INVITE within {timeout}s")

    def _receive(self, dialog: Dialog, timeout: float) -> SipResponse | None:
        """The next response for ``dialog``; other calls' stray datagrams are dropped."""
        self.sock.settimeout(timeout)
        while True:
            try:
                data = self.sock.recv(65536).decode(errors="replace")
            except TimeoutError:
                return None
            response = parse_response(data)
            if response is not None and response.header("call-id") == dialog.call_id:
                return response

    def _send(self, text: str) -> None:
        self.sock.sendto(text.encode(), self.target)

    def close(self) -> None:
        """Release the socket."""
        self.sock.close()
