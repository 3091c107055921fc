"""Message templates: admins write them (Settings page, API); every send renders one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.outreach import rendering
from rapport.outreach.models import MessageTemplate, MessageTemplateTranslation

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
FIELDS = {"key", "name", "purpose", "language", "subject", "body_text", "body_html", "translations"}


def _text(data: Mapping[str, Any], name: str, errors: list[FieldError], *, limit: int) -> str:
    value = data.get(name) or ""
    if not isinstance(value, str):
        errors.append(FieldError(name, "Must be text."))
        return ""
    if len(value) > limit:
        errors.append(FieldError(name, f"At most {limit:,} characters."))
    return value.strip() if limit <= 500 else value


def _check(data: Mapping[str, Any], current: MessageTemplate | None) -> dict[str, Any]:
    errors: list[FieldError] = [FieldError(k, "Unknown field.") for k in sorted(set(data) - FIELDS)]
    out: dict[str, Any] = {}
    out["key"] = _text(data, "key", errors, limit=50)
    if not _KEY.match(out["key"]):
        errors.append(FieldError("key", "Give a key: lower-case letters, digits, - and _."))
    elif (
        MessageTemplate.objects.filter(key=out["key"])
        .exclude(pk=current.pk if current is not None else 0)
        .exists()
    ):
        errors.append(FieldError("key", f"There is already a template “{out['key']}”."))
    out["name"] = _text(data, "name", errors, limit=200) or out["key"]
    out["purpose"] = _text(data, "purpose", errors, limit=50)
    if out["purpose"] and not _KEY.match(out["purpose"]):
        errors.append(FieldError("purpose", "Give the purpose's key, e.g. newsletter."))
    out["language"] = _text(data, "language", errors, limit=16) or "en"
    if not _LANGUAGE.match(out["language"]):
        errors.append(FieldError("language", "Give a language tag: en, fr, en-GB."))
    out["subject"] = _text(data, "subject", errors, limit=500)
    out["body_text"] = _text(data, "body_text", errors, limit=200_000)
    out["body_html"] = _text(data, "body_html", errors, limit=500_000)
    if not out["subject"]:
        errors.append(FieldError("subject", "This field is required."))
    if not out["body_text"].strip():
        errors.append(FieldError("body_text", "This field is required."))
    translations = data.get("translations") or []
    out["translations"] = []
    if not isinstance(translations, list):
        errors.append(FieldError("translations", "Give a list of translations."))
        translations = []
    seen = {out["language"].lower()}
    for i, item in enumerate(translations):
        inner: list[FieldError] = []
        if not isinstance(item, Mapping):
            errors.append(FieldError(f"translations[{i}]", "Must be an object."))
            continue
        language = _text(item, "language", inner, limit=16)
        if not _LANGUAGE.match(language):
            inner.append(FieldError("language", "Give a language tag: en, fr, en-GB."))
        elif language.lower() in seen:
            inner.append(FieldError("language", f"“{language}” is given twice."))
        seen.add(language.lower())
        row = {
            "language": language,
            "subject": _text(item, "subject", inner, limit=500),
            "body_text": _text(item, "body_text", inner, limit=200_000),
            "body_html": _text(item, "body_html", inner, limit=500_000),
        }
        if not row["subject"] or not row["body_text"].strip():
            inner.append(FieldError("subject", "A translation needs a subject and a text."))
        if not inner:
            try:
                rendering.template_check(
                    name=f"{out['key']} ({language})",
                    subject=row["subject"],
                    body_text=row["body_text"],
                    body_html=row["body_html"],
                )
            except InvalidInput as exc:
                inner += exc.errors
        errors += [FieldError(f"translations[{i}].{e.path}", e.message) for e in inner]
        out["translations"].append(row)
    if not errors:
        try:
            rendering.template_check(
                name=out["key"],
                subject=out["subject"],
                body_text=out["body_text"],
                body_html=out["body_html"],
            )
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    return out


def _save(template: MessageTemplate, values: dict[str, Any]) -> MessageTemplate:
    translations = values.pop("translations")
    for key, value in values.items():
        setattr(template, key, value)
    template.save()
    template.translations.all().delete()
    MessageTemplateTranslation.objects.bulk_create(
        [MessageTemplateTranslation(template=template, **row) for row in translations]
    )
    return template


@transaction.atomic
def template_create(*, actor: Any, data: Mapping[str, Any]) -> MessageTemplate:
    """A new template; raises NotPermitted (admins only), InvalidInput naming each wrong
    field (a syntax error names the part and the line)."""
    policy.require(actor, "templates.manage")
    return _save(MessageTemplate(), _check(data, None))


@transaction.atomic
def template_update(
    *, actor: Any, template: MessageTemplate, data: Mapping[str, Any]
) -> MessageTemplate:
    """Replace a template and its translations; the version goes up by one."""
    policy.require(actor, "templates.manage")
    values = _check(data, template)
    template.version += 1
    return _save(template, values)


@transaction.atomic
def template_delete(*, actor: Any, template: MessageTemplate) -> None:
    """Messages sent with it keep what they said."""
    policy.require(actor, "templates.manage")
    template.delete()
