"""Plain settings for the phone engine, built by the CLI from validated config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Everything the engine needs to start; no pjsua2 types, no config parsing."""

    listen_host: str = "127.0.0.1"
    """Address the SIP UDP transport and the RTP media bind to."""
    listen_port: int = 5070
    """SIP UDP port; 0 picks a free one (reported in ``engine.ready``)."""
    auto_answer: int | None = None
    """Answer every incoming call with this SIP code (200 accepts, 4xx-6xx refuse)."""
    user_agent: str = "careline"
    """User-Agent header value."""
    log_path: Path | None = None
    """Engine log file; native output (pjlib banner, asserts) is sent here too."""
    log_level: int = 2
    """pjsip log verbosity in the log file (0-6); 3+ logs caller identity in call dumps."""
    log_sip_messages: bool = False
    """Write whole SIP messages to the log. Off by default: they carry caller identity."""
