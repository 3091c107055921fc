"""`rapport orders …`: import a file of orders, undo an import, recompute customer value
(RFM), fit the predicted-value models now, list a contact's orders (acting as
``--as USER``).

    rapport orders import orders.csv [--map "Total=amount" …]
    rapport orders undo 3
    rapport orders rfm
    rapport orders clv [--months 12] [--discount 0.1] [--json]
    rapport orders list --contact 12
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from rapport.access.commands import RecordCommand
from rapport.segments import services
from rapport.segments.models import Order
from rapport.segments.services.value_model import (
    HORIZON_MONTHS,
    MIN_CUSTOMERS,
    MIN_REPEAT_CUSTOMERS,
    MIN_SPAN_DAYS,
    PredictionState,
)


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
        clv = sub.add_parser(
            "clv", parents=common,
            help="Fit the predicted-value models (BG/NBD, Gamma-Gamma) on the customer value "
            "as last computed, and print the fit.",
        )  # fmt: skip
        clv.add_argument("--months", type=int, default=HORIZON_MONTHS,
                         help=f"Horizon of the predictions (default {HORIZON_MONTHS}).")  # fmt: skip
        clv.add_argument("--discount", type=float, default=0.0,
                         help="Yearly discount rate of future orders (0.1 for 10 %%; default 0).")  # fmt: skip
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
        elif action == "clv":
            self._clv(options)
        else:
            for order in Order.objects.filter(contact_id=options["contact"]):
                self.stdout.write(
                    f"{order.pk}\t{order.external_id or '-'}\t{order.ordered_at:%Y-%m-%d}\t"
                    f"{order.amount} {order.currency}\t{order.status}"
                )

    def _clv(self, options: dict[str, Any]) -> None:
        try:
            model = services.value_model_fit(
                horizon_months=options["months"], annual_discount=options["discount"]
            )
        except (services.PredictionUnavailable, ValueError) as exc:
            raise CommandError(str(exc)) from None
        state = PredictionState(model.status, model.reason, model)
        if options["json"]:
            self.stdout.write(json.dumps(services.prediction_out(state), cls=DjangoJSONEncoder))
        else:
            for line in clv_report(state):
                self.stdout.write(line)
        if not state.fitted:
            raise CommandError(f"Not fitted ({model.get_status_display().lower()}).")


def clv_report(state: PredictionState) -> list[str]:
    """The fit as lines of text: what it was fitted on, the thresholds, its status and
    reason, the parameters and the distribution of what it predicts."""
    model = state.model
    assert model is not None
    discount = f"{model.annual_discount:.0%} a year" if model.annual_discount else "undiscounted"
    lines = [
        f"Predicted value: {model.get_status_display().lower()}, {model.customers:,} customers "
        f"({model.repeat_customers:,} with more than one order), {model.horizon_months}-month "
        f"horizon, {discount}, {model.seconds:.1f} s.",
        f"Thresholds: at least {MIN_CUSTOMERS} customers, {MIN_REPEAT_CUSTOMERS} of them with "
        f"more than one order, orders over at least {MIN_SPAN_DAYS} days; both fits must "
        "converge to finite parameters.",
    ]
    if model.reason:
        lines.append(model.reason)
    purchases, spend = model.params.get("bgnbd"), model.params.get("gamma_gamma")
    if purchases:
        lines.append(
            f"BG/NBD (purchases; weeks): r {purchases['r']:.4f}, alpha {purchases['alpha']:.4f}, "
            f"a {purchases['a']:.4f}, b {purchases['b']:.4f} "
            f"(log-likelihood {purchases['log_likelihood']:.2f})"
        )
    if spend:
        lines.append(
            f"Gamma-Gamma (order value): p {spend['p']:.4f}, q {spend['q']:.4f}, "
            f"gamma {spend['gamma']:.4f} (log-likelihood {spend['log_likelihood']:.2f})"
        )
    if model.correlation is not None:
        lines.append(
            f"Spend and frequency correlation: {model.correlation:.3f} (Gamma-Gamma assumes none)"
        )
    summary = model.summary
    if summary:
        lines.append(
            f"Predicted over {model.horizon_months} months: {summary['expected_orders']:,.0f} "
            f"orders worth {summary['predicted_value']:,.2f} {settings.RAPPORT_CURRENCY}; "
            f"{summary['likely_active']:,} "
            "customers likely still active (P(alive) ≥ 0.5)."
        )
        lines.append(f"{'per customer':<16}" + "".join(f"{k:>11}" for k in summary["value"]))
        for label, key in (("value", "value"), ("P(alive)", "p_alive")):
            lines.append(f"{label:<16}" + "".join(f"{v:>11,.2f}" for v in summary[key].values()))
    return lines
