# SPDX-License-Identifier: GPL-2.0-or-later
"""What can go wrong talking to the EHR, in words an agent can act on.

Every message here is safe to show and to log: it names the operation, the
resource type and the HTTP status, never a patient, an id, a token or the
server's own text (which may quote the request).
"""

from __future__ import annotations


class EhrError(Exception):
    """The EHR could not do what was asked; ``str()`` is a sentence for the agent."""


class EhrUnavailableError(EhrError):
    """The EHR is unreachable, too slow, or failing (5xx, 429): try later, nothing changed
    that careline knows of (a write that timed out is looked up before it is retried)."""


class EhrRefusedError(EhrError):
    """The EHR understood and said no (400, 403, 404, 422…): retrying will not help."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class EhrSignInError(EhrError):
    """careline could not sign in to the EHR (token refused, key rejected, no token endpoint)."""


class EhrConflictError(EhrError):
    """Someone changed the resource first (409, or 412 on If-Match): read it again."""


class MalformedResourceError(EhrError):
    """The EHR sent something careline cannot use; the message names the field, not its value."""
