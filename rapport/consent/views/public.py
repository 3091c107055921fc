"""The public pages of double opt-in: the sign-up form of a purpose and the page a
confirmation link opens. No sign-in; no session.

Why these POSTs skip Django's CSRF cookie check: a CSRF attack borrows the authority a
visitor's browser carries (a session); these pages grant none. What a forged
submission could do — start a double opt-in for some address — is bounded instead by
the signed form token (issued with the form, bound to its purpose, expiring), the
per-address throttle, the honeypot and, above all, the confirmation only the mailbox's
owner can give. The token also lets the form work inside another site's frame, where
browsers do not send our cookies. The confirmation POST carries its signed token, which
nobody else can make.
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from rapport.consent.models import Purpose
from rapport.consent.selectors import purpose_text
from rapport.consent.services import signup
from rapport.contacts.forms import simple_form
from rapport.core.errors import InvalidInput

FORM_FIELDS = ("email", "name")


def _client(request: HttpRequest) -> tuple[str, str]:
    return (
        get_client_ip_address(request) or "",
        request.headers.get("User-Agent", "")[:1000],
    )


def _base_url(request: HttpRequest) -> str:
    return settings.RAPPORT_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def _framable(response: HttpResponse) -> HttpResponse:
    """Let the sites in RAPPORT_CONSENT_EMBED_ORIGINS show the form in a frame."""
    origins = settings.RAPPORT_CONSENT_EMBED_ORIGINS
    if origins:
        response._csp_replace = {"frame-ancestors": list(origins)}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
    response["Cache-Control"] = "no-store"  # each load carries a fresh form token
    return response


def _form_page(
    request: HttpRequest, purpose: Purpose, form: Any, *, status: int = 200
) -> HttpResponse:
    context = {
        "purpose": purpose,
        "text": purpose_text(purpose),
        "form": form,
        "form_token": signup.signup_form_token(purpose=purpose),
        "honeypot": signup.HONEYPOT,
    }
    return _framable(render(request, "consent/public/signup.html", context, status=status))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def signup_form(request: HttpRequest, key: str) -> HttpResponse:
    """A purpose's public sign-up form; its POST starts the double opt-in."""
    try:
        purpose = signup.signup_purpose(key=key)
    except Purpose.DoesNotExist:
        raise Http404("There is no such sign-up form.") from None
    if request.method == "GET":
        return _form_page(request, purpose, simple_form(FORM_FIELDS))
    values = {n: request.POST.get(n, "") for n in FORM_FIELDS}
    form = simple_form(FORM_FIELDS, {k: v.strip() for k, v in values.items()})
    client_ip, agent = _client(request)
    try:
        signup.signup_request(
            purpose=purpose,
            data={
                **values,
                **{n: request.POST.get(n, "") for n in ("form_token", signup.HONEYPOT)},
            },
            client_ip=client_ip,
            user_agent=agent,
            base_url=_base_url(request),
        )
    except signup.SignupThrottled as exc:
        response = render(
            request,
            "consent/public/message.html",
            {"title": "Please try again later", "message": str(exc), "purpose": purpose},
            status=429,
        )
        response["Retry-After"] = str(exc.retry_after)
        return _framable(response)
    except InvalidInput as exc:
        form.add_errors(exc.errors)
        return _form_page(request, purpose, form, status=422)
    except Purpose.DoesNotExist:
        raise Http404("There is no such sign-up form.") from None
    return _framable(
        render(
            request,
            "consent/public/message.html",
            {
                "title": "Check your mailbox",
                "message": (
                    "We sent you an email with a link. Open it and confirm to complete your "
                    f"sign-up; until then nothing is sent to you. The link works for "
                    f"{settings.RAPPORT_CONSENT_CONFIRM_HOURS} hours."
                ),
                "purpose": purpose,
            },
        )
    )


_LINK_PAGES = {
    "invalid": (
        400,
        "This link is not valid",
        "The link is incomplete or was changed. Open it again from the email, or sign up again.",
    ),
    "expired": (
        410,
        "This link has expired",
        "Confirmation links work for a limited time. Sign up again to get a new one; "
        "nothing was recorded.",
    ),
    "confirmed": (
        200,
        "Already confirmed",
        "You had already confirmed this. Nothing else needs doing.",
    ),
    "confirmed_now": (200, "Thank you, you are confirmed", "Your sign-up is complete."),
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what is being confirmed and a button (mail scanners that follow links
    must not confirm anything); only the POST confirms."""
    if request.method == "GET":
        link = signup.signup_link_check(token=token)
        if link.status == "valid":
            return render(request, "consent/public/confirm.html", {"link": link, "token": token})
    else:
        client_ip, agent = _client(request)
        link = signup.signup_confirm(token=token, client_ip=client_ip, user_agent=agent)
    status, title, message = _LINK_PAGES[link.status]
    return render(
        request,
        "consent/public/message.html",
        {"title": title, "message": message, "purpose_name": link.purpose_name},
        status=status,
    )
