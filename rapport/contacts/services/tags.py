"""Tags and custom field definitions: admin-managed vocabulary shared by every record."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from rapport.contacts.limits import MAX_CHOICES
from rapport.contacts.models import Contact, CustomFieldDefinition, Organization, Tag
from rapport.contacts.services import _common as v
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput
from rapport.core.locking import retry_once_on_conflict
from rapport.core.text import fold

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _tag_fields(data: Mapping[str, Any], current: Tag | None) -> dict[str, Any]:
    c = v.Collector()
    v.reject_control_characters(c, data)
    name = v.text(c, data, "name", 60) if "name" in data or current is None else current.name
    if not name:
        c.add("name", "A tag needs a name.")
    clash = Tag.objects.filter(name_key=fold(name)).exclude(pk=current.pk if current else 0).first()
    if name and clash:
        c.add("name", f"The tag “{clash.name}” already exists.")
    color = str(data.get("color") or (current.color if current else "#64748b")).strip()
    if not _COLOR.match(color):
        c.add("color", "Use a colour like #1d4ed8.")
    if c.errors:
        raise InvalidInput(c.errors)
    return {"name": name, "name_key": fold(name), "color": color.lower()}


@transaction.atomic
def tag_create(*, actor: Any, data: Mapping[str, Any]) -> Tag:
    policy.require(actor, "tags.add")
    return Tag.objects.create(**_tag_fields(data, None))


def _locked_tag(tag: Tag, check_current: Callable[[Tag], None] | None) -> Tag:
    locked = v.lock_tag_and_carriers(tag.pk)
    if locked is None:
        raise Conflict("This tag has been deleted.")
    if check_current is not None:
        check_current(locked)
    return locked


@retry_once_on_conflict
@transaction.atomic
def tag_update(
    *,
    actor: Any,
    tag: Tag,
    data: Mapping[str, Any],
    check_current: Callable[[Tag], None] | None = None,
) -> Tag:
    """Rename or recolour a tag; the search text of every record carrying it follows.

    ``check_current`` is called with the locked tag before anything changes and raises
    Conflict when it is no longer what the caller saw (an If-Match), so of concurrent
    writers with the same precondition exactly one wins.
    """
    policy.require(actor, "tags.manage")
    tag = _locked_tag(tag, check_current)
    renamed = "name" in data and str(data["name"]).strip() != tag.name
    for key, value in _tag_fields(data, tag).items():
        setattr(tag, key, value)
    tag.save()
    if renamed:
        _refresh_tagged(tag)
    return tag


@retry_once_on_conflict
@transaction.atomic
def tag_delete(*, actor: Any, tag: Tag, check_current: Callable[[Tag], None] | None = None) -> None:
    """Delete a tag; it disappears from every record carrying it (``check_current`` as in
    ``tag_update``). Raises Conflict when it is already gone."""
    policy.require(actor, "tags.manage")
    tag = _locked_tag(tag, check_current)
    contacts = list(tag.contacts.all())
    orgs = list(tag.organizations.all())
    tag.delete()
    _refresh(contacts, orgs)


def _refresh_tagged(tag: Tag) -> None:
    _refresh(list(tag.contacts.all()), list(tag.organizations.all()))


def _refresh(contacts: list[Contact], orgs: list[Organization]) -> None:
    from rapport.contacts.services.contacts import contact_refresh_search
    from rapport.contacts.services.organizations import organization_refresh_search

    for contact in contacts:
        contact_refresh_search(contact=contact)
    for org in orgs:
        organization_refresh_search(org=org)


def _definition_fields(
    data: Mapping[str, Any], current: CustomFieldDefinition | None
) -> dict[str, Any]:
    c = v.Collector()
    v.reject_control_characters(c, data)
    merged: dict[str, Any] = {}
    if current is not None:
        merged = {
            "target": current.target,
            "key": current.key,
            "label": current.label,
            "field_type": current.field_type,
            "required": current.required,
            "choices": current.choices,
            "help_text": current.help_text,
            "position": current.position,
        }
    merged.update(data)
    label = v.text(c, merged, "label", 100)
    if not label:
        c.add("label", "A custom field needs a label.")
    target = merged.get("target") or ""
    if target not in CustomFieldDefinition.Target.values:
        c.add("target", "Must be contact or organization.")
    key = str(merged.get("key") or slugify(label).replace("-", "_"))[:50]
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        c.add("key", "Use lower-case letters, digits and underscores, starting with a letter.")
    elif (
        CustomFieldDefinition.objects.filter(target=target, key=key)
        .exclude(pk=current.pk if current else 0)
        .exists()
    ):
        c.add("key", f"A field with the key “{key}” already exists.")
    if current is not None and key != current.key:
        c.add("key", "The key of an existing field cannot change; stored values use it.")
    field_type = merged.get("field_type") or ""
    if field_type not in CustomFieldDefinition.FieldType.values:
        c.add("field_type", f"Must be one of: {', '.join(CustomFieldDefinition.FieldType.values)}.")
    if current is not None and field_type != current.field_type:
        c.add("field_type", "The type of an existing field cannot change.")
    choices = merged.get("choices") or []
    if isinstance(choices, str):
        choices = [x.strip() for x in choices.splitlines() if x.strip()]
    if not isinstance(choices, list) or not all(isinstance(x, str) and x.strip() for x in choices):
        c.add("choices", "Must be a list of non-empty texts.")
        choices = []
    choices = list(dict.fromkeys(x.strip() for x in choices))
    if len(choices) > MAX_CHOICES:
        c.add("choices", f"At most {MAX_CHOICES} choices are allowed (got {len(choices):,}).")
    if any(len(x) > 100 for x in choices):
        c.add("choices", "A choice can have at most 100 characters.")
    if field_type in ("choice", "multi_choice") and not choices:
        c.add("choices", "A choice field needs at least one choice.")
    if field_type not in ("choice", "multi_choice"):
        choices = []
    position = merged.get("position") or 0
    if not str(position).isdecimal() or len(str(position)) > 6:
        c.add("position", "Must be a whole number.")
        position = 0
    if c.errors:
        raise InvalidInput(c.errors)
    return {
        "label": label,
        "target": target,
        "key": key,
        "field_type": field_type,
        "required": bool(merged.get("required")),
        "choices": choices,
        "help_text": str(merged.get("help_text") or "")[:200],
        "position": int(position),
    }


@transaction.atomic
def custom_field_create(*, actor: Any, data: Mapping[str, Any]) -> CustomFieldDefinition:
    """Define a new custom field. Raises NotPermitted (admins only) or InvalidInput."""
    policy.require(actor, "custom_fields.manage")
    return CustomFieldDefinition.objects.create(**_definition_fields(data, None))


def _locked_definition(
    definition: CustomFieldDefinition,
    check_current: Callable[[CustomFieldDefinition], None] | None,
) -> CustomFieldDefinition:
    locked = CustomFieldDefinition.objects.select_for_update().filter(pk=definition.pk).first()
    if locked is None:
        raise Conflict("This custom field has been deleted.")
    if check_current is not None:
        check_current(locked)
    return locked


@retry_once_on_conflict
@transaction.atomic
def custom_field_update(
    *,
    actor: Any,
    definition: CustomFieldDefinition,
    data: Mapping[str, Any],
    check_current: Callable[[CustomFieldDefinition], None] | None = None,
) -> CustomFieldDefinition:
    """Change a definition (not its key, target or type). ``check_current`` is called with
    the locked row before any change and raises Conflict when it is stale (If-Match)."""
    policy.require(actor, "custom_fields.manage")
    definition = _locked_definition(definition, check_current)
    for key, value in _definition_fields(data, definition).items():
        setattr(definition, key, value)
    definition.save()
    return definition


@retry_once_on_conflict
@transaction.atomic
def custom_field_delete(
    *,
    actor: Any,
    definition: CustomFieldDefinition,
    check_current: Callable[[CustomFieldDefinition], None] | None = None,
) -> None:
    """Remove a field definition. Stored values stay in the records' history."""
    policy.require(actor, "custom_fields.manage")
    _locked_definition(definition, check_current).delete()
