"""Saved views of the contact and organization lists: a name for a search, filters, sort
and columns, private or shared."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.http import QueryDict

from rapport.contacts.columns import LISTS, columns_available
from rapport.contacts.models import SavedView
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput, NotPermitted

# Parameters of a list's address that are not part of what a view saves.
NOT_SAVED = ("cursor", "fragment", "view")
MAX_QUERY = 2_000
MAX_COLUMNS = 60


def _query(errors: list[FieldError], list_name: str, raw: Any) -> str:
    from rapport.contacts import forms

    if not isinstance(raw, str):
        errors.append(FieldError("query", "Must be the list's query string (q=…&tag=…)."))
        return ""
    if len(raw) > MAX_QUERY:
        errors.append(FieldError("query", f"At most {MAX_QUERY:,} characters."))
        return ""
    params = QueryDict(raw.lstrip("?"), mutable=True)
    for key in NOT_SAVED:
        params.pop(key, None)
    parse = forms.contact_filters if list_name == "contacts" else forms.organization_filters
    try:
        parse(params)
    except InvalidInput as exc:
        errors.extend(FieldError("query", f"{e.label}: {e.message}") for e in exc.errors)
    return urlencode(sorted(params.lists()), doseq=True)


@transaction.atomic
def saved_view_create(*, actor: Any, data: Mapping[str, Any]) -> SavedView:
    """Save a view of a list. Raises InvalidInput naming each bad field (an unknown list,
    a filter that does not exist, a column that does not exist, a name already used)."""
    list_name = data.get("list_name")
    if list_name not in LISTS:
        raise InvalidInput.single("list_name", f"Must be one of: {', '.join(LISTS)}.")
    available = {c.key for c in columns_available(actor=actor, list_name=list_name)}
    errors: list[FieldError] = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(FieldError("name", "A name is required."))
    elif len(name.strip()) > 100:
        errors.append(FieldError("name", "At most 100 characters."))
    query = _query(errors, list_name, data.get("query", ""))
    chosen = data.get("columns", [])
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        errors.append(FieldError("columns", "Must be a list of column keys."))
        chosen = []
    if len(chosen) > MAX_COLUMNS:
        errors.append(FieldError("columns", f"At most {MAX_COLUMNS} columns."))
        chosen = []
    unknown = [c for c in chosen if c not in available]
    if unknown:
        errors.append(FieldError("columns", f"There is no column “{unknown[0][:60]}”."))
    shared = data.get("shared", False)
    if not isinstance(shared, bool):
        errors.append(FieldError("shared", "Must be true or false."))
    if errors:
        raise InvalidInput(errors)
    if shared and not policy.can(actor, "contacts.change"):
        raise NotPermitted("Only members and admins may share a view; save it for yourself.")
    if not getattr(actor, "pk", None):
        raise InvalidInput.single("name", "Only a signed-in user can save a view.")
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                owner=actor, list_name=list_name, name=str(name).strip(), query=query,
                columns=list(dict.fromkeys(chosen)), shared=shared,
            )  # fmt: skip
    except IntegrityError:
        raise InvalidInput.single("name", f"You already have a view named “{name}”.") from None


def saved_view_delete(*, actor: Any, view: SavedView) -> None:
    if view.owner_id != getattr(actor, "pk", None) and not policy.can(actor, "tags.manage"):
        raise NotPermitted("Only its owner (or an admin) may delete a view.")
    view.delete()


def saved_views_for(*, actor: Any, list_name: str) -> list[SavedView]:
    """The views of a list ``actor`` may use: their own and the shared ones."""
    mine = SavedView.objects.filter(list_name=list_name, owner_id=getattr(actor, "pk", None))
    shared = SavedView.objects.filter(list_name=list_name, shared=True)
    return list((mine | shared).distinct().select_related("owner").order_by("name", "pk"))
