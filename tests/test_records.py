# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's dataclasses (console.core.records) behave as the standard ones, side by
side: repr, equality, hashing, frozenness, copies; with methods shared, not compiled
per class, and no first draft of a slotted class kept alive."""

from __future__ import annotations

import copy
import dataclasses
import gc
import importlib
import math
import pkgutil
import weakref
from dataclasses import InitVar
from typing import Any, ClassVar

import pytest

import console
from console.core import records

SAMPLE = """
class Sample:
    a: int
    b: str = "x"
    c: list = field(default_factory=list, compare=False, repr=False)
    d: float = field(default=0.0, hash=False)
    e: object = None
"""

SHAPES = {
    "five fields": SAMPLE,
    "one field": "class Sample:\n    a: int\n",
    "no field": "class Sample:\n    pass\n",
    "one compared, two hashed": (
        "class Sample:\n    a: int\n    b: str = field(default='x', compare=False, hash=True)\n"
        "    u: ClassVar[int] = 3\n    v: InitVar[int] = 0\n"
        "    def __post_init__(self, v):\n        object.__setattr__(self, 'b', self.b * (v + 1))\n"
    ),
}
"""Class texts: the methods read 0, 1 or more fields, through a tuple or not."""

OPTIONS = [
    {},
    {"frozen": True},
    {"frozen": True, "slots": True},
    {"frozen": True, "slots": True, "kw_only": True},
    {"frozen": True, "slots": True, "repr": False},
    {"slots": True},
    {"eq": False},
    {"unsafe_hash": True},
    {"order": True},
    {"frozen": True, "order": True},
    {"frozen": True, "eq": False},
]


def _define(decorator: Any, options: dict[str, Any], source: str = SAMPLE) -> Any:
    """The class ``source`` defines, made by ``decorator(**options)``."""
    namespace: dict[str, Any] = {"field": dataclasses.field, "__name__": __name__}
    namespace.update(ClassVar=ClassVar, InitVar=InitVar)  # the module's: string annotations
    exec(source, namespace)  # noqa: S102 - the test's own class text
    cls = namespace[source.split("class ", 1)[1].split(":", 1)[0].split("(", 1)[0]]
    return decorator(**options)(cls)


def _pair(options: dict[str, Any], source: str = SAMPLE) -> tuple[Any, Any]:
    """(standard class, careline class) from the same text and options."""
    return _define(dataclasses.dataclass, options, source), _define(
        records.dataclass, options, source
    )


def _make(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """An instance of ``cls`` with ``args`` for its fields in order (by name: kw_only)."""
    fields = [f.name for f in dataclasses.fields(cls)]
    return cls(**dict(zip(fields, args, strict=False)), **kwargs)


def _fields(instance: Any) -> list[object]:
    """``instance``'s field values, NaN as text (so that two NaN compare equal here)."""
    values = [getattr(instance, f.name) for f in dataclasses.fields(instance)]
    return [repr(v) if isinstance(v, float) and math.isnan(v) else v for v in values]


def _outcome(action: Any) -> tuple[str, Any]:
    """("ok", result) or (exception type, message) of ``action()``."""
    try:
        return ("ok", action())
    except Exception as error:  # noqa: BLE001 - compared, not handled
        return (type(error).__name__, str(error))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_each_method_answers_as_the_standard_ones(options: dict[str, Any], shape: str) -> None:
    standard, careline = _pair(options, SHAPES[shape])
    nan = math.nan
    cases = [((1, "y", [1], 2.5, None), (1, "y", [2], 2.5, None)), ((1,), (2,))]
    cases.append(((1, "y", [], nan, None), (1, "y", [], nan, None)))
    for first, second in cases:
        s1, s2 = _make(standard, *first), _make(standard, *second)
        c1, c2 = _make(careline, *first), _make(careline, *second)
        if options.get("repr", True):
            assert repr(c1) == repr(s1)
        else:
            assert repr(c1).startswith(f"<{__name__}.Sample object at 0x")
        assert (c1 == c2, c1 != c2, c1 == c1) == (s1 == s2, s1 != s2, s1 == s1)
        assert (c1 == s1) is False
        assert (careline.__hash__ is None) == (standard.__hash__ is None)
        if standard.__hash__ is not None and standard.__hash__ is not object.__hash__:
            assert hash(c1) == hash(s1)
            assert (hash(c1) == hash(c2)) == (hash(s1) == hash(s2))
        if options.get("order"):
            assert (c1 < c2, c1 <= c2) == (s1 < s2, s1 <= s2)
        names = {f.name for f in dataclasses.fields(careline)}
        actions = [(lambda o: setattr(o, "a", 9), "a"), (lambda o: delattr(o, "b"), "b")]
        for action in (act for act, name in actions if name in names):  # others: below
            fresh_c, fresh_s = _make(careline, *first), _make(standard, *first)
            assert _outcome(lambda a=action, o=fresh_c: a(o)) == _outcome(
                lambda a=action, o=fresh_s: a(o)
            )
            if options.get("repr", True):
                assert _outcome(lambda o=fresh_c: repr(o)) == _outcome(lambda o=fresh_s: repr(o))
        assert _fields(copy.deepcopy(c1)) == _fields(copy.deepcopy(s1))
        changed = (_outcome(lambda o=o: _fields(dataclasses.replace(o, a=7))) for o in (c1, s1))
        assert next(changed) == next(changed)
    assert careline.__match_args__ == standard.__match_args__
    assert [f.name for f in dataclasses.fields(careline)] == [
        f.name for f in dataclasses.fields(standard)
    ]


@pytest.mark.parametrize("slots", [False, True])
def test_a_frozen_instance_refuses_any_name(slots: bool) -> None:
    careline = _define(records.dataclass, {"frozen": True, "slots": slots})
    instance = careline(1)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
        instance.other = 2
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'other'"):
        del instance.other
    # The standard slotted one raises TypeError here: its __setattr__ checks the type
    # against the class's first draft, and passes a name that is no field on to it.
    standard = _define(dataclasses.dataclass, {"frozen": True, "slots": True})
    with pytest.raises(TypeError):
        standard(1).other = 2


def test_a_repr_that_holds_its_own_instance_shows_dots_as_the_standard_one() -> None:
    standard, careline = _pair({})
    s, c = _make(standard, 1), _make(careline, 1)
    s.e, c.e = [s], [c]
    assert repr(c) == repr(s) == "Sample(a=1, b='x', d=0.0, e=[...])"


def test_methods_the_class_body_wrote_are_kept() -> None:
    written = SAMPLE + (
        "    def __repr__(self): return 'mine'\n"
        "    def __eq__(self, other): return True\n"
        "    def __hash__(self): return 7\n"
    )
    cls = _define(records.dataclass, {"frozen": True, "slots": True}, written)
    one, two = cls(1), cls(2)
    assert (repr(one), one == two, hash(one)) == ("mine", True, 7)


def test_a_body_with_eq_alone_still_gets_the_standard_hash_rule() -> None:
    # Python sets __hash__ = None in a body that defines __eq__: the standard decorator
    # does not count that as the class's own hash, and neither does careline's.
    written = SAMPLE + "    def __eq__(self, other): return self.a == other.a\n"
    standard, careline = _pair({"frozen": True}, written)
    assert hash(careline(1, "q")) == hash(standard(1, "q"))
    assert careline(1, "q") == careline(1, "other")


def test_subclasses_compare_and_show_their_own_fields() -> None:
    parent = _define(records.dataclass, {"frozen": True, "slots": True})
    namespace = {"Parent": parent, "__name__": __name__}
    exec("class Child(Parent):\n    f: int = 5\n", namespace)  # noqa: S102
    child = records.dataclass(frozen=True, slots=True)(namespace["Child"])
    assert repr(child(1)) == "Child(a=1, b='x', d=0.0, e=None, f=5)"
    assert child(1) != parent(1)
    assert parent(1) != child(1)
    assert child(1) == child(1)
    assert child(1, f=6) != child(1)
    assert hash(child(1)) != hash(child(1, f=6))


@pytest.mark.parametrize("parent_made_by", ["standard", "careline"])
def test_a_class_compares_as_the_standard_one_whichever_decorator_made_its_parent(
    parent_made_by: str,
) -> None:
    made_by = {"standard": dataclasses.dataclass, "careline": records.dataclass}
    parent = _define(made_by[parent_made_by], {"frozen": True})
    children = []
    for decorator in (dataclasses.dataclass, records.dataclass):
        namespace = {"Parent": parent, "__name__": __name__}
        exec("class Child(Parent):\n    f: int = 5\n", namespace)  # noqa: S102
        children.append(decorator(frozen=True)(namespace["Child"]))
    standard, careline = children
    shapes: list[tuple[object, ...]] = [(1,), (1, "x", [], 0.0, None, 6)]
    for args in shapes:
        s, c = standard(*args), careline(*args)
        assert (repr(c), hash(c), c == careline(*args)) == (repr(s), hash(s), s == standard(*args))
        assert c != parent(1)


def test_the_methods_are_shared_not_compiled_per_class() -> None:
    first = _define(records.dataclass, {"frozen": True, "slots": True})
    second = _define(records.dataclass, {"frozen": True, "slots": True, "kw_only": True})
    for name in ("__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        assert first.__dict__[name] is second.__dict__[name], name
    standard = _define(dataclasses.dataclass, {"frozen": True, "slots": True})
    assert standard.__dict__["__eq__"] is not first.__dict__["__eq__"]


def test_the_first_draft_of_a_slotted_frozen_class_is_not_kept() -> None:
    kept = []

    def drafts(decorator: Any) -> weakref.ref[Any]:
        namespace: dict[str, Any] = {"field": dataclasses.field, "__name__": __name__}
        exec(SAMPLE, namespace)  # noqa: S102
        draft = namespace["Sample"]
        made = decorator(frozen=True, slots=True)(draft)
        assert made is not draft
        kept.append(made)
        return weakref.ref(draft)

    standard, careline = drafts(dataclasses.dataclass), drafts(records.dataclass)
    gc.collect()
    assert standard() is not None  # why careline shares __setattr__: this one leaks
    assert careline() is None


def _console_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(console.__path__, "console."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_every_dataclass_of_the_console_shares_the_methods() -> None:
    unshared, seen = [], 0
    for name in _console_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if not (isinstance(value, type) and value.__module__ == name):
                continue
            if "__dataclass_params__" not in value.__dict__:
                continue
            seen += 1
            for method in ("__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
                function = getattr(value.__dict__.get(method), "__wrapped__", None) or (
                    value.__dict__.get(method)
                )
                code = getattr(function, "__code__", None)
                if code is not None and code.co_filename == "<string>":  # compiled per class
                    unshared.append(f"{name}.{value.__qualname__}.{method}")
    assert seen > 150  # the walk found the console's dataclasses
    assert unshared == []
