"""The "Phones and address books" page: how to connect a device, the user's books, the
devices that synced and when, and the conflicts to decide."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from rapport.contacts.models import Tag
from rapport.contacts.views._common import page
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.sync import dav, selectors
from rapport.sync.models import AddressBook, SyncConflict
from rapport.sync.services import books as book_services
from rapport.sync.services import writes


@page
@never_cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    policy.require(request.user, "tokens.own")
    from rapport.segments import selectors as segment_selectors

    server = f"{request.scheme}://{request.get_host()}/"
    user = request.user
    qr = segno.make(server, error="m").svg_inline(scale=4, dark="#111", light="#fff")
    context = {
        "server": server,
        "principal": server.rstrip("/") + dav.principal_path(user),
        "home": server.rstrip("/") + dav.home_path(user),
        "books": [
            (row, server.rstrip("/") + dav.book_path(row.book))
            for row in selectors.user_books(user)
        ],
        "devices": selectors.user_devices(user),
        "conflicts": list(selectors.open_conflicts(user)[:200]),
        "tags": Tag.objects.order_by("name_key"),
        "lists": segment_selectors.lists_visible(user),
        "segments": segment_selectors.segments_visible(user),
        "limit": settings.RAPPORT_CARDDAV_MAX_CARDS,
        "qr": qr,
    }
    return render(request, "sync/home.html", context)


@page
@require_POST
def conflict_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "tokens.own")
    conflict = get_object_or_404(SyncConflict, pk=pk, book__owner=request.user)
    take = request.POST.get("choice") == "device"
    try:
        writes.conflict_resolve(actor=request.user, conflict=conflict, take=take)
    except InvalidInput as exc:
        messages.error(request, " ".join(e.message for e in exc.errors))
        return redirect("sync:home")
    what = "the device’s value" if take else "Rapport’s value"
    messages.success(request, f"{conflict.contact_name}: kept {what} for {conflict.field}.")
    return redirect("sync:home")


@page
@require_POST
def book_add(request: HttpRequest) -> HttpResponse:
    """A book of a tag's contacts, a list's or a segment's members, for devices
    (``source``: ``tag:ID``, ``list:ID``, ``segment:ID``)."""
    from rapport.segments import selectors as segment_selectors

    policy.require(request.user, "tokens.own")
    kind, _, raw = request.POST.get("source", "").partition(":")
    pk = int(raw) if raw.isdecimal() and len(raw) < 19 else 0
    try:
        sources = {
            "tag": Tag.objects.all(),
            "list": segment_selectors.lists_visible(request.user),
            "segment": segment_selectors.segments_visible(request.user),
        }
        found = sources[kind].filter(pk=pk).first() if kind in sources else None
        if found is not None:
            book = book_services.book_for(user=request.user, kind=kind, obj=found)
        else:
            messages.error(request, "Choose a tag, a list or a segment for the new book.")
            return redirect("sync:home")
    except book_services.BookRefused as exc:
        messages.error(request, exc.message)
        return redirect("sync:home")
    messages.success(request, f"Devices now see the book “{book.name}” at their next sync.")
    return redirect("sync:home")


@page
@require_POST
def book_remove(request: HttpRequest, pk: int) -> HttpResponse:
    policy.require(request.user, "tokens.own")
    book = get_object_or_404(AddressBook, pk=pk, owner=request.user)
    try:
        book_services.book_delete(user=request.user, book=book)
    except book_services.BookRefused as exc:
        messages.error(request, exc.message)
        return redirect("sync:home")
    messages.success(request, f"The book “{book.name}” was removed; its contacts stay.")
    return redirect("sync:home")
