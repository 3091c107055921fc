"""A tree to a database query on contacts, and "why is this contact in the segment"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from rapport.contacts.models import Contact
from rapport.segments.query.fields import Context, aggregate_q, field_for
from rapport.segments.query.tree import Agg, And, Cond, Node, Not, render


def compile_tree(node: Node, ctx: Context) -> Q:
    """The ``Q`` of contacts matching ``node``; QueryError for an unknown field, a value
    of the wrong type or a segment that refers to itself."""
    if isinstance(node, Cond):
        return field_for(node)(node, ctx)
    if isinstance(node, Agg):
        return aggregate_q(node, ctx)
    if isinstance(node, Not):
        return ~compile_tree(node.part, ctx)
    parts = [compile_tree(p, ctx) for p in node.parts]
    q = parts[0]
    for part in parts[1:]:
        q = (q & part) if isinstance(node, And) else (q | part)
    return q


def matching(node: Node, ctx: Context) -> QuerySet[Contact]:
    return Contact.objects.filter(compile_tree(node, ctx))


@dataclass(frozen=True)
class Explained:
    """One node of a tree for one contact: its text, whether it holds, and its parts."""

    text: str
    holds: bool
    parts: tuple[Explained, ...] = ()
    kind: str = "condition"

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "holds": self.holds,
            "parts": [p.as_dict() for p in self.parts],
        }


def explain(node: Node, ctx: Context, contact_id: int) -> Explained:
    """Which clauses hold for the contact: each condition asked on its own (one query
    each), the groups combined as the query combines them."""
    if isinstance(node, (Cond, Agg)):
        holds = Contact.objects.filter(compile_tree(node, ctx), pk=contact_id).exists()
        return Explained(
            render(node), holds, kind="condition" if isinstance(node, Cond) else "count"
        )
    if isinstance(node, Not):
        inner = explain(node.part, ctx, contact_id)
        return Explained(render(node), not inner.holds, (inner,), "not")
    parts = tuple(explain(p, ctx, contact_id) for p in node.parts)
    holds = all(p.holds for p in parts) if isinstance(node, And) else any(p.holds for p in parts)
    return Explained(render(node), holds, parts, "and" if isinstance(node, And) else "or")
