"""`rapport consent grant|withdraw|record|history|verify|rebuild|purposes|purpose-add|
purpose-set`: the consent
ledger from a terminal, through the same services as the pages and the API, acting as
``--as USER`` (default: $RAPPORT_USER, else admin)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.consent.vocabulary import Action


class Command(RecordCommand):
    help = "Record and read consent, check the ledger's hash chain, rebuild the derived state."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        for name, helptext in (
            ("grant", "Record that a contact gave consent for a purpose."),
            ("withdraw", "Record that a contact withdrew consent for a purpose."),
            ("record", "Record any event (--action): object, restrict, …"),
        ):
            event = sub.add_parser(name, parents=common, help=helptext)
            event.add_argument("contact", type=int, help="The contact's id.")
            event.add_argument(
                "purpose", nargs="?", default="", help="The purpose's key (none for contact-wide)."
            )
            if name == "record":
                event.add_argument(
                    "--action", dest="action_name", required=True, choices=Action.values
                )
            event.add_argument("--channel", default="", help="email, call, sms, … (default: all).")
            event.add_argument("--point", default="", help="One address or number of the channel.")
            event.add_argument(
                "--method", default="", help="checkbox, double_opt_in, verbal, paper, email, link."
            )
            event.add_argument("--given-at", default="", help="When it was given (ISO 8601).")
            event.add_argument("--text-version", default="", help="The consent text shown.")
            event.add_argument("--reference", default="", help="e.g. the paper form's number.")
            event.add_argument("--note", default="")
        history = sub.add_parser("history", parents=common, help="A contact's consent and history.")
        history.add_argument("contact", type=int)
        sub.add_parser("verify", parents=common, help="Check the hash chain of the whole ledger.")
        rebuild = sub.add_parser(
            "rebuild", parents=common, help="Derive the current state from the ledger again."
        )
        rebuild.add_argument("--contact", type=int, action="append", help="Only this contact.")
        sub.add_parser("purposes", parents=common, help="List the purposes.")
        for name, helptext in (
            ("purpose-add", "Define a purpose (admins)."),
            ("purpose-set", "Change a purpose (admins); options not given stay."),
        ):
            purpose = sub.add_parser(name, parents=common, help=helptext)
            purpose.add_argument("key", help="The purpose's key, e.g. newsletter.")
            purpose.add_argument("--name")
            purpose.add_argument(
                "--basis",
                help="consent, contract, legal_obligation, vital_interest, public_task, "
                "legitimate_interest.",
            )
            purpose.add_argument("--description")
            purpose.add_argument(
                "--retention-days", help="Days a grant lasts (an empty value: until withdrawn)."
            )
            purpose.add_argument(
                "--marketing", action=argparse.BooleanOptionalAction, help="Direct marketing?"
            )
            purpose.add_argument("--category", action="append", help="A data category (repeat).")
            purpose.add_argument("--recipient", action="append", help="A recipient (repeat).")
            purpose.add_argument("--text", help="The consent text (a new one is the next version).")
            purpose.add_argument(
                "--archived", action=argparse.BooleanOptionalAction, help="Archive it, or not."
            )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action in ("grant", "withdraw", "record"):
            self.record(actor, options, action if action != "record" else options["action_name"])
        elif action == "history":
            self.history(actor, options)
        elif action == "verify":
            self.verify(actor, options)
        elif action == "rebuild":
            self.rebuild(actor, options)
        elif action in ("purpose-add", "purpose-set"):
            self.purpose_write(actor, options, create=action == "purpose-add")
        else:
            self.purposes(actor, options)

    def record(self, actor: Any, options: dict[str, Any], event_action: str) -> None:
        from rapport.consent.services import consent_record
        from rapport.contacts.models import Contact

        data: dict[str, Any] = {"action": event_action}
        for option, name in (
            ("purpose", "purpose"),
            ("channel", "channel"),
            ("point", "point"),
            ("method", "method"),
            ("given_at", "given_at"),
            ("text_version", "text_version"),
            ("reference", "reference"),
            ("note", "note"),
        ):
            if options.get(option):
                data[name] = options[option]
        if event_action in (Action.GRANT, Action.WITHDRAW) and "method" not in data:
            data["method"] = "verbal"
        try:
            event = self.call(
                consent_record, actor=actor, contact_id=options["contact"], data=data, via="cli"
            )
        except Contact.DoesNotExist:
            raise CommandError(f"There is no contact with id {options['contact']}.") from None
        if options["json"]:
            self.stdout.write(json.dumps({"id": event.pk, "seq": event.seq, "hash": event.hash}))
            return
        what = event.purpose_key or "every purpose"
        self.stdout.write(f"Recorded #{event.seq}: {event.get_action_display()} ({what}).")

    def history(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.consent.selectors import consent_overview

        overview = self.call(consent_overview, actor=actor, contact_id=options["contact"])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "contact_id": overview.contact_id,
                        "restricted_since": _iso(overview.restricted_since),
                        "marketing_objection_since": _iso(overview.marketing_objection_since),
                        "purposes": [
                            {
                                "purpose": line.purpose.key,
                                "channels": {
                                    c.channel: {
                                        "status": c.status or None,
                                        "allowed": c.verdict.allowed,
                                        "rule": c.verdict.rule,
                                    }
                                    for c in line.channels
                                },
                            }
                            for line in overview.purposes
                        ],
                        "history": [e.as_json() for e in overview.history],
                    }
                )
            )
            return
        if overview.restricted_since:
            self.stdout.write(f"Processing restricted since {overview.restricted_since:%Y-%m-%d}.")
        if overview.marketing_objection_since:
            self.stdout.write(
                f"Objects to direct marketing since {overview.marketing_objection_since:%Y-%m-%d}."
            )
        for line in overview.purposes:
            self.stdout.write(f"{line.purpose.name} ({line.purpose.key}): {line.summary}")
        self.stdout.write("")
        for event in overview.history:
            where = event.channel_label + (f" · {event.point}" if event.point else "")
            self.stdout.write(
                f"#{event.seq} {event.given_at:%Y-%m-%d %H:%M} {event.action_label}"
                f" {event.purpose or '(all purposes)'} · {where} · {event.method_label}"
                f" · {event.source_label}{f' ({event.source_ref})' if event.source_ref else ''}"
                + (f" · ref. {event.reference}" if event.reference else "")
                + (f" · {event.note}" if event.note else "")
            )
        if not overview.history:
            self.stdout.write("Nothing recorded.")

    def verify(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.consent.services import consent_chain_verify

        result = self.call(consent_chain_verify, actor=actor, check_actor=True)
        if options["json"]:
            broken = result.broken
            self.stdout.write(
                json.dumps(
                    {
                        "ok": result.ok,
                        "checked": result.checked,
                        "head_seq": result.head_seq,
                        "broken_seq": broken.seq if broken else None,
                        "broken_id": broken.event_id if broken else None,
                        "reason": broken.reason if broken else None,
                    }
                )
            )
        if result.broken is not None:
            where = f" (id {result.broken.event_id})" if result.broken.event_id else ""
            raise CommandError(
                f"The consent ledger is broken at row #{result.broken.seq}{where}: "
                f"{result.broken.reason}. {result.checked} rows were read."
            )
        if not options["json"]:
            self.stdout.write(
                f"The consent ledger holds: {result.checked} rows checked, each follows the one "
                "before it and none was changed."
            )

    def rebuild(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.consent.services import consent_state_rebuild

        done = self.call(
            consent_state_rebuild, actor=actor, contact_ids=options["contact"], check_actor=True
        )
        if options["json"]:
            self.stdout.write(json.dumps({"contacts": done.contacts, "states": done.states}))
            return
        self.stdout.write(f"Derived the consent state of {done.contacts} contact(s) again.")

    def purpose_write(self, actor: Any, options: dict[str, Any], *, create: bool) -> None:
        from rapport.consent.models import Purpose
        from rapport.consent.services import purpose_create, purpose_update

        data: dict[str, Any] = {}
        for option, name in (
            ("name", "name"),
            ("basis", "lawful_basis"),
            ("description", "description"),
            ("retention_days", "retention_days"),
            ("marketing", "is_marketing"),
            ("category", "data_categories"),
            ("recipient", "recipients"),
            ("text", "text"),
            ("archived", "archived"),
        ):
            if options.get(option) is not None:
                data[name] = options[option]
        if create:
            purpose = self.call(
                purpose_create, actor=actor, data={"key": options["key"], **data}, via="cli"
            )
        else:
            found = Purpose.objects.filter(key=options["key"]).first()
            if found is None:
                raise CommandError(f"There is no purpose “{options['key']}”.")
            purpose = self.call(purpose_update, actor=actor, purpose=found, data=data, via="cli")
        if options["json"]:
            self.stdout.write(json.dumps({"id": purpose.pk, "key": purpose.key}))
            return
        self.stdout.write(f"{'Created' if create else 'Saved'} {purpose.key}: {purpose.name}.")

    def purposes(self, actor: Any, options: dict[str, Any]) -> None:
        from rapport.consent.selectors import purpose_list

        rows = list(self.call(purpose_list, actor=actor))
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "key": p.key,
                            "name": p.name,
                            "lawful_basis": p.lawful_basis,
                            "is_marketing": p.is_marketing,
                            "retention_days": p.retention_days,
                            "archived": p.archived_at is not None,
                        }
                        for p in rows
                    ]
                )
            )
            return
        for p in rows:
            flags = " · marketing" if p.is_marketing else ""
            flags += " · archived" if p.archived_at else ""
            self.stdout.write(f"{p.key}: {p.name} ({p.get_lawful_basis_display()}){flags}")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
