"""Reads in the merges area: what a merge would do, where an old id went, past merges."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from rapport.access.models import User
from rapport.contacts import normalize
from rapport.contacts.models import Contact, ExternalId, Organization
from rapport.contacts.selectors import Page
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import FieldError, InvalidInput
from rapport.merges import fields as mf
from rapport.merges import rows as r
from rapport.merges.models import Merge, Redirect, RetiredExternalId

MAX_CHAIN = 100


def redirect_target(*, kind: str, object_id: int) -> int | None:
    """The id a merged-away record now lives under, following chains; None if not merged."""
    current = object_id
    seen = {current}
    found = False
    for _ in range(MAX_CHAIN):
        new_id = (
            Redirect.objects.filter(kind=kind, old_id=current)
            .values_list("new_id", flat=True)
            .first()
        )
        if new_id is None or new_id in seen:
            break
        found = True
        seen.add(new_id)
        current = new_id
    return current if found else None


def external_id_target(*, source: str, value: str) -> int | None:
    """The contact holding an id from another system, also one retired by a merge.

    For matching re-imported rows: a live id wins; a retired one resolves through the
    redirects of the contact that had it.
    """
    live = (
        ExternalId.objects.filter(source=source, value=value)
        .values_list("contact_id", flat=True)
        .first()
    )
    if live is not None:
        return int(live)
    retired = (
        RetiredExternalId.objects.filter(source=source, value=value)
        .order_by("-id")
        .values_list("contact_id", flat=True)
        .first()
    )
    if retired is None:
        return None
    return redirect_target(kind=mf.CONTACT, object_id=retired) or int(retired)


@dataclass
class ProposedField:
    """One field of a proposal: each record's value as text and the default pick."""

    name: str
    label: str
    values: dict[int, str]
    differ: bool
    default: int
    reason: str
    choosable: bool = True


@dataclass
class MergeProposal:
    """What merging ``ids`` (the first kept) would keep: per field, the values and picks."""

    kind: str
    survivor_id: int
    ids: list[int]
    records: list[Any]
    fields: list[ProposedField] = field(default_factory=list)

    @property
    def differing(self) -> list[ProposedField]:
        return [f for f in self.fields if f.differ and f.choosable]


def _ids(ids: Sequence[Any]) -> list[int]:
    result: list[int] = []
    errors = []
    for i, value in enumerate(ids):
        pk = value if isinstance(value, int) and not isinstance(value, bool) else None
        if pk is None and isinstance(value, str) and value.strip().isdecimal():
            pk = int(value.strip())
        if pk is None or pk < 1 or pk >= 2**63:
            errors.append(FieldError(f"ids[{i}]", "Must be a record id."))
        elif pk not in result:
            result.append(pk)
    if errors:
        raise InvalidInput(errors)
    if len(result) < 2:
        raise InvalidInput.single("ids", "Choose at least two records to merge.")
    return result


def _phone_text(phone: Any) -> str:
    text = normalize.phone_display(phone.e164) if phone.e164 else phone.number
    return f"{text} ext. {phone.extension}" if phone.extension else text


def _list_values(kind: str, records: list[Any]) -> list[tuple[str, str, dict[int, str]]]:
    """The lists that are kept whole, shown for comparison."""
    shown: list[tuple[str, str, dict[int, str]]] = []
    if kind == mf.CONTACT:
        for name, label_, attr, text in (
            ("emails", "Emails", "emails", lambda x: x.address),
            # one international form, so one number typed two ways is not a difference
            ("phones", "Phones", "phones", _phone_text),
            ("addresses", "Addresses", "addresses", str),
            ("urls", "Web", "links", lambda x: x.url),
            ("external_ids", "IDs elsewhere", "external_ids", lambda x: f"{x.source}: {x.value}"),
            ("tags", "Tags", "tags", lambda x: x.name),
            (
                "affiliations",
                "Organizations",
                "affiliations",
                lambda x: f"{x.title or 'Works'} at {x.organization.name}",
            ),
        ):
            shown.append(
                (
                    name,
                    label_,
                    {c.pk: ", ".join(text(x) for x in getattr(c, attr).all()) for c in records},
                )
            )
    else:
        shown.append(("domains", "Domains", {o.pk: ", ".join(o.domains) for o in records}))
        for name, label_, attr, text in (
            ("phones", "Phones", "phones", _phone_text),
            ("addresses", "Addresses", "addresses", str),
            ("tags", "Tags", "tags", lambda x: x.name),
        ):
            shown.append(
                (
                    name,
                    label_,
                    {o.pk: ", ".join(text(x) for x in getattr(o, attr).all()) for o in records},
                )
            )
        shown.append(
            ("people", "People", {o.pk: f"{o.affiliations.count()} people" for o in records})
        )
    return shown


def merge_proposal(*, actor: Any, kind: str, ids: Sequence[Any]) -> MergeProposal:
    """Compare records before merging them; the first id is the survivor.

    For every field a person picks: each record's value as text, whether they differ,
    the default choice and why; then the lists every record's values are kept from.
    Raises NotPermitted, or InvalidInput for an unknown kind, fewer than two ids, or
    an id that is unknown or already merged away.
    """
    if kind not in mf.KINDS:
        raise InvalidInput.single("kind", "Must be contact or organization.")
    policy.require(actor, "contacts.view" if kind == mf.CONTACT else "organizations.view")
    wanted = _ids(ids)
    model: type[Contact] | type[Organization] = Contact if kind == mf.CONTACT else Organization
    related = (
        (
            "emails",
            "phones",
            "addresses",
            "links",
            "external_ids",
            "tags",
            "affiliations__organization",
        )
        if kind == mf.CONTACT
        else ("phones", "addresses", "tags")
    )
    objects = {o.pk: o for o in model.objects.filter(pk__in=wanted).prefetch_related(*related)}
    errors = []
    for i, pk in enumerate(wanted):
        if pk in objects:
            continue
        target = redirect_target(kind=kind, object_id=pk)
        message = (
            f"This record was merged into #{target}."
            if target
            else f"There is no {kind} with id {pk}."
        )
        errors.append(FieldError(f"ids[{i}]", message))
    if errors:
        raise InvalidInput(errors)
    records = [objects[pk] for pk in wanted]
    rows = {row["id"]: row for row in r.read(model, pk__in=wanted)}
    ordered = [rows[pk] for pk in wanted]
    users = {int(row["owner_id"]) for row in ordered if row.get("owner_id")}
    parents = {int(row["parent_id"]) for row in ordered if row.get("parent_id")}
    names = {
        "users": {u.pk: str(u) for u in User.objects.filter(pk__in=users)},
        "organizations": dict(
            Organization.objects.filter(pk__in=parents).values_list("pk", "name")
        ),
    }
    proposal = MergeProposal(kind=kind, survivor_id=wanted[0], ids=wanted, records=records)
    for merge_field in mf.merge_fields(kind, ordered):
        shown = {row["id"]: mf.display(merge_field, row, names) for row in ordered}
        choice = mf.default_choice(
            merge_field, ordered, survivor_id=wanted[0], ids=frozenset(wanted)
        )
        differ = len({repr(merge_field.value(row)) for row in ordered}) > 1
        proposal.fields.append(
            ProposedField(
                merge_field.name, merge_field.label, shown, differ, choice.record_id, choice.reason
            )
        )
    for name, label_, shown in _list_values(kind, records):
        proposal.fields.append(
            ProposedField(
                name,
                label_,
                shown,
                len(set(shown.values())) > 1,
                wanted[0],
                "All values are kept, each once.",
                choosable=False,
            )
        )
    return proposal


def merge_get(*, actor: Any, merge_id: int) -> Merge:
    """One merge; raises Merge.DoesNotExist or NotPermitted."""
    merge = Merge.objects.select_related("actor", "undone_by").get(pk=merge_id)
    policy.require(actor, "contacts.view" if merge.kind == mf.CONTACT else "organizations.view")
    return merge


def merge_list(
    *, actor: Any, cursor: str | None = None, kind: str | None = None, limit: int = 25
) -> Page:
    """Merges newest first, one keyset page at a time (``Page.next_cursor``)."""
    policy.require(actor, "contacts.view")
    if not 1 <= limit <= 200:
        raise InvalidInput.single("limit", "Must be between 1 and 200.")
    if kind is not None and kind not in mf.KINDS:
        raise InvalidInput.single("kind", "Must be contact or organization.")
    qs = Merge.objects.select_related("actor", "undone_by").defer("snapshot").order_by("-id")
    if kind:
        qs = qs.filter(kind=kind)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        if not isinstance(last_id, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        qs = qs.filter(Q(id__lt=last_id))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1].pk]) if more and rows else None)
