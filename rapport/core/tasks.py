"""Which background task backend is configured (see RAPPORT_TASKS_BACKEND)."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings


def task_backend() -> str:
    tasks = cast(dict[str, dict[str, Any]], settings.TASKS)
    return str(tasks["default"]["BACKEND"])
