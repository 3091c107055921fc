"""What every page view shares: error translation and htmx awareness."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from rapport.core.errors import NotPermitted

View = Callable[..., HttpResponse]


def page(view: View) -> View:
    """Turn NotPermitted into a 403 page and a missing record into a 404 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from exc
        except ObjectDoesNotExist as exc:
            raise Http404("There is no such record.") from exc

    return wrapper


def is_htmx(request: HttpRequest) -> bool:
    """A partial update asked for by htmx (not a history restore, which needs the page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ["HX-Request"])
    return response
