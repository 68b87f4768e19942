# SPDX-License-Identifier: GPL-2.0-or-later
"""Reading the fields of a FHIR resource careline relies on: present, typed, or a clear
:class:`MalformedResourceError` naming the resource type and the field (never its value)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from console.core.ehr.errors import MalformedResourceError


def required_text(resource: dict[str, Any], field: str) -> str:
    """``resource[field]`` when it is a non-empty string."""
    value = resource.get(field)
    if isinstance(value, str) and value:
        return value
    kind = resource.get("resourceType", "resource")
    raise MalformedResourceError(f"The EHR's {kind} has no {field}.")


def moment(value: Any, kind: object, field: str) -> datetime | None:
    """A FHIR date or dateTime as an aware UTC datetime (a bare date: its midnight UTC;
    None when absent)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MalformedResourceError(f"The EHR's {kind} has an unreadable {field}.") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
