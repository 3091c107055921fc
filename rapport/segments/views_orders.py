"""The customer-value box on a contact's page: orders, historical value, RFM scores and
group; predicted value and P(alive), or why there are none."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string

from rapport.core import policy
from rapport.core.panels import Panel
from rapport.segments.models import CustomerValue, Order
from rapport.segments.services import prediction_state


def contact_panels(request: HttpRequest, contact: Any) -> list[Panel]:
    if not policy.can(request.user, "orders.view"):
        return []
    value = CustomerValue.objects.filter(contact_id=contact.pk).first()
    recent = list(Order.objects.filter(contact_id=contact.pk).order_by("-ordered_at", "-pk")[:5])
    if value is None and not recent:
        return []
    context = {
        "value": value,
        "recent": recent,
        "currency": settings.RAPPORT_CURRENCY,
        "prediction": prediction_state() if value is not None else None,
    }
    html = render_to_string("segments/_customer_value.html", context, request=request)
    return [Panel(html=html, place="side", order=20)]  # type: ignore[arg-type]
