"""Resident memory of the console and of the engine, idle (phone online, no call).

`careline run` in tmux with an isolated home; RSS read from /proc after the
phone is online and things settle. Baselines, same machine, same run: the
smallest Textual app (for the console) and a bare pjsua2 endpoint with one
UDP transport and the null audio device (for the engine).
Run: .venv/bin/python -m bench.idle_memory [--runs 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bench.common import BASELINE_TEXTUAL_APP, isolated_home, report, rss_mib
from tests.support import free_udp_port
from tests.tmux import TmuxSession

BARE_PJSUA2 = (
    "import os, time, pjsua2 as pj\n"
    "fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)\n"
    "ep = pj.Endpoint(); ep.libCreate(); c = pj.EpConfig(); c.uaConfig.threadCnt = 0\n"
    "c.uaConfig.mainThreadOnly = True; c.logConfig.consoleLevel = 0; ep.libInit(c)\n"
    "t = pj.TransportConfig(); t.boundAddress = '127.0.0.1'; t.port = 0\n"
    "ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, t); ep.libStart()\n"
    "ep.audDevManager().setNullDev()\n"
    "end = time.time() + 4\n"
    "while time.time() < end: ep.libHandleEvents(10)\n"
    "ep.libDestroy()\n"
)


def pids_with(text: str) -> list[int]:
    """Live Python processes (this interpreter) whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmd and cmd.startswith(sys.executable):
                found.append(int(entry.name))
    return found


def careline_once() -> tuple[float, float]:
    """(console MiB, engine MiB) for one idle launch."""
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        try:
            session.wait_for("phone online", 30)
            time.sleep(3)
            home = env["HOME"]
            engine = [
                p
                for p in pids_with(home)
                if "console engine"
                in Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            ]
            console = [p for p in pids_with("-m console run") if p not in engine]
            if len(engine) != 1 or len(console) != 1:
                raise RuntimeError(f"expected one engine and one console: {engine} {console}")
            return rss_mib(console[0]), rss_mib(engine[0])
        finally:
            session.keys("q")
            time.sleep(1)
            session.kill()


def textual_baseline_once() -> float:
    """MiB of the smallest Textual app, idle."""
    with isolated_home() as env:
        session = TmuxSession([sys.executable, "-c", BASELINE_TEXTUAL_APP], env)
        try:
            session.wait_for("Call queue (baseline)", 30)
            time.sleep(2)
            [pid] = pids_with("class Hello(App")
            return rss_mib(pid)
        finally:
            session.kill()


def pjsua2_baseline_once() -> float:
    """MiB of a bare pjsua2 endpoint, idle."""
    proc = subprocess.Popen([sys.executable, "-c", BARE_PJSUA2])
    try:
        time.sleep(2.5)
        return rss_mib(proc.pid)
    finally:
        proc.wait(10)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    consoles, engines, textual, pjsua = [], [], [], []
    for _ in range(args.runs):
        console, engine = careline_once()
        consoles.append(console)
        engines.append(engine)
        textual.append(textual_baseline_once())
        pjsua.append(pjsua2_baseline_once())
    report("console RSS, idle", "MiB", consoles, textual, "minimal Textual app")
    report("engine RSS, idle", "MiB", engines, pjsua, "bare pjsua2 endpoint")


if __name__ == "__main__":
    main()
