"""Reading segments: who is in a query or a saved segment (exact counts, members a page
at a time, by name or by a score), and why one contact is; scores, their top contacts
and how their values are spread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone

from rapport.contacts.models import Contact, Email
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput
from rapport.core.text import fold
from rapport.segments.models import ContactList, ContactScore, Score, Segment
from rapport.segments.query import Cond, Node, QueryError, parse
from rapport.segments.query.compile import Explained, compile_tree, explain
from rapport.segments.query.fields import Context, tree_fields

MAX_PAGE = 200
# up to this many members without a score's value are read by id, then sorted
FEW_UNSCORED = 5_000


def _seen_by(model: Any, actor: Any) -> QuerySet[Any]:
    """The rows of ``model`` (Segment or ContactList) ``actor`` may see: shared ones and
    their own."""
    return model.objects.filter(Q(shared=True) | Q(owner_id=getattr(actor, "pk", None)))


def _lookup_for(actor: Any) -> Any:
    """How ``in:NAME`` finds a segment (its query) or a list (its id) among those
    ``actor`` may see: another user's private ones do not exist for them."""

    def lookup(name: str) -> tuple[str, str] | None:
        key = fold(name)
        found = _seen_by(Segment, actor).filter(name_key=key).values_list("query", flat=True)
        if query := found.first():
            return "segment", query
        list_id = _seen_by(ContactList, actor).filter(name_key=key).values_list("pk", flat=True)
        return ("list", str(list_id.first())) if list_id.exists() else None

    return lookup


def context_for(actor: Any, *, own_name: str = "") -> Context:
    """What queries are compiled against now: the workspace's zone (TIME_ZONE), the
    actor (owner:me), saved segments and lists for ``in:``; ``own_name`` is the segment
    being saved, so a reference back to it is caught."""
    stack = (fold(own_name),) if own_name else ()
    return Context(
        now=timezone.now(),
        zone=ZoneInfo(settings.TIME_ZONE),
        actor=actor,
        segment_query=_lookup_for(actor),
        stack=stack,
    )


def query_tree(text: str) -> Node:
    """The tree of a query; InvalidInput on ``query`` naming the position otherwise."""
    try:
        return parse(text)
    except QueryError as exc:
        raise InvalidInput.single("query", str(exc)) from None


def query_matching(actor: Any, text: str, *, own_name: str = "") -> QuerySet[Contact]:
    """The contacts ``text`` selects. Raises NotPermitted, InvalidInput (``query``)."""
    policy.require(actor, "contacts.view")
    tree = query_tree(text)
    try:
        return Contact.objects.filter(compile_tree(tree, context_for(actor, own_name=own_name)))
    except QueryError as exc:
        raise InvalidInput.single("query", str(exc)) from None


def query_count(actor: Any, text: str) -> int:
    """The exact number of contacts ``text`` selects."""
    return query_matching(actor, text).count()


@dataclass(frozen=True)
class MembersPage:
    items: list[Contact]
    next_cursor: str | None


SORT_HELP = "name (the default), score.KEY (lowest first) or -score.KEY (highest first)"


def _score_sort(sort: str) -> tuple[int, bool] | None:
    """``score.KEY`` / ``-score.KEY`` → (the score's id, highest first); None for by
    name; InvalidInput on ``sort`` for anything else."""
    if sort in ("", "name"):
        return None
    bare = sort.removeprefix("-")
    if not bare.startswith("score.") or bare == "score.":
        raise InvalidInput.single("sort", f"Sort by {SORT_HELP}; not “{sort}”.")
    key = bare.removeprefix("score.")
    score_id = Score.objects.filter(key=key).values_list("pk", flat=True).first()
    if score_id is None:
        raise InvalidInput.single("sort", f"There is no score “{key}”.")
    return score_id, sort.startswith("-")


def query_members(
    actor: Any, text: str, *, cursor: str | None = None, limit: int = 50, sort: str = ""
) -> MembersPage:
    """The contacts ``text`` selects, a page at a time (keyset cursor): by name, or by a
    score's value (``sort``: ``score.KEY`` lowest first, ``-score.KEY`` highest first;
    ties by name; a contact without a value has 0), each then carrying ``score_value``.
    Raises NotPermitted, InvalidInput (``query``, ``sort``, ``cursor``, ``limit``)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput.single("limit", f"Must be from 1 to {MAX_PAGE}.")
    by_score = _score_sort(sort)
    members = query_matching(actor, text)
    if by_score is None:
        return _page_by_name(members, cursor, limit)
    return _page_by_score(members, cursor, limit, sort, *by_score)


def _page_by_name(members: QuerySet[Contact], cursor: str | None, limit: int) -> MembersPage:
    members = members.order_by("sort_name", "pk")
    if cursor:
        sort_name, pk = decode_cursor(cursor, 2)
        if not isinstance(sort_name, str) or not isinstance(pk, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        members = members.filter(sort_name__gt=sort_name) | members.filter(
            sort_name=sort_name, pk__gt=pk
        )
        members = members.order_by("sort_name", "pk")
    page = list(members[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    next_cursor = encode_cursor([page[-1].sort_name, page[-1].pk]) if more and page else None
    return MembersPage(page, next_cursor)


def _page_by_score(
    members: QuerySet[Contact], cursor: str | None, limit: int, sort: str, score_id: int,
    descending: bool,
) -> MembersPage:  # fmt: skip
    """Members by a score's value, read in three runs so each page is a few index reads,
    not a sort of every member: the values above 0 (from the score's (score, value)
    index, each row asked whether its contact is a member), the members with no value
    (0, by name), the values below 0. Highest first is above, none, below; lowest first
    the reverse. The cursor holds the sort, the run and the last (value, name, id)."""
    runs = ("above", "none", "below") if descending else ("below", "none", "above")
    run, after = runs[0], None
    if cursor:
        # the sort is part of the cursor: one made for another order is refused
        given, run, number, sort_name, pk = decode_cursor(cursor, 5)
        if (
            given != sort
            or run not in runs
            or not isinstance(number, int)
            or not isinstance(sort_name, str)
            or not isinstance(pk, int)
        ):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        after = (number, sort_name, pk)
    page: list[Contact] = []
    for name in runs[runs.index(run) :]:
        page += _score_run(
            members, score_id, name, descending, after if name == run else None,
            limit + 1 - len(page),
        )  # fmt: skip
        if len(page) > limit:
            break
    more = len(page) > limit
    page = page[:limit]
    last: Any = page[-1] if more and page else None
    if last is None:
        return MembersPage(page, None)
    value = last.score_value
    last_run = "none" if value == 0 else "above" if value > 0 else "below"
    return MembersPage(page, encode_cursor([sort, last_run, value, last.sort_name, last.pk]))


def _score_run(
    members: QuerySet[Contact], score_id: int, run: str, descending: bool,
    after: tuple[int, str, int] | None, wanted: int,
) -> list[Contact]:  # fmt: skip
    """Up to ``wanted`` members of one run by a score (see ``_page_by_score``), after
    the cursor's row, each carrying ``score_value``."""
    values = ContactScore.objects.filter(score_id=score_id).exclude(value=0)
    if run == "none":
        unscored = members.filter(~Exists(values.filter(contact_id=OuterRef("pk"))))
        # When few members have no value (every member of the segment scored, say),
        # walking every contact by name to find them would read the whole table: find
        # them first in whatever order is cheapest, then sort those few.
        few = list(unscored.order_by().values_list("pk", flat=True)[: FEW_UNSCORED + 1])
        if len(few) <= FEW_UNSCORED:
            unscored = Contact.objects.filter(pk__in=few)
        if after is not None:
            _number, sort_name, pk = after
            unscored = unscored.filter(
                Q(sort_name__gt=sort_name) | Q(sort_name=sort_name, pk__gt=pk)
            )
        return list(unscored.annotate(score_value=Value(0)).order_by("sort_name", "pk")[:wanted])
    rows = values.filter(value__gt=0) if run == "above" else values.filter(value__lt=0)
    rows = rows.filter(Exists(members.filter(pk=OuterRef("contact_id"))))
    if after is not None:
        number, sort_name, pk = after
        beyond = Q(value__lt=number) if descending else Q(value__gt=number)
        rows = rows.filter(
            beyond
            | Q(value=number, contact__sort_name__gt=sort_name)
            | Q(value=number, contact__sort_name=sort_name, contact_id__gt=pk)
        )
    first = "-value" if descending else "value"
    found = []
    for row in rows.select_related("contact").order_by(first, "contact__sort_name", "contact_id")[
        :wanted
    ]:
        row.contact.score_value = row.value  # type: ignore[attr-defined]
        found.append(row.contact)
    return found


def query_explain(actor: Any, text: str, contact_id: int) -> Explained:
    """Which clauses of ``text`` hold for one contact."""
    policy.require(actor, "contacts.view")
    if not Contact.objects.filter(pk=contact_id).exists():
        raise InvalidInput.single("contact", "No such contact.")
    tree = query_tree(text)
    try:
        return explain(tree, context_for(actor), contact_id)
    except QueryError as exc:
        raise InvalidInput.single("query", str(exc)) from None


def segments_visible(actor: Any) -> QuerySet[Segment]:
    """The segments ``actor`` may see: shared ones and their own."""
    policy.require(actor, "segments.view")
    return _seen_by(Segment, actor).order_by("name_key")


def lists_visible(actor: Any) -> QuerySet[ContactList]:
    policy.require(actor, "segments.view")
    return _seen_by(ContactList, actor).order_by("name_key")


@dataclass(frozen=True)
class Change:
    contact_id: int
    name: str
    what: str  # entered, left
    at: Any


def segment_changes(segment: Segment, *, since: Any, limit: int = 200) -> list[Change]:
    """Who entered and who left the segment since ``since`` (as recorded), newest first."""
    from rapport.segments.models import SegmentMember

    stays = SegmentMember.objects.filter(segment=segment)
    entered = stays.filter(entered_at__gte=since).order_by("-entered_at")[:limit]
    left = stays.filter(left_at__gte=since).order_by("-left_at")[:limit]
    rows = [(s.contact_id, "entered", s.entered_at) for s in entered]
    rows += [(s.contact_id, "left", s.left_at) for s in left if s.left_at is not None]
    names = dict(
        Contact.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", "display_name")
    )
    rows.sort(key=lambda r: r[2], reverse=True)
    return [Change(c, names.get(c, f"#{c} (deleted)"), what, at) for c, what, at in rows[:limit]]


def members_out(contacts: list[Contact]) -> list[dict[str, Any]]:
    """Members as a list shows them: name, first email (the primary), stage, owner, and
    the score they were sorted by (None when sorted by name)."""
    emails: dict[int, str] = {}
    for contact_id, address in (
        Email.objects.filter(contact_id__in=[c.pk for c in contacts])
        .order_by("contact_id", "-primary", "pk")
        .values_list("contact_id", "address")
    ):
        emails.setdefault(contact_id, address)
    return [
        {
            "id": c.pk,
            "name": c.display_name,
            "email": emails.get(c.pk),
            "stage": c.lifecycle_stage,
            "owner": c.owner.username if c.owner_id and c.owner else None,
            "score": getattr(c, "score_value", None),
        }
        for c in contacts
    ]


def import_contacts(actor: Any, batch_id: Any) -> QuerySet[Contact]:
    """The contacts an import created or changed (those that still exist)."""
    from rapport.ingest.models import ImportBatch, ImportChange

    policy.require(actor, "contacts.view")
    if isinstance(batch_id, bool) or not isinstance(batch_id, int) or not 0 < batch_id < 2**63:
        raise InvalidInput.single("import_batch", "Give the number of an import.")
    if not ImportBatch.objects.filter(pk=batch_id).exists():
        raise InvalidInput.single("import_batch", f"There is no import {batch_id}.")
    changed = ImportChange.objects.filter(batch_id=batch_id).values("contact_id")
    return Contact.objects.filter(pk__in=changed)


def recent_imports(limit: int = 20) -> list[Any]:
    from rapport.ingest.models import ImportBatch

    return list(ImportBatch.objects.order_by("-pk")[:limit])


# -- scores -------------------------------------------------------------------------------------


def scores_visible(actor: Any) -> QuerySet[Score]:
    """Every score: whoever sees segments sees the scores they may use (admins define
    them)."""
    policy.require(actor, "segments.view")
    return Score.objects.order_by("name_key")


def score_named(actor: Any, key: str) -> Score | None:
    return scores_visible(actor).filter(key=key).first()


@dataclass(frozen=True)
class Scored:
    contact_id: int
    name: str
    value: int


def score_top(score: Score, *, limit: int = 20, lowest: bool = False) -> list[Scored]:
    """The contacts with the highest values (``lowest``: the lowest), ties by name."""
    order = "value" if lowest else "-value"
    rows = (
        ContactScore.objects.filter(score=score)
        .order_by(order, "contact__sort_name", "contact_id")
        .values_list("contact_id", "contact__display_name", "value")[:limit]
    )
    return [Scored(*row) for row in rows]


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    count: int


@dataclass(frozen=True)
class Distribution:
    """How a score's values are spread: the contacts with a value other than 0 in up to
    ten bands of equal width, and how many have 0."""

    bands: list[Band]
    scored: int
    zero: int

    @property
    def widest(self) -> int:
        return max((b.count for b in self.bands), default=0)


def score_distribution(score: Score, *, bands: int = 10) -> Distribution:
    """Two grouped reads: the lowest and highest value, then a count per band."""
    from django.db.models import Count, ExpressionWrapper, IntegerField, Max, Min

    rows = ContactScore.objects.filter(score=score)
    span = rows.aggregate(lo=Min("value"), hi=Max("value"), n=Count("pk"))
    everyone = Contact.objects.count()
    if not span["n"]:
        return Distribution([], 0, everyone)
    lo, hi = span["lo"], span["hi"]
    width = max(1, -(-(hi - lo + 1) // bands))  # ceiling: every value in a band
    band = ExpressionWrapper((F("value") - lo) / width, output_field=IntegerField())
    counts = dict(
        rows.annotate(band=band).order_by().values("band").annotate(n=Count("pk"))
        .values_list("band", "n")
    )  # fmt: skip
    found = [
        Band(lo + i * width, min(lo + (i + 1) * width - 1, hi), counts.get(i, 0))
        for i in range((hi - lo) // width + 1)
    ]
    return Distribution(found, span["n"], max(everyone - span["n"], 0))


@dataclass(frozen=True)
class ContactValue:
    score: Score  # its computed_at says as of when
    value: int


def contact_scores(actor: Any, contact_id: int) -> list[ContactValue]:
    """Every score's value for one contact (0 when it has none), by the scores' names."""
    scores = list(scores_visible(actor))
    values = dict(
        ContactScore.objects.filter(contact_id=contact_id).values_list("score_id", "value")
    )
    return [ContactValue(s, values.get(s.pk, 0)) for s in scores]


def segments_using(key: str) -> list[str]:
    """The names of the segments whose query uses ``score.KEY``."""
    field = f"score.{key}"
    found = []
    for name, text in Segment.objects.filter(query__contains=field).values_list("name", "query"):
        try:
            leaves = tree_fields(parse(text))
        except QueryError:
            continue
        if any(isinstance(leaf, Cond) and leaf.field == field for leaf in leaves):
            found.append(name)
    return found
