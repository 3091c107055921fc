"""Text to tree, with a real grammar (``grammar.lark``, LALR): a query that is not one
raises QueryError naming the position and what was expected there."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from rapport.segments.query.tree import Agg, And, Cond, Node, Not, Or

MAX_QUERY = 10_000
MAX_DEPTH = 40
_NOT_RUN = re.compile(r"(?:(?:NOT\b|-)\s*){" + str(MAX_DEPTH + 1) + ",}")

_WORDS = {
    "NAME": "a field name",
    "OP": "a comparison (>, >=, <, <=, =, !=)",
    "NUMBER": "a whole number",
    "STRING": "a quoted value",
    "WORD": "a value",
    "LPAR": "“(”",
    "RPAR": "“)”",
    "COLON": "“:”",
    "COMMA": "“,”",
    "MINUS": "“-”",
    "_AND": "AND",
    "_OR": "OR",
    "_NOT": "NOT",
    "$END": "the end of the query",
}


class QueryError(ValueError):
    """A query that cannot be read or run: ``position`` (0-based offset in the text,
    or None) and a message for people."""

    def __init__(self, message: str, position: int | None = None) -> None:
        where = f"at {position + 1}: " if position is not None else ""
        super().__init__(where + message)
        self.message = message
        self.position = position


@cache
def _parser() -> Lark:
    grammar = (Path(__file__).parent / "grammar.lark").read_text()
    return Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def _unquote(token: str) -> str:
    inner = token[1:-1]
    out, escaped = [], False
    for ch in inner:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(ch)
    return "".join(out)


@v_args(tree=True)
class _Build(Transformer[Token, Node]):
    def or_expr(self, tree: Tree[Node]) -> Node:
        return Or(tuple(tree.children))  # type: ignore[arg-type]

    def and_expr(self, tree: Tree[Node]) -> Node:
        return And(tuple(tree.children))  # type: ignore[arg-type]

    def negation(self, tree: Tree[Node]) -> Node:
        return Not(tree.children[0])  # type: ignore[arg-type]

    def quoted(self, tree: Tree[Token]) -> tuple[str, bool, int]:
        token = tree.children[0]
        assert isinstance(token, Token)
        return _unquote(str(token)), True, token.start_pos or 0

    def bare(self, tree: Tree[Token]) -> tuple[str, bool, int]:
        token = tree.children[0]
        assert isinstance(token, Token)
        return str(token), False, token.start_pos or 0

    def condition(self, tree: Tree[object]) -> Node:
        name = tree.children[0]
        assert isinstance(name, Token)
        op = ""
        rest = tree.children[1:]
        if isinstance(rest[0], Token) and rest[0].type == "OP":
            op = str(rest[0])
            rest = rest[1:]
        value, quoted, at = rest[0]  # type: ignore[misc]
        return Cond(str(name), value, op, quoted, pos=name.start_pos or 0, value_pos=at)

    def argument(self, tree: Tree[object]) -> tuple[str, str]:
        name = tree.children[0]
        value = tree.children[1]
        return str(name), value[0]  # type: ignore[index]

    def aggregate(self, tree: Tree[object]) -> Node:
        name, *rest = tree.children
        assert isinstance(name, Token)
        args = tuple(a for a in rest if isinstance(a, tuple))
        op, number = (t for t in rest if isinstance(t, Token))
        return Agg(str(name), args, str(op), int(number), pos=name.start_pos or 0)  # type: ignore[arg-type]


def _expected(error: UnexpectedInput) -> str:
    names = sorted({_WORDS.get(t, t) for t in getattr(error, "expected", ()) or ()})
    if not names:
        names = sorted({_WORDS.get(t, t) for t in getattr(error, "allowed", ()) or ()})
    return ", ".join(names[:8])


def parse(text: str) -> Node:
    """The tree of ``text``; QueryError for anything that is not a query."""
    if not text.strip():
        raise QueryError("The query is empty.", 0)
    if len(text) > MAX_QUERY:
        raise QueryError(f"The query is longer than {MAX_QUERY:,} characters.", MAX_QUERY)
    if text.count("(") > MAX_DEPTH * 4:
        raise QueryError("The query has too many parentheses.", text.index("("))
    run = _NOT_RUN.search(text)
    if run is not None:
        raise QueryError(f"The query nests deeper than {MAX_DEPTH} levels.", run.start())
    try:
        tree = _parser().parse(text)
    except UnexpectedEOF as exc:
        raise QueryError(
            f"The query ends too soon; expected {_expected(exc)}.", len(text)
        ) from None
    except UnexpectedCharacters as exc:
        at = exc.pos_in_stream or 0
        raise QueryError(
            f"“{text[at : at + 1]}” cannot come here; expected {_expected(exc)}.", at
        ) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise QueryError(
                f"The query ends too soon; expected {_expected(exc)}.", len(text)
            ) from None
        position = exc.token.start_pos if exc.token.start_pos is not None else 0
        raise QueryError(
            f"“{exc.token}” cannot come here; expected {_expected(exc)}.", position
        ) from None
    try:
        node = _Build().transform(tree)
    except RecursionError:
        raise QueryError(f"The query nests deeper than {MAX_DEPTH} levels.", 0) from None
    if _depth(node) > MAX_DEPTH:
        raise QueryError(f"The query nests deeper than {MAX_DEPTH} levels.", 0)
    return node


def _depth(node: Node) -> int:
    if isinstance(node, (And, Or)):
        return 1 + max(_depth(p) for p in node.parts)
    if isinstance(node, Not):
        return 1 + _depth(node.part)
    return 1
