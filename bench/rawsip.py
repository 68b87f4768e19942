"""A minimal SIP caller over a raw UDP socket, for timing the engine to the millisecond.

It sends an INVITE at a known instant, and finishes the transaction properly
(ACK to the final response) so the engine's call slots are freed at once.
"""

from __future__ import annotations

import socket
import time
import uuid

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


class RawCaller:
    """One UDP socket on 127.0.0.1 that places calls to ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = int(self.sock.getsockname()[1])

    def invite(
        self, number: str = "+15550100", name: str = "Bench Caller"
    ) -> tuple[float, dict[str, str]]:
        """Send an INVITE; returns (perf_counter at send, dialog facts for :meth:`finish`)."""
        call_id = uuid.uuid4().hex
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        tag = uuid.uuid4().hex[:8]
        body = SDP.format(port=self.port + 2)
        head = (
            f"INVITE sip:queue@127.0.0.1:{self.target[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
            f'From: "{name}" <sip:{number}@127.0.0.1:{self.port}>;tag={tag}\r\n'
            f"To: <sip:queue@127.0.0.1:{self.target[1]}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:{number}@127.0.0.1:{self.port}>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sent = time.perf_counter()
        self.sock.sendto((head + body).encode(), self.target)
        return sent, {"call_id": call_id, "branch": branch, "tag": tag, "number": number}

    def finish(self, dialog: dict[str, str]) -> int:
        """Wait for the final response to the INVITE and ACK it; returns its status code."""
        while True:
            data = self.sock.recv(65536).decode(errors="replace")
            if dialog["call_id"] not in data or not data.startswith("SIP/2.0"):
                continue
            status = int(data.split(" ", 2)[1])
            if status < 200:
                continue
            to = next(line for line in data.split("\r\n") if line.lower().startswith("to:"))
            via = f"SIP/2.0/UDP 127.0.0.1:{self.port};branch=" + (
                dialog["branch"] if status >= 300 else "z9hG4bK" + uuid.uuid4().hex[:16]
            )
            ack = (
                f"ACK sip:queue@127.0.0.1:{self.target[1]} SIP/2.0\r\nVia: {via}\r\n"
                f"From: <sip:{dialog['number']}@127.0.0.1:{self.port}>;tag={dialog['tag']}\r\n"
                f"{to}\r\nCall-ID: {dialog['call_id']}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            self.sock.sendto(ack.encode(), self.target)
            return status

    def close(self) -> None:
        """Release the socket."""
        self.sock.close()
