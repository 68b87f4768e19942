# SPDX-License-Identifier: GPL-2.0-or-later
"""careline's model layer (console.core.schema): pydantic's API, types, errors and
messages for what careline uses, and hostile input refused cleanly."""

from __future__ import annotations

import json
import math
from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import pytest

from console.core.schema import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Leaf(Strict):
    name: Annotated[str, Field(min_length=1, max_length=5)]
    count: Annotated[int, Field(ge=0, le=10)] = 0


class Yes(Strict):
    kind: Literal["yes"]
    strong: bool = False


class Pick(Strict):
    kind: Literal["pick"]
    options: Annotated[list[Leaf], Field(min_length=1, max_length=3)]


Kind = Annotated[Yes | Pick, Field(discriminator="kind")]


def _listed(value: object) -> object:
    return [value] if isinstance(value, str) else value


class Doc(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z]+$")]
    ratio: Annotated[float, Field(gt=0, le=1)] = 0.5
    seconds: float = 1.0
    size: int = 3
    flag: bool = True
    path: Path | None = None
    at: time = time(8, 0)
    code: Literal[480, 486] = 480
    colour: Colour = Colour.RED
    leaf: Leaf = Leaf(name="a")
    leaves: list[Leaf] = []
    tags: list[Annotated[str, Field(max_length=3)]] = ["a"]
    names: Annotated[list[str], BeforeValidator(_listed)] = []
    keymap: dict[Annotated[str, Field(pattern=r"^[a-z]+$")], int] = {}
    scalar: bool | int | float | str | None = None
    question: Kind | None = None
    questions: list[Kind] = []
    mode: Literal["on", "off"] = "on"

    @field_validator("mode", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        return "off" if value is False else value

    @field_validator("size")
    @classmethod
    def _not_thirteen(cls, value: int) -> int:
        if value == 13:
            raise ValueError("thirteen is refused")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.size == 7 and self.flag:
            raise ValueError("size 7 needs flag off")
        return self


def errors_of(data: Any, model: type[BaseModel] = Doc) -> list[tuple[str, tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [(e["type"], e["loc"], e["msg"]) for e in caught.value.errors()]


def test_a_valid_document_gets_its_defaults_and_converted_values() -> None:
    doc = Doc.model_validate(
        {"id": "x", "size": "12", "seconds": 2, "path": "a/b", "at": "21:30", "colour": "blue"}
    )
    assert doc.size == 12
    assert type(doc.size) is int
    assert doc.seconds == 2.0
    assert type(doc.seconds) is float
    assert doc.path == Path("a/b")
    assert doc.at == time(21, 30)
    assert doc.colour is Colour.BLUE
    assert doc.leaf == Leaf(name="a")
    assert doc.question is None


def test_mutable_defaults_are_not_shared() -> None:
    first, second = Doc(id="a"), Doc(id="b")
    assert first.tags == second.tags == ["a"]
    assert first.tags is not second.tags
    first.tags.append("b")
    assert Doc(id="c").tags == ["a"]


@pytest.mark.parametrize(
    ("data", "kind"),
    [({"flag": " true "}, "bool_parsing"), ({"at": " 08:00"}, "time_parsing")]
    + [({"size": size}, "int_parsing_size") for size in (1e308, 2.0**63, -(2.0**63))],
)
def test_padding_and_huge_floats_are_refused_as_pydantic_refuses_them(
    data: dict[str, Any], kind: str
) -> None:
    assert [found for found, _, _ in errors_of({"id": "x", **data})] == [kind]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"size": "lots"},
            (
                "int_parsing",
                ("size",),
                "Input should be a valid integer, unable to parse string as an integer",
            ),
        ),
        (
            {"size": 1.5},
            (
                "int_from_float",
                ("size",),
                "Input should be a valid integer, got a number with a fractional part",
            ),
        ),
        ({"size": True}, ("int_type", ("size",), "Input should be a valid integer")),
        ({"size": float("nan")}, ("finite_number", ("size",), "Input should be a finite number")),
        ({"seconds": False}, ("float_type", ("seconds",), "Input should be a valid number")),
        (
            {"seconds": "soon"},
            (
                "float_parsing",
                ("seconds",),
                "Input should be a valid number, unable to parse string as a number",
            ),
        ),
        ({"ratio": 0}, ("greater_than", ("ratio",), "Input should be greater than 0")),
        ({"ratio": 2}, ("less_than_equal", ("ratio",), "Input should be less than or equal to 1")),
        (
            {"ratio": math.nan},
            ("less_than_equal", ("ratio",), "Input should be less than or equal to 1"),
        ),
        (
            {"ratio": math.inf},
            ("less_than_equal", ("ratio",), "Input should be less than or equal to 1"),
        ),
        ({"ratio": -math.inf}, ("greater_than", ("ratio",), "Input should be greater than 0")),
        (
            {"flag": "maybe"},
            (
                "bool_parsing",
                ("flag",),
                "Input should be a valid boolean, unable to interpret input",
            ),
        ),
        (
            {"flag": 2},
            (
                "bool_parsing",
                ("flag",),
                "Input should be a valid boolean, unable to interpret input",
            ),
        ),
        ({"flag": None}, ("bool_type", ("flag",), "Input should be a valid boolean")),
        ({"id": 5}, ("string_type", ("id",), "Input should be a valid string")),
        ({"id": True}, ("string_type", ("id",), "Input should be a valid string")),
        (
            {"id": "X"},
            ("string_pattern_mismatch", ("id",), "String should match pattern '^[a-z]+$'"),
        ),
        (
            {"id": "ab\n"},
            ("string_pattern_mismatch", ("id",), "String should match pattern '^[a-z]+$'"),
        ),
        (
            {"tags": ["abcd"]},
            ("string_too_long", ("tags", 0), "String should have at most 3 characters"),
        ),
        (
            {"leaf": {"name": ""}},
            ("string_too_short", ("leaf", "name"), "String should have at least 1 character"),
        ),
        (
            {"path": 5},
            ("path_type", ("path",), "Input is not a valid path for <class 'pathlib.Path'>"),
        ),
        (
            {"at": 1260},
            ("time_type", ("at",), 'Input should be a valid time (in quotes, e.g. "21:00")'),
        ),
        (
            {"at": "25:00"},
            (
                "time_parsing",
                ("at",),
                "Input should be in a valid time format, expected HH:MM or HH:MM:SS",
            ),
        ),
        ({"code": "480"}, ("literal_error", ("code",), "Input should be 480 or 486")),
        ({"code": True}, ("literal_error", ("code",), "Input should be 480 or 486")),
        ({"mode": "auto"}, ("literal_error", ("mode",), "Input should be 'on' or 'off'")),
        ({"colour": "green"}, ("enum", ("colour",), "Input should be 'red' or 'blue'")),
        ({"leaves": "x"}, ("list_type", ("leaves",), "Input should be a valid list")),
        (
            {"leaf": 5},
            ("model_type", ("leaf",), "Input should be a valid dictionary or instance of Leaf"),
        ),
        ({"leaves": [{}]}, ("missing", ("leaves", 0, "name"), "Field required")),
        ({"keymap": []}, ("dict_type", ("keymap",), "Input should be a valid dictionary")),
        (
            {"keymap": {"A": 1}},
            (
                "string_pattern_mismatch",
                ("keymap", "A", "[key]"),
                "String should match pattern '^[a-z]+$'",
            ),
        ),
        (
            {"keymap": {"a": "x"}},
            (
                "int_parsing",
                ("keymap", "a"),
                "Input should be a valid integer, unable to parse string as an integer",
            ),
        ),
        ({"size": 13}, ("value_error", ("size",), "Value error, thirteen is refused")),
        ({"size": 7}, ("value_error", (), "Value error, size 7 needs flag off")),
        ({"surprise": 1}, ("extra_forbidden", ("surprise",), "Extra inputs are not permitted")),
        (
            {"leaf": {"name": "a", "surprise": 1}},
            ("extra_forbidden", ("leaf", "surprise"), "Extra inputs are not permitted"),
        ),
        (
            {"question": {"kind": "yes", "surprise": 1}},
            ("extra_forbidden", ("question", "yes", "surprise"), "Extra inputs are not permitted"),
        ),
        (
            {"questions": [{"kind": "pick", "options": [{"name": "a", "surprise": 1}]}]},
            (
                "extra_forbidden",
                ("questions", 0, "pick", "options", 0, "surprise"),
                "Extra inputs are not permitted",
            ),
        ),
    ],
)
def test_each_wrong_value_is_reported_as_pydantic_reports_it(
    data: dict[str, Any], error: tuple[str, tuple[Any, ...], str]
) -> None:
    assert errors_of({"id": "x", **data}) == [error]


def test_lax_conversions_kept_from_pydantic() -> None:
    doc = Doc(id="x", size=" 7 ", flag="off", seconds="1e3", code=486.0, mode=False)  # type: ignore[arg-type]
    assert (doc.size, doc.flag, doc.seconds, doc.code, doc.mode) == (7, False, 1000.0, 486, "off")
    assert Doc(id="x", size=4.0).size == 4  # type: ignore[arg-type]
    assert Doc(id="x", names="one").names == ["one"]  # type: ignore[arg-type]
    assert Doc(id="x", seconds=math.nan).seconds != Doc(id="x").seconds  # no bound: NaN passes


@pytest.mark.parametrize(
    ("value", "kept"), [(True, True), (1, 1), (1.5, 1.5), ("1", "1"), (None, None)]
)
def test_a_scalar_union_keeps_the_type_it_was_given(value: object, kept: object) -> None:
    doc = Doc(id="x", scalar=value)  # type: ignore[arg-type]
    assert doc.scalar == kept
    assert type(doc.scalar) is type(kept)


def test_a_union_that_takes_nothing_names_each_member() -> None:
    assert [loc for _, loc, _ in errors_of({"id": "x", "scalar": [1]})] == [
        ("scalar", "bool"),
        ("scalar", "int"),
        ("scalar", "float"),
        ("scalar", "str"),
    ]


def test_a_discriminated_union_picks_by_its_tag() -> None:
    doc = Doc(id="x", question={"kind": "pick", "options": [{"name": "a"}]})  # type: ignore[arg-type]
    assert isinstance(doc.question, Pick)
    assert doc.question.options == [Leaf(name="a")]


def test_a_missing_or_unknown_tag_is_one_clear_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Doc.model_validate({"id": "x", "question": {"strong": True}})
    [missing] = caught.value.errors()
    assert missing["type"] == "union_tag_not_found"
    assert missing["loc"] == ("question",)
    assert missing["msg"] == "Unable to extract tag using discriminator 'kind'"
    with pytest.raises(ValidationError) as caught:
        Doc.model_validate({"id": "x", "questions": [{"kind": "essay"}]})
    [unknown] = caught.value.errors()
    assert unknown["type"] == "union_tag_invalid"
    assert unknown["loc"] == ("questions", 0)
    assert unknown["msg"] == (
        "Input tag 'essay' found using 'kind' does not match any of the expected tags: "
        "'yes', 'pick'"
    )
    assert unknown["ctx"] == {
        "discriminator": "'kind'",
        "tag": "essay",
        "expected_tags": "'yes', 'pick'",
    }
    assert errors_of({"id": "x", "question": "yes"})[0][0] == "model_attributes_type"


def test_every_error_is_collected_in_field_order() -> None:
    found = errors_of({"id": "X", "size": "x", "leaves": [{"name": ""}, {}], "nope": 1})
    assert [loc for _, loc, _ in found] == [
        ("id",),
        ("size",),
        ("leaves", 0, "name"),
        ("leaves", 1, "name"),
        ("nope",),
    ]
    with pytest.raises(ValidationError) as caught:
        Doc.model_validate({"id": "X", "size": "x"})
    assert caught.value.error_count() == 2
    assert str(caught.value).startswith("2 validation errors for Doc\nid\n  String should match")


def test_a_missing_field_and_a_wrong_top_level() -> None:
    assert errors_of({}) == [("missing", ("id",), "Field required")]
    assert errors_of([1]) == [
        ("model_type", (), "Input should be a valid dictionary or instance of Doc")
    ]
    assert errors_of(None)[0][0] == "model_type"


def test_models_are_frozen_hashable_and_compare_by_value() -> None:
    leaf = Leaf(name="a", count=2)
    with pytest.raises(ValidationError, match="Instance is frozen"):
        leaf.count = 3  # type: ignore[misc]
    assert leaf == Leaf(name="a", count=2)
    assert leaf != Leaf(name="a")
    assert hash(leaf) == hash(Leaf(name="a", count=2))
    assert {leaf, Leaf(name="a", count=2)} == {leaf}
    assert repr(leaf) == "Leaf(name='a', count=2)"
    assert Leaf.model_validate(leaf) is leaf


def test_model_copy_replaces_fields_without_touching_the_original() -> None:
    doc = Doc(id="x")
    copy = doc.model_copy(update={"size": 5, "leaf": Leaf(name="b")})
    assert (copy.size, copy.leaf.name, copy.id) == (5, "b", "x")
    assert (doc.size, doc.leaf.name) == (3, "a")
    with pytest.raises(ValueError, match="no field 'sise'"):
        doc.model_copy(update={"sise": 5})


def test_model_dump_and_json() -> None:
    doc = Doc(id="x", path=Path("/a"), question={"kind": "yes"})  # type: ignore[arg-type]
    dumped = doc.model_dump()
    assert dumped["leaf"] == {"name": "a", "count": 0}
    assert Doc.model_validate(dumped) == doc
    data = json.loads(doc.model_dump_json(indent=2))
    assert (data["path"], data["at"], data["colour"]) == ("/a", "08:00:00", "red")
    assert data["question"] == {"kind": "yes", "strong": False}
    assert "\n" not in doc.model_dump_json()


def test_a_huge_list_is_refused_by_its_length_before_its_items() -> None:
    huge = [{"name": "x" * 100}] * 1_000_000
    found = errors_of({"id": "x", "question": {"kind": "pick", "options": huge}})
    assert found == [
        (
            "too_long",
            ("question", "pick", "options"),
            "List should have at most 3 items after validation, not 1000000",
        )
    ]


def test_deeply_nested_input_is_refused_where_the_type_ends() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    found = errors_of({"id": "x", "tags": deep, "scalar": deep, "leaf": {"name": deep}})
    assert ("string_type", ("tags", 0), "Input should be a valid string") in found
    assert ("string_type", ("leaf", "name"), "Input should be a valid string") in found
    with pytest.raises(ValidationError) as caught:
        Doc.model_validate({"id": "x", "tags": deep})
    assert len(str(caught.value)) < 1000  # the input is shown shortened, never in full


def test_many_bad_values_are_each_reported() -> None:
    found = errors_of({"id": "x", "leaves": [{"name": 1}] * 5000})
    assert len(found) == 5000
    assert found[-1][1] == ("leaves", 4999, "name")


def test_unhashable_values_never_crash_a_literal_or_a_tag() -> None:
    assert errors_of({"id": "x", "code": [480]})[0][0] == "literal_error"
    assert errors_of({"id": "x", "colour": {"red": 1}})[0][0] == "enum"
    assert errors_of({"id": "x", "question": {"kind": ["yes"]}})[0][0] == "union_tag_invalid"


def test_a_model_of_an_unsupported_type_or_constraint_fails_at_its_first_use() -> None:
    class Odd(BaseModel):
        value: complex = 0j

    with pytest.raises(TypeError, match="no validation"):
        Odd()

    class Wrong(BaseModel):
        value: Annotated[int, Field(pattern="x")] = 0

    with pytest.raises(TypeError, match="pattern does not apply"):
        Wrong()


def test_a_model_check_reports_the_mapping_it_was_given() -> None:
    """The configuration's message echoes an input unless it is a mapping: a model
    check's error must carry the mapping, not the model built from it."""
    with pytest.raises(ValidationError) as caught:
        Doc.model_validate({"id": "x", "size": 7})
    assert caught.value.errors()[0]["input"] == {"id": "x", "size": 7}
