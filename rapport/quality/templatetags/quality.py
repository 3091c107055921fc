"""``{% contact_quality contact %}``: the contact page's "Data quality" card."""

from __future__ import annotations

from typing import Any

from django import template

from rapport.core import policy
from rapport.quality import selectors

register = template.Library()


@register.inclusion_tag("quality/_contact_card.html", takes_context=True)
def contact_quality(context: Any, contact: Any) -> dict[str, Any]:
    request = context["request"]
    shown = policy.can(request.user, "quality.view")
    quality = selectors.contact_score(actor=request.user, contact=contact) if shown else None
    return {"quality": quality, "can": context.get("can"), "csrf_token": context.get("csrf_token")}
