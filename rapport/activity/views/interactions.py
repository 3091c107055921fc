"""Interaction pages: one interaction (an email read as part of its thread)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from rapport.activity.models import Interaction
from rapport.activity.selectors import interactions as selectors
from rapport.contacts.views._common import page


@page
def interaction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        interaction = selectors.interaction_get(actor=request.user, interaction_id=pk)
    except Interaction.DoesNotExist:
        raise Http404("No such interaction.") from None
    thread = []
    if interaction.thread_id:
        thread = selectors.interaction_list(
            actor=request.user,
            filters=selectors.InteractionFilters(thread=interaction.thread_id),
            limit=selectors.MAX_PAGE,
        ).items[::-1]
    return render(
        request,
        "activity/interaction_detail.html",
        {"interaction": interaction, "thread": thread},
    )
