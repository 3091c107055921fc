"""Contact pages: the searchable list, one contact, the create/edit forms, delete."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from rapport.access.models import User
from rapport.contacts import columns, forms, normalize, selectors, services
from rapport.contacts.models import Contact, Organization
from rapport.contacts.views import lists
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import listing, panels, policy
from rapport.core.errors import Conflict, InvalidInput
from rapport.duplicates import services as duplicates
from rapport.merges.redirects import page_redirect

BASE_SORTS = [
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-updated", "Recently updated"),
    ("updated", "Least recently updated"),
]
SORTS = [
    *BASE_SORTS,
    ("-last_contacted", "Recently contacted"),
    ("last_contacted", "Longest without contact"),
    ("next_step", "Next step due first"),
]
ORGANIZATION_CHOICES_LIMIT = 200


@cache
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


@cache
def country_names() -> list[str]:
    import pycountry

    return sorted(normalize.country_name(c.alpha_2) for c in pycountry.countries)


def owner_choices() -> list[str]:
    return list(
        User.objects.filter(is_active=True).order_by("username").values_list("username", flat=True)
    )


def _organization_choices(selected: str) -> list[tuple[int, str]]:
    choices = list(
        Organization.objects.order_by("sort_name", "id").values_list("id", "name")[
            :ORGANIZATION_CHOICES_LIMIT
        ]
    )
    if selected.isdecimal() and all(str(pk) != selected for pk, _ in choices):
        choices += list(Organization.objects.filter(pk=int(selected)).values_list("id", "name"))
    return choices


def _active_filter_count(request: HttpRequest) -> int:
    names = {
        "tag",
        "owner",
        "organization",
        "lifecycle_stage",
        "country",
        "created_after",
        "created_before",
        "updated_after",
        "updated_before",
        "contacted_after",
        "not_contacted_since",
        "next_step",
        "reach_out_due",
        *(f.key for f in listing.filters_for("contacts")),
    }
    return sum(
        1
        for key, values in request.GET.lists()
        if (key in names or key.startswith("custom.")) and any(v.strip() for v in values)
    )


def _extension_cells(request: HttpRequest, read: lists.ListRead) -> None:
    """Render the shown columns other areas added, once per page (core.listing): each
    contact gets ``extra_cells`` {column key: html}."""
    if read.page is None:
        return
    contacts = read.page.items
    for contact in contacts:
        contact.extra_cells = {}
    for column in columns.columns_chosen(actor=request.user, list_name="contacts"):
        if column.extension is not None and contacts:
            cells = column.extension.render(request, contacts)
            for contact in contacts:
                contact.extra_cells[column.key] = cells.get(contact.pk, "")


@page
def contact_list(request: HttpRequest) -> HttpResponse:
    """Search as you type, filters, sort and keyset pages ("Load more"), never OFFSET."""
    params = request.GET
    read = lists.list_read(
        request,
        parse_filters=forms.contact_filters,
        rows=selectors.contact_list,
        count=selectors.contact_count,
    )
    filtered = bool(params.get("q", "").strip()) or _active_filter_count(request) > 0
    _extension_cells(request, read)
    if read.fragment == "count" and read.error is None:
        return render(
            request, "contacts/_contact_count.html", {"count": read.count, "filtered": filtered}
        )
    context: dict[str, Any] = {
        "page": read.page,
        "error": read.error,
        "q": params.get("q", ""),
        "count": read.count,
        "count_query": lists.count_query(params),
        "filtered": filtered,
        **lists.list_context(request, "contacts"),
        **lists.bulk_context(request, "contacts"),
    }
    if is_htmx(request):
        rows_only = read.fragment == "rows"
        template = "contacts/_contact_rows.html" if rows_only else "contacts/_contact_results.html"
        return vary_on_htmx(render(request, template, context))
    context.update(
        sorts=SORTS,
        organizations=_organization_choices(params.get("organization", "")),
        custom_definitions=selectors.custom_field_list(actor=request.user, target="contact"),
        countries=country_names(),
        selected_tags=params.getlist("tag"),
        custom_params={k: v for k, v in params.items() if k.startswith("custom.")},
        active_filters=_active_filter_count(request),
        next_step_choices=[("any", "Has one"), ("none", "Has none"), ("overdue", "Overdue")],
        extra_filters=[(f.key, f.label, f.choices()) for f in listing.filters_for("contacts")],
        extra_stylesheets=[c.stylesheet for c in listing.columns_for("contacts") if c.stylesheet],
    )
    return vary_on_htmx(
        render(request, "contacts/contact_list.html", context, status=400 if read.error else 200)
    )


@page
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        contact = selectors.contact_get(actor=request.user, contact_id=pk)
    except Contact.DoesNotExist:
        return page_redirect(kind="contact", object_id=pk, url_name="contacts:detail")
    context = {
        "contact": contact,
        "history": selectors.history_for(actor=request.user, object_type="contact", object_id=pk),
        "custom_definitions": selectors.custom_field_list(actor=request.user, target="contact"),
        "affiliations": contact.affiliation_list,
        "panels": panels.panels_for(request, "contact", contact),
        "phone_actions": panels.phone_actions_for(request, contact, contact.phone_list),
    }
    return render(request, "contacts/contact_detail.html", context)


def _form_context(request: HttpRequest, form: forms.FormState, **extra: Any) -> dict[str, Any]:
    return {
        "form": form,
        "owners": owner_choices(),
        "stages": Contact.Lifecycle.choices,
        "link_kinds": [("website", "Website"), ("social", "Social profile")],
        "time_zones": time_zones(),
        "countries": country_names(),
        "tag_names": [t.name for t in selectors.tag_list(actor=request.user)],
        **extra,
    }


def _remember_different(request: HttpRequest, contact_id: int) -> None:
    """After "create anyway" or "save anyway": the likely duplicates that were shown are
    someone else, and are not proposed with this contact again."""
    shown = {int(x) for x in request.POST.getlist("shown_duplicates") if x.isdecimal()}
    shown.discard(contact_id)
    # one shown may have been deleted or merged away since: nothing left to remember
    shown = set(Contact.objects.filter(pk__in=shown).values_list("pk", flat=True))
    if shown and policy.can(request.user, "duplicates.review"):
        for other in sorted(shown):
            duplicates.contacts_not_duplicates(actor=request.user, contact_ids=[contact_id, other])


@page
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "contacts.add")
    definitions = selectors.custom_field_list(actor=request.user, target="contact")
    if request.method == "POST":
        form, data = forms.contact_post(request.POST, definitions)
        into = str(request.POST.get("merge_into", ""))
        try:
            if into.isdecimal():
                merge = duplicates.contact_create_into(
                    actor=request.user, data=data, contact_id=int(into), via="ui"
                )
                messages.success(
                    request,
                    f"Added to {merge.names.get(into, 'the existing contact')}; "
                    f"merge #{merge.pk} can be undone from Merges.",
                )
                return redirect("contacts:detail", pk=int(into))
            if not request.POST.get("create_anyway"):
                found = duplicates.contact_duplicate_check(actor=request.user, data=data)
                if found:
                    context = _form_context(
                        request, forms.finish_rows(form), contact=None, duplicates=found
                    )
                    return render(request, "contacts/contact_form.html", context)
            contact = services.contact_create(actor=request.user, data=data, via="ui")
        except InvalidInput as exc:
            form.add_errors(exc.errors)
            context = _form_context(request, forms.finish_rows(form), contact=None)
            return render(request, "contacts/contact_form.html", context, status=422)
        _remember_different(request, contact.pk)
        messages.success(request, f"{contact.display_name} was added.")
        return redirect("contacts:detail", pk=contact.pk)
    form = forms.contact_form(None, definitions)
    if request.GET.get("name"):
        form.fields["full_name"].value = request.GET["name"][:300]
    return render(request, "contacts/contact_form.html", _form_context(request, form, contact=None))


@page
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        contact = selectors.contact_get(actor=request.user, contact_id=pk)
    except Contact.DoesNotExist:
        return page_redirect(kind="contact", object_id=pk, url_name="contacts:edit")
    policy.require(request.user, "contacts.change", contact)
    definitions = selectors.custom_field_list(actor=request.user, target="contact")
    if request.method == "POST":
        form, data = forms.contact_post(request.POST, definitions)
        status = 422
        found: list[Any] = []
        try:
            if not request.POST.get("create_anyway"):
                found = duplicates.contact_duplicate_check(
                    actor=request.user, data=data, contact_id=contact.pk
                )
            if not found:
                contact = services.contact_update(
                    actor=request.user,
                    contact=contact,
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
            if found:
                context = _form_context(
                    request, forms.finish_rows(form), contact=contact, duplicates=found
                )
                return render(request, "contacts/contact_form.html", context)
            _remember_different(request, contact.pk)
            messages.success(request, "Your changes were saved.")
            return redirect("contacts:detail", pk=contact.pk)
        context = _form_context(request, forms.finish_rows(form), contact=contact)
        return render(request, "contacts/contact_form.html", context, status=status)
    form = forms.contact_form(contact, definitions)
    return render(
        request, "contacts/contact_form.html", _form_context(request, form, contact=contact)
    )


@page
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(actor=request.user, contact_id=pk)
    policy.require(request.user, "contacts.delete", contact)
    if request.method == "POST":
        version = request.POST.get("version", "")
        try:
            services.contact_delete(
                actor=request.user,
                contact=contact,
                expected_version=int(version) if version.isdecimal() else None,
                via="ui",
            )
        except Conflict as exc:
            messages.error(request, f"{exc} Nothing was deleted; please look again.")
            return redirect("contacts:detail", pk=pk)
        messages.success(request, f"{contact.display_name} was deleted.")
        return redirect("contacts:list")
    return render(request, "contacts/confirm_delete.html", {"object": contact, "kind": "contact"})


@page
def contact_lookup(request: HttpRequest) -> HttpResponse:
    """Suggestions for a contact picker: ``<option>``s for a datalist."""
    q = request.GET.get(request.GET.get("field", "q"), "")
    options: list[Contact] = []
    if forms.picked_id(q) == q.strip() and q.strip():
        try:
            options = selectors.contact_list(actor=request.user, q=q, limit=10).items
        except InvalidInput:
            options = []
    return render(request, "contacts/_options.html", {"options": options})


@page
def search(request: HttpRequest) -> HttpResponse:
    """The header search box: contacts and organizations at once."""
    q = request.GET.get("q", "").strip()
    found: dict[str, list[Any]] = {"contacts": [], "organizations": []}
    if q:
        found = selectors.search_everything(actor=request.user, q=q)
    context = {"q": q, **found}
    if is_htmx(request):
        return vary_on_htmx(render(request, "contacts/_search_dropdown.html", context))
    return vary_on_htmx(render(request, "contacts/search.html", context))


@page
@require_http_methods(["GET", "POST"])
def contact_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """GET serves the photo to signed-in readers; POST uploads or removes it."""
    contact = selectors.contact_get(actor=request.user, contact_id=pk)
    if request.method == "GET":
        if not contact.photo:
            raise Http404("This contact has no photo.")
        response = FileResponse(contact.photo.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response
    upload = request.FILES.get("photo")
    if "remove" not in request.POST and upload is None:
        messages.error(request, "Choose an image to upload.")
        return redirect("contacts:detail", pk=pk)
    try:
        services.contact_photo_set(
            actor=request.user,
            contact=contact,
            upload=None if "remove" in request.POST else upload,
            via="ui",
        )
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
    else:
        messages.success(
            request,
            "The photo was removed." if "remove" in request.POST else "The photo was saved.",
        )
    return redirect("contacts:detail", pk=pk)
