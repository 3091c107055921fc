"""Reading purposes and their consent texts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from rapport.consent.models import ConsentText, Purpose
from rapport.core import policy


def purpose_list(*, actor: Any, include_archived: bool = True) -> QuerySet[Purpose]:
    """Every purpose by name (the current text of each comes with ``purpose_text``)."""
    policy.require(actor, "consent.view")
    rows = Purpose.objects.select_related("signup_owner").order_by("name", "id")
    return rows if include_archived else rows.filter(archived_at__isnull=True)


def purpose_get(*, actor: Any, purpose_id: int | None = None, key: str = "") -> Purpose:
    """One purpose by id or key; Purpose.DoesNotExist when there is none."""
    policy.require(actor, "consent.view")
    rows = Purpose.objects.select_related("signup_owner")
    if purpose_id is not None:
        if not 0 < purpose_id < 2**63:
            raise Purpose.DoesNotExist
        return rows.get(pk=purpose_id)
    return rows.get(key=key)


def purpose_text(purpose: Purpose) -> ConsentText | None:
    """The text people are shown now (its newest version)."""
    return purpose.texts.order_by("-version").first()


def purpose_texts(*, actor: Any, purpose: Purpose) -> list[ConsentText]:
    policy.require(actor, "consent.view")
    return list(purpose.texts.order_by("-version"))
