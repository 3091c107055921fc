"""Settings › Purposes: what data is used for, on which lawful basis, with which
consent text, and the public sign-up form of each."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.access.models import User
from rapport.consent import selectors, services
from rapport.consent.models import ConsentEvent, Purpose
from rapport.consent.vocabulary import LawfulBasis
from rapport.contacts.forms import FormState, simple_form
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput

FIELDS = (
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
    "text",
    "text_language",
)
CHECKBOXES = ("is_marketing", "signup_enabled")


def _form(purpose: Purpose | None) -> FormState:
    if purpose is None:
        return simple_form(FIELDS, {"lawful_basis": "consent"})
    text = selectors.purpose_text(purpose)
    return simple_form(
        FIELDS,
        {
            "key": purpose.key,
            "name": purpose.name,
            "lawful_basis": purpose.lawful_basis,
            "description": purpose.description,
            "retention_days": purpose.retention_days or "",
            "is_marketing": "on" if purpose.is_marketing else "",
            "data_categories": "\n".join(purpose.data_categories),
            "recipients": "\n".join(purpose.recipients),
            "signup_enabled": "on" if purpose.signup_enabled else "",
            "signup_owner": purpose.signup_owner.username if purpose.signup_owner else "",
            "text": text.body if text else "",
            "text_language": text.language if text else "",
        },
    )


def _posted(request: HttpRequest) -> tuple[FormState, dict[str, Any]]:
    values = {n: request.POST.get(n, "").strip() for n in FIELDS}
    form = simple_form(FIELDS, values)
    data: dict[str, Any] = dict(values)
    for name in CHECKBOXES:
        data[name] = bool(request.POST.get(name))
    return form, data


def _context(request: HttpRequest, form: FormState, purpose: Purpose | None) -> dict[str, Any]:
    owners = User.objects.filter(is_active=True).order_by("username")
    context: dict[str, Any] = {
        "form": form,
        "purpose": purpose,
        "bases": LawfulBasis.choices,
        "owners": [(u.username, u.get_full_name() or u.username) for u in owners],
    }
    if purpose is not None:
        context["texts"] = selectors.purposes.purpose_texts(actor=request.user, purpose=purpose)
        context["in_use"] = ConsentEvent.objects.filter(purpose=purpose).exists()
        if purpose.signup_enabled and not purpose.archived_at:
            url = request.build_absolute_uri(f"/public/consent/{purpose.key}/")
            context["signup_url"] = url
            context["embeddable"] = bool(settings.RAPPORT_CONSENT_EMBED_ORIGINS)
    return context


@page
def purpose_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.purpose_list(actor=request.user)
    return render(request, "consent/purpose_list.html", {"purposes": rows})


@page
@require_http_methods(["GET", "POST"])
def purpose_create(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "purposes.manage")
    if request.method == "POST":
        form, data = _posted(request)
        try:
            purpose = services.purpose_create(actor=request.user, data=data)
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            return render(
                request, "consent/purpose_form.html", _context(request, form, None), status=422
            )
        messages.success(request, f"The purpose “{purpose.name}” was created.")
        return redirect("consent:purposes")
    return render(request, "consent/purpose_form.html", _context(request, _form(None), None))


@page
@require_http_methods(["GET", "POST"])
def purpose_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Admins change a purpose here; everyone else sees it (and its texts) read-only."""
    purpose = selectors.purpose_get(actor=request.user, purpose_id=pk)
    if request.method == "POST":
        policy.require(request.user, "purposes.manage")
        form, data = _posted(request)
        try:
            purpose = services.purpose_update(actor=request.user, purpose=purpose, data=data)
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            return render(
                request, "consent/purpose_form.html", _context(request, form, purpose), status=422
            )
        messages.success(request, f"The purpose “{purpose.name}” was saved.")
        return redirect("consent:purpose", pk=purpose.pk)
    return render(request, "consent/purpose_form.html", _context(request, _form(purpose), purpose))


@page
@require_POST
def purpose_archive(request: HttpRequest, pk: int) -> HttpResponse:
    purpose = get_object_or_404(Purpose, pk=pk)
    archive = request.POST.get("archived") == "1"
    services.purpose_update(actor=request.user, purpose=purpose, data={"archived": archive})
    messages.success(
        request, f"“{purpose.name}” was {'archived' if archive else 'brought back into use'}."
    )
    return redirect("consent:purposes")


@page
@require_POST
def purpose_delete(request: HttpRequest, pk: int) -> HttpResponse:
    purpose = get_object_or_404(Purpose, pk=pk)
    try:
        services.purpose_delete(actor=request.user, purpose=purpose)
    except InvalidInput as exc:
        messages.error(request, str(exc.errors[0].message))
        return redirect("consent:purpose", pk=purpose.pk)
    messages.success(request, f"The purpose “{purpose.name}” was deleted.")
    return redirect("consent:purposes")
