"""The query language as text and tree: every construct parses, renders back to its
canonical text and parses to the same tree; the JSON tree of the visual builder is the
same tree; bad queries name the position and what was expected there."""

from __future__ import annotations

import pytest

from rapport.segments.query import (
    Agg,
    And,
    Cond,
    Not,
    Or,
    QueryError,
    TreeError,
    from_json,
    parse,
    render,
    to_json,
)

CANONICAL = [
    "tag:vip",
    'city:"New York"',
    "created:>2024-01-01",
    "created:>=2024-01",
    "last_contacted:<=90d",
    "birthday:!=none",
    "custom.plan:gold",
    "name:*ada*",
    "tag:vip AND city:Paris",
    "tag:vip OR tag:press",
    "NOT tag:vip",
    "NOT (tag:vip OR tag:press)",
    "(tag:vip OR tag:press) AND stage:customer",
    "tag:vip OR tag:press AND stage:customer",
    "(tag:a AND tag:b) AND tag:c",
    "(tag:a OR tag:b) OR tag:c",
    "calls(last:90d)>=3",
    "interactions(kind:meeting, direction:in, last:this_quarter)=0",
    "tasks(status:overdue)>0",
    "tasks()>=1",
    'in:"Big customers"',
    'tag:"say \\"hi\\""',
    'tag:"AND"',
    'tag:vip AND (country:DE OR city:"New York") AND NOT consent:newsletter AND '
    "last_contacted:>90d AND calls(last:90d)>=3",
]


@pytest.mark.parametrize("text", CANONICAL)
def test_every_construct_round_trips_through_tree_text_and_json(text):
    tree = parse(text)
    assert render(tree) == text
    assert parse(render(tree)) == tree
    assert from_json(to_json(tree)) == tree


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("tag:vip city:Paris", "tag:vip AND city:Paris"),  # side by side means AND
        ("-tag:vip", "NOT tag:vip"),
        ('tag:"vip"', "tag:vip"),
        ("  tag:vip   AND\n city:Paris ", "tag:vip AND city:Paris"),
        ("((tag:vip))", "tag:vip"),
        ("calls( last : 90d ) >= 3", "calls(last:90d)>=3"),
    ],
)
def test_other_spellings_read_as_the_canonical_text(written, canonical):
    assert render(parse(written)) == canonical


def test_and_binds_tighter_than_or_and_not_tightest():
    assert parse("a:1 OR b:2 AND c:3") == Or(
        (Cond("a", "1"), And((Cond("b", "2"), Cond("c", "3"))))
    )
    assert parse("NOT a:1 AND b:2") == And((Not(Cond("a", "1")), Cond("b", "2")))
    assert parse("calls(last:90d)>=3") == Agg("calls", (("last", "90d"),), ">=", 3)


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("tag:", 4, "a value"),
        ("tag:vip AND", 11, "a field name"),
        ("tag:vip )", 8, "the end of the query"),
        ("calls(last:90d)", 15, "a comparison"),
        ("(tag:vip", 8, "“)”"),
        ('tag:"open', 4, "cannot come here"),
        ("", 0, "empty"),
        ("tag:vip AND AND tag:x", 12, "cannot come here"),
    ],
)
def test_a_query_that_cannot_be_read_names_the_position_and_what_was_expected(
    text, position, words
):
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.position == position
    assert words in caught.value.message
    assert str(caught.value).startswith(f"at {position + 1}: ")


def test_absurd_queries_are_refused_not_run():
    with pytest.raises(QueryError, match="longer than"):
        parse("tag:x AND " * 2000 + "tag:y")
    with pytest.raises(QueryError, match="parentheses|deeper"):
        parse("(" * 200 + "tag:x" + ")" * 200)


@pytest.mark.parametrize(
    ("tree", "path"),
    [
        ([], "query"),
        ({"type": "and", "parts": [{"type": "condition", "field": "tag", "value": "a"}]}, "query"),
        ({"type": "condition", "field": "tag", "value": 3}, "query"),
        ({"type": "condition", "field": "tag", "value": "a", "op": "~"}, "query"),
        ({"type": "not", "part": {"type": "weird"}}, "query.part"),
        ({"type": "count", "name": "calls", "op": ">=", "number": -1}, "query"),
        ({"type": "or", "parts": [{"type": "condition", "field": "tag", "value": "a"}, 5]},
         "query.parts[1]"),
    ],
)  # fmt: skip
def test_a_builder_tree_that_is_not_one_names_the_bad_node(tree, path):
    with pytest.raises(TreeError) as caught:
        from_json(tree)
    assert caught.value.path == path
