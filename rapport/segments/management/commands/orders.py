"""`rapport orders …`: import a file of orders, undo an import, recompute customer value
(RFM), list a contact's orders (acting as ``--as USER``).

    rapport orders import orders.csv [--map "Total=amount" …]
    rapport orders undo 3
    rapport orders rfm
    rapport orders list --contact 12
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from rapport.access.commands import RecordCommand
from rapport.segments import services
from rapport.segments.models import Order


class Command(RecordCommand):
    help = "Orders: import a file, undo an import, recompute customer value (RFM)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = [self.common()]
        imp = sub.add_parser("import", parents=common, help="Import a CSV or XLSX file of orders.")
        imp.add_argument("file")
        imp.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD",
                         help="Which column is which field (repeatable); else found by name.")  # fmt: skip
        undo = sub.add_parser("undo", parents=common, help="Take an import back.")
        undo.add_argument("batch", type=int)
        sub.add_parser("rfm", parents=common, help="Recompute every contact's customer value.")
        listing = sub.add_parser("list", parents=common, help="A contact's orders.")
        listing.add_argument("--contact", type=int, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        action = options["action"]
        if action == "import":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
            mapping = {}
            for item in options["map"]:
                header, sep, target = item.partition("=")
                if not sep:
                    raise CommandError(f"--map {item}: give HEADER=FIELD.")
                mapping[header.strip()] = target.strip()
            result = self.call(
                services.orders_import, actor=actor, path=path, file_name=path.name,
                mapping=mapping or None,
            )  # fmt: skip
            summary = {
                "batch": result.batch.pk, "created": result.created, "changed": result.changed,
                "unchanged": result.unchanged, "failed": result.failed, "errors": result.errors,
            }  # fmt: skip
            if options["json"]:
                self.stdout.write(json.dumps(summary))
            else:
                self.stdout.write(
                    f"Import {result.batch.pk}: {result.created} created, {result.changed} changed, "
                    f"{result.unchanged} unchanged, {result.failed} refused."
                )
                for line in result.errors:
                    self.stdout.write(f"  {line}")
            if result.failed:
                raise CommandError(f"{result.failed} row(s) were refused; the others were saved.")
        elif action == "undo":
            touched = self.call(services.orders_import_undo, actor=actor, batch_id=options["batch"])
            self.stdout.write(f"Undone: {touched} order(s) taken back.")
        elif action == "rfm":
            result = services.rfm_refresh()
            groups = ", ".join(f"{k} {v}" for k, v in sorted(result.groups.items()))
            self.stdout.write(f"{result.customers} customers: {groups or 'no orders'}")
            if result.left_out_currencies:
                self.stdout.write(
                    "Left out (no exchange rate): " + ", ".join(result.left_out_currencies)
                )
        else:
            for order in Order.objects.filter(contact_id=options["contact"]):
                self.stdout.write(
                    f"{order.pk}\t{order.external_id or '-'}\t{order.ordered_at:%Y-%m-%d}\t"
                    f"{order.amount} {order.currency}\t{order.status}"
                )
