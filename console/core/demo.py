"""Synthetic demo callers: invented people, fictional numbers (555-01xx).

None of these is a real person. The numbers are in the North American
555-0100..0199 range reserved for fiction.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.core.config import DirectoryEntry


@dataclass(frozen=True, slots=True)
class DemoCaller:
    """Who the demo caller pretends to be on one call."""

    name: str
    number: str


DEMO_CALLERS: tuple[DemoCaller, ...] = (
    DemoCaller("Maria Lopez", "+12025550142"),
    DemoCaller("James Okafor", "+12025550117"),
    DemoCaller("Ana María Núñez-O'Connor", "+12025550163"),
    DemoCaller("Wei Chen", "+12025550188"),
    DemoCaller("Fatima Haddad", "+12025550129"),
    DemoCaller("", "+12025550100"),
)


def demo_directory(targets_port: int) -> list[DirectoryEntry]:
    """Transfer targets played by the demo caller on 127.0.0.1: one answers, one is busy."""
    return [
        DirectoryEntry(
            name="Nurse line",
            number=f"sip:nurse@127.0.0.1:{targets_port}",
            description="Clinical questions, symptoms (answers)",
            hours="24/7",
            type="queue",
        ),
        DirectoryEntry(
            name="Billing",
            number=f"sip:billing@127.0.0.1:{targets_port}",
            description="Invoices and payments (always busy in the demo)",
            hours="Mon-Fri 09:00-17:00",
            type="queue",
        ),
    ]
