"""Sending an email from a contact's page (the compose form), and click-to-call /
click-to-SMS: both show the gate's decision before anything goes out."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from rapport.contacts.models import Contact, Phone
from rapport.contacts.views._common import is_htmx, page, vary_on_htmx
from rapport.core import policy
from rapport.core.errors import InvalidInput
from rapport.outreach.channels import CHANNEL_LABELS
from rapport.outreach.selectors.compose import (
    compose_choices,
    default_call_purpose,
    purpose_choices,
    reach_verdict,
)
from rapport.outreach.services import attempts
from rapport.outreach.services.sending import message_send

FIELDS = ("purpose", "template", "subject", "body_text")


class _OpenLink(HttpResponseRedirect):
    allowed_schemes = ["tel", "sms"]


def _verdict(request: HttpRequest, contact: Contact, channel: str, purpose: str) -> Any:
    if not purpose:
        return None
    try:
        return reach_verdict(
            actor=request.user, contact=contact, channel=channel, purpose=purpose, at=timezone.now()
        )
    except InvalidInput:
        return None


@page
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest, pk: int) -> HttpResponse:
    """The compose form (GET) and sending it (POST): ``when`` is ``now`` or
    ``next_allowed`` (the "Send when allowed" button)."""
    contact = get_object_or_404(Contact, pk=pk)
    policy.require(request.user, "contacts.view", contact)
    choices = compose_choices(actor=request.user)
    source = request.POST if request.method == "POST" else request.GET
    values = {name: source.get(name, "") for name in FIELDS}
    if not values["purpose"] and values["template"]:
        values["purpose"] = next(
            (p for k, _, p in choices["templates"] if k == values["template"]), ""
        )
    errors: dict[str, list[str]] = {}
    blocked = None
    status = 200
    if request.method == "POST":
        when = request.POST.get("when", "now")
        try:
            result = message_send(
                actor=request.user,
                contact=contact,
                purpose=values["purpose"].strip(),
                template=values["template"] or None,
                subject=values["subject"],
                body_text=values["body_text"],
                when=when,
                via="ui",
                base_url=request.build_absolute_uri("/").rstrip("/"),
            )
        except InvalidInput as exc:
            errors, status = exc.by_field(), 422
        else:
            if result.status == "blocked":
                blocked, status = result.message, 409
            else:
                text = {
                    "sent": "The message was sent.",
                    "queued": "The message will be sent when the gate allows it.",
                }.get(
                    result.status, f"The message could not be sent yet: {result.message.last_error}"
                )
                messages.success(request, text)
                target = reverse("contacts:detail", args=[contact.pk])
                if is_htmx(request):
                    return HttpResponse(status=204, headers={"HX-Redirect": target})
                return redirect(target)
    context = {
        "contact": contact,
        "values": values,
        "errors": errors,
        "blocked": blocked,
        "verdict": _verdict(request, contact, "email", values["purpose"].strip()),
        **choices,
    }
    if is_htmx(request):
        # htmx swaps only 2xx answers: the form with its errors or the block comes as 200
        return vary_on_htmx(render(request, "outreach/_compose_form.html", context))
    return vary_on_htmx(render(request, "outreach/compose_page.html", context, status=status))


@page
@require_GET
def compose_verdict(request: HttpRequest, pk: int) -> HttpResponse:
    """The gate's decision for the purpose chosen in the form, shown before sending."""
    contact = get_object_or_404(Contact, pk=pk)
    purpose = request.GET.get("purpose", "").strip()
    template = request.GET.get("template", "")
    if not purpose and template:
        purpose = next(
            (p for k, _, p in compose_choices(actor=request.user)["templates"] if k == template), ""
        )
    context = {"contact": contact, "verdict": _verdict(request, contact, "email", purpose)}
    return vary_on_htmx(render(request, "outreach/_compose_verdict.html", context))


@page
@require_http_methods(["GET", "POST"])
def reach(request: HttpRequest, pk: int, channel: str, phone: int) -> HttpResponse:
    """Click-to-call / click-to-SMS. GET shows the gate's decision (nothing logged). POST
    (the number's Call / SMS button): when the gate allows, logs the attempt and opens
    the ``tel:``/``sms:`` link; when it blocks, the warning with the reasons and the next
    allowed time, where going ahead anyway is a deliberate second POST (``proceed``)."""
    contact = get_object_or_404(Contact, pk=pk)
    number = get_object_or_404(Phone, pk=phone, contact=contact)
    if channel not in attempts.REACH_SCHEMES:
        return HttpResponse("Unknown channel.", status=404)
    source = request.POST if request.method == "POST" else request.GET
    purpose = source.get("purpose", "").strip() or default_call_purpose()
    error = ""
    status = 200
    if request.method == "POST":
        try:
            done = attempts.attempt_reach(
                actor=request.user,
                contact=contact,
                phone=number,
                channel=channel,
                purpose=purpose,
                proceed_anyway=source.get("proceed") == "yes",
            )
        except attempts.GateBlocked:
            status = 409
        except InvalidInput as exc:
            error, status = str(exc), 422
        else:
            if done.overridden:
                messages.warning(request, "Logged as going ahead although the gate said no.")
            if is_htmx(request):
                return HttpResponse(status=204, headers={"HX-Redirect": done.url})
            return _OpenLink(done.url)
    else:
        policy.require(request.user, "contacts.view", contact)
    purposes = purpose_choices()
    if all(key != purpose for key, _ in purposes):
        purposes = [(purpose, purpose), *purposes]
    context = {
        "contact": contact,
        "phone": number,
        "channel": channel,
        "channel_label": CHANNEL_LABELS[channel],
        "purpose": purpose,
        "purposes": purposes,
        "verdict": None if error else _verdict(request, contact, channel, purpose),
        "error": error,
    }
    return render(request, "outreach/reach_page.html", context, status=status)
