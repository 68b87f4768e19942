# SPDX-License-Identifier: GPL-2.0-or-later
"""Key press → SIP message sent: answer (a → 200 OK) and hold (o → re-INVITE).

The console runs in tmux; a raw UDP caller in this process places the call
and timestamps what arrives on its socket. The key is sent with tmux
send-keys, timed just before. Baseline, same run: the same message caused by
a protocol command sent straight to the engine's socket (no UI, no terminal).
Run: .venv/bin/python -m bench.key_latency [--runs 5]
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

from bench.common import bench_parser, columns, isolated_home, report, tmux_console
from sip.sipmsg import parse_headers
from tests.rawsip import SDP, Dialog, RawCaller
from tests.support import free_udp_port
from tests.tmux import TmuxSession


def wait_request(caller: RawCaller, method: str, timeout: float = 5.0) -> tuple[float, str]:
    """(perf_counter, text) when a request ``method`` arrives on the caller's socket."""
    caller.sock.settimeout(timeout)
    while True:
        data = caller.sock.recv(65536).decode(errors="replace")
        if data.startswith(method + " "):
            return time.perf_counter(), data


def respond_ok(caller: RawCaller, request: str, with_sdp: bool) -> None:
    """Answer an in-dialog request 200 OK (with an SDP answer for a re-INVITE)."""
    headers = parse_headers(request)
    body = SDP.format(port=caller.port + 2) if with_sdp else ""
    lines = ["SIP/2.0 200 OK"]
    lines += [f"Via: {via}" for via in headers.get("via", [])]
    for name in ("from", "to", "call-id", "cseq"):
        lines.append(f"{name.title()}: {headers.get(name, [''])[0]}")
    lines.append(f"Contact: <sip:raw@127.0.0.1:{caller.port}>")
    if body:
        lines.append("Content-Type: application/sdp")
    lines += [f"Content-Length: {len(body)}", "", body]
    caller.sock.sendto("\r\n".join(lines).encode(), caller.target)


def socket_command(path: Path, message: dict[str, object]) -> None:
    """Send one protocol command over the engine's Unix socket (reply not awaited)."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(path))
        conn.recv(65536)  # hello
        conn.sendall((json.dumps(message) + "\n").encode())
        conn.recv(65536)


def one_call(
    session: TmuxSession, caller: RawCaller, via_keys: bool, sock: Path
) -> tuple[float, float]:
    """(answer ms, hold ms) for one call, by keys or by socket commands."""
    dialog: Dialog = caller.invite()
    caller.wait_status(dialog, 180)
    session.wait_for("ringing", 10)
    call_id = ""
    if not via_keys:
        calls = _status(sock)["calls"]
        assert isinstance(calls, list)
        call_id = str(calls[0]["id"])
    start = time.perf_counter()
    if via_keys:
        session.keys("a")
    else:
        socket_command(sock, {"id": "1", "cmd": "answer", "call": call_id})
    ok = caller.wait_status(dialog, 200)
    answer_ms = (time.perf_counter() - start) * 1000
    caller.ack(dialog, ok)
    session.wait_for("● talking", 10)
    time.sleep(0.3)
    start = time.perf_counter()
    if via_keys:
        session.keys("o")
    else:
        socket_command(sock, {"id": "2", "cmd": "hold", "call": call_id})
    arrived, reinvite = wait_request(caller, "INVITE")
    hold_ms = (arrived - start) * 1000
    respond_ok(caller, reinvite, with_sdp=True)
    time.sleep(0.3)
    session.keys("h")
    _, bye = wait_request(caller, "BYE")
    respond_ok(caller, bye, with_sdp=False)
    session.wait_for("calls 0/", 10)  # the status bar: the call is gone (any terminal size)
    time.sleep(0.5)
    return answer_ms, hold_ms


def _status(sock: Path) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(sock))
        hello = json.loads(conn.recv(65536).split(b"\n")[0])
        return dict(hello["status"])


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    port = free_udp_port()
    results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_UI__BELL"] = "false"
        # The wrap-up dialog would cover the history after each hang-up; this bench
        # times keys to SIP, not after-call work.
        env["CARELINE_WRAP_UP__MODE"] = "off"
        sock = Path(env["XDG_RUNTIME_DIR"]) / "careline" / "engine.sock"
        with tmux_console([sys.executable, "-m", "console", "run"], env) as session:
            caller = RawCaller(port)
            try:
                session.wait_for("phone online", 30)
                for _ in range(args.runs):
                    for via_keys in (True, False):
                        results[via_keys].append(one_call(session, caller, via_keys, sock))
            finally:
                caller.close()
    key_answer, key_hold = columns(results[True])
    command_answer, command_hold = columns(results[False])
    report("key a → 200 OK sent", "ms", key_answer, command_answer, "protocol answer command")
    report("key o → hold re-INVITE sent", "ms", key_hold, command_hold, "protocol hold command")


if __name__ == "__main__":
    main()
