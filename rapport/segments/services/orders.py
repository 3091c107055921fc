"""Orders, and what they say about each customer.

``order_write`` validates and saves one order (created, or changed when its
``external_id`` is known: writing the same order twice changes nothing the second
time); files of orders are read through it by ``order_imports``.

``rfm_refresh`` computes recency, frequency and monetary value per contact from the
orders that count as revenue (paid, fulfilled) in the base currency
(``RAPPORT_CURRENCY``; orders in another currency are converted with
``RAPPORT_EXCHANGE_RATES`` when it names the rate, and left out otherwise), scores each
1–5 by quintile and names the group (champions, loyal, at risk…). Ties: a score is the
quintile of the value's first position among the sorted values, so equal values always
get the same score (and a value shared by many may leave a quintile empty). Revenue is
kept and ranked to the cent (a half cent away from zero; on SQLite, where amounts are
floating point, a converted total on a half cent may round either way).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pycountry
from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Rank, Round
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from rapport.access.services import change_record
from rapport.contacts.models import Contact, Email, Organization
from rapport.core import policy
from rapport.core.errors import FieldError, InvalidInput
from rapport.core.text import fold
from rapport.segments.models import CustomerValue, Order

logger = logging.getLogger(__name__)
MAX_AMOUNT = Decimal("999999999999.99")
MAX_LIST = 100

# The usual RFM groups by recency and frequency score (R, F).
GROUPS: tuple[tuple[str, set[int], set[int]], ...] = (
    ("champions", {5}, {4, 5}),
    ("loyal", {3, 4}, {4, 5}),
    ("potential_loyalists", {4, 5}, {2, 3}),
    ("new_customers", {5}, {1}),
    ("promising", {4}, {1}),
    ("need_attention", {3}, {3}),
    ("about_to_sleep", {3}, {1, 2}),
    ("cant_lose", {1, 2}, {5}),
    ("at_risk", {1, 2}, {3, 4}),
    ("hibernating", {2}, {1, 2}),
    ("lost", {1}, {1, 2}),
)
GROUP_NAMES = tuple(name for name, _r, _f in GROUPS)


def group_of(recency: int, frequency: int) -> str:
    for name, rs, fs in GROUPS:
        if recency in rs and frequency in fs:
            return name
    return "others"


def _currency(errors: list[FieldError], value: Any) -> str:
    code = str(value or "").strip().upper()
    if not code:
        code = settings.RAPPORT_CURRENCY
    if pycountry.currencies.get(alpha_3=code) is None:
        errors.append(FieldError("currency", f"“{value}” is not an ISO 4217 currency code."))
    return code


def _amount(errors: list[FieldError], value: Any, status: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if value not in (None, "") else None
    except decimal.InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        errors.append(FieldError("amount", f"“{value}” is not an amount."))
        return Decimal(0)
    if abs(amount) > MAX_AMOUNT:
        errors.append(FieldError("amount", "The amount is too large."))
        return Decimal(0)
    if amount < 0 and status != Order.Status.REFUNDED:
        errors.append(FieldError("amount", "Only a refunded order may have a negative amount."))
    return amount.quantize(Decimal("0.01"), rounding=decimal.ROUND_HALF_UP)


def _moment(errors: list[FieldError], value: Any) -> dt.datetime:
    text = str(value or "").strip()
    try:
        moment = parse_datetime(text) if "T" in text or " " in text else None
        if moment is None:
            day = parse_date(text) if text else None
            moment = dt.datetime.combine(day, dt.time()) if day else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        errors.append(FieldError("ordered_at", f"“{text}” is not a date (2024-05-01 or ISO 8601)."))
        return timezone.now()
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if (
        not dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
        <= moment
        <= timezone.now() + dt.timedelta(days=366)
    ):
        errors.append(FieldError("ordered_at", f"“{text}” is out of range."))
    return moment


def _names(errors: list[FieldError], key: str, value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        errors.append(FieldError(key, "A list of names (or text separated by “;”)."))
        return []
    cleaned = [i.strip()[:200] for i in items if i.strip()]
    if len(cleaned) > MAX_LIST:
        errors.append(FieldError(key, f"At most {MAX_LIST}."))
    return cleaned[:MAX_LIST]


def _owner(errors: list[FieldError], data: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """The contact (by id or email) or organization (by id) the order belongs to."""
    contact_id, organization_id = data.get("contact"), data.get("organization")
    email = str(data.get("email") or "").strip().lower()
    if contact_id in (None, "") and email:
        found = Email.objects.filter(address_key=email).values_list("contact_id", flat=True)
        ids = sorted(set(found))
        if len(ids) != 1:
            errors.append(
                FieldError(
                    "email", f"{'No' if not ids else 'More than one'} contact has “{email}”."
                )
            )
            return None, None
        contact_id = ids[0]
    try:
        contact_id = int(contact_id) if contact_id not in (None, "") else None
        organization_id = int(organization_id) if organization_id not in (None, "") else None
    except (TypeError, ValueError):
        errors.append(FieldError("contact", "Contact and organization are ids."))
        return None, None
    if (contact_id is None) == (organization_id is None):
        errors.append(FieldError("contact", "An order belongs to one contact or one organization."))
    elif contact_id is not None and not Contact.objects.filter(pk=contact_id).exists():
        errors.append(FieldError("contact", f"No contact {contact_id}."))
    elif (
        organization_id is not None and not Organization.objects.filter(pk=organization_id).exists()
    ):
        errors.append(FieldError("organization", f"No organization {organization_id}."))
    return contact_id, organization_id


def order_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The validated fields of an order; InvalidInput naming each bad one."""
    errors: list[FieldError] = []
    status = str(data.get("status") or Order.Status.PAID).strip().lower()
    if status not in Order.Status.values:
        errors.append(FieldError("status", f"Must be one of: {', '.join(Order.Status.values)}."))
    external_id = str(data.get("external_id") or "").strip() or None
    if external_id and len(external_id) > 100:
        errors.append(FieldError("external_id", "At most 100 characters."))
    contact_id, organization_id = _owner(errors, data)
    products = _names(errors, "products", data.get("products"))
    categories = _names(errors, "categories", data.get("categories"))
    fields: dict[str, Any] = {
        "contact_id": contact_id,
        "organization_id": organization_id,
        "external_id": external_id,
        "ordered_at": _moment(errors, data.get("ordered_at")),
        "amount": _amount(errors, data.get("amount"), status),
        "currency": _currency(errors, data.get("currency")),
        "status": status,
        "products": products,
        "categories": categories,
    }
    if errors:
        raise InvalidInput(errors)
    labels = [f"p:{fold(x)}" for x in fields["products"]] + [
        f"c:{fold(x)}" for x in fields["categories"]
    ]
    fields["labels"] = "|" + "|".join(labels) + "|" if labels else ""
    return fields


@dataclass(frozen=True)
class Written:
    order: Order
    created: bool


@transaction.atomic
def order_write(*, actor: Any, data: Mapping[str, Any], via: str = "ui") -> Written:
    """Save one order, or change the one with its ``external_id``; the same data twice
    changes nothing the second time. Raises NotPermitted, InvalidInput."""
    policy.require(actor, "orders.change")
    fields = order_fields(data)
    current = (
        Order.objects.select_for_update().filter(external_id=fields["external_id"]).first()
        if fields["external_id"]
        else None
    )
    if current is None:
        order = Order.objects.create(**fields)
        _record(actor, order, "create", via)
        return Written(order, True)
    changed = {k: v for k, v in fields.items() if getattr(current, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(current, key, value)
        current.version += 1
        current.save()
        _record(actor, current, "update", via)
    return Written(current, False)


@transaction.atomic
def order_delete(*, actor: Any, order: Order, via: str = "ui") -> None:
    policy.require(actor, "orders.change")
    _record(actor, order, "delete", via)
    order.delete()


def _record(actor: Any, order: Order, action: str, via: str) -> None:
    change_record(
        actor=actor,
        object_type="order",
        object_id=order.pk,
        object_repr=f"{order.external_id or order.pk}: {order.amount} {order.currency}",
        action=action,
        changes={"amount": [None, str(order.amount)], "status": [None, order.status]},
        via=via,
    )


# -- customer value ---------------------------------------------------------------------------


def _rates() -> dict[str, Decimal]:
    """``RAPPORT_EXCHANGE_RATES`` ("USD=0.92,GBP=1.17"): one unit of each in the base
    currency."""
    rates = {settings.RAPPORT_CURRENCY: Decimal(1)}
    for part in settings.RAPPORT_EXCHANGE_RATES.split(","):
        code, _, rate = part.partition("=")
        try:
            rates[code.strip().upper()] = Decimal(rate.strip())
        except decimal.InvalidOperation:
            continue
    return rates


def _scores(values: dict[int, Any], *, reverse: bool = False) -> dict[int, int]:
    """A 1–5 score per key by quintile of its value (higher is better; ``reverse``
    when lower is better). Equal values get the score of their first position. The rule
    as ``rfm_refresh`` applies it in the database (``_customer_values``)."""
    ordered = sorted(values.values(), reverse=reverse)
    n = len(ordered)
    first: dict[Any, int] = {}
    for position, value in enumerate(ordered):
        first.setdefault(value, position)
    return {key: 1 + (5 * first[value]) // n for key, value in values.items()} if n else {}


def _counted(rates: Mapping[str, Decimal]) -> QuerySet[Order]:
    """A contact's orders that count as revenue, in a currency with a rate."""
    return Order.objects.filter(
        contact__isnull=False, status__in=Order.COUNTED, currency__in=list(rates)
    )


def _customer_values(rates: Mapping[str, Decimal]) -> QuerySet[Order, Any]:
    """One row per contact with counted orders in a currency with a rate: the orders,
    the revenue in the base currency (to the cent), the first and last order, the rank
    of each of the three among all customers and how many customers there are; the
    database computes it in one grouped pass over the orders. A rank is one more than
    the first position of its value among the sorted values (equal values share it), so
    ``1 + 5 * (rank - 1) // customers`` is the score ``_scores`` gives."""
    converted = Case(
        *(
            When(currency=code, then=F("amount") if rate == 1 else F("amount") * Value(rate))
            for code, rate in rates.items()
        ),
        output_field=DecimalField(max_digits=30, decimal_places=10),
    )
    return (
        _counted(rates)
        .order_by()
        .values("contact_id")
        .annotate(
            n=Count("pk"),
            # ranked to the cent, as it is kept: equal revenues tie on every database
            total=Round(Sum(converted), 2),
            first_at=Min("ordered_at"),
            last_at=Max("ordered_at"),
        )
        .annotate(
            recency_rank=Window(Rank(), order_by=F("last_at").asc()),
            frequency_rank=Window(Rank(), order_by=F("n").asc()),
            monetary_rank=Window(Rank(), order_by=F("total").asc()),
            customers=Window(Count("*")),
        )
        .values_list(
            "contact_id",
            "n",
            "total",
            "first_at",
            "last_at",
            "recency_rank",
            "frequency_rank",
            "monetary_rank",
            "customers",
        )
    )


@dataclass(frozen=True)
class RfmResult:
    customers: int
    groups: dict[str, int]
    left_out_currencies: list[str]


# what rfm_refresh writes, from the columns of _customer_values and the group
_WRITTEN = ("contact_id", "orders", "revenue", "first_order_at", "last_order_at", "recency",
            "frequency", "monetary", "group", "computed_at")  # fmt: skip


def rfm_refresh(*, now: dt.datetime | None = None) -> RfmResult:
    """Recompute every contact's order figures and RFM scores (see the module's
    docstring), in one transaction. The database does the work in one statement (a
    grouped pass over the orders, ranked, written with its group): no row comes to
    Python. Rows are written over rather than deleted and added again, so the database
    checks a row's contact when a customer first appears, not on every refresh; the rows
    of contacts with no counted order left are deleted."""
    now = now or timezone.now()
    rates = _rates()
    left_out = sorted(
        Order.objects.filter(contact__isnull=False, status__in=Order.COUNTED)
        .exclude(currency__in=list(rates))
        .order_by()
        .values_list("currency", flat=True)
        .distinct()
    )
    sql, params = _customer_values(rates).query.sql_with_params()
    quote = connection.ops.quote_name
    scores = ", ".join(
        f"1 + (5 * ({quote(f'{name}_rank')} - 1)) / {quote('customers')} AS {quote(name)}"
        for name in ("recency", "frequency", "monetary")
    )
    groups = " ".join(
        f"WHEN {quote('recency')} IN ({', '.join(map(str, sorted(rs)))}) "
        f"AND {quote('frequency')} IN ({', '.join(map(str, sorted(fs)))}) THEN %s"
        for _name, rs, fs in GROUPS
    )
    kept = ", ".join(quote(c) for c in ("contact_id", "n", "total", "first_at", "last_at"))
    columns = [quote(c) for c in _WRITTEN]
    computed_at = CustomerValue._meta.get_field("computed_at").get_db_prep_value(now, connection)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # the grouping and the three sorts of every customer, in memory rather than on disk
            cursor.execute("SET LOCAL work_mem = '128MB'")
        CustomerValue.objects.filter(
            ~Exists(_counted(rates).filter(contact_id=OuterRef("contact_id")))
        ).delete()
        # "WHERE true": SQLite would read ON CONFLICT as the join's ON otherwise
        cursor.execute(
            f"INSERT INTO {quote(CustomerValue._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 - names from the model and GROUPS, values as params
            f"SELECT {kept}, {quote('recency')}, {quote('frequency')}, {quote('monetary')}, "
            f"CASE {groups} ELSE %s END, %s "
            f"FROM (SELECT {kept}, {scores} FROM ({sql}) ranked) scored WHERE true "
            f"ON CONFLICT ({columns[0]}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in columns[1:]),
            [*GROUP_NAMES, "others", computed_at, *params],
        )
    per_group = dict(CustomerValue.objects.order_by().values_list("group").annotate(n=Count("pk")))
    if left_out:
        logger.warning("Orders in %s left out of customer value: no exchange rate", left_out)
    return RfmResult(sum(per_group.values()), per_group, left_out)


def orders_of(contact_ids: Iterable[int]) -> dict[int, CustomerValue]:
    return {v.contact_id: v for v in CustomerValue.objects.filter(contact_id__in=list(contact_ids))}
