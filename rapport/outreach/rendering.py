"""Rendering message templates safely: Django's template language in an engine of its
own (no loaders, no tag libraries beyond the built-in ones, so no {% include %} of files
and no {% load %}), autoescape on for HTML and off for plain text, over a restricted
context: the contact's own fields and the message's links, never model objects (a
template cannot call methods or walk relations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Template

from rapport.contacts.models import Contact
from rapport.core.errors import FieldError, InvalidInput

_HTML = Engine(debug=True, autoescape=True, loaders=[], libraries={})
_TEXT = Engine(debug=True, autoescape=False, loaders=[], libraries={})

# What a template may use: {{ contact.given_name }}, {{ preferences_url }}…
CONTEXT_FIELDS = (
    "given_name",
    "family_name",
    "display_name",
    "prefix",
    "job_title",
    "email",
    "organization",
    "language",
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str


def contact_context(contact: Contact, *, email: str = "") -> dict[str, str]:
    """The contact's fields a template may use, as plain strings."""
    affiliation = (
        contact.affiliations.filter(is_current=True).select_related("organization").first()
    )
    return {
        "given_name": contact.given_name,
        "family_name": contact.family_name,
        "display_name": contact.display_name,
        "prefix": contact.prefix,
        "job_title": contact.job_title,
        "email": email,
        "organization": affiliation.organization.name if affiliation else "",
        "language": contact.language,
    }


def _compile(engine: Engine, source: str, name: str, part: str) -> Template:
    try:
        return engine.from_string(source)
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        line = info.get("line")
        where = f", line {line}" if line else ""
        raise InvalidInput.single(part, f"Template “{name}”, {part}{where}: {exc}") from exc


def template_check(*, name: str, subject: str, body_text: str, body_html: str) -> None:
    """Raise InvalidInput naming the part and line of the first syntax error."""
    _compile(_TEXT, subject, name, "subject")
    _compile(_TEXT, body_text, name, "body_text")
    if body_html:
        _compile(_HTML, body_html, name, "body_html")


def render(
    *, name: str, subject: str, body_text: str, body_html: str, context: dict[str, Any]
) -> Rendered:
    """Render one message. A template error (syntax, or a failure while rendering) is an
    InvalidInput naming the template, the part and the line."""
    parts: dict[str, str] = {}
    for part, engine, source in (
        ("subject", _TEXT, subject),
        ("body_text", _TEXT, body_text),
        ("body_html", _HTML, body_html),
    ):
        if not source:
            parts[part] = ""
            continue
        template = _compile(engine, source, name, part)
        try:
            parts[part] = template.render(Context(context, autoescape=engine.autoescape))
        except Exception as exc:  # noqa: BLE001 - any render failure is the template's
            info = getattr(exc, "template_debug", None) or {}
            line = info.get("line")
            where = f", line {line}" if line else ""
            raise InvalidInput(
                [FieldError(part, f"Template “{name}”, {part}{where}: {exc}")]
            ) from exc
    return Rendered(
        subject=" ".join(parts["subject"].split())[:500],
        body_text=parts["body_text"],
        body_html=parts["body_html"],
    )
