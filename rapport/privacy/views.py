"""Privacy pages: a contact's privacy page, export, erasure with its confirmation page,
the log, the suppression list with re-admission, retention policies and their runs,
and the records of processing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.contacts.models import Contact
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.core.panels import Panel
from rapport.merges.redirects import page_redirect
from rapport.privacy import records, selectors, services, suppression
from rapport.privacy.models import ErasureLog, Mode, RetentionRun
from rapport.privacy.services.exports import subject_export_get

PRIVACY_ACTIONS = ("privacy.export", "privacy.erase")


def contact_panels(request: HttpRequest, contact: Contact) -> list[Panel]:
    """The privacy box on a contact's page, for those who may export or erase."""
    if not any(policy.can(request.user, a) for a in PRIVACY_ACTIONS):
        return []
    html = render_to_string("privacy/_contact_panel.html", {"contact": contact}, request=request)
    return [Panel(html=html, place="side", order=90)]  # type: ignore[arg-type]


def _merged_or_missing(pk: int, url_name: str) -> HttpResponse:
    return page_redirect(kind="contact", object_id=pk, url_name=url_name)


@page
def contact_privacy(request: HttpRequest, pk: int) -> HttpResponse:
    """What Rapport holds about the person, area by area; export and erase from here."""
    try:
        summary = selectors.contact_privacy(actor=request.user, contact_id=pk)
    except (Contact.DoesNotExist, InvalidInput):
        return _merged_or_missing(pk, "privacy:contact")
    return render(request, "privacy/contact_privacy.html", {"summary": summary})


@page
@require_POST
def contact_export(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job, handle = services.subject_export_start(
            actor=request.user,
            contact_id=pk,
            via="ui",
            background=request.POST.get("background") == "1",
        )
    except (Contact.DoesNotExist, InvalidInput):
        return _merged_or_missing(pk, "privacy:contact")
    if handle is None:
        messages.info(
            request,
            "The archive is large: it is being built in the background. This page says "
            "when it is ready to download.",
        )
        return redirect("privacy:export", pk=job.pk)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"rapport-subject-{pk}-{dt.date.today().isoformat()}.zip",
        content_type="application/zip",
    )


@page
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = subject_export_get(actor=request.user, export_id=pk)
    return render(request, "privacy/export_detail.html", {"job": job})


@page
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        job, handle = services.subject_export_file(actor=request.user, export_id=pk)
    except InvalidInput as exc:
        messages.error(request, exc.errors[0].message)
        return redirect("privacy:export", pk=pk)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"rapport-subject-{job.contact_id}-{job.created_at:%Y-%m-%d}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


def _erase_page(
    request: HttpRequest, pk: int, mode: str, *, error: InvalidInput | None = None
) -> HttpResponse:
    preview = services.erasure_preview(actor=request.user, contact_id=pk, mode=mode)
    context = {
        "preview": preview,
        "contact": Contact.objects.get(pk=pk),
        "reasons": ErasureLog.Reason.choices,
        "reason": request.POST.get("reason", ErasureLog.Reason.REQUEST),
        "note": request.POST.get("note", ""),
        "error": error,
        "anonymise": mode == Mode.ANONYMISE,
    }
    return render(
        request, "privacy/erase_confirm.html", context, status=422 if error is not None else 200
    )


@page
@require_http_methods(["GET", "POST"])
def contact_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows what will go and asks; POST (with the page's confirmation) erases."""
    policy.require(request.user, "privacy.erase")
    source = request.POST if request.method == "POST" else request.GET
    mode = Mode.ANONYMISE if source.get("mode") == Mode.ANONYMISE else Mode.ERASE
    try:
        if request.method == "GET":
            return _erase_page(request, pk, mode)
        log = services.contact_erase(
            actor=request.user,
            contact_id=pk,
            confirmation=str(request.POST.get("confirmation", "")),
            reason=str(request.POST.get("reason", "")),
            note=str(request.POST.get("note", "")),
            suppress=request.POST.get("suppress") == "1",
            mode=mode,
            via="ui",
        )
    except Contact.DoesNotExist:
        return _merged_or_missing(pk, "privacy:erase")
    except InvalidInput as exc:
        if any(e.path == "contact" for e in exc.errors):
            messages.error(request, exc.errors[0].message)
            return redirect("privacy:home")
        return _erase_page(request, pk, mode, error=exc)
    done = "anonymised" if mode == Mode.ANONYMISE else "erased"
    messages.success(
        request,
        f"Contact #{pk} was {done}: {log.total:,} records removed"
        + (f", {log.suppressed} suppression entries kept" if log.suppressed else "")
        + f". Logged as erasure #{log.pk}.",
    )
    if mode == Mode.ANONYMISE:
        return redirect("contacts:detail", pk=pk)
    return redirect("privacy:home")


@page
def privacy_home(request: HttpRequest) -> HttpResponse:
    context = {
        "erasures": selectors.erasure_list(actor=request.user, limit=25),
        "exports": selectors.export_list(actor=request.user, limit=25),
        "readmissions": selectors.readmission_list(actor=request.user, limit=10),
    }
    return render(request, "privacy/home.html", context)


@page
@require_http_methods(["GET", "POST"])
def suppression_page(request: HttpRequest) -> HttpResponse:
    """How many are on the list; look an address up; re-admit someone with new consent."""
    state = suppression.suppression_state(actor=request.user)
    context: dict[str, Any] = {"state": state, "values": request.POST, "errors": {}}
    status = 200
    if request.method == "POST":
        email = str(request.POST.get("email", ""))
        phone = str(request.POST.get("phone", ""))
        try:
            if request.POST.get("action") == "readmit":
                done = suppression.suppression_readmit(
                    actor=request.user,
                    email=email,
                    phone=phone,
                    consent=str(request.POST.get("consent", "")),
                )
                messages.success(
                    request,
                    f"Re-admitted: {done.removed} entr{'y' if done.removed == 1 else 'ies'} "
                    f"taken off the list (erased on {done.erased_on}). They can be added again.",
                )
                return redirect("privacy:suppression")
            context["found"] = suppression.suppression_lookup(
                actor=request.user, email=email, phone=phone
            )
            context["looked_up"] = True
        except InvalidInput as exc:
            context["errors"] = exc.by_field()
            status = 422
    return render(request, "privacy/suppression.html", context, status=status)


@page
def retention_list(request: HttpRequest) -> HttpResponse:
    context = {
        "policies": selectors.retention_policy_list(actor=request.user),
        "runs": selectors.retention_run_list(actor=request.user, limit=20),
    }
    return render(request, "privacy/retention_list.html", context)


def _policy_data(request: HttpRequest) -> dict[str, Any]:
    return {
        "name": request.POST.get("name", ""),
        "description": request.POST.get("description", ""),
        "filters": request.POST.get("filters", ""),
        "action": request.POST.get("action", ""),
        "enabled": request.POST.get("enabled") == "1",
    }


@page
@require_http_methods(["GET", "POST"])
def retention_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy.require(request.user, "privacy.retention")
    current = selectors.retention_policy_get(actor=request.user, policy_id=pk) if pk else None
    values: dict[str, Any] = {
        "name": current.name if current else "",
        "description": current.description if current else "",
        "filters": current.filters
        if current
        else "lifecycle_stage=lead&not_contacted_since=-24m&created_before=-24m",
        "action": current.action if current else Mode.ANONYMISE,
        "enabled": current.enabled if current else True,
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _policy_data(request)
        try:
            saved = services.retention_policy_save(
                actor=request.user, data=values, retention=current
            )
        except InvalidInput as exc:
            errors = exc.by_field()
        else:
            messages.success(request, f"Retention policy “{saved.name}” was saved.")
            return redirect("privacy:retention")
    context = {"current": current, "values": values, "errors": errors, "actions": Mode.choices}
    return render(request, "privacy/retention_form.html", context, status=422 if errors else 200)


@page
@require_POST
def retention_delete(request: HttpRequest, pk: int) -> HttpResponse:
    current = selectors.retention_policy_get(actor=request.user, policy_id=pk)
    services.retention_policy_delete(actor=request.user, retention=current)
    messages.success(request, f"Retention policy “{current.name}” was deleted; its runs stay.")
    return redirect("privacy:retention")


@page
@require_POST
def retention_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Dry run (``dry_run=1``: count and sample) or a real run, now."""
    current = selectors.retention_policy_get(actor=request.user, policy_id=pk)
    run = services.retention_run(
        actor=request.user,
        retention=current,
        trigger=RetentionRun.Trigger.UI,
        dry_run=request.POST.get("dry_run") == "1",
    )
    return redirect("privacy:run", pk=run.pk)


@page
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "privacy.retention")
    run = RetentionRun.objects.select_related("policy", "triggered_by").get(pk=pk)
    names = selectors.contact_names(run.sample_ids)
    context = {"run": run, "sample": [(pk, names.get(pk, "")) for pk in run.sample_ids]}
    return render(request, "privacy/run_detail.html", context)


@page
def records_page(request: HttpRequest) -> HttpResponse:
    """The records of processing; ``?format=csv`` or ``html`` downloads them."""
    record = records.processing_record(actor=request.user)
    wanted = request.GET.get("format", "")
    if wanted == "csv":
        response = HttpResponse(records.record_csv(record), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="records-of-processing.csv"'
        return response
    if wanted == "html":
        response = HttpResponse(
            records.record_html(record), content_type="text/html; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="records-of-processing.html"'
        return response
    return render(
        request,
        "privacy/records.html",
        {"record": record, "columns": records.COLUMNS, "csv_url": reverse("privacy:records")},
    )
