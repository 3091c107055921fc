"""Organization pages (list, page with people and account map, forms) and affiliations."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts import forms, selectors, services
from rapport.contacts.models import Affiliation, Contact, Organization
from rapport.contacts.views import lists
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.contacts.views.contacts import BASE_SORTS, country_names, owner_choices
from rapport.core import panels, policy
from rapport.core.errors import Conflict, InvalidInput
from rapport.duplicates import services as duplicates
from rapport.merges.redirects import page_redirect


@page
def organization_list(request: HttpRequest) -> HttpResponse:
    params = request.GET
    read = lists.list_read(
        request,
        parse_filters=forms.organization_filters,
        rows=selectors.organization_list,
        count=selectors.organization_count,
    )
    if read.fragment == "count" and read.error is None:
        return render(request, "contacts/_organization_count.html", {"count": read.count})
    context: dict[str, Any] = {
        "page": read.page,
        "error": read.error,
        "q": params.get("q", ""),
        "count": read.count,
        "count_query": lists.count_query(params),
        **lists.list_context(request, "organizations"),
        **lists.bulk_context(request, "organizations"),
    }
    if is_htmx(request):
        template = (
            "contacts/_organization_rows.html"
            if read.fragment == "rows"
            else "contacts/_organization_results.html"
        )
        return vary_on_htmx(render(request, template, context))
    context.update(
        sorts=BASE_SORTS,
        countries=country_names(),
        selected_tags=params.getlist("tag"),
    )
    status = 400 if read.error else 200
    return vary_on_htmx(render(request, "contacts/organization_list.html", context, status=status))


@page
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        org = selectors.organization_get(actor=request.user, org_id=pk)
    except Organization.DoesNotExist:
        return page_redirect(kind="organization", object_id=pk, url_name="contacts:organization")
    people = selectors.organization_people(actor=request.user, org=org)
    context = {
        "org": org,
        "current_people": [a for a in people if a.is_current],
        "past_people": [a for a in people if not a.is_current],
        "chart": selectors.organization_chart(actor=request.user, org=org),
        "children": sorted(org.children.all(), key=lambda o: o.sort_name),
        "history": selectors.history_for(
            actor=request.user, object_type="organization", object_id=pk
        ),
        "custom_definitions": selectors.custom_field_list(
            actor=request.user, target="organization"
        ),
        "buying_roles": Affiliation.BuyingRole.choices,
        "panels": panels.panels_for(request, "organization", org),
    }
    return render(request, "contacts/organization_detail.html", context)


def _form_context(request: HttpRequest, form: forms.FormState, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "owners": owner_choices(),
        "size_bands": Organization.SizeBand.choices,
        "countries": country_names(),
        "tag_names": [t.name for t in selectors.tag_list(actor=request.user)],
        **extra,
    }


@page
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "organizations.add")
    definitions = selectors.custom_field_list(actor=request.user, target="organization")
    if request.method == "POST":
        form, data = forms.organization_post(request.POST, definitions)
        try:
            if not request.POST.get("create_anyway"):
                found = duplicates.organization_duplicate_check_input(actor=request.user, data=data)
                if found:
                    context = _form_context(
                        request, forms.finish_rows(form), org=None, org_duplicates=found
                    )
                    return render(request, "contacts/organization_form.html", context)
            org = services.organization_create(actor=request.user, data=data, via="ui")
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            context = _form_context(request, forms.finish_rows(form), org=None)
            return render(request, "contacts/organization_form.html", context, status=422)
        messages.success(request, f"{org.name} was added.")
        return redirect("contacts:organization", pk=org.pk)
    form = forms.organization_form(None, definitions)
    return render(
        request, "contacts/organization_form.html", _form_context(request, form, org=None)
    )


@page
@require_http_methods(["GET", "POST"])
def organization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        org = selectors.organization_get(actor=request.user, org_id=pk)
    except Organization.DoesNotExist:
        return page_redirect(
            kind="organization", object_id=pk, url_name="contacts:organization_edit"
        )
    policy.require(request.user, "organizations.change", org)
    definitions = selectors.custom_field_list(actor=request.user, target="organization")
    if request.method == "POST":
        form, data = forms.organization_post(request.POST, definitions)
        status = 422
        try:
            org = services.organization_update(
                actor=request.user,
                org=org,
                data=data,
                expected_version=forms.expected_version(form),
                via="ui",
            )
        except InvalidInput as exc:
            form.add_errors(exc.errors)
        except Conflict as exc:
            form.conflict = str(exc)
            status = 409
        else:
            messages.success(request, "Your changes were saved.")
            return redirect("contacts:organization", pk=org.pk)
        context = _form_context(request, forms.finish_rows(form), org=org)
        return render(request, "contacts/organization_form.html", context, status=status)
    form = forms.organization_form(org, definitions)
    return render(request, "contacts/organization_form.html", _form_context(request, form, org=org))


@page
@require_http_methods(["GET", "POST"])
def organization_delete(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.organization_get(actor=request.user, org_id=pk)
    policy.require(request.user, "organizations.delete", org)
    if request.method == "POST":
        version = request.POST.get("version", "")
        try:
            services.organization_delete(
                actor=request.user,
                org=org,
                expected_version=int(version) if version.isdecimal() else None,
                via="ui",
            )
        except Conflict as exc:
            messages.error(request, f"{exc} Nothing was deleted; please look again.")
            return redirect("contacts:organization", pk=pk)
        messages.success(request, f"{org.name} was deleted.")
        return redirect("contacts:organizations")
    return render(request, "contacts/confirm_delete.html", {"object": org, "kind": "organization"})


@page
def organization_lookup(request: HttpRequest) -> HttpResponse:
    """Suggestions for an organization picker: ``<option>``s for a datalist."""
    q = request.GET.get(request.GET.get("field", "q"), "")
    options: list[Organization] = []
    if q.strip() and forms.picked_id(q) == q.strip():
        try:
            options = selectors.organization_list(actor=request.user, q=q, limit=10).items
        except InvalidInput:
            options = []
    return render(request, "contacts/_options.html", {"options": options})


# ---------------------------------------------------------------- affiliations


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _affiliation_page(
    request: HttpRequest,
    form: forms.FormState,
    *,
    affiliation: Affiliation | None,
    org: Organization | None,
    back: str,
    contact: Contact | None = None,
    status: int = 200,
) -> HttpResponse:
    colleagues: list[Affiliation] = []
    if org is not None:
        colleagues = [
            a
            for a in selectors.organization_people(actor=request.user, org=org)
            if a.is_current and (affiliation is None or a.pk != affiliation.pk)
        ]
    context = {
        "form": form,
        "affiliation": affiliation,
        "org": org,
        "contact": affiliation.contact if affiliation else contact,
        "fixed_org": org is not None,
        "colleagues": colleagues,
        "reports_to_id": forms.picked_id(str(form.fields["reports_to"].value)),
        "buying_roles": Affiliation.BuyingRole.choices,
        "back": back,
    }
    return render(request, "contacts/affiliation_form.html", context, status=status)


def _affiliation_save(
    request: HttpRequest,
    *,
    affiliation: Affiliation | None,
    org: Organization | None,
    fixed: dict[str, Any],
    back: str,
    contact: Contact | None = None,
) -> HttpResponse:
    form, data = forms.affiliation_post(request.POST)
    data.update(fixed)
    for key, value in fixed.items():
        form.fields[key].value = value
    try:
        if affiliation is None:
            saved = services.affiliation_create(actor=request.user, data=data, via="ui")
        else:
            saved = services.affiliation_update(
                actor=request.user,
                affiliation=affiliation,
                data=data,
                expected_version=forms.expected_version(form),
                via="ui",
            )
    except InvalidInput as exc:
        form.add_errors(exc.errors)
        return _affiliation_page(
            request, form, affiliation=affiliation, org=org, back=back, contact=contact, status=422
        )
    except Conflict as exc:
        form.conflict = str(exc)
        return _affiliation_page(
            request, form, affiliation=affiliation, org=org, back=back, contact=contact, status=409
        )
    messages.success(request, f"{saved.contact} at {saved.organization} was saved.")
    return redirect(back)


@page
@require_http_methods(["GET", "POST"])
def affiliation_add_to_organization(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.organization_get(actor=request.user, org_id=pk)
    policy.require(request.user, "affiliations.change")
    back = _back(request, org_url(org))
    if request.method == "POST":
        return _affiliation_save(
            request, affiliation=None, org=org, fixed={"organization": str(org.pk)}, back=back
        )
    form = forms.affiliation_form(None, organization=org)
    return _affiliation_page(request, form, affiliation=None, org=org, back=back)


@page
@require_http_methods(["GET", "POST"])
def affiliation_add_from_contact(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(actor=request.user, contact_id=pk)
    policy.require(request.user, "affiliations.change")
    back = _back(request, reverse("contacts:detail", args=[contact.pk]))
    if request.method == "POST":
        return _affiliation_save(
            request,
            affiliation=None,
            org=None,
            fixed={"contact": str(contact.pk)},
            back=back,
            contact=contact,
        )
    form = forms.affiliation_form(None, contact=contact)
    return _affiliation_page(request, form, affiliation=None, org=None, back=back, contact=contact)


def _affiliation(pk: int) -> Affiliation:
    return Affiliation.objects.select_related("contact", "organization", "reports_to").get(pk=pk)


@page
@require_http_methods(["GET", "POST"])
def affiliation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "organizations.view")
    affiliation = _affiliation(pk)
    policy.require(request.user, "affiliations.change", affiliation)
    org = affiliation.organization
    back = _back(request, org_url(org))
    if request.method == "POST":
        fixed = {"contact": str(affiliation.contact_id), "organization": str(org.pk)}
        return _affiliation_save(request, affiliation=affiliation, org=org, fixed=fixed, back=back)
    form = forms.affiliation_form(affiliation)
    return _affiliation_page(request, form, affiliation=affiliation, org=org, back=back)


@page
@require_POST
def affiliation_end(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a role as ended today (the person stays in the organization's past people)."""
    policy.require(request.user, "organizations.view")
    affiliation = _affiliation(pk)
    back = _back(request, org_url(affiliation.organization))
    try:
        services.affiliation_update(
            actor=request.user,
            affiliation=affiliation,
            data={"end_date": timezone.localdate().isoformat(), "is_current": False},
            via="ui",
        )
    except InvalidInput as exc:
        messages.error(request, "; ".join(e.message for e in exc.errors))
    else:
        messages.success(
            request, f"{affiliation.contact} no longer works at {affiliation.organization}."
        )
    return redirect(back)


@page
@require_POST
def affiliation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "organizations.view")
    affiliation = _affiliation(pk)
    back = _back(request, org_url(affiliation.organization))
    services.affiliation_delete(actor=request.user, affiliation=affiliation, via="ui")
    messages.success(request, f"{affiliation.contact} was removed from {affiliation.organization}.")
    return redirect(back)


def org_url(org: Organization) -> str:
    return reverse("contacts:organization", args=[org.pk])
