"""Settings → Message templates: admins list, write (with a translation per language)
and delete the templates mail is sent with, through the template services."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.outreach.models import MessageTemplate
from rapport.outreach.selectors.compose import purpose_choices
from rapport.outreach.services import templates as services

PARTS = ("language", "subject", "body_text", "body_html")
_ROW = re.compile(r"^translations\[(\d+)\]\.(\w+)$")


@page
def template_list(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "templates.manage")
    rows = MessageTemplate.objects.prefetch_related("translations")
    return render(request, "outreach/template_list.html", {"rows": rows})


def _stored(template: MessageTemplate | None) -> tuple[dict[str, Any], list[dict[str, str]]]:
    if template is None:
        return {"language": "en"}, []
    values = {
        name: getattr(template, name)
        for name in ("key", "name", "purpose", "language", "subject", "body_text", "body_html")
    }
    rows = [{part: getattr(t, part) for part in PARTS} for t in template.translations.all()]
    return values, rows


def _posted(request: HttpRequest) -> tuple[dict[str, Any], list[dict[str, str]]]:
    post = request.POST
    values = {
        name: post.get(name, "")
        for name in ("key", "name", "purpose", "language", "subject", "body_text", "body_html")
    }
    rows = []
    count = int(post["rows"]) if post.get("rows", "").isdecimal() else 0
    for i in range(min(count, 100)):
        row = {part: post.get(f"t{i}-{part}", "") for part in PARTS}
        # a blank row (the one always offered for a new language) is no translation
        if any(value.strip() for value in row.values()) and not post.get(f"t{i}-remove"):
            rows.append(row)
    return values, rows


@page
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """A new template (no ``pk``) or a change to one: a wrong field is named, in the
    template or in the translation it belongs to, and nothing is saved."""
    policy.require(request.user, "templates.manage")
    template = get_object_or_404(MessageTemplate, pk=pk) if pk else None
    errors: dict[str, list[str]] = {}
    row_errors: dict[int, dict[str, list[str]]] = {}
    if request.method == "POST":
        values, rows = _posted(request)
        data = {**values, "translations": rows}
        try:
            if template is None:
                saved = services.template_create(actor=request.user, data=data)
            else:
                saved = services.template_update(actor=request.user, template=template, data=data)
        except InvalidInput as exc:
            for path, found in exc.by_field().items():
                match = _ROW.match(path)
                if match:
                    row_errors.setdefault(int(match[1]), {}).setdefault(match[2], []).extend(found)
                else:
                    errors.setdefault(path, []).extend(found)
        else:
            messages.success(request, f"The template “{saved.name}” was saved.")
            return redirect("outreach:templates")
    else:
        values, rows = _stored(template)
    shown = [
        {"index": i, "values": row, "errors": row_errors.get(i, {})}
        for i, row in enumerate([*rows, dict.fromkeys(PARTS, "")])
    ]
    context = {
        "template": template,
        "values": values,
        "errors": errors,
        "has_errors": bool(errors or row_errors),
        "rows": shown,
        "row_count": len(shown),
        "purposes": purpose_choices(),
    }
    return render(
        request,
        "outreach/template_form.html",
        context,
        status=422 if errors or row_errors else 200,
    )


@page
@require_POST
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(MessageTemplate, pk=pk)
    services.template_delete(actor=request.user, template=template)
    messages.success(request, f"The template “{template.name}” was deleted.")
    return redirect("outreach:templates")
