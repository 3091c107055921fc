"""Purposes and their consent texts: every write admins make to them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.access.services import change_record, diff
from rapport.consent.models import ConsentEvent, ConsentText, Purpose
from rapport.consent.vocabulary import LawfulBasis
from rapport.contacts.services._common import lock_version
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
PURPOSE_FIELDS = frozenset(
    {
        "key",
        "name",
        "lawful_basis",
        "description",
        "retention_days",
        "is_marketing",
        "data_categories",
        "recipients",
        "signup_enabled",
        "signup_owner",
        "archived",
        "text",
        "text_language",
    }
)
MAX_RETENTION_DAYS = 100 * 366
MAX_TEXT = 20_000


def _list(value: Any, name: str, errors: list[FieldError]) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [line for line in value.splitlines()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(FieldError(name, "Give a list of texts."))
        return []
    items = [" ".join(v.split()) for v in value if v.strip()]
    if len(items) > 50 or any(len(v) > 200 for v in items):
        errors.append(FieldError(name, "At most 50 entries of at most 200 characters each."))
    return list(dict.fromkeys(items))


def _bool(value: Any, name: str, errors: list[FieldError]) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, ""):
        return False
    if isinstance(value, str) and value.lower() in (
        "true",
        "on",
        "yes",
        "1",
        "false",
        "no",
        "0",
        "off",
    ):
        return value.lower() in ("true", "on", "yes", "1")
    errors.append(FieldError(name, "Give true or false."))
    return False


def _validate(
    data: Mapping[str, Any], *, current: Purpose | None
) -> tuple[dict[str, Any], str | None, str]:
    """The purpose's fields, the consent text to publish (None: unchanged) and its
    language; InvalidInput names every wrong field."""
    errors: list[FieldError] = []
    for name in sorted(set(data) - PURPOSE_FIELDS):
        errors.append(FieldError(name, "Unknown field."))

    def given(name: str, default: Any) -> Any:
        if name in data:
            return data[name]
        return getattr(current, name) if current is not None else default

    def text(name: str, limit: int, *, required: bool = False) -> str:
        value = given(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors.append(FieldError(name, "Give text."))
            return ""
        value = value.strip()
        if required and not value:
            errors.append(FieldError(name, "This field is required."))
        elif len(value) > limit:
            errors.append(FieldError(name, f"At most {limit:,} characters."))
        return value

    fields: dict[str, Any] = {}
    key = text("key", 50, required=True).lower()
    if key and not KEY.match(key):
        errors.append(
            FieldError(
                "key", "Use lower-case letters, digits, - and _, starting with a letter or digit."
            )
        )
    elif key:
        taken = Purpose.objects.filter(key=key)
        if current is not None:
            taken = taken.exclude(pk=current.pk)
            if key != current.key and ConsentEvent.objects.filter(purpose=current).exists():
                errors.append(
                    FieldError(
                        "key", "The key cannot change once consent was recorded for this purpose."
                    )
                )
        if taken.exists():
            errors.append(FieldError("key", f"Another purpose already has the key “{key}”."))
    fields["key"] = key
    fields["name"] = text("name", 100, required=True)
    basis = given("lawful_basis", "")
    if basis in (None, ""):
        errors.append(FieldError("lawful_basis", f"Choose one of {', '.join(LawfulBasis.values)}."))
    elif basis not in LawfulBasis.values:
        errors.append(
            FieldError(
                "lawful_basis",
                f"Unknown lawful basis “{basis}”; use one of {', '.join(LawfulBasis.values)}.",
            )
        )
    fields["lawful_basis"] = basis
    fields["description"] = text("description", 5000)

    retention = given("retention_days", None)
    if retention in (None, ""):
        fields["retention_days"] = None
    elif isinstance(retention, bool) or not str(retention).strip().isdecimal():
        errors.append(
            FieldError("retention_days", "Give a whole number of days, or leave it empty.")
        )
    elif not 1 <= int(str(retention).strip()) <= MAX_RETENTION_DAYS:
        errors.append(FieldError("retention_days", f"Between 1 and {MAX_RETENTION_DAYS:,} days."))
    else:
        fields["retention_days"] = int(str(retention).strip())
    fields["is_marketing"] = _bool(given("is_marketing", False), "is_marketing", errors)
    fields["data_categories"] = _list(given("data_categories", []), "data_categories", errors)
    fields["recipients"] = _list(given("recipients", []), "recipients", errors)

    fields["signup_enabled"] = _bool(given("signup_enabled", False), "signup_enabled", errors)
    owner: Any = current.signup_owner if current is not None else None
    if "signup_owner" in data:
        owner = None
        username = data["signup_owner"]
        if username not in (None, ""):
            from rapport.access.models import User

            owner = (
                User.objects.filter(username=username, is_active=True).first()
                if isinstance(username, str)
                else None
            )
            if owner is None:
                errors.append(FieldError("signup_owner", f"There is no active user “{username}”."))
            elif not policy.can(owner, "contacts.add"):
                errors.append(
                    FieldError(
                        "signup_owner",
                        "This user may not add contacts, which the sign-up form does for them.",
                    )
                )
    fields["signup_owner"] = owner
    if "archived" in data:
        archived = _bool(data["archived"], "archived", errors)
        was = current.archived_at if current is not None else None
        fields["archived_at"] = (was or timezone.now()) if archived else None

    new_text: str | None = None
    if "text" in data and data["text"] is not None:
        if not isinstance(data["text"], str):
            errors.append(FieldError("text", "Give text."))
        else:
            body = data["text"].strip().replace("\r\n", "\n")
            if len(body) > MAX_TEXT:
                errors.append(FieldError("text", f"At most {MAX_TEXT:,} characters."))
            elif body:
                new_text = body
    language = data.get("text_language") or ""
    if not isinstance(language, str) or len(language) > 16:
        errors.append(FieldError("text_language", "Give a language tag such as en or fr-CA."))
        language = ""
    if fields["signup_enabled"]:
        has_text = new_text is not None or (current is not None and current.texts.exists())
        if owner is None:
            errors.append(
                FieldError("signup_owner", "Choose the user the sign-up form adds contacts as.")
            )
        if not has_text:
            errors.append(
                FieldError("text", "The sign-up form shows the consent text: write it first.")
            )
        if basis != LawfulBasis.CONSENT:
            errors.append(
                FieldError("signup_enabled", "Only purposes based on consent have a sign-up form.")
            )
    if errors:
        raise InvalidInput(errors)
    return fields, new_text, language


def _snapshot(purpose: Purpose) -> dict[str, Any]:
    return {
        "key": purpose.key,
        "name": purpose.name,
        "lawful_basis": purpose.lawful_basis,
        "description": purpose.description,
        "retention_days": purpose.retention_days,
        "is_marketing": purpose.is_marketing,
        "data_categories": purpose.data_categories,
        "recipients": purpose.recipients,
        "signup_enabled": purpose.signup_enabled,
        "signup_owner": purpose.signup_owner.username if purpose.signup_owner else None,
        "archived": bool(purpose.archived_at),
    }


def consent_text_publish(
    *, actor: Any, purpose: Purpose, body: str, language: str = ""
) -> ConsentText:
    """Store ``body`` as the purpose's newest consent text (version n+1), or return the
    existing version when exactly this text was published before. Texts are never
    changed afterwards."""
    policy.require(actor, "purposes.manage")
    body = body.strip().replace("\r\n", "\n")
    if not body:
        raise InvalidInput.single("text", "The text cannot be empty.")
    digest = hashlib.sha256(body.encode()).hexdigest()
    with transaction.atomic():
        Purpose.objects.select_for_update().filter(pk=purpose.pk).first()
        same = ConsentText.objects.filter(purpose=purpose, sha256=digest).first()
        if same is not None:
            return same
        last = ConsentText.objects.filter(purpose=purpose).order_by("-version").first()
        return ConsentText.objects.create(
            purpose=purpose,
            version=(last.version if last else 0) + 1,
            body=body,
            sha256=digest,
            language=language,
            created_by_name=actor.get_username() if getattr(actor, "pk", None) else "",
        )


@transaction.atomic
def purpose_create(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Purpose:
    """Create a purpose (and publish its first consent text when ``text`` is given).
    Raises NotPermitted (admins only) or InvalidInput naming every wrong field."""
    policy.require(actor, "purposes.manage")
    fields, text, language = _validate(data, current=None)
    purpose = Purpose.objects.create(**fields)
    if text:
        consent_text_publish(actor=actor, purpose=purpose, body=text, language=language)
    change_record(
        actor=actor,
        object_type="purpose",
        object_id=purpose.pk,
        object_repr=purpose.name,
        action="create",
        changes=diff({}, _snapshot(purpose)),
        via=via,
    )
    return purpose


@transaction.atomic
def purpose_update(
    *,
    actor: Any,
    purpose: Purpose,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    via: str = "ui",
) -> Purpose:
    """Change a purpose; fields not in ``data`` stay. A new ``text`` becomes the next
    version of its consent text. Its key cannot change once it has ledger rows (the
    gate and integrations ask by key). Raises NotPermitted, Conflict (stale
    ``expected_version``), InvalidInput."""
    policy.require(actor, "purposes.manage")
    lock_version(Purpose, purpose.pk, expected_version)
    current = Purpose.objects.select_related("signup_owner").get(pk=purpose.pk)
    before = _snapshot(current)
    fields, text, language = _validate(data, current=current)
    for name, value in fields.items():
        setattr(current, name, value)
    current.version = F("version") + 1  # type: ignore[assignment]
    current.save()
    current.refresh_from_db()
    if text:
        consent_text_publish(actor=actor, purpose=current, body=text, language=language)
    changes = diff(before, _snapshot(current))
    if changes or text:
        change_record(
            actor=actor,
            object_type="purpose",
            object_id=current.pk,
            object_repr=current.name,
            action="update",
            changes=changes,
            via=via,
        )
    return current


@transaction.atomic
def purpose_delete(
    *, actor: Any, purpose: Purpose, expected_version: int | None = None, via: str = "ui"
) -> None:
    """Delete a purpose nothing was recorded for. One with ledger rows is refused
    (InvalidInput): archive it instead, its history must stay readable."""
    policy.require(actor, "purposes.manage")
    lock_version(Purpose, purpose.pk, expected_version)
    if ConsentEvent.objects.filter(purpose=purpose).exists():
        raise InvalidInput.single(
            "purpose",
            f"Consent was recorded for “{purpose.name}”, so it cannot be deleted; archive it instead.",
        )
    if purpose.texts.exists():
        raise InvalidInput.single(
            "purpose",
            f"“{purpose.name}” has published consent texts, which are kept for good; archive it instead.",
        )
    change_record(
        actor=actor,
        object_type="purpose",
        object_id=purpose.pk,
        object_repr=purpose.name,
        action="delete",
        changes=diff(_snapshot(purpose), {}),
        via=via,
    )
    purpose.delete()
