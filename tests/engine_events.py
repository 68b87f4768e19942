# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine's side of a console test: protocol events as an engine would send them.

For tests of the layer above the engine (a fake is fine there): a console with
no engine at a frozen time (:func:`make`), and the call objects and events that
put it in a state. The same screens are driven against the real engine elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.app import AppWiring, CarelineApp, create_app
from console.core.config import load_config

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


MARIA = ("c1", "Maria Lopez", "+12025550142")
JAMES = ("c2", "James Okafor", "+12025550117")
"""(call id, display name, number) of two callers."""


def iso(timestamp: float) -> str:
    """A protocol timestamp."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def call(
    call_id: str,
    name: str,
    number: str,
    *,
    state: str = "ringing",
    waited: int = 30,
    talked: int | None = None,
    hold: bool = False,
    direction: str = "inbound",
    consult_for: str | None = None,
    transfer: dict[str, str] | None = None,
    priority: str = "",
) -> dict[str, Any]:
    """A protocol call object with times relative to NOW."""
    received = NOW.timestamp() - waited
    answered = None if talked is None else NOW.timestamp() - talked
    return {
        "id": call_id,
        "direction": direction,
        "state": state,
        "caller": {"display_name": name, "number": number, "uri": f"sip:{number}@127.0.0.1"},
        "called_uri": "sip:queue@127.0.0.1",
        "queue": "nurse-line" if direction == "inbound" else "",
        "headers": {"Priority": priority} if priority else {},
        "received_at": iso(received),
        "answered_at": iso(answered) if answered else None,
        "ended_at": None,
        "hold": {"local": hold, "remote": False},
        "muted": False,
        "auto_answered": False,
        "consult_for": consult_for,
        "consult_id": None,
        "transfer": transfer,
        "timeline": [],
    }


def hello(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The hello event an engine holding ``calls`` would send."""
    return {
        "type": "event",
        "event": "hello",
        "protocol": 1,
        "time": "2026-11-26T10:00:00.000Z",
        "status": {
            "protocol": 1,
            "listen": "127.0.0.1:5070",
            "max_calls": 4,
            "queue_capacity": 3,
            "availability": {
                "state": "available",
                "reason": "",
                "since": "2026-11-26T09:12:00.000Z",
            },
            "registration": {"state": "registered", "detail": "registered for 300 s"},
            "calls": calls,
        },
    }


STATES: dict[str, list[dict[str, Any]]] = {
    "idle": [],
    "ringing": [call("c1", "Maria Lopez", "+12025550142")],
    "two_calls_one_held": [
        call(
            "c1", "Maria Lopez", "+12025550142", state="active", waited=200, talked=180, hold=True
        ),
        call("c2", "James Okafor", "+12025550117", state="active", waited=70, talked=65),
        call("c3", "Wei Chen", "+12025550188", waited=12, priority="urgent"),
    ],
    "consult_in_progress": [
        call(
            "c1", "Maria Lopez", "+12025550142", state="active", waited=200, talked=180, hold=True
        ),
        call(
            "c2",
            "Nurse line",
            "4100",
            state="active",
            waited=20,
            talked=15,
            direction="outbound",
            consult_for="c1",
        ),
    ],
    "transfer_failed": [
        call(
            "c1",
            "Maria Lopez",
            "+12025550142",
            state="active",
            waited=200,
            talked=180,
            transfer={"kind": "blind", "target": "sip:billing@pbx.example.org", "status": "failed"},
        ),
    ],
}


def make(tmp_path: Path) -> CarelineApp:
    """A console with no engine, a frozen clock and an empty store."""
    config = load_config(environ={"CARELINE_UI__BELL": "false", "CARELINE_AGENT__NAME": "Robin"})
    wiring = AppWiring(
        engine_argv=["true"],
        socket_path=tmp_path / "none.sock",
        store_path=tmp_path / "store.sqlite3",
    )
    return create_app(config, wiring, clock=lambda: NOW, start_phone=False)


def event(name: str, call_id: str, **fields: Any) -> dict[str, Any]:
    """One engine event about ``call_id``, five seconds after NOW."""
    return {"type": "event", "event": name, "call_id": call_id, "time": "2026-11-26T10:00:05Z"} | (
        fields
    )


def incoming(call_object: dict[str, Any]) -> dict[str, Any]:
    """The ``call.incoming`` event for a call object."""
    return {"type": "event", "event": "call.incoming", "seq": 1, "time": iso(NOW.timestamp())} | {
        "call": call_object
    }
