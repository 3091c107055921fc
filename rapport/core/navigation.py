"""The app's main navigation: which sections exist, who sees them, which one is current.

Sections follow the product map (see docs/ui.md): the record areas on the top level
(contacts, organizations, and the areas still to come: activity, segments, pipeline,
insights), then two groups, data tools and settings. An area that is not built yet is
listed with ``ready=False`` and is not shown; giving it a URL name makes it appear.

The current section is matched on the resolved view's full name (``app:url_name``), so two
apps that both name a view ``list`` can never both be marked current.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse

from rapport.core.policy import allowed_actions


@dataclass(frozen=True)
class NavItem:
    """One destination: its label, the view it opens and the views that belong to it."""

    label: str
    url_name: str = ""
    matches: tuple[str, ...] = ()
    action: str = ""  # the policy action needed to see it; empty means every signed-in user
    query: str = ""
    download: bool = False
    ready: bool = True

    def belongs(self, view_name: str) -> bool:
        return any(
            view_name == pattern or (pattern.endswith("*") and view_name.startswith(pattern[:-1]))
            for pattern in self.matches
        )


@dataclass(frozen=True)
class NavGroup:
    """Several destinations under one heading, shown as a menu."""

    key: str
    label: str
    items: tuple[NavItem, ...]


@dataclass
class ShownItem:
    label: str
    url: str
    current: bool
    download: bool = False


@dataclass
class ShownGroup:
    key: str
    label: str
    items: list[ShownItem] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return any(item.current for item in self.items)


NAVIGATION: tuple[NavItem | NavGroup, ...] = (
    NavItem(
        "Contacts",
        "contacts:list",
        ("contacts:list", "contacts:detail", "contacts:create", "contacts:edit")
        + ("contacts:delete", "contacts:photo", "contacts:affiliation_*"),
    ),
    NavItem("Organizations", "contacts:organizations", ("contacts:organization*",)),
    NavGroup(
        "activity",
        "Activity",
        (
            NavItem(
                "Recent activity",
                "activity:home",
                ("activity:home", "activity:interaction*"),
                action="interactions.view",
            ),
            NavItem(
                "My tasks",
                "activity:tasks",
                ("activity:tasks", "activity:task_*"),
                action="tasks.view",
            ),
            NavItem(
                "Due to reach out",
                "activity:reach_out",
                ("activity:reach_out",),
                action="contacts.view",
            ),
            NavItem(
                "Keep in touch",
                "activity:keep_in_touch",
                ("activity:keep_in_touch*",),
                action="contacts.view",
            ),
            NavItem(
                "Bulk sends",
                "outreach:bulk_list",
                ("outreach:bulk_*",),
                action="messages.send",
            ),
            NavItem(
                "Notifications",
                "activity:notifications",
                ("activity:notification*",),
                action="notifications.own",
            ),
            NavItem(
                "Calendars",
                "activity:calendar",
                ("activity:calendar*",),
                action="calendars.import",
            ),
        ),
    ),
    NavItem(
        "Segments",
        "segments:list",
        ("segments:list", "segments:list_*", "segments:new", "segments:preview", "segments:parse")
        + ("segments:detail", "segments:edit", "segments:delete", "segments:count")
        + ("segments:bulk", "segments:export", "segments:why"),
        action="segments.view",
    ),
    NavItem("Pipeline", ready=False),
    NavItem("Insights", "insights:dashboard", ("insights:*",), action="insights.view"),
    NavGroup(
        "data",
        "Data",
        (
            NavItem("Import", "ingest:imports", ("ingest:import*",), action="imports.run"),
            NavItem(
                "Import orders",
                "segments:order_imports",
                ("segments:order_import*",),
                action="orders.change",
            ),
            NavItem(
                "Import mail",
                "activity:mail_import",
                ("activity:mail_import*",),
                action="mail.import",
            ),
            NavItem(
                "People you correspond with",
                "activity:correspondents",
                ("activity:correspondent*",),
                action="interactions.view",
            ),
            NavItem("Quality", "quality:audit", ("quality:*",), action="quality.view"),
            NavItem("Duplicates", "duplicates:queue", ("duplicates:*",)),
            NavItem("Merges", "merges:list", ("merges:*",), action="contacts.merge"),
            NavItem(
                "Privacy requests",
                "privacy:home",
                ("privacy:home", "privacy:contact*", "privacy:erase", "privacy:export*")
                + ("privacy:suppression", "privacy:retention*", "privacy:run"),
                action="privacy.erase",
            ),
            NavItem(
                "Export all contacts (CSV)",
                "ingest:contact_export",
                action="contacts.export",
                query="format=csv",
                download=True,
            ),
        ),
    ),
    NavGroup(
        "settings",
        "Settings",
        (
            NavItem("Tags", "contacts:tags", ("contacts:tag*",)),
            NavItem(
                "Custom fields",
                "contacts:custom_fields",
                ("contacts:custom_field*",),
                action="custom_fields.manage",
            ),
            NavItem("Users", "access:users", ("access:user*",), action="users.manage"),
            NavItem("API tokens", "access:tokens", ("access:token*",)),
            NavItem("App passwords", "access:app_passwords", ("access:app_password*",)),
            NavItem("Phones and address books", "sync:home", ("sync:*",)),
            NavItem(
                "Mailboxes", "activity:mailboxes", ("activity:mailbox*",), action="mailboxes.own"
            ),
            NavItem(
                "Never log",
                "activity:never_log",
                ("activity:never_log",),
                action="interactions.view",
            ),
            NavItem("Calling rules", "outreach:rules", ("outreach:rule*",)),
            NavItem(
                "Message templates",
                "outreach:templates",
                ("outreach:template*",),
                action="templates.manage",
            ),
            NavItem("Scores", "scores:list", ("scores:*",), action="scores.manage"),
            NavItem(
                "Purposes and consent",
                "consent:purposes",
                ("consent:purpose*",),
                action="consent.view",
            ),
            NavItem(
                "Records of processing",
                "privacy:records",
                ("privacy:records",),
                action="privacy.records",
            ),
        ),
    ),
)


def navigation_for(request: HttpRequest) -> list[ShownItem | ShownGroup]:
    """The sections this user may open, with at most one of them marked current."""
    actions = allowed_actions(getattr(request, "user", None))
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    found = False

    def shown(item: NavItem) -> ShownItem | None:
        nonlocal found
        if not item.ready or (item.action and item.action not in actions):
            return None
        url = reverse(item.url_name) + (f"?{item.query}" if item.query else "")
        current = not found and item.belongs(view_name)
        found = found or current
        return ShownItem(item.label, url, current, item.download)

    result: list[ShownItem | ShownGroup] = []
    for entry in NAVIGATION:
        if isinstance(entry, NavItem):
            single = shown(entry)
            if single:
                result.append(single)
            continue
        group = ShownGroup(entry.key, entry.label)
        group.items = [one for one in map(shown, entry.items) if one]
        if group.items:
            result.append(group)
    return result
