"""What a segment query may ask about, and how each question becomes a database query.

Every condition goes through this allow-list: a field that is not here is an error that
names it (with the closest known names), a value of the wrong type is an error that
names the field and the value, and the query is built with the ORM (``Q`` objects,
``Exists`` and grouped subqueries) — never with SQL text. See docs/segments.md for the
language as users see it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q

from rapport.activity.models import Interaction, Participant, Task
from rapport.contacts import normalize
from rapport.contacts.models import (
    Address,
    Affiliation,
    Contact,
    CustomFieldDefinition,
    Email,
    Organization,
    Phone,
    Tag,
)
from rapport.core.text import fold
from rapport.quality import rules as quality_rules
from rapport.segments.query import dates
from rapport.segments.query.parse import QueryError
from rapport.segments.query.tree import Agg, And, Cond, Node, Not, Or

MAX_REFERENCE_DEPTH = 10


@dataclass
class Context:
    """What a query is compiled against: the time, the workspace's zone, who asks (for
    ``owner:me``), and how to find a saved segment by name (``in:``). A score's rules
    are compiled with ``scores_allowed`` off: a score is computed from the data, never
    from scores (which would make one depend on the order they are computed in)."""

    now: dt.datetime
    zone: ZoneInfo
    actor: Any = None
    segment_query: Callable[[str], tuple[str, str] | None] | None = None
    stack: tuple[str, ...] = field(default_factory=tuple)
    scores_allowed: bool = True


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # text, choice, date, number, tag, user, flag, ref, consent
    help: str
    build: Callable[[Cond, Context], Q]
    choices: tuple[str, ...] = ()


def _error(cond: Cond, message: str) -> QueryError:
    return QueryError(message, cond.value_pos or cond.pos)


# -- text -----------------------------------------------------------------------------------


def _text_q(path: str, cond: Cond) -> Q:
    """Text: ``:value`` equals (ignoring case), ``value*`` starts with, ``*value``
    ends with, ``*value*`` contains, ``*`` any value at all, ``!=`` the opposite."""
    value = cond.value
    if cond.op not in ("", "=", "!="):
        raise _error(cond, f"{cond.field} is text: compare it with “:” or “!=”, not “{cond.op}”.")
    if value == "*":
        q = ~Q(**{path: ""}) & Q(**{f"{path}__isnull": False})
    elif value.startswith("*") and value.endswith("*") and len(value) > 2:
        q = Q(**{f"{path}__icontains": value[1:-1]})
    elif value.endswith("*"):
        q = Q(**{f"{path}__istartswith": value[:-1]})
    elif value.startswith("*"):
        q = Q(**{f"{path}__iendswith": value[1:]})
    else:
        q = Q(**{f"{path}__iexact": value})
    return ~q if cond.op == "!=" else q


def _text(path: str) -> Callable[[Cond, Context], Q]:
    return lambda cond, _ctx: _text_q(path, cond)


def _country_q(path: str, cond: Cond) -> Q:
    """A country as stored: its ISO code, upper case. A code or a name as written
    (``de``, ``DEU``, ``Germany``, ``Deutschland``) compares equal to the code, so the
    index on it serves; a pattern (``D*``) matches the code as text."""
    if "*" in cond.value:
        return _text_q(path, cond)
    try:
        code = normalize.country(cond.value)
    except ValueError as exc:
        raise _error(cond, str(exc)) from None
    q = Q(**{path: code})
    return ~q if cond.op == "!=" else q


def _related_text(
    model: type, path: str, extra: Q | None = None, match: Callable[[str, Cond], Q] = _text_q
) -> Callable[[Cond, Context], Q]:
    """Text of a related row (an email address, a city; a country with ``match``
    ``_country_q``): the contact has one that matches; ``!=`` has none that matches."""

    def build(cond: Cond, _ctx: Context) -> Q:
        if cond.op not in ("", "=", "!="):
            raise _error(
                cond, f"{cond.field} is text: compare it with “:” or “!=”, not “{cond.op}”."
            )
        positive = Cond(cond.field, cond.value, "", pos=cond.pos, value_pos=cond.value_pos)
        rows = model.objects.filter(match(path, positive), contact=OuterRef("pk"))  # type: ignore[attr-defined]
        if extra is not None:
            rows = rows.filter(extra)
        q = Q(Exists(rows))
        return ~q if cond.op == "!=" else q

    return build


def _email_domain(cond: Cond, ctx: Context) -> Q:
    domain = "*@" + cond.value.lstrip("@*")
    return _related_text(Email, "address")(
        Cond(cond.field, domain, cond.op, pos=cond.pos, value_pos=cond.value_pos), ctx
    )


def _choice(path: str, choices: tuple[str, ...]) -> Callable[[Cond, Context], Q]:
    def build(cond: Cond, _ctx: Context) -> Q:
        value = cond.value.lower()
        if value not in choices:
            raise _error(cond, f"{cond.field} is one of {', '.join(choices)}; not “{cond.value}”.")
        if cond.op not in ("", "=", "!="):
            raise _error(cond, f"{cond.field} is compared with “:” or “!=”.")
        q = Q(**{path: value})
        return ~q if cond.op == "!=" else q

    return build


# -- dates ----------------------------------------------------------------------------------


def _date_q(
    path: str, cond: Cond, ctx: Context, *, date_only: bool = False, as_text: bool = False
) -> Q:
    try:
        found = dates.span(cond.value, ctx.now, ctx.zone)
    except dates.DateValueError as exc:
        raise _error(cond, f"{cond.field}: {exc}") from None
    start: Any = found.start
    end: Any = found.end
    now: Any = ctx.now
    if date_only:  # days in the workspace's zone
        start, end = start.astimezone(ctx.zone).date(), end.astimezone(ctx.zone).date()
        now = ctx.now.astimezone(ctx.zone).date()
        if as_text:  # stored as ISO text (a custom field): compared as text
            start, end, now = start.isoformat(), end.isoformat(), now.isoformat()
    op = cond.op or "="
    if found.age:  # an age: how long ago
        if op in ("=", "<", "<="):
            q = Q(**{f"{path}__gte" if op != "<" else f"{path}__gt": start})
            q &= Q(**{f"{path}__lte": now})
        elif op in (">", ">="):
            q = Q(**{f"{path}__lt" if op == ">" else f"{path}__lte": start})
        else:  # !=
            q = Q(**{f"{path}__lt": start}) | Q(**{f"{path}__gt": now})
        return q
    if op == "=":
        return Q(**{f"{path}__gte": start, f"{path}__lt": end})
    if op == "!=":
        return Q(**{f"{path}__lt": start}) | Q(**{f"{path}__gte": end})
    if op == ">":
        return Q(**{f"{path}__gte": end})
    if op == ">=":
        return Q(**{f"{path}__gte": start})
    if op == "<":
        return Q(**{f"{path}__lt": start})
    return Q(**{f"{path}__lt": end})  # <=


def _date(
    path: str, *, date_only: bool = False, never: bool = False
) -> Callable[[Cond, Context], Q]:
    def build(cond: Cond, ctx: Context) -> Q:
        if cond.value.lower() in ("never", "none"):
            if not never and cond.value.lower() == "never":
                raise _error(cond, f"{cond.field} has no “never”; use {cond.field}:none.")
            if cond.op not in ("", "=", "!="):
                raise _error(cond, f"“{cond.value}” is compared with “:” or “!=”.")
            q = Q(**{f"{path}__isnull": True})
            return ~q if cond.op == "!=" else q
        return _date_q(path, cond, ctx, date_only=date_only)

    return build


# -- the rest -------------------------------------------------------------------------------


def _tag(cond: Cond, _ctx: Context) -> Q:
    if cond.op not in ("", "=", "!="):
        raise _error(cond, "tag is compared with “:” or “!=”.")
    tag = Tag.objects.filter(name_key=fold(cond.value)).values_list("pk", flat=True).first()
    if tag is None:
        raise _error(cond, f"There is no tag “{cond.value}”.")
    q = Q(Exists(Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag_id=tag)))
    return ~q if cond.op == "!=" else q


def _owner(cond: Cond, ctx: Context) -> Q:
    from rapport.access.models import User

    if cond.op not in ("", "=", "!="):
        raise _error(cond, "owner is compared with “:” or “!=”.")
    value = cond.value
    if value.lower() == "none":
        q = Q(owner__isnull=True)
    elif value.lower() == "me":
        if not getattr(ctx.actor, "pk", None):
            raise _error(cond, "owner:me needs a signed-in user.")
        q = Q(owner_id=ctx.actor.pk)
    else:
        user = User.objects.filter(username__iexact=value).values_list("pk", flat=True).first()
        if user is None:
            raise _error(cond, f"There is no user “{value}”.")
        q = Q(owner_id=user)
    return ~q if cond.op == "!=" else q


_HAS = {
    "email": lambda: Q(Exists(Email.objects.filter(contact=OuterRef("pk")))),
    "phone": lambda: Q(Exists(Phone.objects.filter(contact=OuterRef("pk")))),
    "address": lambda: Q(Exists(Address.objects.filter(contact=OuterRef("pk")))),
    "organization": lambda: Q(
        Exists(Affiliation.objects.filter(contact=OuterRef("pk"), is_current=True))
    ),
    "birthday": lambda: Q(birthday__isnull=False),
    "owner": lambda: Q(owner__isnull=False),
    "photo": lambda: ~Q(photo=""),
    "tag": lambda: Q(Exists(Contact.tags.through.objects.filter(contact_id=OuterRef("pk")))),
    "open_task": lambda: Q(
        Exists(
            Task.contacts.through.objects.filter(
                contact_id=OuterRef("pk"), task__status=Task.Status.OPEN
            )
        )
    ),
}


def _has(cond: Cond, _ctx: Context) -> Q:
    make = _HAS.get(cond.value.lower())
    if make is None:
        raise _error(cond, f"has: takes one of {', '.join(sorted(_HAS))}; not “{cond.value}”.")
    if cond.op not in ("", "=", "!="):
        raise _error(cond, "has is compared with “:” or “!=”.")
    q = make()
    return ~q if cond.op == "!=" else q


def _consent(cond: Cond, ctx: Context) -> Q:
    """``consent:PURPOSE`` (by email) or ``consent:PURPOSE:CHANNEL``: contact may be
    reached for that purpose now, as the consent ledger decides for a bulk send."""
    from rapport.consent.models import Purpose
    from rapport.consent.selectors.verdict import CHANNELS, contacts_consenting

    purpose, _, channel = cond.value.partition(":")
    channel = channel or "email"
    if not Purpose.objects.filter(key=purpose).exists():
        raise _error(cond, f"There is no purpose “{purpose}”.")
    if channel not in CHANNELS:
        raise _error(cond, f"consent channels are {', '.join(CHANNELS)}; not “{channel}”.")
    if cond.op not in ("", "=", "!="):
        raise _error(cond, "consent is compared with “:” or “!=”.")
    allowed = contacts_consenting(
        Contact.objects.all(), purpose=purpose, channel=channel, at=ctx.now
    )
    q = Q(pk__in=allowed.values("pk"))
    return ~q if cond.op == "!=" else q


def _reachable(cond: Cond, ctx: Context) -> Q:
    """``reachable:PURPOSE`` (by email) or ``reachable:PURPOSE:CHANNEL``: the contact gate
    would let a message through now (consent, preferences, hours, calling rules), as it
    decides for a bulk send."""
    from rapport.core.audiences import audience_filter
    from rapport.core.errors import InvalidInput

    purpose, _, channel = cond.value.partition(":")
    if cond.op not in ("", "=", "!="):
        raise _error(cond, "reachable is compared with “:” or “!=”.")
    try:
        allowed = audience_filter(
            Contact.objects.all(), purpose=purpose, channel=channel or "email", at=ctx.now
        )
    except InvalidInput as exc:
        raise _error(cond, f"reachable: {exc.errors[0].message}") from None
    q = Q(pk__in=allowed.values("pk"))
    return ~q if cond.op == "!=" else q


def _problem(cond: Cond, _ctx: Context) -> Q:
    """``problem:CODE``: the data audit finds that problem (as of its last refresh)."""
    from rapport.quality import rules
    from rapport.quality.models import ContactQuality
    from rapport.quality.selectors import stale_before

    rule = rules.RULES_BY_CODE.get(cond.value.lower())
    if rule is None:
        raise _error(
            cond, f"problem is one of {', '.join(rules.RULES_BY_CODE)}; not “{cond.value}”."
        )
    if cond.op not in ("", "=", "!="):
        raise _error(cond, "problem is compared with “:” or “!=”.")
    rows = ContactQuality.objects.annotate(_masked=rules.masked(rule)).filter(
        rules.rule_q(rule, stale_before=stale_before())
    )
    q = Q(pk__in=rows.values("contact_id"))
    return ~q if cond.op == "!=" else q


def _quality_score(cond: Cond, _ctx: Context) -> Q:
    """``quality_score:>=80``: the data audit's score (0–100, as of its last refresh, with
    staleness as of now). The score follows from a contact's facts, of which there are
    few distinct sets: each set's score is computed once, fresh and stale."""
    from rapport.quality import rules
    from rapport.quality.models import ContactQuality
    from rapport.quality.selectors import stale_before

    number = _finite(cond)
    if not 0 <= number <= 100:
        raise _error(cond, "quality_score is from 0 to 100.")
    compare = {
        "": float.__eq__, "=": float.__eq__, "!=": float.__eq__, ">": float.__gt__,
        ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__,
    }[cond.op]  # fmt: skip
    stale = int(rules.Fact.STALE)
    fresh_ok, stale_ok = [], []
    for facts in ContactQuality.objects.order_by().values_list("facts", flat=True).distinct():
        if compare(float(rules.score(facts & ~stale)), number):
            fresh_ok.append(facts)
        if compare(float(rules.score(facts | stale)), number):
            stale_ok.append(facts)
    cut = stale_before()
    rows = ContactQuality.objects.filter(
        Q(facts__in=fresh_ok, last_touched__gte=cut) | Q(facts__in=stale_ok, last_touched__lt=cut)
    )
    q = Q(pk__in=rows.values("contact_id"))
    return ~q if cond.op == "!=" else q


def _value_number(
    column: str, lo: float | None = None, hi: float | None = None
) -> Callable[[Cond, Context], Q]:
    """A number of the contact's customer value (``CustomerValue``): RFM scores, revenue,
    the predictions (a contact without one matches no comparison but ``!=``)."""

    def build(cond: Cond, _ctx: Context) -> Q:
        from rapport.segments.models import CustomerValue

        number = _finite(cond)
        if lo is not None and hi is not None and not lo <= number <= hi:
            raise _error(cond, f"{cond.field} is from {lo} to {hi}.")
        lookup = {"": "exact", "=": "exact", "!=": "exact", ">": "gt", ">=": "gte", "<": "lt",
                  "<=": "lte"}[cond.op]  # fmt: skip
        rows = CustomerValue.objects.filter(**{f"{column}__{lookup}": number})
        q = Q(pk__in=rows.values("contact_id"))
        return ~q if cond.op == "!=" else q

    return build


def _rfm(cond: Cond, _ctx: Context) -> Q:
    from rapport.segments.models import CustomerValue
    from rapport.segments.services.orders import GROUP_NAMES

    group = cond.value.lower()
    if group not in (*GROUP_NAMES, "others"):
        raise _error(cond, f"rfm is one of {', '.join(GROUP_NAMES)}, others; not “{cond.value}”.")
    if cond.op not in ("", "=", "!="):
        raise _error(cond, "rfm is compared with “:” or “!=”.")
    q = Q(pk__in=CustomerValue.objects.filter(group=group).values("contact_id"))
    return ~q if cond.op == "!=" else q


def _order_date(column: str) -> Callable[[Cond, Context], Q]:
    """The first or last counted order's date (customer value), or ``never``."""

    def build(cond: Cond, ctx: Context) -> Q:
        from rapport.segments.models import CustomerValue

        if cond.value.lower() in ("never", "none"):
            q = ~Q(pk__in=CustomerValue.objects.values("contact_id"))
            return ~q if cond.op == "!=" else q
        rows = CustomerValue.objects.filter(_date_q(column, cond, ctx))
        return Q(pk__in=rows.values("contact_id"))

    return build


def _duplicate(cond: Cond, _ctx: Context) -> Q:
    from rapport.duplicates.models import DuplicateCluster, DuplicatePair

    if cond.value.lower() not in ("open", "none"):
        raise _error(cond, "duplicate is open (in a cluster to review) or none.")
    pairs = DuplicatePair.objects.filter(cluster__status=DuplicateCluster.Status.OPEN)
    q = Q(pk__in=pairs.values("contact_a_id")) | Q(pk__in=pairs.values("contact_b_id"))
    negate = (cond.value.lower() == "none") != (cond.op == "!=")
    return ~q if negate else q


def _affiliation(
    path: str, kind: str = "text", choices: tuple[str, ...] = tuple(Affiliation.BuyingRole.values)
) -> Callable[[Cond, Context], Q]:
    """A field of the contact's current affiliation, or of the organization it is at
    (``organization__…``): holds when some current affiliation matches."""

    def build(cond: Cond, ctx: Context) -> Q:
        if cond.op not in ("", "=", "!="):
            raise _error(cond, f"{cond.field} is compared with “:” or “!=”, not “{cond.op}”.")
        positive = Cond(cond.field, cond.value, "", pos=cond.pos, value_pos=cond.value_pos)
        if kind == "choice":
            inner = _choice(path, choices)(positive, ctx)
        elif kind == "tag":
            tag = Tag.objects.filter(name_key=fold(cond.value)).values_list("pk", flat=True).first()
            if tag is None:
                raise _error(cond, f"There is no tag “{cond.value}”.")
            inner = Q(**{path: tag})
        elif kind == "country":
            inner = _country_q(path, positive)
        else:
            inner = _text_q(path, positive)
        rows = Affiliation.objects.filter(inner, contact=OuterRef("pk"), is_current=True)
        q = Q(Exists(rows))
        return ~q if cond.op == "!=" else q

    return build


def _finite(cond: Cond) -> float:
    try:
        number = float(cond.value)
    except ValueError:
        raise _error(cond, f"{cond.field} is a number; “{cond.value}” is not.") from None
    if not math.isfinite(number) or abs(number) > 1e15:
        raise _error(cond, f"{cond.field}: “{cond.value}” is not a usable number.")
    return number


def _custom(
    key: str, definition: CustomFieldDefinition | None, *, organization: bool = False
) -> Callable[[Cond, Context], Q]:
    """A custom field of the contact, or (``organization``) of the organization of a
    current affiliation."""
    path = f"{'organization__' if organization else ''}custom_fields__{key}"
    kind = getattr(definition, "field_type", "text")

    def inner(cond: Cond, ctx: Context) -> Q:
        if kind == "date":
            if cond.value == "*":
                return ~Q(**{f"{path}__isnull": True})
            return _date_q(path, cond, ctx, date_only=True, as_text=True)
        if kind == "number" and cond.op in (">", ">=", "<", "<="):
            lookup = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[cond.op]
            return Q(**{f"{path}__{lookup}": _finite(cond)})
        if cond.op in ("", "="):
            if cond.value == "*":
                return Q(**{f"{path}__isnull": False}) & ~Q(**{path: ""})
            return Q(**{f"{path}__iexact": cond.value})
        raise _error(cond, f"{cond.field} is text: compare it with “:” or “!=”.")

    def build(cond: Cond, ctx: Context) -> Q:
        # the positive question as a set of contacts, so NOT and != are its complement
        # (contacts without the field included), as they are for every other field
        negate = cond.op == "!=" and not (kind == "date" and cond.value != "*")
        positive = Cond(
            cond.field, cond.value, "" if negate else cond.op, pos=cond.pos,
            value_pos=cond.value_pos,
        )  # fmt: skip
        if organization:
            rows = Affiliation.objects.filter(inner(positive, ctx), is_current=True)
            q = Q(pk__in=rows.values("contact_id"))
        else:
            q = Q(pk__in=Contact.objects.filter(inner(positive, ctx)).values("pk"))
        return ~q if negate else q

    return build


def _score(key: str, score_id: int) -> Callable[[Cond, Context], Q]:
    """``score.KEY``: the contact's value of an admin-defined score, as last computed. A
    contact without a value has 0 (``score.lead:<10`` includes them)."""

    def build(cond: Cond, ctx: Context) -> Q:
        from rapport.segments.models import ContactScore

        if not ctx.scores_allowed:
            raise _error(cond, f"A score's rule cannot use a score ({cond.field}).")
        number = _finite(cond)
        op = cond.op if cond.op not in ("", "!=") else "="
        lookup = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[op]
        rows = ContactScore.objects.filter(score_id=score_id)
        q = Q(pk__in=rows.filter(**{f"value__{lookup}": number}).values("contact_id"))
        compare = {"=": operator.eq, ">": operator.gt, ">=": operator.ge, "<": operator.lt,
                   "<=": operator.le}[op]  # fmt: skip
        if compare(0, number):  # no value is 0
            q |= ~Q(pk__in=rows.values("contact_id"))
        return ~q if cond.op == "!=" else q

    return build


def _segment(cond: Cond, ctx: Context) -> Q:
    from rapport.segments.query.compile import compile_tree

    if cond.op not in ("", "=", "!="):
        raise _error(cond, "in is compared with “:” or “!=”.")
    name = cond.value
    key = name.casefold()
    if key in ctx.stack:
        chain = " → ".join([*ctx.stack, key])
        raise _error(cond, f"The segment refers to itself: {chain}.")
    if len(ctx.stack) >= MAX_REFERENCE_DEPTH:
        raise _error(cond, f"Segments refer to each other more than {MAX_REFERENCE_DEPTH} deep.")
    found = ctx.segment_query(name) if ctx.segment_query else None
    if found is None:
        raise _error(cond, f"There is no segment or list “{name}”.")
    kind, text = found
    if kind == "list":
        from rapport.segments.models import ListMember

        q = Q(pk__in=ListMember.objects.filter(list_id=int(text)).values("contact_id"))
    else:
        from rapport.segments.query.parse import parse

        inner = replace(ctx, stack=(*ctx.stack, key))
        try:
            q = compile_tree(parse(text), inner)
        except QueryError as exc:
            raise _error(cond, f"The segment “{name}” cannot run: {exc}") from None
    return ~q if cond.op == "!=" else q


LIFECYCLE = tuple(Contact.Lifecycle.values)
SIZE_BANDS = tuple(Organization.SizeBand.values)
RFM_GROUPS = (
    "champions", "loyal", "potential_loyalists", "new_customers", "promising", "need_attention",
    "about_to_sleep", "cant_lose", "at_risk", "hibernating", "lost", "others",
)  # fmt: skip

FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("name", "text", "the display name", _text("display_name")),
        Field("given_name", "text", "given name", _text("given_name")),
        Field("family_name", "text", "family name", _text("family_name")),
        Field("nickname", "text", "nickname", _text("nickname")),
        Field("job_title", "text", "job title on the contact", _text("job_title")),
        Field("source", "text", "where the contact came from", _text("source")),
        Field("language", "text", "preferred language (code)", _text("language")),
        Field("time_zone", "text", "time zone (IANA name)", _text("time_zone")),
        Field("notes", "text", "the notes", _text("notes")),
        Field("email", "text", "any email address", _related_text(Email, "address")),
        Field("email_domain", "text", "the domain of any email address", _email_domain),
        Field("phone", "text", "any number, as E.164 (+4420…)", _related_text(Phone, "e164")),
        Field("city", "text", "the city (locality) of any address", _related_text(Address, "locality")),
        Field("region", "text", "the region of any address", _related_text(Address, "region")),
        Field("postcode", "text", "the postcode of any address", _related_text(Address, "postcode")),
        Field("country", "text", "the country of any address (ISO code or name)",
              _related_text(Address, "country", match=_country_q)),
        Field("stage", "choice", "lifecycle stage", _choice("lifecycle_stage", LIFECYCLE), LIFECYCLE),
        Field("tag", "tag", "a tag", _tag),
        Field("owner", "user", "the owner: a user name, me or none", _owner),
        Field("created", "date", "when the contact was added", _date("created_at")),
        Field("updated", "date", "when the contact last changed", _date("updated_at")),
        Field("birthday", "date", "the birthday", _date("birthday", date_only=True, never=True)),
        Field("last_contacted", "date", "the last two-way interaction (or never)",
              _date("last_contacted_at", never=True)),
        Field("next_step", "date", "the next open task's due time (or none)", _date("next_step_at", never=True)),
        Field("reach_out_by", "date", "the keep-in-touch due day (or none)",
              _date("reach_out_by", date_only=True, never=True)),
        Field("organization", "text", "the current organization's name",
              _affiliation("organization__name")),
        Field("industry", "text", "the current organization's industry",
              _affiliation("organization__industry")),
        Field("title", "text", "the title at the current organization", _affiliation("title")),
        Field("buying_role", "choice", "the buying role at the current organization",
              _affiliation("buying_role", "choice"), tuple(Affiliation.BuyingRole.values)),
        Field("department", "text", "the department at the current organization", _affiliation("department")),
        Field("org_tag", "tag", "a tag of the current organization", _affiliation("organization__tags", "tag")),
        Field("org_size", "choice", "the current organization's size band",
              _affiliation("organization__size_band", "choice", SIZE_BANDS), SIZE_BANDS),
        Field("org_country", "text", "the country (ISO code or name) of an address of the current organization",
              _affiliation("organization__addresses__country", "country")),
        Field("org_city", "text", "the city of an address of the current organization",
              _affiliation("organization__addresses__locality")),
        Field("org_website", "text", "the current organization's website", _affiliation("organization__website")),
        Field("has", "flag", "has a value", _has, tuple(sorted(_HAS))),
        Field("consent", "consent", "may be contacted for a purpose now (PURPOSE or PURPOSE:CHANNEL)",
              _consent),
        Field("reachable", "consent",
              "the contact gate lets a message through now (PURPOSE or PURPOSE:CHANNEL)", _reachable),
        Field("quality_score", "number", "the data audit's quality score, 0–100", _quality_score),
        Field("problem", "choice", "the data audit finds this problem", _problem,
              tuple(quality_rules.RULES_BY_CODE)),
        Field("rfm", "choice", "the RFM group of the contact's orders", _rfm, RFM_GROUPS),
        Field("recency_score", "number", "RFM recency score, 1–5", _value_number("recency", 1, 5)),
        Field("frequency_score", "number", "RFM frequency score, 1–5", _value_number("frequency", 1, 5)),
        Field("monetary_score", "number", "RFM monetary score, 1–5", _value_number("monetary", 1, 5)),
        Field("customer_value", "number", "revenue from the contact's orders so far (base currency)",
              _value_number("revenue")),
        Field("predicted_value", "number",
              "predicted value of the contact's orders over the model's horizon (base currency)",
              _value_number("predicted_value")),
        Field("p_alive", "number", "predicted chance the contact is still a customer, 0–1",
              _value_number("p_alive", 0, 1)),
        Field("expected_orders", "number", "orders predicted over the model's horizon",
              _value_number("expected_orders")),
        Field("last_order", "date", "the last counted order (or never)", _order_date("last_order_at")),
        Field("first_order", "date", "the first counted order (or never)", _order_date("first_order_at")),
        Field("duplicate", "choice", "in a duplicate cluster to review (open) or not (none)",
              _duplicate, ("open", "none")),
        Field("in", "ref", "a member of a saved segment or list (by name)", _segment),
    )
}  # fmt: skip
ALIASES = {"lifecycle_stage": "stage", "company": "organization", "locality": "city"}


def field_for(cond: Cond) -> Callable[[Cond, Context], Q]:
    name = ALIASES.get(cond.field, cond.field)
    if name.startswith("org.custom."):
        key = name.split(".", 2)[2]
        definition = CustomFieldDefinition.objects.filter(key=key, target="organization").first()
        if definition is None:
            raise QueryError(f"There is no organization custom field “{key}”.", cond.pos)
        return _custom(key, definition, organization=True)
    if name.startswith("custom."):
        key = name.split(".", 1)[1]
        definition = CustomFieldDefinition.objects.filter(key=key, target="contact").first()
        if definition is None:
            raise QueryError(f"There is no custom field “{key}”.", cond.pos)
        return _custom(key, definition)
    if name.startswith("score."):
        from rapport.segments.models import Score

        key = name.split(".", 1)[1]
        score_id = Score.objects.filter(key=key).values_list("pk", flat=True).first()
        if score_id is None:
            keys = list(Score.objects.values_list("key", flat=True)[:500])
            close = difflib.get_close_matches(key, keys, n=3)
            hint = f" Did you mean {' or '.join(f'score.{k}' for k in close)}?" if close else ""
            raise QueryError(f"There is no score “{key}”.{hint}", cond.pos)
        return _score(key, score_id)
    found = FIELDS.get(name)
    if found is None:
        close = difflib.get_close_matches(name, [*FIELDS, *ALIASES], n=3)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise QueryError(f"There is no field “{cond.field}”.{hint}", cond.pos)
    return found.build


# -- counts of related records ----------------------------------------------------------------

KINDS = tuple(Interaction.Kind.values)
_SHORTHAND = {"calls": "call", "meetings": "meeting", "emails": "email", "notes": "note",
              "messages": "message", "letters": "letter"}  # fmt: skip
_DIRECTIONS = {"in": "inbound", "out": "outbound", "inbound": "inbound",
               "outbound": "outbound", "internal": "internal"}  # fmt: skip
AGGREGATES = ("interactions", *_SHORTHAND, "tasks", "orders", "revenue")


def _at_least(rows: Any, column: str, n: int, counted: str, *, probe: bool = False) -> Q:
    """The contacts with at least ``n`` distinct ``counted`` of ``rows`` (grouped by
    ``column``). ``probe``: each contact's own rows are looked up and the lookup stops at
    the n-th, rather than every row grouped — for rows counted once each, few per
    contact, under an index that leads with the contact and covers the filters."""
    if n <= 0:
        return Q()
    if n == 1:  # a correlated EXISTS: the contacts' own index rows, not every row
        return Q(Exists(rows.filter(**{column: OuterRef("pk")})))
    if probe:  # EXISTS (… OFFSET n - 1 LIMIT 1)
        return Q(Exists(rows.filter(**{column: OuterRef("pk")}).order_by()[n - 1 : n]))
    grouped = rows.values(column).annotate(n=Count(counted, distinct=True))
    return Q(pk__in=grouped.filter(n__gte=n).values(column))


def count_q(
    rows: Any, column: str, op: str, n: int, counted: str = "pk", *, probe: bool = False
) -> Q:
    """``count op n`` as set membership: at least n, or not at least n."""

    def at_least(k: int) -> Q:
        return _at_least(rows, column, k, counted, probe=probe)

    if op == ">=":
        return at_least(n)
    if op == ">":
        return at_least(n + 1)
    if op == "<":
        return ~at_least(n) if n > 0 else Q(pk__in=[])
    if op == "<=":
        return ~at_least(n + 1)
    equal = ~at_least(1) if n == 0 else at_least(n) & ~at_least(n + 1)
    return equal if op == "=" else ~equal


def aggregate_q(node: Agg, ctx: Context) -> Q:
    limit = 10**12 if node.name == "revenue" else 1_000_000
    if node.number > limit:
        raise QueryError(
            f"{node.number:,} is more than {node.name}(…) can be compared with.", node.pos
        )
    args = dict(node.args)
    if len(args) != len(node.args):
        raise QueryError(f"{node.name}(…) names an argument twice.", node.pos)
    if node.name == "tasks":
        return _tasks_q(node, args, ctx)
    if node.name in ("orders", "revenue"):
        return _orders_q(node, args, ctx)
    if node.name not in ("interactions", *_SHORTHAND):
        close = difflib.get_close_matches(node.name, AGGREGATES, n=2)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise QueryError(f"There is no count “{node.name}(…)”.{hint}", node.pos)
    rows = Participant.objects.filter(contact__isnull=False, interaction__cancelled=False)
    kind = _SHORTHAND.get(node.name) or args.pop("kind", None)
    if node.name in _SHORTHAND and "kind" in args:
        raise QueryError(f"{node.name}(…) counts {kind}s already; kind does not apply.", node.pos)
    if kind:
        if kind not in KINDS:
            raise QueryError(f"kind is one of {', '.join(KINDS)}; not “{kind}”.", node.pos)
        rows = rows.filter(interaction__kind=kind)
    if "direction" in args:
        direction = _DIRECTIONS.get(args.pop("direction").lower())
        if direction is None:
            raise QueryError("direction is in, out or internal.", node.pos)
        rows = rows.filter(interaction__direction=direction)
    rows = _window(rows, "occurred_at", node, args, ctx)
    if args:
        raise QueryError(
            f"{node.name}(…) takes kind, direction, last, since and until; not {', '.join(args)}.",
            node.pos,
        )
    # interactions, not participations: someone in both From and Cc counts once
    return count_q(rows, "contact_id", node.op, node.number, counted="interaction_id")


def _window(rows: Any, column: str, node: Agg, args: dict[str, str], ctx: Context) -> Any:
    for name in ("last", "since", "until"):
        if name not in args:
            continue
        value = args.pop(name)
        try:
            found = dates.span(value, ctx.now, ctx.zone)
        except dates.DateValueError as exc:
            raise QueryError(f"{node.name}(…) {name}: {exc}", node.pos) from None
        if name == "last":
            if not found.age:
                rows = rows.filter(**{f"{column}__gte": found.start, f"{column}__lt": found.end})
            else:
                rows = rows.filter(**{f"{column}__gte": found.start, f"{column}__lte": ctx.now})
        elif name == "since":
            rows = rows.filter(**{f"{column}__gte": found.start})
        else:
            rows = rows.filter(**{f"{column}__lt": found.end if not found.age else found.start})
    return rows


def _tasks_q(node: Agg, args: dict[str, str], ctx: Context) -> Q:
    rows = Task.contacts.through.objects.all()
    status = args.pop("status", "").lower()
    if status == "open":
        rows = rows.filter(task__status=Task.Status.OPEN)
    elif status == "done":
        rows = rows.filter(task__status=Task.Status.DONE)
    elif status == "overdue":
        rows = rows.filter(task__status=Task.Status.OPEN, task__due_key__lt=ctx.now)
    elif status:
        raise QueryError("tasks(status:…) is open, done or overdue.", node.pos)
    rows = _window(rows, "task__created_at", node, args, ctx)
    if args:
        raise QueryError(
            f"tasks(…) takes status, last, since and until; not {', '.join(args)}.", node.pos
        )
    return count_q(rows, "contact_id", node.op, node.number)


def _orders_q(node: Agg, args: dict[str, str], ctx: Context) -> Q:
    """``orders(…)`` counts a contact's orders; ``revenue(…)`` sums their amounts in the
    base currency (orders in others are not summed). Counted statuses (paid,
    fulfilled) unless ``status:`` names one; ``category:`` and ``product:`` narrow."""
    from django.conf import settings
    from django.db.models import Sum

    from rapport.segments.models import Order

    rows = Order.objects.filter(contact__isnull=False)
    status = args.pop("status", "").lower()
    if status and status not in Order.Status.values:
        raise QueryError(f"status is one of {', '.join(Order.Status.values)}.", node.pos)
    rows = rows.filter(status=status) if status else rows.filter(status__in=Order.COUNTED)
    for key, prefix in (("category", "c"), ("product", "p")):
        if key in args:
            rows = rows.filter(labels__contains=f"|{prefix}:{args.pop(key).strip().casefold()}|")
    rows = _window(rows, "ordered_at", node, args, ctx)
    if args:
        raise QueryError(
            f"{node.name}(…) takes status, category, product, last, since and until; "
            f"not {', '.join(args)}.",
            node.pos,
        )
    if node.name == "orders":
        # a contact's orders in the window, from the (contact, time, status…) index: those
        # of the contacts the other clauses leave, rather than every order of the window
        return count_q(rows, "contact_id", node.op, node.number, probe=True)
    summed = (
        rows.filter(currency=settings.RAPPORT_CURRENCY)
        .values("contact_id")
        .annotate(total=Sum("amount"))
    )
    n = node.number
    holds = {">": n < 0, ">=": n <= 0, "<": n > 0, "<=": n >= 0, "=": n == 0, "!=": n != 0}
    lookup = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "exact", "!=": "exact"}
    matched = Q(pk__in=summed.filter(**{f"total__{lookup[node.op]}": n}).values("contact_id"))
    if node.op == "!=":
        matched = Q(pk__in=summed.values("contact_id")) & ~matched
    if holds[node.op]:  # nothing bought in the window is a total of 0
        matched |= ~Q(pk__in=summed.values("contact_id"))
    return matched


def tree_fields(node: Node) -> list[Cond | Agg]:
    """The leaves of a tree, in order."""
    if isinstance(node, (Cond, Agg)):
        return [node]
    if isinstance(node, Not):
        return tree_fields(node.part)
    assert isinstance(node, (And, Or))
    return [leaf for part in node.parts for leaf in tree_fields(part)]
