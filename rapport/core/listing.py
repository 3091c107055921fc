"""Columns and filters a newer area adds to a record list, without the list's app
knowing that area.

The contact list asks ``columns_for("contacts")`` for the columns it can show beyond its
own, and ``filters_for("contacts")`` for the filters it accepts beyond its own; the
outreach app registers "Reachable now" (a column) and "reachable=<channel>" (a filter)
in its ``AppConfig.ready()``. A column renders a whole page of records in one call (so
it can read what it needs for 25 rows at once); a filter narrows a queryset and raises
``InvalidInput`` naming its key for a value it does not know. Filters apply wherever the
list's filters do: the page, the API, exports and bulk actions. A bulk action
(``register_bulk_action``) is offered in the list's bulk bar and carried out on the
registering area's own page (outreach: "Send email…").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.safestring import SafeString

CellRenderer = Callable[[Any, Sequence[Any]], dict[int, SafeString]]
FilterChoices = Callable[[], list[tuple[str, str]]]
FilterApply = Callable[[QuerySet[Any], str], QuerySet[Any]]


@dataclass(frozen=True)
class ListColumn:
    """A column: its key (unique in the list), its heading,
    ``render(request, records) -> {record id: cell html}`` for one page of records, and
    the static stylesheet its cells need (loaded by the list page)."""

    key: str
    label: str
    render: CellRenderer
    stylesheet: str = ""


@dataclass(frozen=True)
class ListFilter:
    """A filter: its query parameter, its label, ``choices() -> [(value, label)]`` for
    the filter panel, and ``apply(queryset, value) -> queryset``."""

    key: str
    label: str
    choices: FilterChoices
    apply: FilterApply


@dataclass(frozen=True)
class ListBulkAction:
    """An action of the list's bulk bar that another area carries out on its own page:
    the bar sends the ticked ids (or "all matching" and the list's query) there as
    ``url`` (a URL name) GET parameters ``id``, ``scope`` and ``query``. Offered to
    whoever has ``permission``."""

    key: str
    label: str
    url: str
    permission: str


_columns: dict[str, dict[str, ListColumn]] = {}
_bulk_actions: dict[str, dict[str, ListBulkAction]] = {}
_filters: dict[str, dict[str, ListFilter]] = {}


def register_column(list_name: str, column: ListColumn) -> None:
    """Offer ``column`` on the list ``list_name`` ("contacts"); a second registration of
    the same key replaces the first."""
    _columns.setdefault(list_name, {})[column.key] = column


def register_filter(list_name: str, list_filter: ListFilter) -> None:
    """Accept ``list_filter`` on the list ``list_name``; the same key replaces the first."""
    _filters.setdefault(list_name, {})[list_filter.key] = list_filter


def columns_for(list_name: str) -> list[ListColumn]:
    return list(_columns.get(list_name, {}).values())


def filters_for(list_name: str) -> list[ListFilter]:
    return list(_filters.get(list_name, {}).values())


def filter_named(list_name: str, key: str) -> ListFilter | None:
    return _filters.get(list_name, {}).get(key)


def register_bulk_action(list_name: str, action: ListBulkAction) -> None:
    """Offer ``action`` in the bulk bar of ``list_name``; the same key replaces the first."""
    _bulk_actions.setdefault(list_name, {})[action.key] = action


def bulk_actions_for(list_name: str) -> list[ListBulkAction]:
    return list(_bulk_actions.get(list_name, {}).values())
