"""`rapport organizations …`: list, show (with the org chart), add, update, delete, link people."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand, read_json_input
from rapport.contacts import selectors
from rapport.contacts.management.bulk import add_bulk_parser, run_bulk
from rapport.contacts.models import BulkJob, Contact, Organization
from rapport.contacts.selectors import ChartNode


class Command(RecordCommand):
    help = "List, show, add, update or delete organizations, and link people to them."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        listing = sub.add_parser("list", parents=common, help="Search organizations.")
        listing.add_argument("query", nargs="?", default="")
        listing.add_argument("--limit", type=int, default=25)
        listing.add_argument("--cursor")
        show = sub.add_parser(
            "show", parents=common, help="Show an organization and its org chart."
        )
        show.add_argument("id", type=int)
        for name in ("add", "update"):
            edit = sub.add_parser(name, parents=common, help=f"{name.title()} an organization.")
            if name == "update":
                edit.add_argument("id", type=int)
            edit.add_argument("--name")
            edit.add_argument("--domain", action="append", help="Domain (repeatable).")
            edit.add_argument("--website")
            edit.add_argument("--industry")
            edit.add_argument("--parent", type=int, help="Parent organization id.")
            edit.add_argument("--json-input", help="A JSON object of API fields, or - for stdin.")
        bulk = add_bulk_parser(
            sub, common, kind="organizations", actions=list(BulkJob.ACTIONS["organizations"])
        )
        bulk.add_argument("--industry", help="Only in this industry.")
        bulk.add_argument("--parent", type=int, help="Only the children of this organization id.")
        delete = sub.add_parser("delete", parents=common, help="Delete an organization.")
        delete.add_argument("id", type=int)
        link = sub.add_parser(
            "link", parents=common, help="Record that a person works at an organization."
        )
        link.add_argument("contact", type=int)
        link.add_argument("organization", type=int)
        link.add_argument("--title", default="")
        link.add_argument("--department", default="")
        link.add_argument("--reports-to", type=int)
        link.add_argument(
            "--role", dest="buying_role", default="", help="Buying role, e.g. decision_maker."
        )
        link.add_argument("--start-date")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action in ("add", "update", "delete", "link"):
            from rapport.contacts import services  # writes only (see the contacts command)
        if action == "bulk":
            filters = selectors.OrganizationFilters(
                tags=options["tag"],
                owner=options["owner"],
                parent=options["parent"],
                industry=options["industry"],
                country=options["country"],
            )
            run_bulk(self, actor, options, kind="organizations", filters=filters)
        elif action == "list":
            page = self.call(
                selectors.organization_list,
                actor=actor,
                q=options["query"],
                cursor=options["cursor"],
                limit=options["limit"],
            )
            if options["json"]:
                self.emit(
                    {
                        "items": [self.as_dict(o) for o in page.items],
                        "next_cursor": page.next_cursor,
                    }
                )
                return
            for org in page.items:
                self.stdout.write(f"{org.pk}\t{org.name}\t{', '.join(org.domains)}")
            if page.next_cursor:
                self.stderr.write(f"More: --cursor {page.next_cursor}")
        elif action == "add":
            org = self.call(
                services.organization_create, actor=actor, data=self.input_data(options), via="cli"
            )
            self.done(org, options, "Created")
        elif action == "link":
            self.fetch(Contact, options["contact"])
            data = {
                k: options[k]
                for k in ("contact", "organization", "title", "department", "buying_role")
            }
            data["reports_to"] = options["reports_to"]
            data["start_date"] = options["start_date"]
            affiliation = self.call(services.affiliation_create, actor=actor, data=data, via="cli")
            self.stdout.write(str(affiliation.pk))
        else:
            org = self.fetch(Organization, options["id"])
            if action == "show":
                self.show(
                    self.call(selectors.organization_get, actor=actor, org_id=org.pk),
                    actor,
                    options,
                )
            elif action == "update":
                org = self.call(
                    services.organization_update,
                    actor=actor,
                    org=org,
                    data=self.input_data(options),
                    via="cli",
                )
                self.done(org, options, "Updated")
            elif action == "delete":
                self.call(services.organization_delete, actor=actor, org=org, via="cli")
                self.stderr.write(f"Deleted organization {org.pk} ({org.name}).")

    def input_data(self, options: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = read_json_input(options.get("json_input"), sys.stdin)
        for key in ("name", "website", "industry", "parent"):
            if options.get(key) is not None:
                data[key] = options[key]
        if options.get("domain"):
            data["domains"] = options["domain"]
        if not data:
            raise CommandError("Nothing to save: give --name, --domain, … or --json-input.")
        return data

    def as_dict(self, org: Organization) -> dict[str, Any]:
        """The same representation the API gives."""
        from rapport.contacts.api._out import organization_out  # the API schemas: --json only

        return organization_out(org)

    def done(self, org: Organization, options: dict[str, Any], verb: str) -> None:
        if options["json"]:
            self.emit(self.as_dict(org))
        else:
            self.stdout.write(str(org.pk))
            self.stderr.write(f"{verb} organization {org.pk} ({org.name}).")

    def show(self, org: Organization, actor: Any, options: dict[str, Any]) -> None:
        chart = selectors.organization_chart(actor=actor, org=org)
        if options["json"]:
            self.emit(self.as_dict(org) | {"chart": [self.node_dict(n) for n in chart]})
            return
        self.stdout.write(
            f"{org.name}  (#{org.pk})" + (f", part of {org.parent.name}" if org.parent else "")
        )
        if org.domains:
            self.stdout.write("  domains " + ", ".join(org.domains))
        self.stdout.write("Org chart:")
        for node in chart:
            self.draw(node, 1)

    def draw(self, node: ChartNode, depth: int) -> None:
        a = node.affiliation
        role = f" [{a.get_buying_role_display()}]" if a.buying_role else ""
        self.stdout.write("  " * depth + f"- {a.contact.display_name}, {a.title or '—'}{role}")
        for report in node.reports:
            self.draw(report, depth + 1)

    def node_dict(self, node: ChartNode) -> dict[str, Any]:
        a = node.affiliation
        return {
            "contact": {"id": a.contact_id, "display_name": a.contact.display_name},
            "title": a.title,
            "buying_role": a.buying_role,
            "reports": [self.node_dict(n) for n in node.reports],
        }

    def emit(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False))
