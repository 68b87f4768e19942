# SPDX-License-Identifier: GPL-2.0-or-later
"""sip.plain's value classes behave as the dataclasses they replace (issue 17)."""

from __future__ import annotations

import pytest

from sip.plain import field, fields, plain


@plain(frozen=True)
class Point:
    """A frozen plain class."""

    x: int
    y: int = 0
    """A field's docstring is no default."""

    def norm(self) -> int:
        """A method of the class body survives."""
        return abs(self.x) + abs(self.y)


@plain()
class Bag:
    """A mutable plain class with a fresh default each instance."""

    name: str
    items: list[str] = field(default_factory=list)


def test_a_frozen_class_compares_hashes_and_shows_its_fields() -> None:
    assert Point(1, 2) == Point(x=1, y=2) != Point(1)
    assert Point(1) == Point(1, 0)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"
    assert Point(3, -4).norm() == 7
    assert fields(Point) == ("x", "y")
    assert fields(int) == ()
    assert not hasattr(Point(1), "__dict__")  # slots
    with pytest.raises(AttributeError, match="frozen Point"):
        Point(1).x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Point(1).z = 2  # type: ignore[attr-defined]


def test_a_mutable_class_gets_a_fresh_default_and_no_hash() -> None:
    first, second = Bag("a"), Bag("a")
    first.items.append("x")
    assert second.items == []
    assert first != second
    first.name = "b"
    assert first == Bag("b", ["x"])
    with pytest.raises(TypeError):
        hash(first)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, 3), {}), ((1,), {"x": 1}), ((1,), {"z": 1})],
)
def test_wrong_arguments_are_a_type_error(args: tuple[int, ...], kwargs: dict[str, int]) -> None:
    with pytest.raises(TypeError):
        Point(*args, **kwargs)
