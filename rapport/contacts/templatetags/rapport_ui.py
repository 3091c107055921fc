"""Small display helpers for the contact and organization pages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from django import template
from django.utils.html import format_html

from rapport.contacts import normalize
from rapport.contacts.forms import label_for
from rapport.contacts.models import Affiliation, CustomFieldDefinition, Phone

register = template.Library()


@register.filter
def phone_display(phone: Phone | str) -> str:
    """An E.164 number in international format, with its extension."""
    if isinstance(phone, str):
        return normalize.phone_display(phone)
    text = normalize.phone_display(phone.e164)
    return f"{text} ext. {phone.extension}" if phone.extension else text


@register.filter
def country_name(code: str) -> str:
    return normalize.country_name(code) if code else ""


@register.filter
def primary(items: Iterable[Any]) -> Any:
    """The primary entry of a prefetched list of emails, phones, … (else the first)."""
    rows = list(items)
    for row in rows:
        if getattr(row, "primary", False):
            return row
    return rows[0] if rows else None


@register.filter
def current_affiliations(affiliations: Iterable[Affiliation]) -> list[Affiliation]:
    return [a for a in affiliations if a.is_current]


@register.filter
def field_label(path: str) -> str:
    return label_for(path)


@register.filter
def change_value(value: Any) -> str:
    """One side of a history entry, readable: lists joined, blanks as a dash."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(change_value(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {change_value(v)}" for k, v in value.items())
    return str(value)


def _text_colour(background: str) -> str:
    try:
        r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    except (ValueError, IndexError):
        return "#fff"
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#111827" if luminance > 150 else "#fff"


_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@register.simple_tag
def tag_badge(tag: Any) -> str:
    # The colour travels in data attributes and app.js paints it: the Content-Security-Policy
    # refuses style="" attributes. Without JavaScript the badge is the neutral grey.
    colour = tag.color if _HEX_COLOUR.fullmatch(tag.color or "") else "#64748b"
    return format_html(
        '<span class="tag" data-tag-color="{}" data-tag-fg="{}">{}</span>',
        colour,
        _text_colour(colour),
        tag.name,
    )


@register.filter
def custom_display(value: Any, definition: CustomFieldDefinition) -> str:
    if value in (None, "", []):
        return ""
    kind = definition.field_type
    if kind == "boolean":
        return "Yes" if value else "No"
    if kind == "multi_choice" and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if kind == "phone":
        return normalize.phone_display(str(value))
    return str(value)


@register.simple_tag
def custom_values(record: Any, definitions: Iterable[CustomFieldDefinition]) -> list[Any]:
    """(definition, shown value) for each defined field the record has a value for."""
    values = record.custom_fields or {}
    return [
        (d, custom_display(values.get(d.key), d))
        for d in definitions
        if values.get(d.key) not in (None, "", [])
    ]


@register.simple_tag(takes_context=True)
def query_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    return "?" + urlencode(list(params.lists()), doseq=True) if params else "?"


@register.filter
def get_item(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping.get(key) if mapping else None
