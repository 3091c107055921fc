"""/api/v1/orders: orders by id or by the shop's own ``external_id`` (a POST with an
``external_id`` already known changes that order: retries and re-sends are safe), a
contact's orders a page at a time, each contact's customer value, and the state of the
predicted-value model."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from rapport.contacts.api._http import READ_ERRORS, VIA, WRITE_ERRORS, ObjectId, actor
from rapport.contacts.schemas import MAX_ID, InputSchema
from rapport.core import policy
from rapport.core.cursor import decode_cursor, encode_cursor
from rapport.core.errors import InvalidInput
from rapport.segments import services
from rapport.segments.models import CustomerValue, Order

router = Router(tags=["orders"])
MAX_PAGE = 200


class OrderIn(InputSchema):
    external_id: Any = Field(
        None, description="The shop's order number: writes are idempotent by it."
    )
    contact: Any = Field(None, description="A contact's id (or give email).")
    email: Any = Field(None, description="The contact's email address.")
    organization: Any = Field(None, description="Or an organization's id.")
    ordered_at: Any = Field(None, description="ISO 8601 date or moment.")
    amount: Any = None
    currency: Any = Field(None, description="ISO 4217 code; RAPPORT_CURRENCY when left out.")
    status: Any = Field(None, description="pending, paid (default), fulfilled, cancelled, refunded")
    products: Any = None
    categories: Any = None


class OrderOut(BaseModel):
    id: int
    external_id: str | None
    contact: int | None
    organization: int | None
    ordered_at: dt.datetime
    amount: Decimal
    currency: str
    status: str
    products: list[str]
    categories: list[str]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class OrderParams(Schema):
    contact: int | None = Field(None, ge=1, le=MAX_ID)
    organization: int | None = Field(None, ge=1, le=MAX_ID)
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class ValueOut(BaseModel):
    contact: int
    orders: int
    revenue: Decimal
    first_order_at: dt.datetime
    last_order_at: dt.datetime
    recency: int
    frequency: int
    monetary: int
    group: str
    computed_at: dt.datetime
    expected_orders: float | None = Field(
        description="Orders expected over the model's horizon (empty without a fitted model)."
    )
    p_alive: float | None = Field(description="Chance the contact is still a customer.")
    predicted_value: Decimal | None = Field(
        description="Value of the expected orders over the horizon, base currency."
    )


class ValueModelOut(BaseModel):
    status: str = Field(
        description="fitted, too_thin, not_converged (the latest fit), unavailable (the "
        "optional clv extra is not installed) or not_fitted."
    )
    message: str = Field(description="Why there are no predictions, or a warning.")
    fitted_at: dt.datetime | None
    customers: int | None
    repeat_customers: int | None
    horizon_months: int | None
    annual_discount: float | None
    correlation: float | None = Field(
        description="Spend and frequency of repeat customers (Gamma-Gamma assumes none)."
    )
    params: dict[str, Any] = Field(
        description="bgnbd {r, alpha, a, b} in weeks, gamma_gamma {p, q, gamma}, with the "
        "log-likelihood of each."
    )
    summary: dict[str, Any] = Field(
        description="Totals and percentiles of the predicted value and P(alive)."
    )
    seconds: float | None
    thresholds: dict[str, float]


def _out(order: Order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "external_id": order.external_id,
        "contact": order.contact_id,
        "organization": order.organization_id,
        "ordered_at": order.ordered_at,
        "amount": order.amount,
        "currency": order.currency,
        "status": order.status,
        "products": list(order.products),
        "categories": list(order.categories),
    }


@router.post("", response={200: OrderOut, 201: OrderOut, **WRITE_ERRORS}, summary="Save an order")
def order_write(request: HttpRequest, response: HttpResponse, payload: OrderIn) -> Status:
    """201 for a new order; 200 when ``external_id`` named one already saved (changed, or
    left as it was when nothing differs)."""
    written = services.order_write(
        actor=actor(request), data=payload.model_dump(exclude_unset=True), via=VIA
    )
    response["ETag"] = f'"{written.order.pk}-{written.order.version}"'
    return Status(201 if written.created else 200, _out(written.order))


@router.get("", response={200: OrderPage, **READ_ERRORS}, summary="Orders, newest first")
def order_list(request: HttpRequest, params: Query[OrderParams]) -> dict[str, Any]:
    policy.require(actor(request), "orders.view")
    rows = Order.objects.all()
    if params.contact:
        rows = rows.filter(contact_id=params.contact)
    if params.organization:
        rows = rows.filter(organization_id=params.organization)
    rows = rows.order_by("-ordered_at", "-pk")
    if params.cursor:
        moment, pk = decode_cursor(params.cursor, 2)
        try:
            when = dt.datetime.fromisoformat(str(moment))
        except ValueError:
            raise InvalidInput.single("cursor", "This cursor is not valid.") from None
        if not isinstance(pk, int):
            raise InvalidInput.single("cursor", "This cursor is not valid.")
        rows = rows.filter(ordered_at__lt=when) | rows.filter(ordered_at=when, pk__lt=pk)
        rows = rows.order_by("-ordered_at", "-pk")
    page = list(rows[: params.limit + 1])
    more = len(page) > params.limit
    page = page[: params.limit]
    cursor = encode_cursor([page[-1].ordered_at.isoformat(), page[-1].pk]) if more else None
    return {"items": [_out(o) for o in page], "next_cursor": cursor}


@router.get("/value/{contact_id}", response={200: ValueOut, **READ_ERRORS})
def customer_value(request: HttpRequest, contact_id: ObjectId) -> dict[str, Any]:
    """A contact's order figures and RFM scores, as last computed."""
    policy.require(actor(request), "orders.view")
    value = get_object_or_404(CustomerValue, contact_id=contact_id)
    return {
        "contact": value.contact_id, "orders": value.orders, "revenue": value.revenue,
        "first_order_at": value.first_order_at, "last_order_at": value.last_order_at,
        "recency": value.recency, "frequency": value.frequency, "monetary": value.monetary,
        "group": value.group, "computed_at": value.computed_at,
        "expected_orders": value.expected_orders, "p_alive": value.p_alive,
        "predicted_value": value.predicted_value,
    }  # fmt: skip


@router.get(
    "/value-model", response={200: ValueModelOut, **READ_ERRORS},
    summary="The predicted-value model in force",
)  # fmt: skip
def value_model(request: HttpRequest) -> dict[str, Any]:
    """The latest fit of BG/NBD and Gamma-Gamma: fitted (its parameters and what it
    predicts) or refused (``too_thin``, ``not_converged``, with the reason and the
    numbers), or ``unavailable`` when the optional extra is not installed."""
    policy.require(actor(request), "orders.view")
    return services.prediction_out(services.prediction_state())


@router.get("/{order_id}", response={200: OrderOut, **READ_ERRORS})
def order_get(request: HttpRequest, order_id: ObjectId) -> dict[str, Any]:
    policy.require(actor(request), "orders.view")
    return _out(get_object_or_404(Order, pk=order_id))


@router.delete("/{order_id}", response={204: None, **WRITE_ERRORS})
def order_delete(request: HttpRequest, order_id: ObjectId) -> Status:
    services.order_delete(
        actor=actor(request), order=get_object_or_404(Order, pk=order_id), via=VIA
    )
    return Status(204, None)
