"""The segment query language: text ⇄ tree (``parse``, ``render``), the tree as JSON for
the visual builder, and its compilation to database queries (``compile``)."""

from rapport.segments.query.parse import QueryError, parse
from rapport.segments.query.tree import (
    Agg,
    And,
    Cond,
    Node,
    Not,
    Or,
    TreeError,
    from_json,
    render,
    to_json,
)

__all__ = [
    "Agg", "And", "Cond", "Node", "Not", "Or", "QueryError", "TreeError", "from_json", "parse",
    "render", "to_json",
]  # fmt: skip
