"""The Mailboxes pages: a user's own mailboxes, adding one with a connection test,
changing and removing it, asking for a sync, and each mailbox's status."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from rapport.activity.mail.imap import services
from rapport.activity.mail.imap.passwords import PasswordUnreadable
from rapport.activity.models import Mailbox, MailboxMessage
from rapport.contacts.views._common import is_htmx, page
from rapport.core.errors import InvalidInput

_FORM_FIELDS = ("name", "host", "port", "security", "username", "policy", "folders")


def _submitted(request: HttpRequest, *, editing: bool) -> dict[str, Any]:
    data: dict[str, Any] = {key: request.POST.get(key, "") for key in _FORM_FIELDS}
    password = request.POST.get("password", "")
    if password or not editing:
        data["password"] = password
    return data


def _values(mailbox: Mailbox | None, data: dict[str, Any] | None) -> dict[str, Any]:
    """What the form shows: what was typed, else the mailbox's settings; never a password."""
    if data is not None:
        return {key: data.get(key, "") for key in _FORM_FIELDS}
    if mailbox is None:
        return {"security": "ssl", "port": "993", "policy": "known"}
    values = {key: getattr(mailbox, key) for key in _FORM_FIELDS}
    values["folders"] = ", ".join(mailbox.folders)
    return values


def _form(
    request: HttpRequest,
    *,
    mailbox: Mailbox | None,
    data: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    report: Any = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "mailbox": mailbox,
        "values": _values(mailbox, data),
        "errors": errors or {},
        "report": report,
        "securities": Mailbox.Security.choices,
        "policies": Mailbox.Policy.choices,
    }
    return render(request, "activity/mailboxes/mailbox_form.html", context, status=status)


@never_cache
@page
def mailbox_list(request: HttpRequest) -> HttpResponse:
    """The signed-in user's mailboxes with how each one's sync goes."""
    mailboxes = services.mailbox_list(actor=request.user)
    return render(request, "activity/mailboxes/mailbox_list.html", {"mailboxes": mailboxes})


def _test_or_save(request: HttpRequest, mailbox: Mailbox | None) -> HttpResponse:
    editing = mailbox is not None
    data = _submitted(request, editing=editing)
    try:
        if request.POST.get("action") == "test":
            report = services.mailbox_test(actor=request.user, data=data, instance=mailbox)
            if is_htmx(request):
                return render(request, "activity/mailboxes/_test_result.html", {"report": report})
            return _form(request, mailbox=mailbox, data=data, report=report)
        if mailbox is None:
            mailbox = services.mailbox_create(actor=request.user, data=data)
            messages.success(
                request, f"Mailbox “{mailbox.name}” added; its first sync starts shortly."
            )
            services.mailbox_sync_request(actor=request.user, mailbox=mailbox)
        else:
            enabled = request.POST.get("enabled") == "on"
            mailbox = services.mailbox_update(
                actor=request.user, mailbox=mailbox, data=data, enabled=enabled
            )
            messages.success(request, f"Mailbox “{mailbox.name}” saved.")
    except InvalidInput as exc:
        if is_htmx(request):
            return render(
                request, "activity/mailboxes/_test_result.html", {"invalid": exc}, status=422
            )
        return _form(request, mailbox=mailbox, data=data, errors=exc.by_field(), status=422)
    except PasswordUnreadable as exc:
        return _form(
            request, mailbox=mailbox, data=data, errors={"password": [str(exc)]}, status=422
        )
    return redirect("activity:mailbox", mailbox.pk)


@never_cache
@require_http_methods(["GET", "POST"])
@page
def mailbox_add(request: HttpRequest) -> HttpResponse:
    """Add a mailbox: "Test connection" signs in and lists the folders, "Save" keeps it."""
    services.mailbox_list(actor=request.user)  # the permission check
    if request.method == "POST":
        return _test_or_save(request, None)
    return _form(request, mailbox=None)


@never_cache
@require_http_methods(["GET", "POST"])
@page
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = services.mailbox_get(actor=request.user, pk=pk)
    if request.method == "POST":
        return _test_or_save(request, mailbox)
    return _form(request, mailbox=mailbox)


@never_cache
@page
def mailbox_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """How one mailbox's sync goes: last sync, counts per folder, errors in words and
    the messages that could not be logged."""
    mailbox = services.mailbox_get(actor=request.user, pk=pk)
    folders = list(mailbox.folder_states.all())
    failures = (
        MailboxMessage.objects.filter(folder__mailbox=mailbox, outcome="failed")
        .select_related("folder")
        .order_by("-id")[:20]
    )
    context = {"mailbox": mailbox, "folders": folders, "failures": failures}
    return render(request, "activity/mailboxes/mailbox_detail.html", context)


@require_POST
@page
def mailbox_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = services.mailbox_get(actor=request.user, pk=pk)
    services.mailbox_delete(actor=request.user, mailbox=mailbox)
    messages.success(request, f"Mailbox “{mailbox.name}” removed; the mail already logged stays.")
    return redirect("activity:mailboxes")


@require_POST
@page
def mailbox_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = services.mailbox_get(actor=request.user, pk=pk)
    messages.info(request, services.mailbox_sync_request(actor=request.user, mailbox=mailbox))
    return redirect("activity:mailbox", mailbox.pk)
