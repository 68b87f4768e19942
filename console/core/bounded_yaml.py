# SPDX-License-Identifier: GPL-2.0-or-later
"""Composing YAML within limits (see :mod:`console.core.bounded_load`); the one module that
imports PyYAML.

A YAML document is composed with its nesting depth counted before each level is entered,
and with aliases counted and their expansion measured, so a "billion laughs" document or
ten thousand opening brackets is refused before anything recurses or multiplies. PyYAML
costs an idle console about 1.3 MiB once imported, so nothing imports this module until
a document has to be composed: a start whose documents are all in the parsed cache
(:mod:`console.core.parsed_yaml`) never does.
"""

from __future__ import annotations

from typing import Any

import yaml

from console.core.bounded_load import LimitError, Limits, Loc, YamlError


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting depth, aliases and expanded values as it composes."""

    def __init__(self, text: str, limits: Limits) -> None:
        super().__init__(text)
        self._limits = limits
        self._depth = 0
        self._aliases = 0
        # id(node) -> (values once aliases are expanded, height); only finished nodes
        self._measured: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        limits = self._limits
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > limits.max_aliases:
                raise LimitError(
                    f"more than {limits.max_aliases} YAML aliases (*name)", mark.line + 1
                )
            node = super().compose_node(parent, index)
            if node is None or id(node) not in self._measured:
                raise LimitError(
                    "a YAML alias refers to a list or mapping it is inside", mark.line + 1
                )
            return node
        self._depth += 1
        if self._depth > limits.max_depth:
            raise LimitError(f"nested more than {limits.max_depth} levels deep", mark.line + 1)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:
            return None
        values, height = 1, 1
        for child in _children(node):
            child_values, child_height = self._measured[id(child)]
            values += child_values
            height = max(height, child_height + 1)
        if height > limits.max_depth:
            raise LimitError(
                f"nested more than {limits.max_depth} levels deep once aliases are expanded",
                mark.line + 1,
            )
        if values > limits.max_values:
            raise LimitError(
                f"more than {limits.max_values:,} values once aliases are expanded",
                mark.line + 1,
            )
        self._measured[id(node)] = (values, height)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # A value YAML recognises but Python cannot build (a 5,000-digit
        # integer, 2024-02-30 as a date) is a problem in the file, at a line.
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({exc})", node.start_mark
            ) from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def compose_yaml(text: str, limits: Limits) -> tuple[yaml.Node | None, Any]:
    """The composed node (for line numbers) and the constructed data of one YAML document.

    Raises :class:`LimitError` past a limit, :class:`YamlError` when it does not parse.
    """
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text, limits)  # refuses a non-printable character already
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise YamlError(
            str(exc.problem),
            syntax=True,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), syntax=False) from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def key_lines(node: yaml.Node | None) -> tuple[dict[Loc, int], list[tuple[Loc, int]]]:
    """The 1-based line of every key and list item under ``node``, by its path of keys and
    list indexes; and the keys given twice in one mapping (path, the later one's line)."""
    lines: dict[Loc, int] = {}
    duplicates: list[tuple[Loc, int]] = []

    def walk(node: yaml.Node, prefix: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                loc = (*prefix, str(key.value))
                if loc in lines:
                    duplicates.append((loc, key.start_mark.line + 1))
                lines[loc] = key.start_mark.line + 1
                walk(value, loc)
        elif isinstance(node, yaml.SequenceNode):
            for number, item in enumerate(node.value):
                loc = (*prefix, number)
                lines[loc] = item.start_mark.line + 1
                walk(item, loc)

    if node is not None:
        walk(node, ())
    return lines, duplicates
