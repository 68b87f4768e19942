"""Synthetic demo callers: invented people, fictional numbers (555-01xx).

None of these is a real person. The numbers are in the North American
555-0100..0199 range reserved for fiction.
"""

from __future__ import annotations

from dataclasses import dataclass


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
