"""Audiences for a purpose: "who may be contacted for this now", for paths in lower apps
(exports made for a campaign) that must not import the app that knows (outreach).

The outreach app registers one filter in its ``AppConfig.ready()``; ``rapport export
--purpose NAME`` and the export API and page call ``audience_filter``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from rapport.core.errors import InvalidInput

# (queryset of contacts, purpose, channel, at) -> the contacts that may be reached
AudienceFilter = Callable[..., QuerySet[Any]]
_filter: list[AudienceFilter] = []


def register_audience_filter(apply: AudienceFilter) -> None:
    """Install the filter (one; a second registration replaces the first)."""
    _filter[:] = [apply]


def audience_filter(
    queryset: QuerySet[Any], *, purpose: str, channel: str, at: dt.datetime
) -> QuerySet[Any]:
    """``queryset`` less whoever may not be contacted on ``channel`` for ``purpose`` at
    ``at``. Raises InvalidInput for an unknown purpose or channel, or when no app that
    decides is installed (never a silent "everyone")."""
    if not _filter:
        raise InvalidInput.single("purpose", "No contact gate is installed to filter by purpose.")
    return _filter[0](queryset, purpose=purpose, channel=channel, at=at)
