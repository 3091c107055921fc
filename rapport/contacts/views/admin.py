"""Shared vocabulary: tags (members add, admins rename and delete) and custom fields."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts import forms, selectors, services
from rapport.contacts.models import CustomFieldDefinition, Tag
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput

TAG_COLOURS = [
    "#2563eb",
    "#0891b2",
    "#059669",
    "#65a30d",
    "#ca8a04",
    "#ea580c",
    "#dc2626",
    "#db2777",
    "#7c3aed",
    "#64748b",
]


def _tag_page(
    request: HttpRequest,
    *,
    new: forms.FormState | None = None,
    editing: int | None = None,
    edit_form: forms.FormState | None = None,
    status: int = 200,
) -> HttpResponse:
    tags = selectors.tag_list(actor=request.user)
    usage = {
        row["pk"]: row
        for row in Tag.objects.filter(pk__in=[t.pk for t in tags])
        .annotate(contact_count=Count("contacts", distinct=True))
        .annotate(organization_count=Count("organizations", distinct=True))
        .values("pk", "contact_count", "organization_count")
    }
    context: dict[str, Any] = {
        "tags": [(t, usage.get(t.pk, {})) for t in tags],
        "new": new or forms.simple_form(("name", "color"), {"color": TAG_COLOURS[len(tags) % 10]}),
        "editing": editing,
        "edit_form": edit_form,
        "palette": TAG_COLOURS,
    }
    return render(request, "contacts/tag_list.html", context, status=status)


@page
@require_http_methods(["GET", "POST"])
def tag_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = {"name": request.POST.get("name", ""), "color": request.POST.get("color", "")}
        form = forms.simple_form(("name", "color"), data)
        try:
            tag = services.tag_create(actor=request.user, data=data)
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            return _tag_page(request, new=form, status=422)
        messages.success(request, f"The tag “{tag.name}” was created.")
        return redirect("contacts:tags")
    return _tag_page(request)


@page
@require_POST
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    data = {"name": request.POST.get("name", ""), "color": request.POST.get("color", "")}
    form = forms.simple_form(("name", "color"), data)
    try:
        tag = services.tag_update(actor=request.user, tag=tag, data=data)
    except InvalidInput as exc:
        form.add_errors(exc.errors)
        return _tag_page(request, editing=pk, edit_form=form, status=422)
    messages.success(request, f"The tag “{tag.name}” was saved.")
    return redirect("contacts:tags")


@page
@require_POST
def tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    tag = get_object_or_404(Tag, pk=pk)
    services.tag_delete(actor=request.user, tag=tag)
    messages.success(request, f"The tag “{tag.name}” was deleted.")
    return redirect("contacts:tags")


# ---------------------------------------------------------------- custom fields


def _custom_field_context(form: forms.FormState, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "targets": CustomFieldDefinition.Target.choices,
        "field_types": CustomFieldDefinition.FieldType.choices,
        **extra,
    }


@page
def custom_field_list(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "custom_fields.manage")
    definitions = selectors.custom_field_list(actor=request.user)
    context = {
        "groups": [
            (label, [d for d in definitions if d.target == value])
            for value, label in CustomFieldDefinition.Target.choices
        ]
    }
    return render(request, "contacts/custom_field_list.html", context)


@page
@require_http_methods(["GET", "POST"])
def custom_field_create(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "custom_fields.manage")
    if request.method == "POST":
        form, data = forms.custom_field_post(request.POST)
        if not data["key"]:
            del data["key"]  # the service derives it from the label
        try:
            definition = services.custom_field_create(actor=request.user, data=data)
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            context = _custom_field_context(form, definition=None)
            return render(request, "contacts/custom_field_form.html", context, status=422)
        messages.success(request, f"The field “{definition.label}” was created.")
        return redirect("contacts:custom_fields")
    target = request.GET.get("target", "contact")
    form = forms.custom_field_form(None)
    if target in CustomFieldDefinition.Target.values:
        form.fields["target"].value = target
    context = _custom_field_context(form, definition=None)
    return render(request, "contacts/custom_field_form.html", context)


@page
@require_http_methods(["GET", "POST"])
def custom_field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "custom_fields.manage")
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    if request.method == "POST":
        form, data = forms.custom_field_post(request.POST)
        data["target"], data["key"] = definition.target, definition.key
        data["field_type"] = definition.field_type
        try:
            definition = services.custom_field_update(
                actor=request.user, definition=definition, data=data
            )
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            context = _custom_field_context(form, definition=definition)
            return render(request, "contacts/custom_field_form.html", context, status=422)
        messages.success(request, f"The field “{definition.label}” was saved.")
        return redirect("contacts:custom_fields")
    context = _custom_field_context(forms.custom_field_form(definition), definition=definition)
    return render(request, "contacts/custom_field_form.html", context)


@page
@require_POST
def custom_field_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "custom_fields.manage")
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    services.custom_field_delete(actor=request.user, definition=definition)
    messages.success(request, f"The field “{definition.label}” was deleted.")
    return redirect("contacts:custom_fields")
