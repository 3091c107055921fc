"""The parsed form of a segment query: one tree behind the text and the visual builder.

``Cond`` is ``field:value`` with an optional comparison (``created:>2024-01-01``);
``Agg`` counts related records (``calls(last:90d)>=3``); ``And``/``Or`` hold two or more
parts, ``Not`` one. ``pos`` (the offset in the text a node was read from) is for error
messages only and takes no part in equality.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

OPS = (">=", "<=", "!=", ">", "<", "=")


@dataclass(frozen=True)
class Cond:
    field: str
    value: str
    op: str = ""  # "" (the field's own match: equals, has, contains…) or one of OPS
    quoted: bool = dataclasses.field(default=False, compare=False)
    pos: int = dataclasses.field(default=0, compare=False)
    value_pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class Agg:
    name: str
    args: tuple[tuple[str, str], ...]
    op: str
    number: int
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Cond | Agg | And | Or | Not


def to_json(node: Node) -> dict[str, Any]:
    """The tree as JSON (what the visual builder edits and sends back)."""
    if isinstance(node, Cond):
        out: dict[str, Any] = {"type": "condition", "field": node.field, "op": node.op}
        out["value"] = node.value
        return out
    if isinstance(node, Agg):
        return {
            "type": "count",
            "name": node.name,
            "args": [{"name": k, "value": v} for k, v in node.args],
            "op": node.op,
            "number": node.number,
        }
    if isinstance(node, Not):
        return {"type": "not", "part": to_json(node.part)}
    kind = "and" if isinstance(node, And) else "or"
    return {"type": kind, "parts": [to_json(p) for p in node.parts]}


class TreeError(ValueError):
    """A JSON tree that is not one (the path of the bad node, and why)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


MAX_TREE_DEPTH = 40


def from_json(data: Any, path: str = "query", depth: int = 0) -> Node:
    """The tree from its JSON form; TreeError names the bad node by its path."""
    if depth > MAX_TREE_DEPTH:
        raise TreeError(path, f"the tree nests deeper than {MAX_TREE_DEPTH} levels")
    if not isinstance(data, dict):
        raise TreeError(path, "must be an object")
    kind = data.get("type")
    if kind == "condition":
        name, value, op = data.get("field"), data.get("value"), data.get("op", "")
        if not isinstance(name, str) or not name:
            raise TreeError(path, "a condition needs a field")
        if not isinstance(value, str):
            raise TreeError(path, "a condition's value must be text")
        if op not in ("", *OPS):
            raise TreeError(path, f"unknown comparison “{op}”")
        return Cond(name, value, op, quoted=_needs_quotes(value))
    if kind == "count":
        name, op, number = data.get("name"), data.get("op"), data.get("number")
        args = data.get("args") or []
        if not isinstance(name, str) or op not in OPS:
            raise TreeError(path, "a count needs a name and a comparison")
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise TreeError(path, "a count is compared with a whole number from 0")
        if not isinstance(args, list) or not all(
            isinstance(a, dict)
            and isinstance(a.get("name"), str)
            and isinstance(a.get("value"), str)
            for a in args
        ):
            raise TreeError(path, "a count's arguments are {name, value} objects")
        return Agg(name, tuple((a["name"], a["value"]) for a in args), op, number)
    if kind == "not":
        return Not(from_json(data.get("part"), f"{path}.part", depth + 1))
    if kind in ("and", "or"):
        parts = data.get("parts")
        if not isinstance(parts, list) or len(parts) < 2:
            raise TreeError(path, f"“{kind}” needs two parts or more")
        if len(parts) > 1_000:
            raise TreeError(path, "a group holds at most 1,000 parts")
        built = tuple(from_json(p, f"{path}.parts[{i}]", depth + 1) for i, p in enumerate(parts))
        return And(built) if kind == "and" else Or(built)
    raise TreeError(path, "type must be condition, count, and, or, or not")


_BARE = re.compile(r'^[^\s()",:<>=!][^\s()",]*$')
_KEYWORDS = {"AND", "OR", "NOT"}


def _needs_quotes(value: str) -> bool:
    return not _BARE.match(value) or value in _KEYWORDS


def quote(value: str) -> str:
    if not _needs_quotes(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(node: Node) -> str:
    """The canonical text of a tree: explicit AND, parentheses only where needed,
    values quoted only where needed. ``parse(render(t)) == t`` for every tree."""
    if isinstance(node, Cond):
        return f"{node.field}:{node.op}{quote(node.value)}"
    if isinstance(node, Agg):
        args = ", ".join(f"{k}:{quote(v)}" for k, v in node.args)
        return f"{node.name}({args}){node.op}{node.number}"
    if isinstance(node, Not):
        inner = render(node.part)
        return f"NOT ({inner})" if isinstance(node.part, (And, Or)) else f"NOT {inner}"
    if isinstance(node, And):
        return " AND ".join(
            f"({render(p)})" if isinstance(p, (Or, And)) else render(p) for p in node.parts
        )
    return " OR ".join(f"({render(p)})" if isinstance(p, Or) else render(p) for p in node.parts)
