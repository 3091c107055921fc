"""Validation helpers shared by the contact and organization services."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import models

from rapport.access.models import User
from rapport.contacts import normalize
from rapport.contacts.limits import MAX_CUSTOM_FIELDS, MAX_ENTRIES, MAX_TAGS
from rapport.contacts.models import Affiliation, CustomFieldDefinition, ExternalId, Tag
from rapport.core import bulk, policy
from rapport.core.errors import Conflict, FieldError
from rapport.core.text import fold


class Collector:
    """Collects field errors while a whole input is checked, so all are reported at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def check(self, path: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValueError as exc:
            self.add(path, str(exc))
            return None


class Lookups:
    """Reference data that validation reads, loaded once for many inputs (a bulk import).

    Validation without one reads what it needs itself, once per input. With one,
    custom field definitions, tags and users are read once and remembered, and the
    owners of external ids are read for a whole set of inputs in one query
    (``load_external_owners``).
    """

    def __init__(self) -> None:
        self._definitions: dict[str, dict[str, CustomFieldDefinition]] = {}
        self._tags: dict[str, Tag | None] = {}
        self._users: dict[str, User | None] = {}
        self._external: dict[tuple[str, str], int] | None = None
        self._complete = False

    @classmethod
    def snapshot(cls) -> Lookups:
        """All the reference data, read now: validating with it asks the database nothing.

        For validation in another process, which must not use this one's connection.
        What is not in the snapshot does not exist (a tag created since is new again;
        saving it finds the existing one). External ids count as free: whoever saves
        the drafts checks them (the import does, when it matches rows to contacts).
        """
        lookups = cls()
        lookups._complete = True
        for target in CustomFieldDefinition.Target.values:
            lookups._definitions[target] = _definitions(target)
        lookups._tags = {t.name_key: t for t in Tag.objects.all()}
        lookups._users = {u.username: u for u in User.objects.filter(is_active=True)}
        lookups._external = {}
        return lookups

    def definitions(self, target: str) -> dict[str, CustomFieldDefinition]:
        if target not in self._definitions:
            self._definitions[target] = _definitions(target)
        return self._definitions[target]

    def tags(self, keys: list[str]) -> dict[str, Tag]:
        unknown = [key for key in keys if key not in self._tags]
        if unknown:
            found = (
                {t.name_key: t for t in Tag.objects.filter(name_key__in=unknown)}
                if not self._complete
                else {}
            )
            for key in unknown:
                self._tags[key] = found.get(key)
        return {key: tag for key in keys if (tag := self._tags[key]) is not None}

    def remember_tags(self, tags: list[Tag]) -> None:
        for tag in tags:
            self._tags[tag.name_key] = tag

    def user(self, username: str) -> User | None:
        if username not in self._users and not self._complete:
            self._users[username] = User.objects.filter(username=username, is_active=True).first()
        return self._users.get(username)

    def load_external_owners(self, pairs: set[tuple[str, str]]) -> None:
        """Read which contacts hold the (source, id) ``pairs``; later checks ask nothing."""
        self._external = external_id_owners(pairs)

    def external_owner(self, source: str, value: str) -> int | None | bool:
        """The contact holding the id, None when free, False when not loaded."""
        if self._external is None:
            return False
        return self._external.get((source, value))


def external_id_owners(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Which contacts hold the (source, id) ``pairs``, asked by source."""
    by_source: dict[str, list[str]] = {}
    for source, value in pairs:
        by_source.setdefault(source, []).append(value)
    owners: dict[tuple[str, str], int] = {}
    for source, values in by_source.items():
        held = ExternalId.objects.filter(source=source, contact__isnull=False).order_by()
        for query in bulk.matching(held, "value", values):
            for value, contact_id in query.values_list("value", "contact_id"):
                owners[(source, value)] = contact_id
    missing = pairs - owners.keys()
    if missing:
        owners.update(_retired_owners(missing))
    return owners


def _retired_owners(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids a merge retired (the survivor had one from the same source): they still lead
    to whoever holds the merged contact's data now."""
    from rapport.merges.models import RetiredExternalId
    from rapport.merges.selectors import redirect_target

    if not RetiredExternalId.objects.exists():
        return {}
    by_source: dict[str, list[str]] = {}
    for source, value in pairs:
        by_source.setdefault(source, []).append(value)
    found: dict[tuple[str, str], int] = {}
    for source, values in by_source.items():
        retired = RetiredExternalId.objects.filter(source=source).order_by("id")
        for query in bulk.matching(retired, "value", values):
            for value, contact_id in query.values_list("value", "contact_id"):
                target = redirect_target(kind="contact", object_id=contact_id)
                if target is not None:
                    found[(source, value)] = target
    return found


def _definitions(target: str) -> dict[str, CustomFieldDefinition]:
    return {d.key: d for d in CustomFieldDefinition.objects.filter(target=target)}


def describe_affiliation(affiliation: Affiliation) -> str:
    """How history words a role: 'CTO at Acme (Decision maker) (past)'."""
    return describe_role(
        affiliation.title,
        affiliation.organization.name,
        buying_role=affiliation.get_buying_role_display() if affiliation.buying_role else "",
        is_current=affiliation.is_current,
    )


def describe_role(
    title: str, organization_name: str, *, buying_role: str = "", is_current: bool = True
) -> str:
    """``describe_affiliation`` from the values alone (a role not saved yet)."""
    text = f"{title or 'Works'} at {organization_name}"
    if buying_role:
        text += f" ({buying_role})"
    if not is_current:
        text += " (past)"
    return text


def lock_tag_and_carriers(tag_pk: int) -> Tag | None:
    """Lock the contacts and organizations carrying a tag, then the tag; None if it is gone.

    Follows the lock order of rapport.core.locking (records by id, then vocabulary): a
    contact edit locks its contact and then touches the tags it links, so a tag write that
    locked the tag first would wait on it in a circle.
    """
    from rapport.contacts.models import Contact, Organization

    for model in (Contact, Organization):
        list(
            model._default_manager.select_for_update(of=("self",))
            .filter(tags=tag_pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return Tag.objects.select_for_update().filter(pk=tag_pk).first()


def lock_version(model: type[models.Model], pk: int, expected_version: int | None) -> None:
    """Lock the row until the transaction ends; raise Conflict when it is gone or stale.

    This is how every write refuses to overwrite a change the caller has not seen.
    """
    noun = model._meta.verbose_name
    version = (
        model._default_manager.select_for_update()
        .filter(pk=pk)
        .values_list("version", flat=True)
        .first()
    )
    if version is None:
        raise Conflict(f"This {noun} has been deleted.")
    if expected_version is not None and version != expected_version:
        raise Conflict(f"This {noun} was changed by someone else since you loaded it.")


def replace_rows(
    model: type[models.Model],
    owner: dict[str, Any],
    rows: list[dict[str, Any]],
    *,
    fresh: bool = False,
) -> None:
    """Replace the owner's rows of ``model`` (emails, phones…) with ``rows``.

    ``fresh`` says the owner was just created and has none yet.
    """
    if not fresh:
        model._default_manager.filter(**owner).delete()
    model._default_manager.bulk_create([model(**owner, **row) for row in rows])


def reject_control_characters(c: Collector, value: Any, path: str = "") -> None:
    """Report text holding NUL bytes, which no database column can store."""
    if isinstance(value, str):
        if "\x00" in value:
            c.add(path or "value", "Contains a NUL character.")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            reject_control_characters(c, item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            reject_control_characters(c, item, f"{path}[{i}]")


def as_id(value: Any) -> int | None:
    """A database id from user input, or None when it cannot be one (text, negative, huge)."""
    if isinstance(value, bool):
        return None
    text_ = str(value if value is not None else "").strip()
    if not text_.isdecimal() or len(text_) > 18:
        return None
    return int(text_)


def text(c: Collector, data: Mapping[str, Any], key: str, max_length: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        c.add(key, "Must be text.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        c.add(key, f"Must be at most {max_length} characters (it has {len(value)}).")
        return value[:max_length]
    return value


def items(c: Collector, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key) or []
    if not isinstance(value, list):
        c.add(key, "Must be a list.")
        return []
    if len(value) > MAX_ENTRIES:
        c.add(key, f"At most {MAX_ENTRIES} entries are allowed (got {len(value):,}).")
        return []
    result = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            item = {"value": item}
        if not isinstance(item, Mapping):
            c.add(f"{key}[{i}]", "Must be an object.")
            continue
        result.append(item)
    return result


def item_text(c: Collector, item: Mapping[str, Any], path: str, key: str, max_length: int) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        c.add(f"{path}.{key}", "Must be text.")
        return ""
    value = str(value).strip()
    if len(value) > max_length:
        c.add(f"{path}.{key}", f"Must be at most {max_length} characters.")
        return value[:max_length]
    return value


def primary_flags(c: Collector, rows: list[dict[str, Any]], key: str) -> None:
    """Exactly one primary per list: the one marked, else the first."""
    marked = [i for i, row in enumerate(rows) if row.get("primary")]
    if len(marked) > 1:
        c.add(f"{key}[{marked[1]}].primary", "Only one entry can be primary.")
    first = marked[0] if marked else 0
    for i, row in enumerate(rows):
        row["primary"] = i == first
        row["position"] = i


def addresses(c: Collector, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i, item in enumerate(items(c, data, "addresses")):
        path = f"addresses[{i}]"
        row = {
            "label": item_text(c, item, path, "label", 40),
            "street": item_text(c, item, path, "street", 300),
            "locality": item_text(c, item, path, "locality", 100),
            "region": item_text(c, item, path, "region", 100),
            "postcode": item_text(c, item, path, "postcode", 20),
            "country": c.check(f"{path}.country", normalize.country, str(item.get("country") or ""))
            or "",
            "primary": bool(item.get("primary")),
        }
        if not any(
            str(item.get(k) or "").strip()
            for k in ("street", "locality", "region", "postcode", "country")
        ):
            c.add(
                path,
                "An address needs at least one of street, locality, region, postcode or country.",
            )
            continue
        rows.append(row)
    primary_flags(c, rows, "addresses")
    return rows


def phones(c: Collector, data: Mapping[str, Any], region: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items(c, data, "phones")):
        path = f"phones[{i}]"
        raw = item_text(c, item, path, "number", 64) or item_text(c, item, path, "value", 64)
        parsed = c.check(f"{path}.number", normalize.phone, raw, region=region)
        if parsed is None:
            continue
        key = (parsed.e164, parsed.extension)
        if key in seen:
            c.add(f"{path}.number", f"This number is already listed as phones[{seen[key]}].")
            continue
        seen[key] = i
        rows.append(
            {
                "number": raw,
                "e164": parsed.e164,
                "extension": parsed.extension,
                "label": item_text(c, item, path, "label", 40),
                "primary": bool(item.get("primary")),
            }
        )
    primary_flags(c, rows, "phones")
    return rows


def default_region(address_rows: list[dict[str, Any]]) -> str:
    for row in sorted(address_rows, key=lambda r: not r["primary"]):
        if row.get("country"):
            return str(row["country"])
    return str(settings.RAPPORT_DEFAULT_REGION)


def tags(
    c: Collector, data: Mapping[str, Any], actor: Any, lookups: Lookups | None = None
) -> list[Tag | str] | None:
    """Existing tags by name (ignoring case), and the new names the actor may create."""
    if "tags" not in data:
        return None
    raw = data.get("tags") or []
    if not isinstance(raw, list):
        c.add("tags", "Must be a list of tag names.")
        return None
    if len(raw) > MAX_TAGS:
        c.add("tags", f"At most {MAX_TAGS} tags are allowed (got {len(raw):,}).")
        return None
    names: dict[str, str] = {}
    for i, name in enumerate(raw):
        if isinstance(name, Mapping):
            name = name.get("name")
        if not isinstance(name, str) or not name.strip():
            c.add(f"tags[{i}]", "A tag needs a name.")
            continue
        if len(name.strip()) > 60:
            c.add(f"tags[{i}]", "A tag name can have at most 60 characters.")
            continue
        names.setdefault(fold(name), name.strip())
    existing = (
        lookups.tags(list(names))
        if lookups is not None
        else {t.name_key: t for t in Tag.objects.filter(name_key__in=list(names))}
    )
    missing = [key for key in names if key not in existing]
    if missing and not policy.can(actor, "tags.add"):
        c.add("tags", f"The tag “{names[missing[0]]}” does not exist.")
        return None
    return [*existing.values(), *(names[key] for key in missing)]


def ensure_tags(items: list[Tag | str]) -> list[Tag]:
    """Create the new tag names that ``tags()`` accepted; validation itself writes nothing."""
    result = []
    for item in items:
        if isinstance(item, str):
            item, _ = Tag.objects.get_or_create(name_key=fold(item), defaults={"name": item})
        result.append(item)
    return result


def owner(c: Collector, data: Mapping[str, Any], lookups: Lookups | None = None) -> User | None:
    value = data.get("owner")
    if value in (None, ""):
        return None
    user = (
        lookups.user(str(value))
        if lookups is not None
        else User.objects.filter(username=str(value), is_active=True).first()
    )
    if user is None:
        c.add("owner", f"There is no active user named “{value}”.")
    return user


def custom_fields(
    c: Collector,
    data: Mapping[str, Any],
    *,
    target: str,
    current: Mapping[str, Any],
    region: str,
    lookups: Lookups | None = None,
) -> dict[str, Any]:
    """Validate custom field values against the admin's definitions; return the new map."""
    given = data.get("custom_fields")
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        c.add("custom_fields", "Must be an object of field keys to values.")
        return dict(current)
    if len(given) > MAX_CUSTOM_FIELDS:
        c.add(
            "custom_fields", f"At most {MAX_CUSTOM_FIELDS} values are allowed (got {len(given):,})."
        )
        return dict(current)
    definitions = lookups.definitions(target) if lookups is not None else _definitions(target)
    values = {k: v for k, v in current.items() if k in definitions}
    for key, value in given.items():
        path = f"custom_fields.{key}"
        definition = definitions.get(key)
        if definition is None:
            c.add(path, "There is no such custom field.")
            continue
        if value in (None, "", []):
            values.pop(key, None)
            continue
        converted = c.check(path, custom_value, definition, value, region=region)
        if converted is not None:
            values[key] = converted
    for key, definition in definitions.items():
        if definition.required and values.get(key) in (None, "", []):
            c.add(f"custom_fields.{key}", f"{definition.label} is required.")
    return values


def custom_value(definition: CustomFieldDefinition, value: Any, *, region: str) -> Any:
    """One custom field value, converted to its JSON form; ValueError says why not."""
    kind = definition.field_type
    types = CustomFieldDefinition.FieldType
    if kind in (types.TEXT, types.LONG_TEXT):
        limit = 200 if kind == types.TEXT else 10_000
        value = str(value).strip()
        if len(value) > limit:
            raise ValueError(f"Must be at most {limit} characters.")
        return value
    if kind == types.NUMBER:
        if isinstance(value, bool):
            raise ValueError("Must be a number.")
        result = normalize.number(value)
        return int(result) if result == result.to_integral_value() else float(result)
    if kind == types.DATE:
        return normalize.parse_date(str(value)).isoformat()
    if kind == types.BOOLEAN:
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in {"true", "yes", "1", "on"}:
            return True
        if lowered in {"false", "no", "0", "off"}:
            return False
        raise ValueError("Must be yes or no.")
    if kind == types.CHOICE:
        choice = str(value).strip()
        if choice not in definition.choices:
            raise ValueError(f"“{choice}” is not one of: {', '.join(definition.choices)}.")
        return choice
    if kind == types.MULTI_CHOICE:
        chosen = [v.strip() for v in value.split(",")] if isinstance(value, str) else value
        if not isinstance(chosen, list):
            raise ValueError("Must be a list of choices.")
        unknown = [str(v) for v in chosen if v not in definition.choices]
        if unknown:
            raise ValueError(f"“{unknown[0]}” is not one of: {', '.join(definition.choices)}.")
        return [v for v in definition.choices if v in chosen]
    if kind == types.URL:
        return normalize.url(str(value))
    if kind == types.EMAIL:
        return normalize.email(str(value))
    if kind == types.PHONE:
        return normalize.phone(str(value), region=region).e164
    raise ValueError("Unknown field type.")
