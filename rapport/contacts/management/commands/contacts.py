"""`rapport contacts …`: list, show, add, update and delete contacts from a terminal.

Every write goes through the same services as the UI and API, acting as ``--as USER``
(default: $RAPPORT_USER, else ``admin``), so validation and permissions are identical.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand, read_json_input
from rapport.contacts import selectors
from rapport.contacts.management.bulk import add_bulk_parser, run_bulk
from rapport.contacts.models import BulkJob, Contact
from rapport.contacts.normalize import phone_display
from rapport.core import policy


class Command(RecordCommand):
    help = "List, show, add, update or delete contacts."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]

        listing = sub.add_parser("list", parents=common, help="Search and filter contacts.")
        listing.add_argument("query", nargs="?", default="", help="Search text.")
        listing.add_argument(
            "--tag", action="append", default=[], help="Only with this tag (repeatable)."
        )
        listing.add_argument("--owner", help="Only owned by this username.")
        listing.add_argument(
            "--organization", type=int, help="Only people affiliated with this organization id."
        )
        listing.add_argument("--stage", help="Only this lifecycle stage.")
        listing.add_argument("--country", help="Only with an address in this ISO country.")
        listing.add_argument(
            "--sort", default="", help="name, -name, created, -created, updated, -updated."
        )
        listing.add_argument("--limit", type=int, default=25)
        listing.add_argument("--cursor", help="Continue after a previous page.")

        self.add_bulk_arguments(sub, common)

        show = sub.add_parser("show", parents=common, help="Show one contact with its history.")
        show.add_argument("id", type=int)

        for name in ("add", "update"):
            edit = sub.add_parser(name, parents=common, help=f"{name.title()} a contact.")
            if name == "update":
                edit.add_argument("id", type=int)
            edit.add_argument("--name", dest="full_name", help="Full name, split into its parts.")
            edit.add_argument("--given-name")
            edit.add_argument("--family-name")
            edit.add_argument("--email", action="append", help="Email address (repeatable).")
            edit.add_argument("--phone", action="append", help="Phone number (repeatable).")
            edit.add_argument("--country", help="Country of the (single) postal address.")
            edit.add_argument("--city", help="Locality of the (single) postal address.")
            edit.add_argument("--job-title")
            edit.add_argument("--stage", dest="lifecycle_stage")
            edit.add_argument("--tag", action="append", help="Tag (repeatable).")
            edit.add_argument("--source")
            edit.add_argument("--json-input", help="A JSON object of API fields, or - for stdin.")
            if name == "add":
                edit.add_argument(
                    "--on-duplicate",
                    choices=("warn", "reject", "create"),
                    default="warn",
                    help="When saved contacts are likely the same person: warn (save, and "
                    "list them on stderr; the default), reject (save nothing, exit 1), or "
                    "create (save and remember they are different people).",
                )
                edit.add_argument(
                    "--merge-into",
                    type=int,
                    metavar="ID",
                    help="Add these details to the existing contact ID instead (a merge "
                    "that can be undone).",
                )

        delete = sub.add_parser(
            "delete", parents=common, help="Delete a contact (its history is kept)."
        )
        delete.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action in ("add", "update", "delete"):
            # The write services load the duplicate matching (about a fifth of a second):
            # only the commands that write pay for it.
            from rapport.contacts import services
        if action == "list":
            filters = self.filters(options)
            page = self.call(
                selectors.contact_list,
                actor=actor,
                q=options["query"],
                filters=filters,
                sort=options["sort"],
                cursor=options["cursor"],
                limit=options["limit"],
            )
            count = selectors.contact_count(
                actor=actor, q=options["query"], filters=filters, sort=options["sort"]
            )
            if options["json"]:
                self.emit_json(
                    {
                        "items": [self.as_dict(c) for c in page.items],
                        "next_cursor": page.next_cursor,
                        "count": count.value,
                        "count_capped": count.capped,
                    }
                )
                return
            self.stderr.write(f"{count} contact{'' if str(count) == '1' else 's'} match.")
            for contact in page.items:
                email = next((e.address for e in contact.email_list if e.primary), "")
                phone = next((phone_display(p.e164) for p in contact.phone_list if p.primary), "")
                self.stdout.write(f"{contact.pk}\t{contact.display_name}\t{email}\t{phone}")
            if page.next_cursor:
                self.stderr.write(f"More: --cursor {page.next_cursor}")
            return
        if action == "bulk":
            self.run_bulk(actor, options)
            return
        if action == "add":
            self.add(actor, options)
            return
        contact = self.fetch(Contact, options["id"])
        if action == "show":
            contact = self.call(selectors.contact_get, actor=actor, contact_id=contact.pk)
            if options["json"]:
                self.emit_json(self.as_dict(contact))
                return
            self.print_contact(contact, actor)
        elif action == "update":
            contact = self.call(
                services.contact_update,
                actor=actor,
                contact=contact,
                data=self.input_data(options),
                via="cli",
            )
            self.report(contact, options, "Updated")
        elif action == "delete":
            self.call(services.contact_delete, actor=actor, contact=contact, via="cli")
            self.stderr.write(f"Deleted contact {contact.pk} ({contact.display_name}).")

    def add(self, actor: Any, options: dict[str, Any]) -> None:
        """Create a contact with the web form's check for likely duplicates and its
        choices: add anyway (remembering they differ), add to the existing one, or not."""
        from rapport.contacts import services
        from rapport.duplicates import services as duplicates

        data = self.input_data(options)
        if options.get("merge_into"):
            into = self.fetch(Contact, options["merge_into"])
            merge = self.call(
                duplicates.contact_create_into,
                actor=actor,
                data=data,
                contact_id=into.pk,
                via="cli",
            )
            self.report(Contact.objects.get(pk=into.pk), options, "Added to")
            self.stderr.write(
                f"Recorded as merge #{merge.pk}; undo with `rapport unmerge {merge.pk}`."
            )
            return
        found = self.call(duplicates.contact_duplicate_check, actor=actor, data=data)
        mode = options.get("on_duplicate") or "warn"
        if found and mode == "reject":
            raise CommandError(
                "Nothing was saved: likely the same person as\n"
                + self.candidates(found)
                + "\nAdd with --on-duplicate=create to save anyway, or --merge-into ID."
            )
        contact = self.call(services.contact_create, actor=actor, data=data, via="cli")
        if found and mode == "create":
            if policy.can(actor, "duplicates.review"):
                duplicates.contacts_not_duplicates(
                    actor=actor, contact_ids=[contact.pk, *(c.contact_id for c in found)]
                )
        elif found:
            self.stderr.write(
                "Warning: likely the same person as\n"
                + self.candidates(found)
                + f"\nMerge with `rapport merge contacts {found[0].contact_id} {contact.pk}`"
                " or review it under Duplicates."
            )
        self.report(contact, options, "Created")

    def candidates(self, found: list[Any]) -> str:
        return "\n".join(
            f"  #{c.contact_id} {c.display_name} ({c.probability:.0%} likely)" for c in found
        )

    def add_bulk_arguments(self, sub: Any, common: list[Any]) -> None:
        actions = list(BulkJob.ACTIONS["contacts"])
        parser = add_bulk_parser(sub, common, kind="contacts", actions=actions)
        parser.add_argument("--organization", type=int, help="Only people of this org id.")
        parser.add_argument("--stage", help="Only this lifecycle stage.")

    def run_bulk(self, actor: Any, options: dict[str, Any]) -> None:
        run_bulk(self, actor, options, kind="contacts", filters=self.filters(options))

    def filters(self, options: dict[str, Any]) -> selectors.ContactFilters:
        """The list filters given on the command line (list and bulk share them)."""
        return selectors.ContactFilters(
            tags=options["tag"],
            owner=options["owner"],
            organization=options["organization"],
            lifecycle_stage=options["stage"],
            country=options["country"],
        )

    def input_data(self, options: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = read_json_input(options.get("json_input"), sys.stdin)
        for key in (
            "full_name",
            "given_name",
            "family_name",
            "job_title",
            "lifecycle_stage",
            "source",
        ):
            if options.get(key) is not None:
                data[key] = options[key]
        if options.get("email"):
            data["emails"] = [{"address": e} for e in options["email"]]
        if options.get("country") or options.get("city"):
            data["addresses"] = [
                {"country": options.get("country") or "", "locality": options.get("city") or ""}
            ]
        if options.get("phone"):
            data["phones"] = [{"number": p} for p in options["phone"]]
        if options.get("tag"):
            data["tags"] = options["tag"]
        if not data:
            raise CommandError("Nothing to save: give --name, --email, … or --json-input.")
        return data

    def as_dict(self, contact: Contact) -> dict[str, Any]:
        """The same representation the API gives."""
        from rapport.contacts.api._out import contact_out

        if "email_list" not in contact.__dict__:
            contact = selectors.contact_prefetch(Contact.objects.filter(pk=contact.pk)).get()
        return contact_out(contact)

    def report(self, contact: Contact, options: dict[str, Any], verb: str) -> None:
        if options["json"]:
            self.emit_json(self.as_dict(contact))
        else:
            self.stdout.write(str(contact.pk))
            self.stderr.write(f"{verb} contact {contact.pk} ({contact.display_name}).")

    def print_contact(self, contact: Contact, actor: Any) -> None:
        out = self.stdout.write
        out(f"{contact.display_name}  (#{contact.pk}, {contact.get_lifecycle_stage_display()})")
        for email in contact.email_list:
            out(f"  email   {email.address}" + (f" ({email.label})" if email.label else ""))
        for phone in contact.phone_list:
            out(
                f"  phone   {phone_display(phone.e164)}"
                + (f" ({phone.label})" if phone.label else "")
            )
        for address in contact.address_list:
            out(f"  address {address}")
        for affiliation in contact.affiliation_list:
            role = f", {affiliation.get_buying_role_display()}" if affiliation.buying_role else ""
            out(f"  works   {affiliation.title or '—'} at {affiliation.organization.name}{role}")
        if contact.tag_list:
            out("  tags    " + ", ".join(t.name for t in contact.tag_list))
        out("History:")
        for record in selectors.history_for(
            actor=actor, object_type="contact", object_id=contact.pk
        ):
            who = record.actor.username if record.actor else "system"
            out(
                f"  {record.at:%Y-%m-%d %H:%M} {who} {record.action} (via {record.via_display}): {', '.join(record.changes)}"
            )

    def emit_json(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False))
