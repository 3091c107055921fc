"""Mail pages: import .eml/.mbox files, the never-log list (admins), and the people you
correspond with who are no contact yet."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from rapport.activity.mail import correspondents, imports, rules
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import Conflict, InvalidInput


@page
@require_http_methods(["GET", "POST"])
def mail_import(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "mail.import")
    errors: list[Any] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors = [InvalidInput.single("file", "Choose a .eml or .mbox file.").errors[0]]
        else:
            try:
                job = imports.mail_import_upload(
                    actor=request.user, upload=upload, file_name=upload.name or "mail"
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                messages.success(request, f"{job.file_name} is being imported.")
                return redirect("activity:mail_import_detail", pk=job.pk)
    context = {"jobs": imports.mail_import_list(actor=request.user), "errors": errors}
    return render(request, "activity/mail/import.html", context, status=422 if errors else 200)


@page
def mail_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = imports.mail_import_get(actor=request.user, job_id=pk)
    return render(request, "activity/mail/import_detail.html", {"job": job})


@page
@require_http_methods(["GET", "POST"])
def never_log(request: HttpRequest) -> HttpResponse:
    entries = rules.never_log_list(actor=request.user)
    manage = policy.can(request.user, "mail.never_log")
    errors: list[Any] = []
    if request.method == "POST":
        try:
            if request.POST.get("remove"):
                rules.never_log_remove(actor=request.user, entry_id=int(request.POST["remove"]))
                messages.success(request, "Removed from the never-log list.")
            else:
                entry = rules.never_log_add(
                    actor=request.user, pattern=request.POST.get("pattern", "")
                )
                messages.success(request, f"Mail with {entry.pattern} will not be logged.")
            return redirect("activity:never_log")
        except InvalidInput as exc:
            errors = exc.errors
        except ValueError:
            errors = [InvalidInput.single("remove", "No such entry.").errors[0]]
    context = {
        "entries": entries,
        "manage": manage,
        "errors": errors,
        "value": request.POST.get("pattern", ""),
    }
    return render(request, "activity/mail/never_log.html", context, status=422 if errors else 200)


@page
def correspondent_list(request: HttpRequest) -> HttpResponse:
    items = correspondents.correspondent_list(
        actor=request.user, query=request.GET.get("q", "")[:100], limit=100
    )
    can_add = policy.can(request.user, "contacts.add")
    return render(
        request, "activity/mail/correspondents.html", {"items": items, "can_add": can_add}
    )


@page
@require_http_methods(["GET", "POST"])
def correspondent_create(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "contacts.add")
    suggestion = correspondents.correspondent_get(actor=request.user, suggestion_id=pk)
    proposed = correspondents.correspondent_contact_data(suggestion)
    form = {
        "full_name": proposed.get("full_name", ""),
        "email": suggestion.address,
        "job_title": "",
    }
    duplicates: list[Any] = []
    errors: list[Any] = []
    if request.method == "POST":
        form = {key: str(request.POST.get(key, "")).strip() for key in form}
        data: dict[str, Any] = {
            "full_name": form["full_name"],
            "emails": [{"address": form["email"]}] if form["email"] else [],
            "job_title": form["job_title"],
            "source": "email",
        }
        into = str(request.POST.get("merge_into", ""))
        try:
            result = correspondents.correspondent_create_contact(
                actor=request.user,
                suggestion_id=pk,
                data=data,
                create_anyway=bool(request.POST.get("create_anyway")),
                merge_into=int(into) if into.isdecimal() else None,
            )
        except InvalidInput as exc:
            errors = exc.errors
        except Conflict as exc:
            messages.error(request, str(exc))
            return redirect("activity:correspondents")
        else:
            if result.contact is not None:
                messages.success(
                    request, f"{result.contact.display_name} was added; their mail is linked."
                )
                return redirect("contacts:detail", pk=result.contact.pk)
            if result.merge is not None:
                messages.success(request, "Added to the existing contact; their mail is linked.")
                return redirect("contacts:detail", pk=int(into))
            duplicates = result.duplicates
    context = {"suggestion": suggestion, "form": form, "duplicates": duplicates, "errors": errors}
    return render(
        request, "activity/mail/correspondent_create.html", context, status=422 if errors else 200
    )


@page
@require_POST
def correspondent_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    count = correspondents.correspondents_dismiss(actor=request.user, suggestion_ids=[pk])
    if count:
        messages.success(request, "Dismissed.")
    return redirect("activity:correspondents")
