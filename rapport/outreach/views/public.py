"""The public pages the links in Rapport's mail open, without signing in (/public/).

The one-click unsubscribe (RFC 8058): a GET only shows a page with a button (mail
scanners that follow links unsubscribe nobody); the POST unsubscribes. That POST is
CSRF-exempt because mail clients send it from outside any session (the
List-Unsubscribe-Post header) — the signed token in the address is its authority.

The preference page is same-site: an ordinary form with Django's CSRF protection,
rate-limited per client address.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rapport.consent.vocabulary import CHANNEL_LABELS
from rapport.core.errors import InvalidInput
from rapport.outreach.links import LinkInvalid
from rapport.outreach.services import public

DAY_LABELS = dict(
    zip(
        public.DAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


def _client(request: HttpRequest) -> tuple[str, str]:
    return get_client_ip_address(request) or "", request.headers.get("User-Agent", "")[:1000]


def _message(request: HttpRequest, title: str, message: str, status: int = 200) -> HttpResponse:
    response = render(
        request, "outreach/public/message.html", {"title": title, "message": message}, status=status
    )
    response["Cache-Control"] = "no-store"
    return response


def _bad_link(request: HttpRequest, exc: LinkInvalid) -> HttpResponse:
    if exc.expired:
        return _message(
            request,
            "This link has expired",
            "Links in our emails work for a limited time. Use the link in a more recent "
            "email from us. Nothing was changed.",
            410,
        )
    return _message(
        request,
        "This link is not valid",
        "The link is incomplete or was changed. Open it again from the email. Nothing was changed.",
        400,
    )


def _throttled(request: HttpRequest, exc: public.TooManyChanges) -> HttpResponse:
    response = _message(request, "Please try again later", str(exc), 429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: who and what, and a button. POST (the button, or a mail client's one-click
    ``List-Unsubscribe=One-Click``): withdraws consent for that purpose by email."""
    try:
        if request.method == "GET":
            link = public.unsubscribe_link_open(token=token)
            response = render(
                request,
                "outreach/public/unsubscribe.html",
                {"link": link, "token": token},
            )
            response["Cache-Control"] = "no-store"
            return response
        client_ip, agent = _client(request)
        public.throttle(client_ip)
        link = public.unsubscribe_one_click(token=token, client_ip=client_ip, user_agent=agent)
    except LinkInvalid as exc:
        return _bad_link(request, exc)
    except public.TooManyChanges as exc:
        return _throttled(request, exc)
    return _message(
        request,
        "You are unsubscribed",
        f"You will no longer receive “{link.purpose.name}” by email.",
    )


def _page(
    request: HttpRequest,
    token: str,
    page: public.PreferencePage,
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = {
        "page": page,
        "token": token,
        "channels": [
            (c, CHANNEL_LABELS[c], page.channels.get(c) or "") for c in public.PAGE_CHANNELS
        ],
        "days": [(d, DAY_LABELS[d], page.hours.get(d, "")) for d in public.DAYS],
        **extra,
    }
    response = render(request, "outreach/public/preferences.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """The person's own preference page (their signed link; no sign-in)."""
    try:
        page = public.preference_page_open(token=token)
        if request.method == "GET":
            return _page(request, token, page)
        client_ip, agent = _client(request)
        public.throttle(client_ip)
        values = public.page_values(request.POST)
        try:
            change = public.preference_page_save(
                token=token, client_ip=client_ip, user_agent=agent, **values
            )
        except InvalidInput as exc:
            return _page(
                request,
                token,
                page,
                status=422,
                errors=exc.errors,
                posted=request.POST,
            )
    except LinkInvalid as exc:
        return _bad_link(request, exc)
    except public.TooManyChanges as exc:
        return _throttled(request, exc)
    page = public.preference_page_open(token=token)
    return _page(request, token, page, saved=change)
