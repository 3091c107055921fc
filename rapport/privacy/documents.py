"""Standalone documents: the page inside a subject access archive and the downloadable
records of processing. They are opened from a file, never served by Rapport, so they
cannot use its stylesheets: they carry their own styles and a Content-Security-Policy
that forbids anything but them (no script, nothing loaded from anywhere). Kept apart
from the templates of served pages, which hold no inline style at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.template import Context, Engine

_ENGINE = Engine(dirs=[str(Path(__file__).parent / "documents")], autoescape=True)


def render_document(name: str, context: dict[str, Any]) -> str:
    return _ENGINE.get_template(name).render(Context(context))
