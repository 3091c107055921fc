"""Old links and API ids of merged-away records answer with the record they went into."""

from __future__ import annotations

from django.http import (
    Http404,
    HttpRequest,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import resolve_url

from rapport.merges.selectors import redirect_target


def page_redirect(*, kind: str, object_id: int, url_name: str) -> HttpResponseRedirect:
    """A 302 to the same page of the survivor; Http404 when the id was never merged."""
    target = redirect_target(kind=kind, object_id=object_id)
    if target is None:
        raise Http404("There is no such record.")
    return HttpResponseRedirect(resolve_url(url_name, pk=target))


def api_redirect(
    request: HttpRequest, *, kind: str, object_id: int
) -> HttpResponsePermanentRedirect | None:
    """A 301 to the survivor's URL (the request's path with the id replaced), or None."""
    target = redirect_target(kind=kind, object_id=object_id)
    if target is None:
        return None
    path = request.path.rstrip("/")
    return HttpResponsePermanentRedirect(f"{path[: path.rfind('/') + 1]}{target}")
