# SPDX-License-Identifier: GPL-2.0-or-later
"""Validated models, the small part of pydantic's API careline uses, without pydantic.

The configuration (:mod:`console.core.config`) and the script library
(:mod:`console.core.scripts`) are models of this package. It replaces pydantic in the
console process (issue 17: pydantic and its compiled core cost the console about
14 MiB of its resident memory). The names, arguments, error types, locations and
messages are pydantic 2's, for the types and constraints careline uses (see
:mod:`console.core.schema.scalars` and :mod:`console.core.schema.checkers` for what each
type takes). Where it differs, it is stricter: a bool is not a number (pydantic takes
``true`` as 1), a number is not a time (YAML reads an unquoted ``21:00`` as 1260, which
pydantic took as seconds past midnight in UTC), bytes are not a string.
"""

from __future__ import annotations

from console.core.schema.errors import ErrorDetails, ValidationError
from console.core.schema.fields import (
    BeforeValidator,
    ConfigDict,
    Field,
    FieldInfo,
    field_validator,
    model_validator,
)
from console.core.schema.model import BaseModel

__all__ = [
    "BaseModel",
    "BeforeValidator",
    "ConfigDict",
    "ErrorDetails",
    "Field",
    "FieldInfo",
    "ValidationError",
    "field_validator",
    "model_validator",
]
