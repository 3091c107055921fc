"""Template helpers of the merge pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Mapping[Any, Any], key: Any) -> Any:
    """``values|get_item:record.pk``: a dict entry by a key held in a variable."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
